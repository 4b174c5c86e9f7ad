import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AwsNotifier } from '../adapters/aws/aws-notifier';
import { SecretsManagerSecrets } from '../adapters/aws/secrets-manager';
import { SecretsManagerVault } from '../adapters/aws/secrets-manager-vault';
import { SqsDeadLetters } from '../adapters/aws/sqs';
import { DynamoChangeRequestStore } from '../adapters/dynamodb/change-request-store';
import { createDocumentClient } from '../adapters/dynamodb/clients';
import { StaticTenantDirectory } from '../adapters/static-tenant-directory';
import { systemClock } from '../ports/clock';
import { parseSettings } from '../settings';
import { tenantResolver } from '../wiring';
import type { ApplyHandlerDeps } from './apply';
import { getStringFromEnv } from './env';
import { emitMetrics } from './metrics';

let deps: ApplyHandlerDeps | undefined;

/** Built once per container from the environment the stack sets; a missing variable fails the first call. */
export function applyDepsFromEnvironment(): ApplyHandlerDeps {
  if (deps) return deps;
  const secretsClient = new SecretsManagerClient({});
  const secrets = new SecretsManagerSecrets(secretsClient, getStringFromEnv('FINGERPRINT_KEY_SECRET_ARN'));
  const tenants = StaticTenantDirectory.fromJson(getStringFromEnv('TENANTS'), 'TENANTS');
  const sqs = new SQSClient({});
  deps = {
    requests: new DynamoChangeRequestStore(createDocumentClient(), getStringFromEnv('TABLE_NAME')),
    vault: new SecretsManagerVault(secretsClient, getStringFromEnv('REQUEST_SECRET_PREFIX'), process.env.REQUEST_SECRET_KMS_KEY),
    notifier: new AwsNotifier(
      new EventBridgeClient({}),
      getStringFromEnv('EVENT_BUS_NAME'),
      new SNSClient({}),
      getStringFromEnv('TOPIC_ARN'),
    ),
    clock: systemClock,
    tenantFor: tenantResolver(tenants, secrets, parseSettings(process.env.SETTINGS, 'SETTINGS')),
    deadLetters: new SqsDeadLetters(sqs, getStringFromEnv('DEAD_LETTER_QUEUE_URL')),
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? '5'),
    log: (line) => console.log(line),
    metrics: emitMetrics,
    leaseMs: Number(process.env.APPLY_LEASE_MS ?? '60000'),
  };
  return deps;
}
