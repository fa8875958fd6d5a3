/**
 * `cirrus payload get-id|validate|template`: offline payload tools (no configuration, no AWS).
 * @module
 */
import type { Command } from 'commander';
import { exampleHelp, formatJson, ndjson, type CommandContext } from '../context';
import { CliError, EXIT } from '../errors';
import { readDocuments } from '../input';
import { payloadTemplate, validateDocument, type ValidationReport } from './payload-tools';

const INPUT_HELP = 'payloads: one JSON payload, a JSON array or NDJSON; "-" or none: standard input';
const OFFLINE = '\nOffline: reads no configuration and calls no AWS service.\nExit codes: 0 valid, 2 usage error, 5 invalid payload.\n';

/**
 * A command that checks the payloads of `[file]` as process does and prints one NDJSON line for
 * each; it fails (exit 5) when any is invalid.
 */
interface DocumentsCommandSpec {
  name: string;
  summary: string;
  description: string;
  examples: string[];
  /** The NDJSON line of one payload. */
  line: (report: ValidationReport) => unknown;
  /** The error message when some payloads (`bad`) are invalid. */
  failure: (bad: ValidationReport[], all: ValidationReport[]) => string;
}

function documentsCommand(payload: Command, ctx: CommandContext, spec: DocumentsCommandSpec): void {
  payload
    .command(spec.name)
    .summary(spec.summary)
    .description(spec.description)
    .argument('[file]', INPUT_HELP)
    .addHelpText('after', `${exampleHelp(...spec.examples)}${OFFLINE}`)
    .action(async (file: string | undefined) => {
      const reports = (await readDocuments(file, ctx.stdin)).map(validateDocument);
      for (const r of reports) ctx.out.write(ndjson(spec.line(r)));
      const bad = reports.filter((r) => !r.valid);
      if (bad.length > 0) throw new CliError(spec.failure(bad, reports), EXIT.invalid);
    });
}

const GET_ID: DocumentsCommandSpec = {
  name: 'get-id',
  summary: 'Print the payload id of each payload (computed when missing).',
  description: 'Print the payload id of each payload, one NDJSON line {"payload_id"} each: its id, or the id process builds from process[0].collections (or the features\' collections), the workflow and the sorted item ids.',
  examples: ['cirrus payload get-id payload.json', 'cirrus payload get-id payloads.ndjson | jq -r .payload_id'],
  line: (r) => (r.valid ? { payload_id: r.payload_id } : { index: r.index, payload_id: null, problems: r.problems }),
  failure: ([first]) => `no payload id for payload #${first.index}: ${first.problems[0].path}: ${first.problems[0].message}`,
};

const VALIDATE: DocumentsCommandSpec = {
  name: 'validate',
  summary: 'Check payloads as process does; print every problem with its path.',
  description: 'Check each payload as the process function does and print one NDJSON line each: index, payload_id, valid, and every problem with the path of its field (type, features[2].id, process[0].workflow, id, ...).',
  examples: ['cirrus payload validate payload.json', "cirrus payload validate payloads.ndjson | jq 'select(.valid | not)'"],
  line: (r) => r,
  failure: (bad, all) => {
    const problems = bad.reduce((n, r) => n + r.problems.length, 0);
    return `${problems} problem${problems === 1 ? '' : 's'} in ${bad.length} of ${all.length} payload${all.length === 1 ? '' : 's'}`;
  },
};

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function templateCommand(payload: Command, ctx: CommandContext): void {
  payload
    .command('template')
    .summary('Build a payload from item ids, collections and a workflow name.')
    .description(
      'Build a process payload: one STAC item stub per item id (with its collection when one is given), ' +
        'process[0] = {workflow, collections when several, replace with --replace}, and the id process would compute.',
    )
    .argument('<item_ids...>', 'item ids')
    .requiredOption('--workflow <name>', 'workflow name (process[0].workflow)')
    .option('--collections <list>', 'collection ids, comma-separated or repeated', list, [])
    .option('--replace', 'set process[0].replace = true')
    .addHelpText('after', `${exampleHelp('cirrus payload template --workflow cog --collections sentinel-2-l2a S2A_10TFK_20210713_0_L2A > payload.json')}${OFFLINE}`)
    .action((itemIds: string[], opts: { workflow: string; collections: string[]; replace?: boolean }, c: Command) => {
      const raw = c.optsWithGlobals<{ raw?: boolean }>().raw;
      ctx.out.write(formatJson(payloadTemplate({ workflow: opts.workflow, collections: opts.collections, itemIds, replace: opts.replace }), raw));
    });
}

/** Adds `payload get-id|validate|template` to `program`. */
export function registerPayloadCommands(program: Command, ctx: CommandContext): void {
  const payload = program
    .command('payload')
    .summary('Offline payload tools: get-id, validate, template.')
    .description('Offline payload tools: compute payload ids, validate payloads, build a payload from item ids.')
    .addHelpText('after', exampleHelp('cirrus payload validate payload.json', 'cirrus payload template --workflow cog --collections c1 item-1 | cirrus payload get-id'));
  documentsCommand(payload, ctx, GET_ID);
  documentsCommand(payload, ctx, VALIDATE);
  templateCommand(payload, ctx);
}
