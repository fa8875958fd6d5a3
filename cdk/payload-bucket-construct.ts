/**
 * The payload bucket of a deployment: created with the `<root>/tmp/` lifecycle rule, or an
 * existing bucket (an `s3.IBucket`, or a name to import).
 * @module
 */
import { Annotations, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_ROOT_PREFIX } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { PayloadLayout } from '../shared/payload-layout';
import { DEFAULT_TMP_EXPIRATION_DAYS, rootPrefixIamProblem } from './config';
import { acknowledgeWildcardResources } from './nag';

/** Days after which incomplete multipart uploads are aborted (bucket-wide; never deletes objects). */
export const ABORT_INCOMPLETE_MULTIPART_DAYS = 7;
/** Days the server access logs are kept. */
export const ACCESS_LOG_RETENTION_DAYS = 365;
/** Id of the synth warning emitted for an imported bucket (acknowledgeable with `Validations`). */
export const IMPORTED_BUCKET_WARNING_ID = 'cirrus:payloadBucketLifecycle';

/** Props of {@link CirrusPayloadBucket}. */
export interface CirrusPayloadBucketProps {
  /**
   * Payload root prefix; normalised like the runtime (`CIRRUS_PAYLOAD_ROOT_PREFIX`).
   * @default DEFAULT_ROOT_PREFIX (as the `payloadRootPrefix` context key)
   */
  readonly rootPrefix?: string;
  /**
   * Days after which objects under `<root>/tmp/` expire (ignored for an existing bucket).
   * @default DEFAULT_TMP_EXPIRATION_DAYS (as the `tmpExpirationDays` context key)
   */
  readonly tmpExpirationDays?: number;
  /**
   * An existing bucket to use, from this app (`new s3.Bucket(…)`) or imported
   * (`s3.Bucket.fromBucketName(…)`, `fromBucketAttributes(…)`). The construct grants access to it
   * but manages none of its settings: no lifecycle rule is added (an imported bucket cannot take
   * one), and synth warns that the operator must add the `<root>/tmp/` expiration rule.
   * @default - a bucket is created
   */
  readonly existingBucket?: s3.IBucket;
  /**
   * Name of an existing bucket, imported with `s3.Bucket.fromBucketName` (what the app's
   * `payloadBucketName` context key gives); otherwise as {@link existingBucket}, which it excludes.
   * @default - a bucket is created
   */
  readonly existingBucketName?: string;
  /**
   * Buckets, besides the payload bucket, from which `{"url": …}` references may be read; readers
   * get `s3:GetObject` on their objects.
   * @default - none
   */
  readonly referenceBuckets?: readonly string[];
  /**
   * Called with the warning text for an imported bucket, in addition to the synth annotation.
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

/**
 * The payload bucket (README, "Key layout"). When created: all public access blocked, TLS-only bucket
 * policy, SSE-S3, versioning off, server access logs to a companion bucket, a lifecycle rule that
 * expires `<root>/tmp/` and a bucket-wide rule that only aborts incomplete multipart uploads.
 * No rule ever expires `<root>/executions/`. The `tmp/` prefix comes from the runtime
 * {@link PayloadLayout}, the single source of truth.
 */
export class CirrusPayloadBucket extends Construct {
  /** The bucket (created or imported). */
  readonly bucket: s3.IBucket;
  /** The runtime key layout for this bucket (pure: no bucket name, no S3 client). */
  readonly layout: PayloadLayout;
  /** The normalised root prefix. */
  readonly rootPrefix: string;
  /** Reference buckets readers may also read (see {@link CirrusPayloadBucketProps.referenceBuckets}). */
  readonly referenceBuckets: readonly string[];
  /** True when an existing bucket was given (by name or as an `s3.IBucket`) rather than created. */
  readonly imported: boolean;
  /** The server access log bucket (created bucket only). */
  readonly accessLogsBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: CirrusPayloadBucketProps = {}) {
    super(scope, id);
    // Deliver server access logs through a bucket policy (not the LogDeliveryWrite ACL, which
    // BucketOwnerEnforced forbids), whatever the app's feature flags say.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // The defaults of the context keys (cdk/config.ts), so props and context agree.
    const rootPrefix = props.rootPrefix ?? DEFAULT_ROOT_PREFIX;
    const tmpExpirationDays = props.tmpExpirationDays ?? DEFAULT_TMP_EXPIRATION_DAYS;
    this.layout = new PayloadLayout(rootPrefix);
    this.rootPrefix = this.layout.rootPrefix;
    const problem = rootPrefixIamProblem(this.rootPrefix);
    if (problem !== undefined) {
      throw new ConfigurationError(`invalid payload root prefix ${JSON.stringify(rootPrefix)}: ${problem}`);
    }
    this.referenceBuckets = [...(props.referenceBuckets ?? [])];
    if (!Number.isInteger(tmpExpirationDays) || tmpExpirationDays < 1) {
      throw new ConfigurationError(`tmpExpirationDays must be a positive integer, got ${tmpExpirationDays}`);
    }
    if (props.existingBucket !== undefined && props.existingBucketName !== undefined) {
      throw new ConfigurationError('give either existingBucket or existingBucketName, not both');
    }

    const existing =
      props.existingBucket ??
      (props.existingBucketName !== undefined ? s3.Bucket.fromBucketName(this, 'Bucket', props.existingBucketName) : undefined);
    if (existing !== undefined) {
      this.imported = true;
      this.bucket = existing;
      this.warnUnmanagedLifecycle(existing, tmpExpirationDays, props.warn);
      return;
    }

    this.imported = false;
    this.accessLogsBucket = this.createAccessLogsBucket();
    this.bucket = this.createBucket(this.accessLogsBucket, tmpExpirationDays);
  }

  /**
   * Warns (synth annotation and `warn`) that the stack does not manage the lifecycle of the
   * existing bucket: the operator must expire `<root>/tmp/` and keep `<root>/executions/`.
   */
  private warnUnmanagedLifecycle(existing: s3.IBucket, tmpExpirationDays: number, warn?: (message: string) => void): void {
    const name = existing.bucketName;
    const which = Token.isUnresolved(name) ? 'the existing payload bucket' : `the existing payload bucket "${name}"`;
    const message =
      `Using ${which}: this stack does not manage its ` +
      `lifecycle. The operator must add a lifecycle rule expiring objects under ` +
      `"${this.tmpRulePrefix}" (e.g. after ${tmpExpirationDays} days) and must not expire ` +
      `"${this.layout.prefixExecutions}/".`;
    Annotations.of(this).addWarningV2(IMPORTED_BUCKET_WARNING_ID, message);
    (warn ?? ((m: string) => console.warn(`WARNING: ${m}`)))(message);
  }

  /** The companion bucket receiving the server access logs of the payload bucket. */
  private createAccessLogsBucket(): s3.Bucket {
    return new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Server access log delivery supports SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          enabled: true,
          expiration: Duration.days(ACCESS_LOG_RETENTION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(ABORT_INCOMPLETE_MULTIPART_DAYS),
        },
      ],
    });
  }

  /** The payload bucket, logging to `accessLogs`, with the `<root>/tmp/` expiration rule. */
  private createBucket(accessLogs: s3.IBucket, tmpExpirationDays: number): s3.Bucket {
    return new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Objects are written once per key (execution ids are unique); tmp/ must really expire.
      versioned: false,
      // Execution history is the deployment's record: keep it when the stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'payload-bucket/',
      lifecycleRules: [
        {
          id: 'expire-tmp',
          enabled: true,
          prefix: this.tmpRulePrefix,
          expiration: Duration.days(tmpExpirationDays),
        },
        {
          // No prefix and no expiration: only discards parts of uploads that never completed,
          // so completed objects (under executions/ or anywhere else) are never touched.
          id: 'abort-incomplete-multipart-uploads',
          enabled: true,
          abortIncompleteMultipartUploadAfter: Duration.days(ABORT_INCOMPLETE_MULTIPART_DAYS),
        },
      ],
    });
  }

  /** `<root>/tmp/`: the prefix of the expiration rule, from the runtime layout. */
  get tmpRulePrefix(): string {
    return `${this.layout.prefixTmp}/`;
  }

  /** ARN pattern of every payload object: `<bucketArn>/<root>/*`. */
  get payloadObjectsArn(): string {
    return this.bucket.arnForObjects(`${this.rootPrefix}/*`);
  }

  /** ARN patterns of the reference buckets' objects (`arn:…:s3:::<bucket>/*`). */
  get referenceObjectsArns(): string[] {
    const stack = Stack.of(this);
    return this.referenceBuckets.map((b) =>
      stack.formatArn({ service: 's3', region: '', account: '', resource: b, resourceName: '*' }),
    );
  }

  /**
   * Grants `s3:GetObject` on `<bucket>/<root>/*` and, in a separate statement, on every object of
   * the reference buckets (`{"url": …}` references may point there).
   */
  grantPayloadRead(grantee: iam.IGrantable): iam.Grant {
    let grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.payloadObjectsArn] });
    const refs = this.referenceObjectsArns;
    if (refs.length > 0) grant = grant.combine(iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: refs }));
    this.acknowledgeGrantWildcards(grantee);
    return grant;
  }

  /** Grants `s3:PutObject` on `<bucket>/<root>/*` (payload writes only under the root prefix). */
  grantPayloadWrite(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: [this.payloadObjectsArn] });
    this.acknowledgeGrantWildcards(grantee);
    return grant;
  }

  /** Grants read and write of payload objects under the root prefix. */
  grantPayloadReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantPayloadRead(grantee).combine(this.grantPayloadWrite(grantee));
  }

  /**
   * Acknowledges, on the grantee's role, the cdk-nag wildcard findings of exactly these grants
   * (`<bucket>/<root>/*` and `<reference bucket>/*`), with their reasons.
   */
  private acknowledgeGrantWildcards(grantee: iam.IGrantable): void {
    const principal: unknown = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    acknowledgeWildcardResources(
      principal,
      [this.payloadObjectsArn],
      'Payload objects are keyed by payload id and execution id, unknown in advance; access is limited to the <root>/ prefix.',
    );
    acknowledgeWildcardResources(
      principal,
      this.referenceObjectsArns,
      'Read-only access to the objects of the operator-configured reference buckets ({"url": …} references).',
    );
  }
}
