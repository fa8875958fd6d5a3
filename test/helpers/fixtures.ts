/**
 * The reference fixtures of cirrus-geo (`shared/fixtures/cirrus`, beside the repository in CI and
 * in a developer's checkout), and small assertion helpers shared by the unit tests.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../shared/json';

/** `<repo>/../shared/fixtures/cirrus`. */
export const FIXTURES_DIR = path.resolve(__dirname, '../../../shared/fixtures/cirrus');

/** Parses a JSON file. */
export function readJsonFile(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Parses a fixture, by its path under {@link FIXTURES_DIR}. */
export function readFixture(name: string): JsonObject {
  return readJsonFile(path.join(FIXTURES_DIR, name)) as JsonObject;
}

/** The error `fn` throws; fails the test when it does not throw. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to throw');
}
