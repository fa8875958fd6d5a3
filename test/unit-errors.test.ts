/**
 * Named error classes: `name` equals the class name, so they can be told apart across bundles.
 */
import * as BatchModule from '../shared/batch';
import * as ChainModule from '../shared/chain';
import {
  BatchJobError,
  BatchSendError,
  ChainFilterError,
  CirrusError,
  ConfigurationError,
  InvalidPayloadIdError,
  InvalidRecordError,
  ProcessFailedError,
  StartExecutionThrottledError,
  TaskInputError,
  ExecutionNotFoundError,
  InvalidS3UrlError,
  MalformedEventError,
  NoUrlError,
  NotAProcessPayloadError,
  PayloadNotFoundError,
  PayloadReadError,
  RecordExtractError,
  ReferenceNotAllowedError,
  UndefinedPayloadBucketError,
  errorMessage,
  errorName,
} from '../shared/errors';
import * as PayloadIdModule from '../shared/payload-id';
import * as ProcessModule from '../shared/process';
import * as SnsModule from '../shared/sns';
import * as StartModule from '../shared/start-execution';
import * as TaskModule from '../shared/task';

describe('error classes', () => {
  it.each([
    ['UndefinedPayloadBucketError', new UndefinedPayloadBucketError('m')],
    ['ConfigurationError', new ConfigurationError('m')],
    ['InvalidS3UrlError', new InvalidS3UrlError('m')],
    ['NoUrlError', new NoUrlError('m')],
    ['ReferenceNotAllowedError', new ReferenceNotAllowedError('m')],
    ['PayloadReadError', new PayloadReadError('m')],
    ['RecordExtractError', new RecordExtractError('m')],
    ['MalformedEventError', new MalformedEventError('m')],
    ['NotAProcessPayloadError', new NotAProcessPayloadError('id', 'm')],
    ['PayloadNotFoundError', new PayloadNotFoundError('c/workflow-w/i')],
    ['ExecutionNotFoundError', new ExecutionNotFoundError('c/workflow-w/i')],
  ])('%s has that name and is a CirrusError', (name, err) => {
    expect(err.name).toBe(name);
    expect(err).toBeInstanceOf(CirrusError);
    expect(err).toBeInstanceOf(Error);
  });

  it('NotAProcessPayloadError carries the field and names it in the message', () => {
    const err = new NotAProcessPayloadError('process[0].workflow', 'must be a string');
    expect(err.field).toBe('process[0].workflow');
    expect(err.message).toBe('not a process payload: process[0].workflow: must be a string');
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    expect(new PayloadReadError('m', { cause }).cause).toBe(cause);
  });

  it.each([
    ['an error', new NoUrlError('x'), 'NoUrlError'],
    ['a named object', { name: 'ConditionalCheckFailedException' }, 'ConditionalCheckFailedException'],
    ['another value', 'text', 'string'],
  ])('errorName of %s: %j', (_what, value, name) => {
    expect(errorName(value)).toBe(name);
  });

  it.each([
    ['an error', new Error('msg'), 'msg'],
    ['a string', 'plain', 'plain'],
    ['another value (its JSON)', { a: 1 }, '{"a":1}'],
  ])('errorMessage of %s', (_what, value, message) => {
    expect(errorMessage(value)).toBe(message);
  });
});

describe('invalid records and retries', () => {
  it.each([
    ['RecordExtractError', new RecordExtractError('m')],
    ['NotAProcessPayloadError', new NotAProcessPayloadError('id', 'm')],
    ['InvalidPayloadIdError', new InvalidPayloadIdError('x', 'rule')],
    ['InvalidS3UrlError', new InvalidS3UrlError('m')],
    ['ReferenceNotAllowedError', new ReferenceNotAllowedError('m')],
    ['PayloadReadError', new PayloadReadError('m')],
  ])('%s is an InvalidRecordError (stored under tmp/invalid, not retried)', (name, err) => {
    expect(err.name).toBe(name);
    expect(err).toBeInstanceOf(InvalidRecordError);
  });

  it.each([
    ['ConfigurationError', new ConfigurationError('m')],
    ['UndefinedPayloadBucketError', new UndefinedPayloadBucketError('m')],
    ['NoUrlError', new NoUrlError('m')],
    ['PayloadNotFoundError', new PayloadNotFoundError('c/workflow-w/i')],
  ])('%s is not an InvalidRecordError', (_name, err) => {
    expect(err).not.toBeInstanceOf(InvalidRecordError);
  });

  it.each([
    ['InvalidPayloadIdError', new InvalidPayloadIdError('x', 'rule')],
    ['StartExecutionThrottledError', new StartExecutionThrottledError(3, undefined)],
    ['ProcessFailedError', new ProcessFailedError([{ index: 0, outcome: 'retry' }])],
    ['TaskInputError', new TaskInputError('m')],
    ['BatchJobError', new BatchJobError('m')],
    ['ChainFilterError', new ChainFilterError('m')],
    ['BatchSendError', new BatchSendError('m', [])],
  ])('%s, moved here, keeps its name', (name, err) => {
    expect(err.name).toBe(name);
  });

  it.each<[string, unknown, unknown]>([
    ['shared/payload-id', PayloadIdModule.InvalidPayloadIdError, InvalidPayloadIdError],
    ['shared/process', ProcessModule.ProcessFailedError, ProcessFailedError],
    ['shared/start-execution', StartModule.StartExecutionThrottledError, StartExecutionThrottledError],
    ['shared/task', TaskModule.TaskInputError, TaskInputError],
    ['shared/batch', BatchModule.BatchJobError, BatchJobError],
    ['shared/chain', ChainModule.ChainFilterError, ChainFilterError],
    ['shared/sns', SnsModule.BatchSendError, BatchSendError],
  ])('%s still exports its error moved here', (_module, exported, moved) => {
    expect(exported).toBe(moved);
  });
});
