import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsChangeQueue } from '../adapters/aws/sqs';
import { DynamoChangeRequestStore } from '../adapters/dynamodb/change-request-store';
import { systemClock } from '../ports/clock';
import type { ChangeDeps } from '../use-cases/change-requests';
import { fromEnvironment } from './aws-environment';
import { getStringFromEnv } from './env';

/** The change-request store, vault and queue that proposing, approving and sweeping share. */
export function changeDepsFromEnvironment(): ChangeDeps {
  const { db, tableName } = fromEnvironment.table();
  const secrets = fromEnvironment.secrets();
  return {
    requests: new DynamoChangeRequestStore(db, tableName),
    vault: fromEnvironment.vault(),
    queue: new SqsChangeQueue(new SQSClient({}), getStringFromEnv('CHANGE_QUEUE_URL')),
    clock: systemClock,
    newId: randomUUID,
    approvalsRequired: Number(process.env.APPROVALS_REQUIRED ?? '1'),
    access: fromEnvironment.access(),
    sealKey: () => secrets.fingerprintKey(),
  };
}
