/**
 * The Lambda handlers are the composition roots (docs/ARCHITECTURE.md, "Conventions"):
 * - statically: no module of `shared/` reads `process.env` or constructs an AWS SDK client, except
 *   `shared/clients.ts`, the one client factory, which in `shared/` only `shared/runtime.ts` imports;
 * - at run time, on the local stack: the handlers build their clients once, at the first invocation,
 *   and hand them (with everything else) to the shared functions on every invocation after it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { handler as processHandler } from '../lambdas/process/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import * as clients from '../shared/clients';
import { resetHandlerRuntime } from '../shared/runtime';
import { REPO_ROOT, makePayload, sqsEvent, sqsRecord, type PipelineStack } from './helpers/pipeline';
import { startMinimalPipeline } from './helpers/pipeline-suite';

const SHARED_DIR = path.join(REPO_ROOT, 'shared');
/** The one module of shared/ that constructs SDK clients (`createClients`). */
const CLIENT_FACTORY = 'clients.ts';
/** The one module of shared/ that may use the client factory: the handlers' runtime. */
const RUNTIME = 'runtime.ts';

let p: PipelineStack;

beforeAll(async () => (p = await startMinimalPipeline()));
afterAll(() => p?.stop());

/**
 * What breaks the composition rule in one shared module, as `<file>:<line> <what>`: a read of
 * `process.env`, an SDK client constructed (`new …Client(…)`, `…Client.from(…)`) outside the client
 * factory, and a value import of the client factory outside the runtime.
 */
function compositionViolations(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const report = (node: ts.Node, what: string): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push(`${fileName}:${line} ${what}`);
  };
  const isProcess = (node: ts.Node): boolean => ts.isIdentifier(node) && node.text === 'process';
  const isClientName = (node: ts.Node): boolean => ts.isIdentifier(node) && /Client$/.test(node.text);
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && isProcess(node.expression) && node.name.text === 'env') report(node, 'reads process.env');
    if (ts.isElementAccessExpression(node) && isProcess(node.expression)) report(node, 'reads process[…]');
    if (ts.isVariableDeclaration(node) && node.initializer && isProcess(node.initializer)) report(node, 'destructures process');
    if (fileName !== CLIENT_FACTORY) {
      if (ts.isNewExpression(node) && isClientName(node.expression)) report(node, `constructs ${node.expression.getText(source)}`);
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && isClientName(node.expression.expression) && node.expression.name.text === 'from') {
        report(node, `constructs ${node.expression.getText(source)}`);
      }
    }
    if (fileName !== RUNTIME && ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text === './clients') {
      const bindings = node.importClause?.namedBindings;
      const valueImport = !bindings || !ts.isNamedImports(bindings) || bindings.elements.some((e) => !e.isTypeOnly);
      if (valueImport) report(node, 'imports the client factory');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('shared/ reads no environment and creates no client', () => {
  it('no module of shared/ reads process.env or constructs an SDK client outside the client factory, used by the runtime alone', () => {
    const files = readdirSync(SHARED_DIR).filter((f) => f.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining([CLIENT_FACTORY, RUNTIME, 'process.ts', 'update-state.ts']));
    const violations = files.flatMap((f) => compositionViolations(f, readFileSync(path.join(SHARED_DIR, f), 'utf8')));
    expect(violations).toEqual([]);
  });

  it('the scan finds each kind of violation (so that it can fail)', () => {
    const text = [
      "import { createClients } from './clients';",
      "import type { Clients } from './clients';",
      "import { type ClientSettings } from './clients';",
      'const region = process.env.AWS_REGION;',
      "const bucket = process['env'].CIRRUS_PAYLOAD_BUCKET;",
      'const { env } = process;',
      'const s3 = new S3Client({ region });',
      'const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));',
      '// process.env and new S3Client() in a comment are no code.',
    ].join('\n');
    expect(compositionViolations('example.ts', text)).toEqual([
      'example.ts:1 imports the client factory',
      'example.ts:4 reads process.env',
      'example.ts:5 reads process[…]',
      'example.ts:6 destructures process',
      'example.ts:7 constructs S3Client',
      'example.ts:8 constructs DynamoDBDocumentClient.from',
      'example.ts:8 constructs DynamoDBClient',
    ]);
    // The factory constructs clients, and the runtime imports it.
    expect(compositionViolations(CLIENT_FACTORY, 'const s3 = new S3Client({ region });')).toEqual([]);
    expect(compositionViolations(RUNTIME, "import { createClients } from './clients';")).toEqual([]);
  });
});

describe('the handlers on the local stack', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('process and update-state build their clients once, at the first invocation, and reuse them after', async () => {
    const updates: unknown[] = [];
    // update-state runs from the status-change event of the execution the process handler starts.
    p.stack.onStatusChange(async (event) => {
      updates.push(await updateStateHandler(event));
    });
    resetHandlerRuntime();
    const built = jest.spyOn(clients, 'createClients');

    expect(await processHandler(sqsEvent(sqsRecord(makePayload())))).toEqual({ batchItemFailures: [] });
    await p.stack.waitForIdle(10000);
    expect(built).toHaveBeenCalledTimes(1);

    const payload = makePayload();
    expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
    const arn = (await p.db.getItem(payload.id))!.executions.at(-1)!;
    await p.stack.waitForExecution(arn);
    await p.stack.waitForIdle(10000);

    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'SUCCEEDED' });
    expect(updates).toContainEqual(expect.objectContaining({ status: 'SUCCEEDED', payloadId: payload.id }));
    expect(built).toHaveBeenCalledTimes(1);
  });
});
