/**
 * Captures the CloudWatch embedded metric format (EMF) lines a function writes to stdout, and
 * reads them back as (namespace, dimensions, metric values).
 */

/** One EMF metric directive of a line, resolved against the line's values. */
export interface EmfLine {
  namespace: string;
  /** The dimension names of each dimension set. */
  dimensionSets: string[][];
  /** The dimension values named by the dimension sets. */
  dimensions: Record<string, string>;
  /** Metric values by name, with their declared units. */
  metrics: Record<string, { value: number; unit: string }>;
  raw: Record<string, unknown>;
}

interface EmfJson {
  _aws?: { Timestamp?: number; CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** Parses the EMF lines among `text`'s lines (other lines are ignored). */
export function parseEmf(text: string): EmfLine[] {
  const lines: EmfLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let json: EmfJson;
    try {
      json = JSON.parse(line) as EmfJson;
    } catch {
      continue;
    }
    for (const directive of json._aws?.CloudWatchMetrics ?? []) {
      const names = [...new Set(directive.Dimensions.flat())];
      lines.push({
        namespace: directive.Namespace,
        dimensionSets: directive.Dimensions,
        dimensions: Object.fromEntries(names.map((n) => [n, String(json[n])])),
        metrics: Object.fromEntries(directive.Metrics.map((m) => [m.Name, { value: json[m.Name] as number, unit: m.Unit }])),
        raw: json,
      });
    }
  }
  return lines;
}

/** Records what is written to `process.stdout` while `fn` runs (and still lets nothing through). */
export async function captureStdout<T>(fn: () => Promise<T> | T): Promise<{ result: T; stdout: string }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    const result = await fn();
    return { result, stdout: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}
