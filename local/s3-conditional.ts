/**
 * Conditional writes for the local S3 (s3rver ignores them): a PutObject with `If-None-Match: *`
 * only creates the object, and fails with `412 PreconditionFailed` when the key already exists, as
 * AWS S3 does. Concurrent conditional writes of one key are serialised, so exactly one of them
 * creates it.
 * @module
 */

interface PutContext {
  headers: Record<string, string | string[] | undefined>;
  params: { bucket: string; key: string };
  store: { existsObject(bucket: string, key: string): Promise<boolean> };
}

type PutObject = (this: unknown, ctx: PutContext) => Promise<void>;

interface ObjectController {
  putObject: PutObject;
  conditionalPuts?: true;
}

type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, string>) => Error;

/** Makes s3rver's PutObject honour `If-None-Match: *` (idempotent; applies to every s3rver started afterwards). */
export function enableConditionalPuts(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const controller = require('s3rver/lib/controllers/object') as ObjectController;
  if (controller.conditionalPuts) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3Error = require('s3rver/lib/models/error') as S3ErrorConstructor;
  const original = controller.putObject;
  const busy = new Map<string, Promise<void>>();
  controller.putObject = async function putObject(this: unknown, ctx: PutContext): Promise<void> {
    if (ctx.headers['if-none-match'] !== '*') return original.call(this, ctx);
    const key = `${ctx.params.bucket}/${ctx.params.key}`;
    for (let pending = busy.get(key); pending; pending = busy.get(key)) await pending;
    let release!: () => void;
    busy.set(key, new Promise<void>((resolve) => (release = resolve)));
    try {
      if (await ctx.store.existsObject(ctx.params.bucket, ctx.params.key)) {
        throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
      }
      return await original.call(this, ctx);
    } finally {
      busy.delete(key);
      release();
    }
  };
  controller.conditionalPuts = true;
}
