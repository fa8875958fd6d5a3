/**
 * A Cirrus workflow: a Step Functions state machine named `<resourcePrefix>-<name>`, defined by
 * an Amazon States Language (ASL) JSON file.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ConfigurationError } from '../shared/errors';
import { acknowledgeRule, acknowledgeWildcardResources } from './nag';
import type { CirrusPayloadBucket } from './payload-bucket-construct';

/** Longest state machine name Step Functions accepts. */
export const MAX_STATE_MACHINE_NAME_LENGTH = 80;

/** Substitutions every workflow definition may use, when a payload bucket is given. */
export const BUILTIN_SUBSTITUTIONS = ['ResourcePrefix', 'PayloadBucket', 'PayloadRootPrefix'] as const;

const WORKFLOW_NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const PLACEHOLDER_RE = /\$\{([A-Za-z0-9_]+)\}/g;

/**
 * A workflow as a deployment adds it (`CirrusDeployment.addWorkflow`): the deployment supplies
 * the resource prefix and the payload bucket.
 */
export interface CirrusWorkflowOptions {
  /**
   * Workflow name, as in `process[0].workflow` of payloads: letters, digits and inner `-` (no `_`,
   * which the payload id layout reserves). The state machine is `<resourcePrefix>-<name>`.
   */
  readonly name: string;
  /** Path of the ASL JSON definition. `${Key}` placeholders are filled from the substitutions. */
  readonly definitionFile: string;
  /**
   * Values for `${Key}` placeholders (CloudFormation `DefinitionSubstitutions`; tokens allowed).
   * @default - none besides the lambdas and the built-ins
   */
  readonly substitutions?: Readonly<Record<string, string>>;
  /**
   * Task functions by placeholder: `${Key}` becomes the function ARN and the state machine may
   * invoke it. With `payloadBucket`, each function may also read and write payloads.
   * @default - none
   */
  readonly lambdas?: Readonly<Record<string, lambda.IFunction>>;
  /**
   * Maximum duration of an execution.
   * @default Duration.hours(24)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props of {@link CirrusWorkflow}. */
export interface CirrusWorkflowProps extends CirrusWorkflowOptions {
  /** The deployment's resource prefix (`process` starts `<resourcePrefix>-<workflow>`). */
  readonly resourcePrefix: string;
  /**
   * The payload bucket. Adds the built-in substitutions `${PayloadBucket}`,
   * `${PayloadRootPrefix}` and `${ResourcePrefix}`, and grants the task lambdas payload access.
   * @default - no payload substitutions or grants
   */
  readonly payloadBucket?: CirrusPayloadBucket;
}

/** Actions Step Functions needs on `"*"` for execution logs and X-Ray tracing. */
export const WILDCARD_RESOURCE_ACTIONS: ReadonlySet<string> = new Set([
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
]);

/** Validation errors for actions other than {@link WILDCARD_RESOURCE_ACTIONS} allowed on `"*"`. */
function unexpectedWildcardActions(role: iam.IRole): string[] {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!(policy instanceof iam.Policy)) return [];
  const doc = Stack.of(role).resolve(policy.document.toJSON()) as
    | { Statement?: { Effect?: string; Action?: string | string[]; Resource?: unknown }[] }
    | undefined;
  const errors: string[] = [];
  for (const st of doc?.Statement ?? []) {
    if (st.Effect !== 'Allow' || ![st.Resource].flat().includes('*')) continue;
    for (const action of [st.Action ?? []].flat()) {
      if (!WILDCARD_RESOURCE_ACTIONS.has(action)) {
        errors.push(`state machine role allows ${action} on "*"; scope it to specific resources`);
      }
    }
  }
  return errors;
}

/** The `${Key}` placeholders used in an ASL text. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER_RE)].map((m) => m[1]))].sort();
}

/** Reads and checks an ASL file: JSON object with `StartAt` and `States`. Returns the text. */
export function readDefinition(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigurationError(`cannot read workflow definition ${file}: ${e instanceof Error ? e.message : e}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigurationError(`workflow definition ${file} is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    typeof (parsed as Record<string, unknown>).StartAt !== 'string' ||
    typeof (parsed as Record<string, unknown>).States !== 'object'
  ) {
    throw new ConfigurationError(`workflow definition ${file} has no "StartAt" and "States"`);
  }
  // Re-serialise compactly: the template stays small and whitespace changes do not update it.
  return JSON.stringify(parsed);
}

/**
 * The `DefinitionSubstitutions` of a workflow: the deployment's values (`ResourcePrefix`,
 * `PayloadBucket`, `PayloadRootPrefix`), the given ones, and the task functions' ARNs, keeping
 * only the placeholders the definition uses.
 * @throws ConfigurationError when a placeholder of the definition has no value.
 */
function substitutionsFor(props: CirrusWorkflowProps, definition: string): Record<string, string> {
  const substitutions: Record<string, string> = {};
  if (props.payloadBucket) {
    substitutions.ResourcePrefix = props.resourcePrefix;
    substitutions.PayloadBucket = props.payloadBucket.bucket.bucketName;
    substitutions.PayloadRootPrefix = props.payloadBucket.rootPrefix;
  }
  Object.assign(substitutions, props.substitutions ?? {});
  for (const [key, fn] of Object.entries(props.lambdas ?? {})) substitutions[key] = fn.functionArn;
  const missing = placeholdersOf(definition).filter((p) => !(p in substitutions));
  if (missing.length > 0) {
    throw new ConfigurationError(
      `workflow "${props.name}" (${props.definitionFile}) uses placeholder(s) with no value: ${missing.map((m) => '${' + m + '}').join(', ')}`,
    );
  }
  const used = new Set(placeholdersOf(definition));
  return Object.fromEntries(Object.entries(substitutions).filter(([k]) => used.has(k)));
}

/**
 * A workflow of the deployment. The definition is inlined into the template (so the synthesized
 * template, its snapshot and cdk-nag see it) with `DefinitionSubstitutions`. Every placeholder
 * must have a value, checked at synth. Executions log ALL events (without execution data, which
 * holds payloads) to a log group and are traced with X-Ray.
 */
export class CirrusWorkflow extends Construct {
  /** The workflow name. */
  readonly workflowName: string;
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CirrusWorkflowProps) {
    super(scope, id);
    const { name, resourcePrefix } = props;
    if (!WORKFLOW_NAME_RE.test(name)) {
      throw new ConfigurationError(
        `invalid workflow name ${JSON.stringify(name)}: use letters, digits and inner "-" (no "_" or "/")`,
      );
    }
    const stateMachineName = `${resourcePrefix}-${name}`;
    if (stateMachineName.length > MAX_STATE_MACHINE_NAME_LENGTH) {
      throw new ConfigurationError(
        `state machine name "${stateMachineName}" is longer than ${MAX_STATE_MACHINE_NAME_LENGTH} characters`,
      );
    }
    this.workflowName = name;

    const definition = readDefinition(props.definitionFile);
    const definitionSubstitutions = substitutionsFor(props, definition);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions:
        Object.keys(definitionSubstitutions).length > 0 ? definitionSubstitutions : undefined,
      timeout: props.timeout ?? Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    this.grantTasks(props);
  }

  /**
   * Lets the state machine invoke the task functions (which get payload read/write under
   * `<root>/`), and acknowledges the wildcards of its role.
   */
  private grantTasks(props: CirrusWorkflowProps): void {
    const invokeResources: string[] = [];
    for (const fn of Object.values(props.lambdas ?? {})) {
      fn.grantInvoke(this.stateMachine);
      invokeResources.push(`${fn.functionArn}:*`);
      if (props.payloadBucket) {
        props.payloadBucket.grantPayloadReadWrite(fn);
      }
    }

    const role = this.stateMachine.role;
    // The "*" resource acknowledged below is for log delivery and X-Ray only: any other action on
    // "*" added to this role later fails the synth instead of riding on that acknowledgment.
    this.node.addValidation({ validate: () => unexpectedWildcardActions(role) });
    acknowledgeRule(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions log delivery (logs:*LogDelivery*, logs:DescribeLogGroups, …) and X-Ray ' +
        '(xray:PutTraceSegments, …) do not support resource-level permissions.',
    );
    acknowledgeWildcardResources(
      role,
      invokeResources,
      'Task functions may be invoked by version or alias (<function arn>:*), as generated by grantInvoke.',
    );
  }
}
