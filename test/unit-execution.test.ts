/**
 * Execution names and ARNs (README, "Switching from Cirrus"), with golden values from Python's uuid.uuid5.
 *
 * Golden values were computed with python3 3.11 (the same formula Cirrus uses in
 * `ProcessPayloads.gen_execution_arn`), running:
 *
 *   python3 - <<'EOF'
 *   import uuid
 *   pid = "sentinel-2-l2a/workflow-cog-archive/S2B_10TFK_20210713_0_L2A"
 *   def url(arn, region="us-west-2"):
 *       return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
 *   a1 = "arn:aws:states:us-west-2:123456789012:execution:cirrus-test-cog-archive:492fca12-ae13-5b13-8f98-4873fed8f3d3"
 *   print(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}/{[]}"))                      # 492fca12-ae13-5b13-8f98-4873fed8f3d3
 *   e1 = [url(a1)]
 *   id1 = uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}/{e1}"); print(id1)           # b6649364-d411-5e09-b067-9ea4c6ccbfee
 *   a2 = f"arn:aws:states:us-west-2:123456789012:execution:cirrus-test-cog-archive:{id1}"
 *   e2 = [url(a1), url(a2)]
 *   print(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}/{e2}"))                      # 118c97b1-b45b-5bb8-8455-3e5ad942798a
 *   a3 = "arn:aws:states:eu-central-1:123456789012:execution:cirrus-test-cog-archive:492fca12-ae13-5b13-8f98-4873fed8f3d3"
 *   print(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}/{[url(a3, 'eu-central-1')]}"))  # 23d108bc-730a-5be5-98a6-7309bf32fedb
 *   EOF
 */
import {
  NAMESPACE_URL,
  executionArn,
  executionId,
  executionIdFromArn,
  executionUrl,
  pythonListRepr,
  pythonStrRepr,
  splitExecutionArn,
  stateMachineArn,
} from '../shared/execution';
import { regionFromEnv } from '../shared/config';
import type { ProcessPayload } from '../shared/payload';
import { plannedExecutionArn } from '../shared/process';
import { State, type StateItem } from '../shared/statedb';

const PAYLOAD_ID = 'sentinel-2-l2a/workflow-cog-archive/S2B_10TFK_20210713_0_L2A';
const BASE_ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-test-';
const ARN1 = 'arn:aws:states:us-west-2:123456789012:execution:cirrus-test-cog-archive:492fca12-ae13-5b13-8f98-4873fed8f3d3';
const ARN2 = 'arn:aws:states:us-west-2:123456789012:execution:cirrus-test-cog-archive:b6649364-d411-5e09-b067-9ea4c6ccbfee';
const ARN_EU = 'arn:aws:states:eu-central-1:123456789012:execution:cirrus-test-cog-archive:492fca12-ae13-5b13-8f98-4873fed8f3d3';

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(vars)) {
    saved[k] = process.env[k];
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  try {
    return fn();
  } finally {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe('execution ids (golden values from Python uuid.uuid5)', () => {
  it('uses the RFC 4122 URL namespace', () => {
    expect(NAMESPACE_URL).toBe('6ba7b811-9dad-11d1-80b4-00c04fd430c8');
  });

  it('names the golden payload id\'s first execution (none recorded) 492fca12-ae13-5b13-8f98-4873fed8f3d3', () => {
    expect(executionId(PAYLOAD_ID, [], 'us-west-2')).toBe('492fca12-ae13-5b13-8f98-4873fed8f3d3');
    // With no recorded execution the region plays no part.
    expect(executionId(PAYLOAD_ID, [], 'eu-central-1')).toBe('492fca12-ae13-5b13-8f98-4873fed8f3d3');
  });

  it('names the golden payload id\'s execution after one recorded execution', () => {
    expect(executionId(PAYLOAD_ID, [ARN1], 'us-west-2')).toBe('b6649364-d411-5e09-b067-9ea4c6ccbfee');
  });

  it('names the golden payload id\'s execution after two recorded executions', () => {
    expect(executionId(PAYLOAD_ID, [ARN1, ARN2], 'us-west-2')).toBe('118c97b1-b45b-5bb8-8455-3e5ad942798a');
  });

  it('uses the region in the console URLs', () => {
    expect(executionId(PAYLOAD_ID, [ARN_EU], 'eu-central-1')).toBe('23d108bc-730a-5be5-98a6-7309bf32fedb');
    expect(executionId(PAYLOAD_ID, [ARN1], 'eu-central-1')).not.toBe('b6649364-d411-5e09-b067-9ea4c6ccbfee');
  });

  it('takes the region the functions read from AWS_REGION', () => {
    const region = regionFromEnv({ AWS_REGION: 'eu-central-1' });
    expect(region).toBe('eu-central-1');
    expect(executionId(PAYLOAD_ID, [ARN_EU], region)).toBe('23d108bc-730a-5be5-98a6-7309bf32fedb');
  });

  it('defaults the region the functions read to us-west-2', () => {
    const region = regionFromEnv({});
    expect(region).toBe('us-west-2');
    expect(executionId(PAYLOAD_ID, [ARN1], region)).toBe('b6649364-d411-5e09-b067-9ea4c6ccbfee');
  });

  it('depends on the order of the executions', () => {
    expect(executionId(PAYLOAD_ID, [ARN2, ARN1], 'us-west-2')).not.toBe('118c97b1-b45b-5bb8-8455-3e5ad942798a');
  });
});

describe('console URLs and Python list repr', () => {
  it('builds https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<arn>', () => {
    expect(executionUrl(ARN1, 'us-west-2')).toBe(
      `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${ARN1}`,
    );
    expect(executionUrl(ARN_EU, 'eu-central-1')).toBe(
      `https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1#/v2/executions/details/${ARN_EU}`,
    );
  });

  it("prints [] and ['u1', 'u2'] as Python does", () => {
    expect(pythonListRepr([])).toBe('[]');
    expect(pythonListRepr(['u1'])).toBe("['u1']");
    expect(pythonListRepr(['u1', 'u2'])).toBe("['u1', 'u2']");
  });

  it('quotes strings as Python repr does', () => {
    // python3 -c "print(repr(\"it's\"), repr('say \"hi\"'), repr('both \\' \"'), repr('back\\\\slash'), repr('tab\\tnl\\n'), repr('é中😀'))"
    // → "it's" 'say "hi"' 'both \' "' 'back\\slash' 'tab\tnl\n' 'é中😀'
    expect(pythonStrRepr("it's")).toBe('"it\'s"');
    expect(pythonStrRepr('say "hi"')).toBe('\'say "hi"\'');
    expect(pythonStrRepr('both \' "')).toBe("'both \\' \"'");
    expect(pythonStrRepr('back\\slash')).toBe("'back\\\\slash'");
    expect(pythonStrRepr('tab\tnl\n')).toBe("'tab\\tnl\\n'");
    expect(pythonStrRepr('é中😀')).toBe("'é中😀'");
  });
});

describe('execution ARNs', () => {
  it('replaces :stateMachine: by :execution: and appends <workflow>:<execution_id>', () => {
    expect(executionArn(BASE_ARN, 'cog-archive', '492fca12-ae13-5b13-8f98-4873fed8f3d3')).toBe(ARN1);
  });

  it('builds the state machine ARN <base><workflow>', () => {
    expect(stateMachineArn(BASE_ARN, 'cog-archive')).toBe('arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-test-cog-archive');
  });

  it('splits an execution ARN into state machine ARN and execution name', () => {
    expect(splitExecutionArn(ARN1)).toEqual({
      stateMachineArn: 'arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-test-cog-archive',
      executionName: '492fca12-ae13-5b13-8f98-4873fed8f3d3',
    });
  });

  it('round-trips executionArn and splitExecutionArn', () => {
    const arn = executionArn(BASE_ARN, 'wf', 'exec-1');
    expect(splitExecutionArn(arn)).toEqual({ stateMachineArn: stateMachineArn(BASE_ARN, 'wf'), executionName: 'exec-1' });
    expect(executionIdFromArn(arn)).toBe('exec-1');
  });
});

describe('planned execution ARN', () => {
  const payload = {
    type: 'FeatureCollection',
    id: PAYLOAD_ID,
    features: [],
    process: [{ workflow: 'cog-archive' }],
  } as unknown as ProcessPayload;

  function item(state: State, executions: string[]): StateItem {
    return { payloadId: PAYLOAD_ID, collections: 'sentinel-2-l2a', workflow: 'cog-archive', items: 'S2B_10TFK_20210713_0_L2A', state, executions };
  }

  it('names a new payload from its id and no executions', () => {
    withEnv({ AWS_REGION: 'us-west-2' }, () => {
      expect(plannedExecutionArn(payload, undefined, BASE_ARN, 'us-west-2')).toBe(ARN1);
    });
  });

  it('names a FAILED payload from its recorded executions', () => {
    withEnv({ AWS_REGION: 'us-west-2' }, () => {
      expect(plannedExecutionArn(payload, item(State.FAILED, [ARN1]), BASE_ARN, 'us-west-2')).toBe(ARN2);
      expect(plannedExecutionArn(payload, item(State.ABORTED, [ARN1, ARN2]), BASE_ARN, 'us-west-2')).toBe(
        'arn:aws:states:us-west-2:123456789012:execution:cirrus-test-cog-archive:118c97b1-b45b-5bb8-8455-3e5ad942798a',
      );
    });
  });

  it('names a resumed payload from the console URLs of the region it is given, whatever process.env says', () => {
    withEnv({ AWS_REGION: 'us-west-2' }, () => {
      const arn = plannedExecutionArn(payload, item(State.FAILED, [ARN1]), BASE_ARN, 'eu-west-1');
      expect(arn).not.toBe(ARN2);
      expect(executionIdFromArn(arn)).toBe(executionId(PAYLOAD_ID, [ARN1], 'eu-west-1'));
    });
  });

  it('reuses the last recorded execution of a CLAIMED payload', () => {
    expect(plannedExecutionArn(payload, item(State.CLAIMED, [ARN1, ARN2]), BASE_ARN, 'us-west-2')).toBe(ARN2);
  });
});
