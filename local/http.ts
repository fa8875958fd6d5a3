/**
 * Small HTTP helpers shared by the in-process service endpoints: listening on loopback, reading
 * bodies, AWS JSON 1.0 dispatch, and closing a server together with all its sockets.
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../shared/json';
import { AwsServiceError } from './errors';

/** Address every endpoint listens on. */
export const LOOPBACK = '127.0.0.1';

/** A listening server on loopback. */
export interface LoopbackServer {
  readonly server: http.Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

/**
 * How long an idle keep-alive connection stays open (AWS endpoints keep theirs about a minute).
 * Node's default, 5 s, lets the server close a socket just as an SDK client sends on it again, an
 * `ECONNRESET` the client sees under load.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Gives `server` the keep-alive timeout of {@link KEEP_ALIVE_TIMEOUT_MS} (headers timeout above it). */
export function keepConnectionsAlive(server: http.Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}

/** Starts `server` on `127.0.0.1:<port>` (0 = a free port). */
export async function listenLoopback(server: http.Server, port = 0): Promise<LoopbackServer> {
  keepConnectionsAlive(server);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, LOOPBACK, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return { server, port: addr.port, url: `http://${LOOPBACK}:${addr.port}` };
}

/**
 * Closes a server and every connection it holds (keep-alive sockets included), resolving when
 * the server has released its port.
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/** Maximum request body the local endpoints accept. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** Reads a whole request body. */
export function readBody(req: http.IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new AwsServiceError('RequestEntityTooLarge', 'request body too large', 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A handler of one AWS JSON action: receives the parsed body, returns the response object. */
export type JsonAction = (body: JsonObject) => unknown;

/** Serialises a response body, turning `Date`s into epoch seconds as the AWS JSON protocols do. */
function toJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return raw.getTime() / 1000;
    return v;
  });
}

/**
 * A request listener for an AWS JSON 1.0 service (`X-Amz-Target: <prefix>.<Action>`). Errors
 * thrown as {@link AwsServiceError} are returned as `{"__type": code, "message": …}`.
 *
 * @param prefix target prefix, e.g. `AWSStepFunctions` or `AmazonSQS`.
 * @param typePrefix optional namespace put before the error code in `__type`.
 */
export function awsJsonListener(
  prefix: string,
  actions: Record<string, JsonAction>,
  typePrefix = '',
): http.RequestListener {
  return (req, res) => {
    const requestId = randomUUID();
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const text = toJson(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': requestId,
        ...headers,
      });
      res.end(text);
    };
    const fail = (err: unknown): void => {
      if (err instanceof AwsServiceError) {
        send(err.statusCode, { __type: `${typePrefix}${err.code}`, message: err.message }, err.headers);
      } else {
        send(500, { __type: 'InternalFailure', message: err instanceof Error ? err.message : String(err) });
      }
    };
    void (async () => {
      try {
        const raw = await readBody(req);
        const target = String(req.headers['x-amz-target'] ?? '');
        const [targetPrefix, action] = target.split('.', 2);
        if (req.method !== 'POST' || targetPrefix !== prefix || !action) {
          throw new AwsServiceError('UnknownOperationException', `unsupported target ${JSON.stringify(target)}`);
        }
        const handler = Object.prototype.hasOwnProperty.call(actions, action) ? actions[action] : undefined;
        if (!handler) {
          throw new AwsServiceError('UnknownOperationException', `the local stack does not implement ${action}`);
        }
        let body: unknown = {};
        if (raw.length > 0) {
          try {
            body = JSON.parse(raw.toString('utf8'));
          } catch {
            throw new AwsServiceError('SerializationException', 'request body is not valid JSON');
          }
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) {
          throw new AwsServiceError('SerializationException', 'request body must be a JSON object');
        }
        send(200, (await handler(body as JsonObject)) ?? {});
      } catch (err) {
        fail(err);
      }
    })();
  };
}

/** Reads an optional string member of a request; throws a validation error for other types. */
export function optString(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AwsServiceError('ValidationException', `${key} must be a string`);
  return v;
}

/** Reads a required string member of a request. */
export function reqString(body: JsonObject, key: string): string {
  const v = optString(body, key);
  if (v === undefined || v === '') {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}
