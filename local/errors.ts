/**
 * Named error classes of the embedded local AWS stack.
 * @module
 */
import { NamedError } from '../shared/errors';

/** Base class of every error the local stack raises on purpose; `name` is the class name. */
export class LocalStackError extends NamedError {}

/** The stack could not start (a server failed to listen, provisioning failed, …). */
export class LocalStackStartError extends LocalStackError {}

/** The stack was stopped while the caller was still waiting for something. */
export class LocalStackStoppedError extends LocalStackError {}

/** `waitForExecution` / `waitForIdle` gave up after its timeout. */
export class LocalStackTimeoutError extends LocalStackError {}

/** A handler invoked by the local SQS event source ran past the function's timeout. */
export class InvocationTimeoutError extends LocalStackError {}

/** `waitForExecution` was given an execution ARN the local Step Functions endpoint never started. */
export class UnknownExecutionError extends LocalStackError {
  constructor(readonly executionArn: string) {
    super(`no such execution in the local stack: ${executionArn}`);
  }
}

/** A workflow definition could not be read, parsed or substituted by `registerWorkflow`. */
export class WorkflowDefinitionError extends LocalStackError {}

/**
 * A service error sent back to an SDK client: `code` becomes the SDK exception name
 * (`StateMachineDoesNotExist`, `QueueDoesNotExist`, `NotFound`, …).
 */
export class AwsServiceError extends LocalStackError {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    /** Extra response headers (SQS `x-amzn-query-error`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
