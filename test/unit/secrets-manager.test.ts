import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerSecrets } from '../../lambdas/adapters/aws/secrets-manager';

// The keys and credentials the functions read from Secrets Manager: what a bad secret says, and the cache that lets a
// rotation be seen without a redeploy.

const secretsManager = mockClient(SecretsManagerClient);
const FINGERPRINT = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:fingerprint';
const DIGEST = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:raw-digest';
const material = () => randomBytes(24).toString('base64'); // 32 characters

describe('SecretsManagerSecrets', () => {
  beforeEach(() => secretsManager.reset());

  it('reads the fingerprint key and, for the snapshot function only, the digest key: each from its own secret', async () => {
    const fingerprint = material();
    const digest = material();
    secretsManager.on(GetSecretValueCommand, { SecretId: FINGERPRINT }).resolves({ SecretString: fingerprint });
    secretsManager.on(GetSecretValueCommand, { SecretId: DIGEST }).resolves({ SecretString: digest });
    const client = new SecretsManagerClient({ region: 'eu-west-1' });
    const snapshotFunction = new SecretsManagerSecrets(client, FINGERPRINT, { rawDigestKeySecretId: DIGEST });
    expect((await snapshotFunction.fingerprintKey()).toString()).toBe(fingerprint);
    expect((await snapshotFunction.rawDigestKey())?.toString()).toBe(digest);
    const otherFunction = new SecretsManagerSecrets(client, FINGERPRINT);
    expect(await otherFunction.rawDigestKey()).toBeUndefined();
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([FINGERPRINT, DIGEST]);
  });

  it.each([
    ['fingerprint key', (s: SecretsManagerSecrets) => s.fingerprintKey(), FINGERPRINT],
    ['digest key', (s: SecretsManagerSecrets) => s.rawDigestKey(), DIGEST],
  ])('a %s shorter than 32 characters is refused, naming the secret and not its value', async (_what, read, secretId) => {
    const short = 'k'.repeat(31);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: short });
    const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-west-1' }), FINGERPRINT, {
      rawDigestKeySecretId: DIGEST,
    });
    const error = await read(secrets).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toBe(`secret ${secretId} must hold at least 32 characters of key material`);
    expect(error?.message).not.toContain(short);
  });

  it('keeps a value for its time to live, then reads it again (a rotation is seen without a redeploy)', async () => {
    let now = 1_000_000;
    const values = [material(), material()];
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: values[0] }).resolvesOnce({ SecretString: values[1] });
    const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-west-1' }), FINGERPRINT, {
      ttlMs: 60_000,
      now: () => now,
    });
    expect((await secrets.fingerprintKey()).toString()).toBe(values[0]);
    now += 59_999;
    expect((await secrets.fingerprintKey()).toString()).toBe(values[0]);
    now += 1;
    expect((await secrets.fingerprintKey()).toString()).toBe(values[1]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
