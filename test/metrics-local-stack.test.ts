/**
 * The embedded metrics the built function bundles write during a run on the local stack: the
 * namespace, dimensions and counts the CDK dashboard and alarms read.
 */
import { startPipeline, type Pipeline } from '../local/pipeline';
import { captureStdout, parseEmf, type EmfLine } from './helpers/emf';
import { makePayload } from './helpers/pipeline';

const SERVICE = 'metrics-test';
let p: Pipeline;
let lines: EmfLine[];
let payloads: ReturnType<typeof makePayload>[];

beforeAll(async () => {
  // The bundles build their metrics writer when loaded, from this environment.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_SERVICE_NAME = SERVICE;
  p = await startPipeline();
  payloads = [makePayload({ succeed: true }), makePayload({ succeed: true }), makePayload({ succeed: false })];
  const bodies = [...payloads.map((x) => JSON.stringify(x)), 'this is not JSON', JSON.stringify(payloads[0])];
  const { stdout } = await captureStdout(async () => {
    await p.sendBatch(bodies);
    await p.stack.waitForIdle();
  });
  lines = parseEmf(stdout);
}, 120_000);

afterAll(async () => {
  await p?.stop();
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_SERVICE_NAME;
});

/** The sum of a metric over every line of a workflow. */
function total(workflow: string, name: string): number {
  return lines.filter((l) => l.dimensions.workflow === workflow).reduce((n, l) => n + (l.metrics[name]?.value ?? 0), 0);
}

describe('embedded metrics of a local-stack run (built bundles)', () => {
  it('every line is in namespace Cirrus with exactly the dimensions service and workflow', () => {
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l.namespace).toBe('Cirrus');
      expect(l.dimensionSets).toEqual([['service', 'workflow']]);
      expect(l.dimensions.service).toBe(SERVICE);
      for (const m of Object.values(l.metrics)) expect(m.unit).toBe('Count');
    }
  });

  it('process writes its outcomes of the batch once, one line per workflow', () => {
    const processLines = lines.filter((l) => 'Claimed' in l.metrics || 'InvalidRecord' in l.metrics);
    expect(processLines.map((l) => l.dimensions.workflow).sort()).toEqual(['minimal', 'unknown']);
    expect(processLines.find((l) => l.dimensions.workflow === 'minimal')?.metrics).toEqual({
      Claimed: { value: 3, unit: 'Count' },
      Started: { value: 3, unit: 'Count' },
      Duplicate: { value: 1, unit: 'Count' },
    });
    expect(processLines.find((l) => l.dimensions.workflow === 'unknown')?.metrics).toEqual({ InvalidRecord: { value: 1, unit: 'Count' } });
  });

  it('update-state writes one line per finished execution: two succeeded, one failed', () => {
    const updateLines = lines.filter((l) => 'Succeeded' in l.metrics || 'Failed' in l.metrics);
    expect(updateLines).toHaveLength(3);
    expect(total('minimal', 'Succeeded')).toBe(2);
    expect(total('minimal', 'Failed')).toBe(1);
  });
});
