/**
 * The help texts every command shares: where the configuration comes from and the one table of
 * exit codes (the README has the same table).
 * @module
 */
import { ENV } from '../shared/config';
import { DEFAULT_REGION } from './config';

/** Where each configuration value comes from. */
export const CONFIG_SECTION = `
Configuration (per value: flag, then --stack output, then environment variable):
  --bucket <name>        ${ENV.payloadBucket}
  --root-prefix <prefix> ${ENV.rootPrefix} (default "cirrus")
  --table <name>         ${ENV.stateDb}
  --queue-url <url>      ${ENV.processQueueUrl} (process, run-workflow, rerun)
  --stack <name>         reads the CloudFormation stack outputs PayloadBucketName,
                         PayloadRootPrefix, StateDbTableName and ProcessQueueUrl
  --region <region>      else AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region,
                         else ${DEFAULT_REGION}
Credentials and endpoints come from the usual AWS_* variables (AWS_PROFILE,
AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, ...).`;

/** The exit codes of every command. */
export const EXIT_SECTION = `
Exit codes:
  0  success (doctor: healthy)
  1  not found: unknown payload or execution, no execution yet, no output.json
     (the run has not succeeded), object missing from the bucket (doctor: warnings)
  2  usage or configuration error: bad option or argument, malformed payload id,
     no or unknown bucket, table, stack or queue, no credentials (doctor: errors)
  3  a service cannot be reached (connection refused, unknown host, timeout)
     or refuses access (HTTP 403, rejected credentials)
  4  run-workflow: the workflow ended FAILED or ABORTED;
     process, rerun: some payloads could not be sent
  5  invalid payload (payload validate, process, run-workflow; run-workflow: INVALID)
  6  run-workflow: --timeout passed before a final state
  7  any other failure (an unexpected AWS error)

Errors are one line on stderr ("cirrus: <message>"); set CIRRUS_DEBUG=1 for stack traces.`;

/** Configuration and exit codes, for the end of a command's help. */
export const CONFIG_HELP = `${CONFIG_SECTION}
${EXIT_SECTION}`;

/** The form of a payload id. */
export const PAYLOAD_ID_HELP = 'payload id: <collections>/workflow-<workflow>/<itemids>';
