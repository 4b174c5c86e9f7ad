import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { SqsChangeQueue } from '../adapters/aws/sqs';
import { DynamoChangeRequestStore } from '../adapters/dynamodb/change-request-store';
import { systemClock } from '../ports/clock';
import type { ChangeDeps } from '../use-cases/change-requests';
import { type SweepResult, sweepRequests } from '../use-cases/sweep-requests';
import { fromEnvironment } from './aws-environment';
import { getStringFromEnv } from './env';
import { emitMetrics } from './metrics';

/** A request approved at least this long ago but never queued is sent again. */
const STRANDED_AFTER_MS = 2 * 60_000;

export async function main(deps: ChangeDeps): Promise<SweepResult> {
  const result = await sweepRequests(deps, STRANDED_AFTER_MS);
  emitMetrics({}, { RequestsExpired: result.expired, RequestsRequeued: result.requeued });
  return result;
}

let deps: ChangeDeps | undefined;

function depsFromEnvironment(): ChangeDeps {
  if (!deps) {
    const { db, tableName } = fromEnvironment.table();
    deps = {
      requests: new DynamoChangeRequestStore(db, tableName),
      vault: fromEnvironment.vault(),
      queue: new SqsChangeQueue(new SQSClient({}), getStringFromEnv('CHANGE_QUEUE_URL')),
      clock: systemClock,
      newId: randomUUID,
    };
  }
  return deps;
}

export const handler = middy<unknown, SweepResult>().handler(() => main(depsFromEnvironment()));
