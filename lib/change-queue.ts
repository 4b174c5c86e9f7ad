import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { GSI1_FAMILIES, KEY_FAMILIES } from '../lambdas/adapters/dynamodb/table';
import type { DeployConfig } from '../lambdas/deploy-config';
import { atLeastOnce } from './alarms';
import type { Alerts } from './alerts';
import { GuardFunction } from './guard-function';
import { acknowledge } from './nag';
import type { GuardStore } from './store';
import type { TenantCredentials, TenantProps } from './tenant-credentials';

export interface ChangeQueueProps {
  readonly tenants: readonly TenantProps[];
  readonly store: GuardStore;
  readonly credentials: TenantCredentials;
  readonly alerts: Alerts;
  /** Deliveries before a message goes to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** Concurrent apply invocations (per tenant+resource order is kept by FIFO groups anyway). @default 2 */
  readonly maxConcurrency?: number;
  readonly logRetention?: RetentionDays;
  /** Tenants and settings bundled with the functions that read them. */
  readonly deployConfig: DeployConfig;
}

/**
 * Approved changes: an SQS FIFO queue (group = tenant + resource, deduplication = request id) with a FIFO DLQ, both
 * KMS-encrypted and TLS-only, consumed by the apply function with partial batch failures and bounded concurrency.
 */
export class ChangeQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: GuardFunction;
  /** Every five minutes: expires overdue requests and re-sends approvals a crash kept from the queue. */
  readonly sweeper: GuardFunction;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: ChangeQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const timeout = Duration.minutes(2);
    const key = new Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'sdim-guard change queue',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      fifo: true,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // Six times the function timeout, as Lambda recommends: a message never reappears while it is being applied.
      visibilityTimeout: Duration.minutes(12),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
    this.function = new GuardFunction(this, 'Function', {
      handlerFile: 'apply.ts',
      description: 'sdim-guard: apply approved change requests exactly once',
      timeout,
      logRetention: props.logRetention,
      deployConfig: props.deployConfig,
      environment: {
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(maxReceiveCount),
        // A claim older than the function timeout belongs to an invocation that is gone.
        APPLY_LEASE_MS: String(timeout.toMilliseconds()),
      },
    });
    props.store.bindTable(this.function, [
      { actions: ['GetItem'], partitionKeys: [KEY_FAMILIES.request] },
      // The journal head, read before each journalled write.
      { actions: ['Query'], partitionKeys: [KEY_FAMILIES.tenant] },
      // The request, its ledger entry (L#…/A#…) and their journal entries (T#…/J#…), in one transaction.
      { actions: ['PutItem'], partitionKeys: [KEY_FAMILIES.request, KEY_FAMILIES.tenant, KEY_FAMILIES.ledger] },
    ]);
    props.credentials.bindReaders(this.function);
    props.credentials.bindRequestVault(this.function, ['GetSecretValue', 'DeleteSecret']);
    props.alerts.bindNotifier(this.function);
    this.deadLetterQueue.grantSendMessages(this.function);
    acknowledge(this.deadLetterQueue, { 'Serverless-SQSRedrivePolicy': 'This is the dead-letter queue; it has none of its own.' });
    acknowledge(this.function, {
      'Serverless-LambdaDLQ':
        'Invoked by the SQS event source, whose queue has the dead-letter queue; an asynchronous-invocation DLQ would never be used.',
      'Serverless-LambdaEventSourceMappingDestination':
        "Failed messages go to the queue's redrive DLQ, and the function itself sends unprocessable ones there with a reason.",
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: props.maxConcurrency ?? 2 }),
    );
    this.sweeper = new GuardFunction(this, 'Sweeper', {
      handlerFile: 'sweeper.ts',
      description: 'sdim-guard: expire overdue change requests, re-queue stranded approvals',
      logRetention: props.logRetention,
      // The access configuration (who may approve) is part of it.
      deployConfig: props.deployConfig,
      environment: { CHANGE_QUEUE_URL: this.queue.queueUrl },
    });
    props.store.bindTable(this.sweeper, [
      { actions: ['GetItem'], partitionKeys: [KEY_FAMILIES.request] },
      { actions: ['Query'], partitionKeys: [KEY_FAMILIES.tenant] },
      { actions: ['Query'], partitionKeys: [GSI1_FAMILIES.requests], index: true },
      // Requests and their journal entries; never the ledger (only the apply function records applied changes).
      { actions: ['PutItem'], partitionKeys: [KEY_FAMILIES.request, KEY_FAMILIES.tenant] },
    ]);
    props.credentials.bindRequestVault(this.sweeper, ['DeleteSecret']);
    // It builds the same change dependencies as the approval API, which seal approvals with the fingerprint key.
    props.credentials.bindFingerprintKey(this.sweeper);
    this.queue.grantSendMessages(this.sweeper);
    acknowledge(this.sweeper, {
      'Serverless-LambdaDLQ': 'A failed sweep changes nothing and the next one, five minutes later, does the same work.',
    });
    new Schedule(this, 'SweepEvery5Minutes', {
      description: 'sdim-guard change request sweep',
      schedule: ScheduleExpression.rate(Duration.minutes(5)),
      target: new LambdaInvoke(this.sweeper, { retryAttempts: 0 }),
    });

    this.alarms = [
      atLeastOnce(
        this,
        'DeadLettersNotEmpty',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        'A change message is in the dead-letter queue: read its reason attribute, then redrive or delete it (docs/deploy.md, "Alarms")',
      ),
      atLeastOnce(
        this,
        'Conflicts',
        new Metric({
          namespace: 'sdim-guard',
          metricName: 'ChangeConflict',
          dimensionsMap: { Operation: 'apply' },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        'An approved change was refused because the live object moved since approval: propose it again (docs/deploy.md, "Alarms")',
      ),
      atLeastOnce(this, 'Throttles', this.function.metricThrottles({ period: Duration.minutes(5) }), 'The apply function was throttled'),
      atLeastOnce(
        this,
        'Errors',
        this.function.metricErrors({ period: Duration.minutes(5) }),
        'The apply function failed an invocation: messages are retried, then dead-lettered (docs/deploy.md, "Alarms")',
      ),
      atLeastOnce(
        this,
        'SweeperErrors',
        this.sweeper.metricErrors({ period: Duration.minutes(5) }),
        'The request sweeper failed: overdue requests are not expired until it runs again (docs/deploy.md, "Alarms")',
      ),
    ];
  }
}
