/**
 * Execution names and ARNs, compatible with Cirrus (README, "Switching from Cirrus"), so a deployment can switch
 * between the two mid-flight.
 * @module
 */
import { v5 as uuidv5 } from 'uuid';

/** RFC 4122 URL namespace (Python's `uuid.NAMESPACE_URL`). */
export const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** The AWS console URL of an execution, as Cirrus records it in its executions list. */
export function executionUrl(executionArn: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * Python's `repr()` of a `str`: single quotes unless the text holds `'` and no `"`; `\\`, the
 * quote, `\n`, `\r` and `\t` escaped, other control characters as `\xNN`, lone surrogates as `\uNNNN`.
 * Used for execution names (console URLs) and for Cirrus's error texts in update-state.
 */
export function pythonStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${quote}${out}${quote}`;
}

/** Python's `repr()` of a list of `str` (`[]`, `['a', 'b']`). */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map(pythonStrRepr).join(', ')}]`;
}

/**
 * The execution id (Step Functions execution name) for a payload:
 * `uuid5(NAMESPACE_URL, "<payload_id>/<executions>")`, where `<executions>` is Python's repr of
 * the console URLs of the recorded execution ARNs (`[]` when there are none).
 */
export function executionId(payloadId: string, executionArns: readonly string[], region: string): string {
  const urls = executionArns.map((arn) => executionUrl(arn, region));
  return uuidv5(`${payloadId}/${pythonListRepr(urls)}`, NAMESPACE_URL);
}

/** `arn:…:execution:<prefix><workflow>:<executionId>` from the base workflow ARN. */
export function executionArn(baseWorkflowArn: string, workflow: string, execId: string): string {
  return `${baseWorkflowArn.replace(':stateMachine:', ':execution:')}${workflow}:${execId}`;
}

/** `arn:…:stateMachine:<prefix><workflow>` from the base workflow ARN. */
export function stateMachineArn(baseWorkflowArn: string, workflow: string): string {
  return `${baseWorkflowArn}${workflow}`;
}

/** Splits an execution ARN into its state machine ARN and execution name. */
export function splitExecutionArn(arn: string): { stateMachineArn: string; executionName: string } {
  const i = arn.lastIndexOf(':');
  return { stateMachineArn: arn.slice(0, i).replace(':execution:', ':stateMachine:'), executionName: arn.slice(i + 1) };
}

/** The execution name (id) at the end of an execution ARN. */
export function executionIdFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}
