import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretValues } from '../../domain/payload-secrets';
import type { RequestSecretVault } from '../../ports/change-requests';

/** Credentials of a change request, one secret per request under `<prefix><id>`, deleted once the request ends. */
export class SecretsManagerVault implements RequestSecretVault {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
    private readonly kmsKeyId?: string,
  ) {}

  async stash(requestId: string, values: SecretValues): Promise<void> {
    await this.client.send(
      new CreateSecretCommand({ Name: this.prefix + requestId, SecretString: JSON.stringify(values), KmsKeyId: this.kmsKeyId }),
    );
  }

  async load(requestId: string): Promise<SecretValues> {
    const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: this.prefix + requestId }));
    return JSON.parse(SecretString ?? '{}') as SecretValues;
  }

  async discard(requestId: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: this.prefix + requestId, ForceDeleteWithoutRecovery: true }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException) && (error as Error).name !== 'ResourceNotFoundException') throw error;
    }
  }
}
