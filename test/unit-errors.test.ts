/**
 * Named error classes: `name` equals the class name, so they can be told apart across bundles.
 */
import {
  CirrusError,
  ConfigurationError,
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
