/**
 * Message attributes shared by the local SNS and SQS endpoints: validation as AWS does it and the
 * SQS `MD5OfMessageAttributes` digest.
 * @module
 */
import { createHash } from 'node:crypto';
import { AwsServiceError } from './errors';
import { utf8Length } from '../shared/size';

/** One message attribute as the APIs carry it (`BinaryValue` base64-encoded). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** Attribute map keyed by attribute name. */
export type MessageAttributes = Record<string, MessageAttributeValue>;

const NAME_RE = /^[A-Za-z0-9_\-.]{1,256}$/;

/**
 * Validates attributes as SNS/SQS do (non-empty values, numeric `Number`s, known data types,
 * legal names). Throws {@link AwsServiceError} `code` with a message naming the attribute.
 */
export function validateAttributes(attrs: MessageAttributes, opts: { code: string; allowStringArray: boolean; max?: number }): void {
  const names = Object.keys(attrs);
  if (opts.max !== undefined && names.length > opts.max) {
    throw new AwsServiceError(opts.code, `Number of message attributes [${names.length}] exceeds the allowed maximum [${opts.max}].`);
  }
  for (const name of names) {
    const v = attrs[name];
    if (!NAME_RE.test(name) || name.startsWith('AWS.') || name.startsWith('Amazon.') || name.includes('..') || name.startsWith('.') || name.endsWith('.')) {
      throw new AwsServiceError(opts.code, `Invalid attribute name: ${name}`);
    }
    const base = (v?.DataType ?? '').split('.')[0];
    const allowed = ['String', 'Number', 'Binary', ...(opts.allowStringArray ? ['String.Array'] : [])];
    const isArray = v?.DataType === 'String.Array' || v?.DataType?.startsWith('String.Array.');
    if (!v || (!allowed.includes(base) && !(opts.allowStringArray && isArray))) {
      throw new AwsServiceError(opts.code, `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    if (base === 'Binary') {
      if (!v.BinaryValue) throw new AwsServiceError(opts.code, `The message attribute '${name}' must contain non-empty message attribute value for message attribute type 'Binary'.`);
      continue;
    }
    if (v.StringValue === undefined || v.StringValue === '') {
      throw new AwsServiceError(opts.code, `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${v.DataType}'.`);
    }
    if (base === 'Number' && !isArray && !Number.isFinite(Number(v.StringValue))) {
      throw new AwsServiceError(opts.code, `Could not cast message attribute '${name}' value to number.`);
    }
    if (isArray) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v.StringValue);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed)) {
        throw new AwsServiceError(opts.code, `The message attribute '${name}' with type 'String.Array' must be a JSON array.`);
      }
    }
  }
}

/** UTF-8 size counted against the message size limit (names, types and values). */
export function attributesSize(attrs: MessageAttributes): number {
  let n = 0;
  for (const [name, v] of Object.entries(attrs)) {
    n += utf8Length(name) + utf8Length(v.DataType);
    if (v.StringValue !== undefined) n += utf8Length(v.StringValue);
    if (v.BinaryValue !== undefined) n += Buffer.from(v.BinaryValue, 'base64').length;
  }
  return n;
}

/** `{name: StringValue}` (binary values as base64): the convenient view tests read. */
export function simpleAttributes(attrs: MessageAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(attrs)) out[name] = v.StringValue ?? v.BinaryValue ?? '';
  return out;
}

/** The SQS `MD5OfMessageAttributes` digest (AWS's documented encoding). */
export function md5OfMessageAttributes(attrs: MessageAttributes): string {
  const hash = createHash('md5');
  const lenPrefixed = (buf: Buffer): void => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    hash.update(len);
    hash.update(buf);
  };
  for (const name of Object.keys(attrs).sort()) {
    const v = attrs[name];
    lenPrefixed(Buffer.from(name, 'utf8'));
    lenPrefixed(Buffer.from(v.DataType, 'utf8'));
    if (v.BinaryValue !== undefined && v.DataType.startsWith('Binary')) {
      hash.update(Buffer.from([2]));
      lenPrefixed(Buffer.from(v.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      lenPrefixed(Buffer.from(v.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

/** Hex MD5 of a string (SQS `MD5OfMessageBody`). */
export function md5Hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}
