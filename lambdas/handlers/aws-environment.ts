import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecrets } from '../adapters/aws/secrets-manager';
import { SecretsManagerVault } from '../adapters/aws/secrets-manager-vault';
import { createDocumentClient } from '../adapters/dynamodb/clients';
import { bundledDeployConfig } from '../deploy-config';
import type { AccessConfig } from '../domain/identity';
import type { GuardSettings } from '../settings';
import { getStringFromEnv } from './env';

/**
 * The adapters every handler builds from the environment the stack sets (tenants and settings from the file bundled
 * with it, lambdas/deploy-config.ts), in one place: clients are created once per
 * container, and a missing variable fails the first call with its name. (The notifier is in notifier-environment.ts,
 * so the approval API, which never alerts, does not bundle the SNS and EventBridge clients.)
 */
let secretsManager: SecretsManagerClient | undefined;
const secretsManagerClient = () => {
  secretsManager ??= new SecretsManagerClient({});
  return secretsManager;
};

export const fromEnvironment = {
  table: () => ({ db: createDocumentClient(), tableName: getStringFromEnv('TABLE_NAME') }),
  tenants: () => bundledDeployConfig().tenants,
  // RAW_DIGEST_KEY_SECRET_ARN is set on the snapshot function alone (lib/tenant-credentials.ts bindRawDigestKey).
  secrets: () =>
    new SecretsManagerSecrets(secretsManagerClient(), getStringFromEnv('FINGERPRINT_KEY_SECRET_ARN'), {
      rawDigestKeySecretId: process.env.RAW_DIGEST_KEY_SECRET_ARN,
    }),
  vault: () =>
    new SecretsManagerVault(secretsManagerClient(), getStringFromEnv('REQUEST_SECRET_PREFIX'), process.env.REQUEST_SECRET_KMS_KEY),
  settings: (): GuardSettings => bundledDeployConfig().settings,
  /** Proposers, approvers and the identity model (docs/architecture.md "Who is who"); absent = the defaults. */
  access: (): AccessConfig => bundledDeployConfig().access,
};
