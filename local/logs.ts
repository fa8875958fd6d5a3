/**
 * A minimal in-process CloudWatch Logs endpoint (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.<Action>`)
 * for CreateLogGroup, CreateLogStream, PutLogEvents, DescribeLogStreams and GetLogEvents, with
 * the checks of the real service that writers trip over: unknown group or stream, duplicate
 * stream, events out of chronological order, more than 10,000 events or 1 MiB in one call.
 * Every event is kept for tests.
 * @module
 */
import type http from 'node:http';
import { AwsServiceError } from './errors';
import type { JsonObject } from '../shared/json';
import { utf8Length } from '../shared/size';
import { awsJsonListener, optString, reqString } from './http';

/** One stored log event. */
export interface RecordedLogEvent {
  logStreamName: string;
  timestamp: number;
  message: string;
  ingestionTime: number;
}

interface LogGroup {
  name: string;
  streams: Map<string, RecordedLogEvent[]>;
  /** Every event of the group, in the order it was put. */
  all: RecordedLogEvent[];
}

const MAX_EVENTS = 10000;
const MAX_BATCH_BYTES = 1048576;
const EVENT_OVERHEAD = 26;

/** The local CloudWatch Logs service. */
export class LocalLogs {
  private readonly groups = new Map<string, LogGroup>();

  constructor(
    private readonly region: string,
    private readonly account: string,
  ) {}

  /** Creates a log group (idempotent) and returns its name. */
  createLogGroup(name: string): string {
    if (!this.groups.has(name)) this.groups.set(name, { name, streams: new Map(), all: [] });
    return name;
  }

  /** Names of the streams of a group, in creation order. */
  streamNames(group: string): string[] {
    return [...(this.groups.get(group)?.streams.keys() ?? [])];
  }

  /** Every event of a group (all streams, in the order they were put). */
  events(group: string): RecordedLogEvent[] {
    return [...(this.groups.get(group)?.all ?? [])];
  }

  /** Forgets every stream and event (the groups stay). */
  clear(): void {
    for (const g of this.groups.values()) {
      g.streams.clear();
      g.all = [];
    }
  }

  private group(name: string): LogGroup {
    const g = this.groups.get(name);
    if (!g) throw new AwsServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    return g;
  }

  private stream(group: string, name: string): RecordedLogEvent[] {
    const s = this.group(group).streams.get(name);
    if (!s) throw new AwsServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
    return s;
  }

  /** The HTTP request listener of the endpoint. */
  listener(): http.RequestListener {
    return awsJsonListener('Logs_20140328', {
      CreateLogGroup: (body) => {
        const name = reqString(body, 'logGroupName');
        if (this.groups.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
        this.createLogGroup(name);
        return {};
      },
      CreateLogStream: (body) => {
        const g = this.group(reqString(body, 'logGroupName'));
        const name = reqString(body, 'logStreamName');
        if (g.streams.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
        g.streams.set(name, []);
        return {};
      },
      PutLogEvents: (body) => {
        const groupName = reqString(body, 'logGroupName');
        const stream = reqString(body, 'logStreamName');
        const events = this.stream(groupName, stream);
        const raw = body.logEvents;
        if (!Array.isArray(raw) || raw.length === 0) throw new AwsServiceError('InvalidParameterException', 'logEvents must hold at least one event');
        if (raw.length > MAX_EVENTS) throw new AwsServiceError('InvalidParameterException', `at most ${MAX_EVENTS} log events per request`);
        let bytes = 0;
        let last = -Infinity;
        const ingestionTime = Date.now();
        const batch: RecordedLogEvent[] = [];
        for (const e of raw) {
          const ev = e as JsonObject;
          const message = optString(ev, 'message') ?? '';
          const timestamp = ev.timestamp;
          if (typeof timestamp !== 'number' || !Number.isInteger(timestamp)) throw new AwsServiceError('InvalidParameterException', 'every log event needs an integer timestamp');
          if (timestamp < last) throw new AwsServiceError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
          last = timestamp;
          bytes += utf8Length(message) + EVENT_OVERHEAD;
          batch.push({ logStreamName: stream, timestamp, message, ingestionTime });
        }
        if (bytes > MAX_BATCH_BYTES) throw new AwsServiceError('InvalidParameterException', `the batch of log events is over ${MAX_BATCH_BYTES} bytes`);
        events.push(...batch);
        this.group(groupName).all.push(...batch);
        return {};
      },
      DescribeLogStreams: (body) => {
        const g = this.group(reqString(body, 'logGroupName'));
        const prefix = optString(body, 'logStreamNamePrefix') ?? '';
        return {
          logStreams: [...g.streams.keys()]
            .filter((n) => n.startsWith(prefix))
            .map((n) => ({ logStreamName: n, arn: `arn:aws:logs:${this.region}:${this.account}:log-group:${g.name}:log-stream:${n}` })),
        };
      },
      GetLogEvents: (body) => {
        const events = this.stream(reqString(body, 'logGroupName'), reqString(body, 'logStreamName'));
        return { events: events.map(({ timestamp, message, ingestionTime }) => ({ timestamp, message, ingestionTime })) };
      },
    });
  }
}
