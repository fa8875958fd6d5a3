/**
 * Sample values the unit and integration tests share: a UUID pattern, a Sentinel-2 payload id,
 * timestamps in the StateDB's format and execution ARNs of the test state machines. They are
 * written out here, independently of the code under test.
 */

/** A lowercase UUID, as the source of a regular expression. */
export const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** The payload id of a Sentinel-2 L2A item for workflow `cog-archive`. */
export const S2_PAYLOAD_ID = 'sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A';

/** Timestamps as the StateDB and workflow events write them (microseconds, `+00:00`), one second apart. */
export const TIMESTAMPS = ['2024-05-01T12:00:00.000000+00:00', '2024-05-01T12:00:01.000000+00:00', '2024-05-01T12:00:02.000000+00:00'] as const;

/** The ARN of execution `name` of workflow `workflow` of a deployment with resource prefix `cirrus-test` (account 123456789012, us-west-2). */
export function testExecutionArn(workflow: string, name: string): string {
  return `arn:aws:states:us-west-2:123456789012:execution:cirrus-test-${workflow}:${name}`;
}
