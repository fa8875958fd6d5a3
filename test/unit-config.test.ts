/**
 * Configuration from the environment (README, "Configuration").
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_ROOT_PREFIX,
  ENV,
  ENV_VARIABLES,
  normalizeRootPrefix,
  parseBucketList,
  payloadBucketFromEnv,
  parsePositiveInt,
  positiveIntFromEnv,
  regionFromEnv,
  requireValue,
} from '../shared/config';
import { ConfigurationError, UndefinedPayloadBucketError } from '../shared/errors';
import { thrown } from './helpers/fixtures';

describe('environment variable names', () => {
  const documented: [keyof typeof ENV, string][] = [
    ['payloadBucket', 'CIRRUS_PAYLOAD_BUCKET'],
    ['rootPrefix', 'CIRRUS_PAYLOAD_ROOT_PREFIX'],
    ['stateDb', 'CIRRUS_STATE_DB'],
    ['baseWorkflowArn', 'CIRRUS_BASE_WORKFLOW_ARN'],
    ['workflowEventTopicArn', 'CIRRUS_WORKFLOW_EVENT_TOPIC_ARN'],
    ['publishTopicArn', 'CIRRUS_PUBLISH_TOPIC_ARN'],
    ['processQueueUrl', 'CIRRUS_PROCESS_QUEUE_URL'],
    ['referenceBuckets', 'CIRRUS_REFERENCE_BUCKETS'],
    ['processConcurrency', 'CIRRUS_PROCESS_CONCURRENCY'],
    ['workflowLogGroup', 'CIRRUS_WORKFLOW_LOG_GROUP'],
  ];

  it.each(documented)('ENV.%s is %s', (key, name) => {
    expect(ENV[key]).toBe(name);
  });
});

describe('normalizeRootPrefix', () => {
  it('has the default root prefix cirrus', () => {
    expect(DEFAULT_ROOT_PREFIX).toBe('cirrus');
  });

  it.each([[undefined], [null], ['']])('means the default for %j', (prefix) => {
    expect(normalizeRootPrefix(prefix)).toBe('cirrus');
  });

  it('strips leading and trailing slashes', () => {
    expect(normalizeRootPrefix('custom/')).toBe('custom');
    expect(normalizeRootPrefix('/custom')).toBe('custom');
    expect(normalizeRootPrefix('//a/b//')).toBe('a/b');
  });

  it('means the default when only slashes are given', () => {
    expect(normalizeRootPrefix('//')).toBe('cirrus');
  });

  it('keeps dots that are not whole segments', () => {
    expect(normalizeRootPrefix('a.b/..c/d..')).toBe('a.b/..c/d..');
  });

  it.each([['a//b'], ['./x'], ['a/./b'], ['a/../b'], ['../a'], ['a/..'], ['a\tb'], ['a\rb'], ['\u001b[31m'], ['a\u007f']])(
    'rejects %j with ConfigurationError',
    (prefix) => {
      const err = thrown(() => normalizeRootPrefix(prefix));
      expect(err).toBeInstanceOf(ConfigurationError);
      expect(err.message).toMatch(/invalid payload root prefix/);
    },
  );

  it.each([
    ['U+0080', 'a\u0080b'],
    ['U+0085', 'a\u0085b'],
    ['U+009F', 'a\u009fb'],
  ])('rejects the C1 control character %s', (_label, prefix) => {
    expect(thrown(() => normalizeRootPrefix(prefix)).name).toBe('ConfigurationError');
  });
});

describe('payloadBucketFromEnv', () => {
  it('returns CIRRUS_PAYLOAD_BUCKET', () => {
    expect(payloadBucketFromEnv({ CIRRUS_PAYLOAD_BUCKET: 'my-bucket' })).toBe('my-bucket');
  });

  it.each([[{}], [{ CIRRUS_PAYLOAD_BUCKET: '' }]])('throws UndefinedPayloadBucketError for %j', (env) => {
    const err = thrown(() => payloadBucketFromEnv(env));
    expect(err).toBeInstanceOf(UndefinedPayloadBucketError);
    expect(err.name).toBe('UndefinedPayloadBucketError');
  });
});

describe('parseBucketList (CIRRUS_REFERENCE_BUCKETS)', () => {
  it('splits on commas, trims, ignores blanks', () => {
    expect(parseBucketList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
  });

  it('is empty when unset or empty', () => {
    expect(parseBucketList(undefined)).toEqual([]);
    expect(parseBucketList('')).toEqual([]);
  });
});

describe('other variables', () => {
  it('requireValue names a missing variable in a ConfigurationError', () => {
    const err = thrown(() => requireValue('CIRRUS_STATE_DB', undefined));
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/CIRRUS_STATE_DB/);
  });

  it('requireValue returns the value of a set variable, trimmed', () => {
    expect(requireValue('CIRRUS_STATE_DB', ' tbl ')).toBe('tbl');
  });

  it('regionFromEnv reads AWS_REGION, then AWS_DEFAULT_REGION, else us-west-2', () => {
    expect(regionFromEnv({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' })).toBe('eu-west-1');
    expect(regionFromEnv({ AWS_DEFAULT_REGION: 'us-east-1' })).toBe('us-east-1');
    expect(regionFromEnv({})).toBe('us-west-2');
  });

  it('positiveIntFromEnv gives the default when the variable is unset', () => {
    expect(positiveIntFromEnv('N', 10, {})).toBe(10);
  });

  it('positiveIntFromEnv accepts a positive integer', () => {
    expect(positiveIntFromEnv('N', 10, { N: '3' })).toBe(3);
  });

  it.each(['0', '-1', '1.5', 'ten', '1e3'])('positiveIntFromEnv rejects %j with ConfigurationError', (bad) => {
    expect(thrown(() => positiveIntFromEnv('N', 10, { N: bad })).name).toBe('ConfigurationError');
  });

  it('parsePositiveInt accepts decimal digits only', () => {
    expect(parsePositiveInt('42', { what: '--limit' })).toBe(42);
    expect(parsePositiveInt(' 7 ', { what: '--limit' })).toBe(7);
    for (const bad of ['1e3', '0x10', '1.0', '+1', '-1', '', ' ', '0', '9007199254740993', 'Infinity']) {
      expect(thrown(() => parsePositiveInt(bad, { what: '--limit' })).message).toBe(`invalid --limit value ${JSON.stringify(bad)}: expected a positive integer`);
    }
  });

  it('parsePositiveInt refuses 1e3 where Number() would read 1000', () => {
    expect(Number('1e3')).toBe(1000);
    expect(thrown(() => parsePositiveInt('1e3', { what: 'N' })).name).toBe('ConfigurationError');
  });

  it('parsePositiveInt with min 0 accepts 0 and refuses a negative number', () => {
    expect(parsePositiveInt('0', { what: '--sample', min: 0 })).toBe(0);
    expect(thrown(() => parsePositiveInt('-1', { what: '--sample', min: 0 })).message).toBe('invalid --sample value "-1": expected a non-negative integer');
  });

  it('parsePositiveInt accepts max and refuses more', () => {
    expect(parsePositiveInt('5', { what: 'n', max: 5 })).toBe(5);
    expect(thrown(() => parsePositiveInt('6', { what: 'n', max: 5 })).message).toBe('invalid n value "6": expected a positive integer no larger than 5');
  });

  it('parsePositiveInt refuses less than a min above 1', () => {
    expect(thrown(() => parsePositiveInt('2', { what: 'n', min: 3 })).message).toBe('invalid n value "2": expected an integer of at least 3');
  });
});

describe('the README documents every variable', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  it.each(Object.values(ENV_VARIABLES))('$name has its row in the "Configuration" table', ({ name, meaning }) => {
    expect(readme).toContain(`| \`${name}\` | ${meaning} |`);
  });
});
