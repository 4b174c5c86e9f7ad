import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { KEY_FAMILIES } from '../lambdas/adapters/dynamodb/table';
import type { DeployConfig } from '../lambdas/deploy-config';
import { atLeastOnce } from './alarms';
import type { Alerts } from './alerts';
import { GuardFunction } from './guard-function';
import { acknowledge } from './nag';
import type { GuardStore } from './store';
import type { TenantCredentials, TenantProps } from './tenant-credentials';
import type { TenantShards } from './tenant-shards';

export interface SnapshotScheduleProps {
  readonly tenants: readonly TenantProps[];
  readonly store: GuardStore;
  readonly credentials: TenantCredentials;
  readonly alerts: Alerts;
  /** Where each tenant's schedule and stale-snapshot alarm go. */
  readonly shards: TenantShards;
  /** @default 15 */
  readonly intervalMinutes?: number;
  readonly logRetention?: RetentionDays;
  /** JSON settings (secret key patterns, severity rules). @default the built-in defaults */
  /** Tenants and settings bundled with the functions that read them. */
  readonly deployConfig: DeployConfig;
}

/**
 * The snapshot function and one EventBridge Scheduler schedule per tenant (the fan-out: each tenant is its own
 * invocation, so one slow or failing tenant never delays another), with the alarms that say snapshots stopped.
 */
export class SnapshotSchedule extends Construct {
  readonly function: GuardFunction;
  readonly alarms: Alarm[] = [];
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: SnapshotScheduleProps) {
    super(scope, id);
    const interval = props.intervalMinutes ?? 15;
    if (!Number.isInteger(interval) || interval < 1 || interval > 1440)
      throw new Error('intervalMinutes must be a whole number from 1 to 1440');
    this.function = new GuardFunction(this, 'Function', {
      handlerFile: 'snapshot.ts',
      description: 'sdim-guard: snapshot one tenant, detect and alert',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      logRetention: props.logRetention,
      deployConfig: props.deployConfig,
      environment: {},
    });
    acknowledge(this.function, {
      'Serverless-LambdaDLQ':
        'A failed snapshot records nothing and is retried by the next schedule; it is reported by a Snapshot Failed event and the error alarm.',
    });
    // Its own tenant's items and resource versions only: never a change request (CR#*) nor the request index, so a
    // compromised snapshot function cannot forge, approve or read one (test/integration/table-access.test.ts).
    props.store.bindTable(this.function, [
      { actions: ['BatchGetItem', 'Query'], partitionKeys: [KEY_FAMILIES.tenant, KEY_FAMILIES.resource] },
      // The ledger explains expected changes; only the apply side writes it.
      { actions: ['Query'], partitionKeys: [KEY_FAMILIES.ledger] },
      {
        actions: ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
        partitionKeys: [KEY_FAMILIES.tenant, KEY_FAMILIES.resource],
      },
    ]);
    props.credentials.bindReaders(this.function);
    props.credentials.bindRawDigestKey(this.function);
    props.alerts.bindNotifier(this.function);

    // One role for every tenant's schedule (instead of one per shard): it may invoke this function only.
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'sdim-guard: lets EventBridge Scheduler start the snapshot of each tenant',
    });
    for (const tenant of props.tenants) {
      const shard = props.shards.scopeFor(tenant.name);
      new Schedule(shard, `Every-${tenant.name}`, {
        description: `sdim-guard snapshot of ${tenant.name}`,
        schedule: ScheduleExpression.rate(Duration.minutes(interval)),
        target: new LambdaInvoke(this.function, {
          input: ScheduleTargetInput.fromObject({ tenant: tenant.name }),
          retryAttempts: 0,
          role: this.schedulerRole,
        }),
      });
      const succeeded = new Metric({
        namespace: 'sdim-guard',
        metricName: 'SnapshotSucceeded',
        dimensionsMap: { Tenant: tenant.name },
        statistic: 'Sum',
        period: Duration.minutes(interval),
      });
      this.alarms.push(
        new Alarm(shard, `Stale-${tenant.name}`, {
          alarmDescription: `No successful snapshot of ${tenant.name} for two intervals (${2 * interval} min): see its Snapshot Failed events (docs/deploy.md, "Alarms")`,
          metric: succeeded,
          threshold: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 2,
          treatMissingData: TreatMissingData.BREACHING,
        }),
      );
    }
    this.alarms.push(
      atLeastOnce(
        this,
        'Errors',
        this.function.metricErrors({ period: Duration.minutes(interval) }),
        'A snapshot failed: the Snapshot Failed event and the function log say why (docs/deploy.md, "Alarms")',
      ),
      atLeastOnce(
        this,
        'Throttles',
        this.function.metricThrottles({ period: Duration.minutes(interval) }),
        'The snapshot function was throttled (docs/deploy.md, "Alarms")',
      ),
    );
  }
}
