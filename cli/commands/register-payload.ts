/**
 * `cirrus payload get-id|validate|template`: offline payload tools (no configuration, no AWS).
 * @module
 */
import type { Command } from 'commander';
import { exampleHelp, formatJson, ndjson, type CommandContext } from '../context';
import { CliError, EXIT } from '../errors';
import { readDocuments } from '../input';
import { payloadTemplate, validateDocument } from './payload-tools';

const INPUT_HELP = 'payloads: one JSON payload, a JSON array or NDJSON; "-" or none: standard input';
const OFFLINE = '\nOffline: reads no configuration and calls no AWS service.\nExit codes: 0 valid, 2 usage error, 5 invalid payload.\n';

function getIdCommand(payload: Command, ctx: CommandContext): void {
  payload
    .command('get-id')
    .summary('Print the payload id of each payload (computed when missing).')
    .description('Print the payload id of each payload, one NDJSON line {"payload_id"} each: its id, or the id process builds from process[0].collections (or the features\' collections), the workflow and the sorted item ids.')
    .argument('[file]', INPUT_HELP)
    .addHelpText('after', `${exampleHelp('cirrus payload get-id payload.json', "cirrus payload get-id payloads.ndjson | jq -r .payload_id")}${OFFLINE}`)
    .action(async (file: string | undefined) => {
      const reports = (await readDocuments(file, ctx.stdin)).map(validateDocument);
      for (const r of reports) ctx.out.write(ndjson(r.valid ? { payload_id: r.payload_id } : { index: r.index, payload_id: null, problems: r.problems }));
      const bad = reports.filter((r) => !r.valid);
      if (bad.length > 0) throw new CliError(`no payload id for payload #${bad[0].index}: ${bad[0].problems[0].path}: ${bad[0].problems[0].message}`, EXIT.invalid);
    });
}

function validateCommand(payload: Command, ctx: CommandContext): void {
  payload
    .command('validate')
    .summary('Check payloads as process does; print every problem with its path.')
    .description('Check each payload as the process function does and print one NDJSON line each: index, payload_id, valid, and every problem with the path of its field (type, features[2].id, process[0].workflow, id, ...).')
    .argument('[file]', INPUT_HELP)
    .addHelpText('after', `${exampleHelp('cirrus payload validate payload.json', "cirrus payload validate payloads.ndjson | jq 'select(.valid | not)'")}${OFFLINE}`)
    .action(async (file: string | undefined) => {
      const reports = (await readDocuments(file, ctx.stdin)).map(validateDocument);
      for (const r of reports) ctx.out.write(ndjson(r));
      const bad = reports.filter((r) => !r.valid);
      const problems = bad.reduce((n, r) => n + r.problems.length, 0);
      if (bad.length > 0) throw new CliError(`${problems} problem${problems === 1 ? '' : 's'} in ${bad.length} of ${reports.length} payload${reports.length === 1 ? '' : 's'}`, EXIT.invalid);
    });
}

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
  getIdCommand(payload, ctx);
  validateCommand(payload, ctx);
  templateCommand(payload, ctx);
}
