import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecrets } from '../adapters/aws/secrets-manager';
import { SecretsManagerVault } from '../adapters/aws/secrets-manager-vault';
import { createDocumentClient } from '../adapters/dynamodb/clients';
import { StaticTenantDirectory } from '../adapters/static-tenant-directory';
import { type AccessConfig, parseAccessConfig } from '../domain/identity';
import { type GuardSettings, parseSettings } from '../settings';
import { getStringFromEnv } from './env';

/**
 * The adapters every handler builds from the environment the stack sets, in one place: clients are created once per
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
  tenants: () => StaticTenantDirectory.fromJson(getStringFromEnv('TENANTS'), 'TENANTS'),
  secrets: () => new SecretsManagerSecrets(secretsManagerClient(), getStringFromEnv('FINGERPRINT_KEY_SECRET_ARN')),
  vault: () =>
    new SecretsManagerVault(secretsManagerClient(), getStringFromEnv('REQUEST_SECRET_PREFIX'), process.env.REQUEST_SECRET_KMS_KEY),
  settings: (): GuardSettings => parseSettings(process.env.SETTINGS, 'SETTINGS'),
  /** Proposers, approvers and the identity model (docs/architecture.md "Who is who"); absent = the defaults. */
  access: (): AccessConfig => parseAccessConfig(process.env.ACCESS, 'ACCESS'),
};
