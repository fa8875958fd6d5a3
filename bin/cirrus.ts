/**
 * The `cirrus` command (package `bin`): see `cli/program.ts`. The build adds the
 * `#!/usr/bin/env node` line.
 * @module
 */
import { runCli } from '../cli/program';

// Errors are one line on stderr: keep the AWS SDK's multi-line notice about future Node.js
// support out of it (set the variable to "false" to see it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `cirrus … | head`: a closed pipe is not an error of the command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cirrus: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
