/**
 * Reading payloads given to the CLI: a file or standard input holding one JSON payload, a JSON
 * array of payloads, or NDJSON (one payload per line). Numbers keep their exact text (lossless
 * parsing), so what is sent is what the file says.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'lossless-json';
import { UsageError } from './errors';

/** A readable text source (`process.stdin`, a test stream). */
export interface TextSource extends AsyncIterable<string | Buffer> {
  isTTY?: boolean;
}

/** One document read from the input. */
export interface InputDocument {
  /** Position in the input, from 1 (line number for NDJSON). */
  index: number;
  /** The parsed value (numbers as lossless numbers), or `undefined` when it is not JSON. */
  value: unknown;
  /** Why the document could not be parsed. */
  error?: string;
}

/** Reads all of `source` as UTF-8. */
async function readAll(source: TextSource): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The text of `file` (a path, or `-` / none for standard input).
 * @throws UsageError when the file cannot be read, or standard input is a terminal.
 */
export async function readInputText(file: string | undefined, stdin: TextSource): Promise<string> {
  if (file === undefined || file === '-') {
    if (stdin.isTTY) throw new UsageError('no input: give a FILE, or pipe payloads into standard input (-)');
    return readAll(stdin);
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function tryParse(text: string): { value?: unknown; error?: string } {
  try {
    return { value: parse(text) };
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
}

/**
 * Splits input text into documents: a JSON array gives one per element; any other JSON value
 * is one document; text that is not one JSON value is read as NDJSON (blank lines ignored).
 * @throws UsageError when the input is empty.
 */
export function parseDocuments(text: string): InputDocument[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError('no input: the input is empty');
  const whole = tryParse(trimmed);
  if (whole.error === undefined) {
    return Array.isArray(whole.value) ? whole.value.map((value, i) => ({ index: i + 1, value })) : [{ index: 1, value: whole.value }];
  }
  const docs: InputDocument[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const r = tryParse(line);
    docs.push({ index: i + 1, value: r.value, ...(r.error !== undefined ? { error: r.error } : {}) });
  });
  return docs;
}

/** The JSON text of a parsed document, numbers exactly as they were read. */
export function toJsonText(value: unknown): string {
  return stringify(value) ?? 'null';
}

/** Reads and splits the payloads of `file` (or standard input). */
export async function readDocuments(file: string | undefined, stdin: TextSource): Promise<InputDocument[]> {
  return parseDocuments(await readInputText(file, stdin));
}
