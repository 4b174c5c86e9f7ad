import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetters } from '../adapters/aws/sqs';
import { DynamoChangeRequestStore } from '../adapters/dynamodb/change-request-store';
import { scrubText } from '../domain/secrets';
import { systemClock } from '../ports/clock';
import { tenantResolver } from '../wiring';
import type { ApplyHandlerDeps } from './apply';
import { fromEnvironment } from './aws-environment';
import { getStringFromEnv } from './env';
import { emitMetrics } from './metrics';
import { notifierFromEnvironment } from './notifier-environment';

let deps: ApplyHandlerDeps | undefined;

/** Built once per container from the environment the stack sets; a missing variable fails the first call. */
export function applyDepsFromEnvironment(): ApplyHandlerDeps {
  if (deps) return deps;
  const { db, tableName } = fromEnvironment.table();
  deps = {
    requests: new DynamoChangeRequestStore(db, tableName),
    vault: fromEnvironment.vault(),
    notifier: notifierFromEnvironment(),
    clock: systemClock,
    tenantFor: tenantResolver(fromEnvironment.tenants(), fromEnvironment.secrets(), fromEnvironment.settings()),
    deadLetters: new SqsDeadLetters(new SQSClient({}), getStringFromEnv('DEAD_LETTER_QUEUE_URL')),
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? '5'),
    log: (line) => console.log(scrubText(line)),
    metrics: emitMetrics,
    access: fromEnvironment.access(),
    leaseMs: Number(process.env.APPLY_LEASE_MS ?? '60000'),
  };
  return deps;
}
