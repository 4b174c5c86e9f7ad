import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerSecrets } from '../adapters/aws/secrets-manager';
import { SecretsManagerVault } from '../adapters/aws/secrets-manager-vault';
import { SqsChangeQueue } from '../adapters/aws/sqs';
import { DynamoChangeRequestStore } from '../adapters/dynamodb/change-request-store';
import { createDocumentClient } from '../adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store';
import { StaticTenantDirectory } from '../adapters/static-tenant-directory';
import { systemClock } from '../ports/clock';
import { parseSettings } from '../settings';
import { tenantResolver } from '../wiring';
import type { ApprovalApiDeps } from './approval-api';
import { getStringFromEnv } from './env';

let deps: ApprovalApiDeps | undefined;

export function approvalDepsFromEnvironment(): ApprovalApiDeps {
  if (deps) return deps;
  const db = createDocumentClient();
  const table = getStringFromEnv('TABLE_NAME');
  const secretsClient = new SecretsManagerClient({});
  const tenants = StaticTenantDirectory.fromJson(getStringFromEnv('TENANTS'), 'TENANTS');
  const secrets = new SecretsManagerSecrets(secretsClient, getStringFromEnv('FINGERPRINT_KEY_SECRET_ARN'));
  deps = {
    requests: new DynamoChangeRequestStore(db, table),
    vault: new SecretsManagerVault(secretsClient, getStringFromEnv('REQUEST_SECRET_PREFIX'), process.env.REQUEST_SECRET_KMS_KEY),
    queue: new SqsChangeQueue(new SQSClient({}), getStringFromEnv('CHANGE_QUEUE_URL')),
    clock: systemClock,
    newId: randomUUID,
    approvalsRequired: Number(process.env.APPROVALS_REQUIRED ?? '1'),
    tenants,
    history: new DynamoSnapshotStore(db, table),
    tenantFor: tenantResolver(tenants, secrets, parseSettings(process.env.SETTINGS, 'SETTINGS')),
  };
  return deps;
}
