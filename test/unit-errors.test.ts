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

  it('errorName and errorMessage handle errors, named objects and other values', () => {
    expect(errorName(new NoUrlError('x'))).toBe('NoUrlError');
    expect(errorName({ name: 'ConditionalCheckFailedException' })).toBe('ConditionalCheckFailedException');
    expect(errorName('text')).toBe('string');
    expect(errorMessage(new Error('msg'))).toBe('msg');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ a: 1 })).toBe('{"a":1}');
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

  it('the errors moved here keep their names and are still exported from their old modules', () => {
    expect(new InvalidPayloadIdError('x', 'rule').name).toBe('InvalidPayloadIdError');
    expect(new StartExecutionThrottledError(3, undefined).name).toBe('StartExecutionThrottledError');
    expect(new ProcessFailedError([{ index: 0, outcome: 'retry' }]).name).toBe('ProcessFailedError');
    expect(new TaskInputError('m').name).toBe('TaskInputError');
    expect(new BatchJobError('m').name).toBe('BatchJobError');
    expect(new ChainFilterError('m').name).toBe('ChainFilterError');
    expect(new BatchSendError('m', []).name).toBe('BatchSendError');
    expect(PayloadIdModule.InvalidPayloadIdError).toBe(InvalidPayloadIdError);
    expect(ProcessModule.ProcessFailedError).toBe(ProcessFailedError);
    expect(StartModule.StartExecutionThrottledError).toBe(StartExecutionThrottledError);
    expect(TaskModule.TaskInputError).toBe(TaskInputError);
    expect(BatchModule.BatchJobError).toBe(BatchJobError);
    expect(ChainModule.ChainFilterError).toBe(ChainFilterError);
    expect(SnsModule.BatchSendError).toBe(BatchSendError);
  });
});
