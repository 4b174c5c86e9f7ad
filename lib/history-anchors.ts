import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { atLeastOnce } from './alarms';
import { acknowledge, arnToken } from './nag';

/** Object prefix of every anchor (`anchors/<tenant>/<seq:10>_…json`, lambdas/adapters/aws/s3-anchors.ts). */
export const ANCHOR_PREFIX = 'anchors/';
/** Compliance-mode retention cannot be shortened by anyone once written: 10 years is the most this stack sets. */
export const MAX_ANCHOR_RETENTION_DAYS = 3650;

export interface HistoryAnchorsProps {
  /**
   * Days each anchor is locked in COMPLIANCE mode (nobody, root included, can delete or overwrite a version before
   * then). A whole number from 1 to 3650; a longer retention cannot be undone, so choose the audit period you need.
   * @default 365
   */
  readonly retentionDays?: number;
  /** Minutes between snapshots: the period of the anchor-failure alarm, and verify's unanchored-tail rule. @default 15 */
  readonly intervalMinutes?: number;
}

/**
 * Where the history's chain heads are anchored outside the table: an S3 bucket with Object Lock in compliance mode
 * and versioning, so a table writer — or an account administrator — can neither delete nor rewrite what was
 * anchored. The snapshot function may only put new objects under `anchors/`; the verify route may only read them.
 */
export class HistoryAnchors extends Construct {
  readonly bucket: Bucket;
  readonly retentionDays: number;
  readonly alarms: Alarm[];
  private readonly intervalMinutes: number;

  constructor(scope: Construct, id: string, props: HistoryAnchorsProps = {}) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? 365;
    if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > MAX_ANCHOR_RETENTION_DAYS) {
      throw new Error(`anchorRetentionDays must be a whole number of days from 1 to ${MAX_ANCHOR_RETENTION_DAYS}, not ${retentionDays}`);
    }
    this.retentionDays = retentionDays;
    this.intervalMinutes = props.intervalMinutes ?? 15;
    this.bucket = new Bucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(retentionDays)),
      versioned: true,
      // S3-managed keys, not a customer-managed KMS key: anchors hold hashes, no secrets, and a KMS key can be
      // disabled or scheduled for deletion by a key administrator, which would make locked evidence unreadable.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.bucket, {
      'AwsSolutions-S1':
        'Every write to this bucket is itself kept: versioning plus compliance-mode Object Lock keep each version and each delete marker, which verify reports. Server access logs would go to a second bucket that is not write-once, so they would add no evidence that cannot be removed.',
    });
    this.alarms = [
      atLeastOnce(
        this,
        'AnchorFailed',
        new Metric({
          namespace: 'sdim-guard',
          metricName: 'AnchorFailed',
          statistic: 'Sum',
          period: Duration.minutes(this.intervalMinutes),
        }),
        'A committed snapshot could not be anchored in the history-anchors bucket; the next snapshot anchors the head again. If it persists, verify fails after two intervals (docs/deploy.md, "Alarms")',
      ),
    ];
  }

  /** The snapshot function: ANCHOR_BUCKET, and s3:PutObject on anchors/* — no read, delete, retention or bypass. */
  bindWriter(fn: LambdaFunction): void {
    fn.addEnvironment('ANCHOR_BUCKET', this.bucket.bucketName);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects(`${ANCHOR_PREFIX}*`)] }));
    acknowledge(fn, {
      [`AwsSolutions-IAM5[Resource::${arnToken(this.bucket)}/${ANCHOR_PREFIX}*]`]:
        'One new object per anchor, named by tenant and sequence number, only under anchors/ of the anchor bucket.',
    });
  }

  /** The verify route: ANCHOR_BUCKET and the interval, and read-only access to the anchors and their versions. */
  bindReader(fn: LambdaFunction): void {
    fn.addEnvironment('ANCHOR_BUCKET', this.bucket.bucketName);
    fn.addEnvironment('SNAPSHOT_INTERVAL_MINUTES', String(this.intervalMinutes));
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.bucket.arnForObjects(`${ANCHOR_PREFIX}*`)],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ANCHOR_PREFIX}*`] } },
      }),
    );
    acknowledge(fn, {
      [`AwsSolutions-IAM5[Resource::${arnToken(this.bucket)}/${ANCHOR_PREFIX}*]`]:
        'Verify reads every anchor (and every version of it) under anchors/ of the anchor bucket, nothing else.',
    });
  }
}
