/**
 * Progress bars for commands that send many payloads (cli-progress), drawn on standard error so
 * standard output stays JSON; quiet when standard output is not a terminal (pipes, scripts).
 * @module
 */
import { SingleBar, Presets } from 'cli-progress';

/** Payload counts up to which no bar is drawn (a handful finish before one would be seen). */
export const PROGRESS_THRESHOLD = 5;

/** A progress indicator. */
export interface Progress {
  increment(n?: number): void;
  stop(): void;
}

/** Something that may be a terminal. */
export interface MaybeTty {
  isTTY?: boolean;
  write(text: string): unknown;
}

const QUIET: Progress = { increment: () => undefined, stop: () => undefined };

/**
 * A bar for `total` steps labelled `label`, or a silent indicator when stdout is not a terminal
 * or there are at most {@link PROGRESS_THRESHOLD} steps.
 */
export function startProgress(label: string, total: number, stdout: MaybeTty, stderr: MaybeTty): Progress {
  if (!stdout.isTTY || !stderr.isTTY || total <= PROGRESS_THRESHOLD) return QUIET;
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`, stream: stderr as NodeJS.WritableStream, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { increment: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}
