import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsChangeQueue } from '../adapters/aws/sqs';
import { DynamoChangeRequestStore } from '../adapters/dynamodb/change-request-store';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store';
import { systemClock } from '../ports/clock';
import { tenantResolver } from '../wiring';
import type { ApprovalApiDeps } from './approval-api';
import { fromEnvironment } from './aws-environment';
import { getStringFromEnv } from './env';

let deps: ApprovalApiDeps | undefined;

export function approvalDepsFromEnvironment(): ApprovalApiDeps {
  if (deps) return deps;
  const { db, tableName } = fromEnvironment.table();
  const tenants = fromEnvironment.tenants();
  deps = {
    requests: new DynamoChangeRequestStore(db, tableName),
    vault: fromEnvironment.vault(),
    queue: new SqsChangeQueue(new SQSClient({}), getStringFromEnv('CHANGE_QUEUE_URL')),
    clock: systemClock,
    newId: randomUUID,
    approvalsRequired: Number(process.env.APPROVALS_REQUIRED ?? '1'),
    tenants,
    history: new DynamoSnapshotStore(db, tableName),
    tenantFor: tenantResolver(tenants, fromEnvironment.secrets(), fromEnvironment.settings()),
  };
  return deps;
}
