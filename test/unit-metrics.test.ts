import { Metrics } from '@aws-lambda-powertools/metrics';
import { WorkflowEventType, type WorkflowEvent } from '../shared/events';
import { METRICS_NAMESPACE, METRIC_NAMES, UNKNOWN_WORKFLOW } from '../shared/metric-names';
import { EVENT_METRICS, WorkflowMetrics, metricWorkflow, metricsServiceFromEnv } from '../shared/metrics';
import { captureStdout, parseEmf } from './helpers/emf';

const event = (eventType: WorkflowEventType, payloadId: string): WorkflowEvent => ({ eventType, payloadId, isoTimestamp: '2026-12-01T00:00:00Z' });

/** A metrics writer that really writes (tests disable Powertools Metrics by default). */
function enabledMetrics(service = 'test-deployment'): WorkflowMetrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    return new WorkflowMetrics({ service, metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service }) });
  } finally {
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
}

describe('workflow metrics: which metric each event is counted in', () => {
  const T = WorkflowEventType;
  /** Each metric and the event types counted in it. */
  const counted: [string, WorkflowEventType[]][] = [
    ['Claimed', [T.CLAIMED_PROCESSING]],
    ['Started', [T.STARTED_PROCESSING]],
    ['Succeeded', [T.SUCCEEDED]],
    ['Failed', [T.FAILED]],
    ['TimedOut', [T.TIMED_OUT]],
    ['Aborted', [T.ABORTED]],
    ['Invalid', [T.INVALID]],
    ['Skipped', [T.ALREADY_SUCCEEDED, T.ALREADY_PROCESSING, T.ALREADY_CLAIMED, T.ALREADY_INVALID]],
    ['Duplicate', [T.DUPLICATE_ID_ENCOUNTERED]],
    ['InvalidRecord', [T.RECORD_EXTRACT_FAILED, T.NOT_A_PROCESS_PAYLOAD]],
  ];

  it.each(counted.flatMap(([name, types]) => types.map((type) => [type, name] as const)))('%s is counted as %s', (type, name) => {
    expect(EVENT_METRICS[type]).toBe(name);
  });

  it('every metric name of the contract is emitted for some event type', () => {
    expect(new Set(Object.values(EVENT_METRICS))).toEqual(new Set(Object.values(METRIC_NAMES)));
  });
});

describe('workflow metrics: the workflow dimension', () => {
  it('is the workflow part of the payload id', () => {
    expect(metricWorkflow('sentinel-s2-l2a/workflow-cog-archive/S2B_1')).toBe('cog-archive');
  });

  it('is "unknown" when the id names no workflow', () => {
    expect(metricWorkflow('unknown')).toBe(UNKNOWN_WORKFLOW);
    expect(metricWorkflow('a/b/c')).toBe(UNKNOWN_WORKFLOW);
  });

  it('is "unknown" when the workflow part is not a deployable workflow name (no new series from arbitrary ids)', () => {
    expect(metricWorkflow('c/workflow-has space/i')).toBe(UNKNOWN_WORKFLOW);
    expect(metricWorkflow(`c/workflow-${'w'.repeat(81)}/i`)).toBe(UNKNOWN_WORKFLOW);
  });
});

describe('workflow metrics: the EMF lines', () => {
  it('writes one line per workflow with namespace Cirrus, dimensions service and workflow, and summed counts', async () => {
    const m = enabledMetrics('my-deployment');
    m.count([
      event(WorkflowEventType.CLAIMED_PROCESSING, 'c/workflow-a/1'),
      event(WorkflowEventType.STARTED_PROCESSING, 'c/workflow-a/1'),
      event(WorkflowEventType.CLAIMED_PROCESSING, 'c/workflow-a/2'),
      event(WorkflowEventType.STARTED_PROCESSING, 'c/workflow-a/2'),
      event(WorkflowEventType.ALREADY_SUCCEEDED, 'c/workflow-b/3'),
    ]);
    const { stdout } = await captureStdout(() => m.flush());
    const lines = parseEmf(stdout);
    expect(lines).toHaveLength(2);
    const a = lines.find((l) => l.dimensions.workflow === 'a');
    expect(a).toMatchObject({
      namespace: 'Cirrus',
      dimensionSets: [['service', 'workflow']],
      dimensions: { service: 'my-deployment', workflow: 'a' },
      metrics: { Claimed: { value: 2, unit: 'Count' }, Started: { value: 2, unit: 'Count' } },
    });
    expect(Object.keys(a?.metrics ?? {})).toEqual(['Claimed', 'Started']);
    expect(lines.find((l) => l.dimensions.workflow === 'b')?.metrics).toEqual({ Skipped: { value: 1, unit: 'Count' } });
  });

  it('writes nothing when nothing was counted', async () => {
    const m = enabledMetrics();
    const { stdout } = await captureStdout(() => m.flush());
    expect(stdout).toBe('');
  });

  it('forgets the counts once flushed, so the next invocation starts from zero', async () => {
    const m = enabledMetrics();
    m.count([event(WorkflowEventType.SUCCEEDED, 'c/workflow-a/1')]);
    await captureStdout(() => m.flush());
    expect(m.pending()).toEqual({});
    m.count([event(WorkflowEventType.FAILED, 'c/workflow-a/1')]);
    const { stdout } = await captureStdout(() => m.flush());
    expect(parseEmf(stdout).map((l) => l.metrics)).toEqual([{ Failed: { value: 1, unit: 'Count' } }]);
  });

  it('takes the service dimension from POWERTOOLS_SERVICE_NAME, else "cirrus"', () => {
    expect(new WorkflowMetrics({ service: metricsServiceFromEnv({ POWERTOOLS_SERVICE_NAME: 'prod-cirrus' }) }).service).toBe('prod-cirrus');
    expect(new WorkflowMetrics({ service: metricsServiceFromEnv({}) }).service).toBe('cirrus');
    expect(metricsServiceFromEnv({ POWERTOOLS_SERVICE_NAME: '' })).toBe('cirrus');
  });
});
