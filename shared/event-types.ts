/**
 * The workflow event types: the strings Cirrus v2 announces, and this project's own. A module of
 * its own (no imports but the enum helper) so that `events.ts` and `workflow-metric-log.ts` both
 * read the one list, and the metric log needs nothing of the publisher at run time.
 * @module
 */
import { stringEnum } from './string-enum';

/** The event types Cirrus v2 announces, and so writes metric events for (the same strings). */
const CIRRUS_TYPES = [
  'CLAIMED_PROCESSING',
  'STARTED_PROCESSING',
  'ALREADY_INVALID',
  'ALREADY_PROCESSING',
  'ALREADY_CLAIMED',
  'ALREADY_SUCCEEDED',
  'DUPLICATE_ID_ENCOUNTERED',
  'FAILED',
  'TIMED_OUT',
  'SUCCEEDED',
  'INVALID',
  'ABORTED',
  'RECORD_EXTRACT_FAILED',
  'NOT_A_PROCESS_PAYLOAD',
] as const;

/**
 * Workflow event types: Cirrus's, and `PUBLISH_FAILED` (this project's only: an output item of a
 * succeeded workflow that SNS refuses, too large or with an attribute it does not accept).
 */
export const WorkflowEventType = stringEnum(...CIRRUS_TYPES, 'PUBLISH_FAILED');
/** One of {@link WorkflowEventType}. */
export type WorkflowEventType = (typeof WorkflowEventType)[keyof typeof WorkflowEventType];

/** The event types Cirrus v2 announces; events of this project only stay out of Cirrus's metrics. */
export const CIRRUS_EVENT_TYPES: ReadonlySet<string> = new Set(CIRRUS_TYPES);
