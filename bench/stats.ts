/**
 * Small statistics and formatting helpers: every figure of the benchmarks is a median with its
 * spread (min–max and interquartile range).
 * @module
 */

/** A summary of repeated measurements. */
export interface Summary {
  /** Number of samples. */
  n: number;
  median: number;
  min: number;
  max: number;
  /** First quartile (linear interpolation). */
  q1: number;
  /** Third quartile (linear interpolation). */
  q3: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summarises samples. @throws RangeError when there are none. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('no samples to summarise');
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), min: s[0], max: s[s.length - 1], q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

/** Rounds to `digits` significant-looking decimals for printing and JSON. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A summary with every figure rounded (for results.json). */
export function rounded(s: Summary, digits = 2): Summary {
  return { n: s.n, median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits), q1: round(s.q1, digits), q3: round(s.q3, digits) };
}

/** `median (min–max)` with a unit, e.g. `123.4 ms (118.0–131.2)`. */
export function fmt(s: Summary, unit = '', digits = 1): string {
  const u = unit ? ` ${unit}` : '';
  return `${s.median.toFixed(digits)}${u} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** Milliseconds elapsed since `start` (a `process.hrtime.bigint()` value). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Bytes as MB (10^6) or KB (10^3) text. */
export function fmtBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${bytes} B`;
}
