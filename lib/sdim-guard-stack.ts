import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, Metric, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { parseAccessConfig } from '../lambdas/domain/identity';
import { parseSettings } from '../lambdas/settings';
import { Alerts } from './alerts';
import { type ApiCallers, type ApiGatewayLogsRole, ApprovalApi } from './approval-api';
import { ChangeQueue } from './change-queue';
import { ChatDelivery, type SlackChannel, type TeamsChannel } from './chat';
import { HistoryAnchors } from './history-anchors';
import { acknowledge, arnToken } from './nag';
import { SnapshotSchedule } from './snapshot-schedule';
import { GuardStore } from './store';
import { TenantCredentials, type TenantProps } from './tenant-credentials';
import { TenantShards } from './tenant-shards';

export interface SdimGuardStackProps extends StackProps {
  /** The ISC tenants to guard. */
  readonly tenants: readonly TenantProps[];
  /** Minutes between snapshots of each tenant. @default 15 */
  readonly scheduleMinutes?: number;
  /** Subscribed to the alert topic. @default none */
  readonly alertEmails?: readonly string[];
  /** Log retention of every function and the API. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** Approvals needed besides the requester. @default 1 */
  readonly approvalsRequired?: number;
  /** Whether this stack creates the account's API Gateway logging role ('create') or one exists ('existing'). */
  readonly apiGatewayLogsRole: ApiGatewayLogsRole;
  /** Slack / Microsoft Teams channels that receive every alert and alarm. @default none */
  readonly chat?: { readonly slack?: readonly SlackChannel[]; readonly teams?: readonly TeamsChannel[] };
  /** Proposers, approvers and the identity model, as lambdas/domain/identity.ts parses them. @default its defaults */
  readonly access?: Record<string, unknown>;
  /** Principals outside the deploying account that may call the approval API (docs/deploy.md section 9). @default none */
  readonly apiCallers?: ApiCallers;
  /** Secret key patterns and severity rules, as lambdas/settings.ts parses them. @default the built-in defaults */
  readonly settings?: Record<string, unknown>;
  /** Days each history anchor is locked (S3 Object Lock, compliance mode; 1–3650). @default 365 */
  readonly anchorRetentionDays?: number;
}

/** Composes one construct per capability; every guardrail lives in the construct that owns the resource. */
export class SdimGuardStack extends Stack {
  readonly store: GuardStore;
  readonly alerts: Alerts;
  readonly credentials: TenantCredentials;
  readonly chat: ChatDelivery;
  /** Nested stacks holding the per-tenant resources. */
  readonly shards: TenantShards;
  readonly snapshots: SnapshotSchedule;
  readonly changes: ChangeQueue;
  readonly approvals: ApprovalApi;
  readonly anchors: HistoryAnchors;

  constructor(scope: Construct, id: string, props: SdimGuardStackProps) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    // Checked here, so a bad setting fails `cdk synth` instead of the first invocation.
    if (props.settings) parseSettings(JSON.stringify(props.settings), 'settings');
    const access = props.access ? parseAccessConfig(JSON.stringify(props.access), 'access') : undefined;
    this.store = new GuardStore(this, 'Store');
    this.alerts = new Alerts(this, 'Alerts', { emails: props.alertEmails });
    this.chat = new ChatDelivery(this, 'Chat', { topic: this.alerts.topic, ...props.chat });
    this.shards = new TenantShards(this, 'Tenants');
    this.credentials = new TenantCredentials(this, 'Credentials', { tenants: props.tenants, shards: this.shards });
    const deployConfig = {
      tenants: this.credentials.registry(),
      ...(props.settings ? { settings: props.settings } : {}),
      ...(props.access ? { access: props.access } : {}),
    };
    const shared = { tenants: props.tenants, store: this.store, credentials: this.credentials, logRetention, deployConfig };
    this.snapshots = new SnapshotSchedule(this, 'Snapshots', {
      ...shared,
      alerts: this.alerts,
      shards: this.shards,
      intervalMinutes: props.scheduleMinutes,
    });
    // Chain heads outside the table: written after each snapshot, read only by the verify route.
    this.anchors = new HistoryAnchors(this, 'Anchors', {
      retentionDays: props.anchorRetentionDays,
      intervalMinutes: props.scheduleMinutes,
    });
    this.anchors.bindWriter(this.snapshots.function);
    this.changes = new ChangeQueue(this, 'Changes', { ...shared, alerts: this.alerts });
    this.approvals = new ApprovalApi(this, 'Approvals', {
      ...shared,
      changeQueue: this.changes,
      approvalsRequired: props.approvalsRequired,
      apiGatewayLogsRole: props.apiGatewayLogsRole,
      access,
      apiCallers: props.apiCallers,
    });
    this.anchors.bindReader(this.approvals.function);

    const alarms = [
      ...this.snapshots.alarms,
      ...this.changes.alarms,
      ...this.approvals.alarms,
      ...this.alerts.alarms,
      ...this.anchors.alarms,
    ];
    for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(this.alerts.topic));
    this.dashboard(props.scheduleMinutes ?? 15);
    this.acknowledgeFindings();

    new CfnOutput(this, 'ApprovalApiUrl', { value: this.approvals.api.url });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alerts.topic.topicArn });
    new CfnOutput(this, 'EventBusName', { value: this.alerts.bus.eventBusName });
    new CfnOutput(this, 'TableName', { value: this.store.table.tableName });
    new CfnOutput(this, 'AnchorBucketName', { value: this.anchors.bucket.bucketName });
    // One output, not one per tenant: CloudFormation allows 200 outputs, and the names are predictable.
    new CfnOutput(this, 'TenantSecretNames', {
      value: `${this.credentials.secretNameOf('<tenant>')} (tenants without secretArn)`,
    });
  }

  private dashboard(interval: number): void {
    const period = Duration.minutes(interval);
    const metric = (metricName: string, dimensionsMap?: Record<string, string>) =>
      new Metric({ namespace: 'sdim-guard', metricName, dimensionsMap, statistic: 'Sum', period });
    new Dashboard(this, 'Dashboard', {
      widgets: [
        [new TextWidget({ markdown: '# sdim-guard\nSnapshots, drift and approved changes.', width: 24, height: 2 })],
        [
          new GraphWidget({
            title: 'Snapshot function',
            left: [this.snapshots.function.metricInvocations({ period }), this.snapshots.function.metricErrors({ period })],
            width: 12,
          }),
          new GraphWidget({
            title: 'Snapshot duration (p95)',
            left: [this.snapshots.function.metricDuration({ period, statistic: 'p95' })],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Apply outcomes',
            left: ['ChangeApplied', 'ChangeConflict', 'ChangeFailed', 'ChangeExpired'].map((m) => metric(m, { Operation: 'apply' })),
            width: 12,
          }),
          new GraphWidget({
            title: 'Change queue',
            left: [
              this.changes.queue.metricApproximateNumberOfMessagesVisible(),
              this.changes.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
            ],
            width: 12,
          }),
        ],
      ],
    });
  }

  /** The scheduler's shared role may invoke the snapshot and sweeper functions and their versions; nothing else. */
  private acknowledgeFindings(): void {
    acknowledge(this, {
      [`AwsSolutions-IAM5[Resource::${arnToken(this.snapshots.function)}:*]`]:
        'EventBridge Scheduler may invoke the snapshot function (and its versions) only.',
      [`AwsSolutions-IAM5[Resource::${arnToken(this.changes.sweeper)}:*]`]:
        'EventBridge Scheduler may invoke the sweeper function (and its versions) only.',
    });
  }
}
