/**
 * Durations on the command line (`30m`, `6h`, `2d`, `1h30m`) and in reports.
 * @module
 */
import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration made of `<integer><unit>` parts, units `s`, `m`, `h`, `d` (`30m`, `6h`, `2d`,
 * `1d12h`), into milliseconds.
 * @throws UsageError for anything else, or a zero duration.
 */
export function parseDuration(text: string, flag = '--stale-after'): number {
  const t = text.trim().toLowerCase();
  if (!/^(\d+[smhd])+$/.test(t)) {
    throw new UsageError(`invalid ${flag} value ${JSON.stringify(text)}: expected a duration such as 30m, 6h or 2d`);
  }
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit];
  if (ms <= 0) throw new UsageError(`invalid ${flag} value ${JSON.stringify(text)}: the duration must be longer than zero`);
  return ms;
}

/** Formats a duration for people: `2d 3h`, `5h 12m`, `42m`, `17s` (two largest units). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}
