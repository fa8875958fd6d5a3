/**
 * Public API of the payload bucket library, for task authors and downstream code: import these
 * instead of building payload keys by hand.
 *
 * ```ts
 * import { PayloadBucket, readPayloadUnrestricted, lambdaTask } from 'cirrus-payload-bucket';
 * ```
 * @module
 */
export {
  PayloadBucket,
  parseUrl,
  formatUrl,
  isReference,
  readPayload,
  readPayloadUnrestricted,
  INPUT_KEY,
  OUTPUT_KEY,
  S3_MAX_KEY_BYTES,
  type PayloadBucketOptions,
  type PayloadInput,
  type S3Location,
} from './payload-bucket';
export { PayloadLayout, type ExecutionKey, type ExecutionObjectName } from './payload-layout';
export { DEFAULT_ROOT_PREFIX, normalizeRootPrefix } from './config';
export {
  CirrusError,
  UndefinedPayloadBucketError,
  ConfigurationError,
  InvalidRecordError,
  InvalidS3UrlError,
  NoUrlError,
  ReferenceNotAllowedError,
  PayloadReadError,
  NotAProcessPayloadError,
  InvalidPayloadIdError,
  TaskInputError,
} from './errors';
export {
  validateProcessPayload,
  buildPayloadId,
  parsePayloadId,
  checkPayloadId,
  PAYLOAD_ID_REGEX,
  type ProcessPayload,
  type ProcessDefinition,
  type PayloadIdParts,
  type ValidateOptions,
} from './payload';
export { MAX_PAYLOAD_LENGTH, measureInlineSize, isOversized, toInlineOrReference, inlineOrReference, type InlineOrReference } from './size';
export { SerializedPayload, isJsonObject, type JsonObject, type JsonValue } from './json';
export { lambdaTask, batchTask, type TaskFunction, type TaskOptions, type BatchTaskInput } from './task';
