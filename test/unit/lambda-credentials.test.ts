import { ENV_KEY, ENV_SECRET, ENV_SESSION } from '@aws-sdk/credential-provider-env';
import { defaultProvider } from '../../lambdas/adapters/aws/lambda-credentials';

describe('the credential provider of the Lambda bundles', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('answers with the role credentials Lambda puts in the environment', async () => {
    // Recognisably fake values, made at run time (no credential-shaped literals in the repository).
    const fake = (label: string) => `fake-${label}-${process.pid}`;
    process.env[ENV_KEY] = fake('key-id');
    process.env[ENV_SECRET] = fake('secret');
    process.env[ENV_SESSION] = fake('session');
    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: fake('key-id'),
      secretAccessKey: fake('secret'),
      sessionToken: fake('session'),
    });
  });

  it('fails naming the missing variables instead of looking anywhere else', async () => {
    delete process.env[ENV_KEY];
    delete process.env[ENV_SECRET];
    process.env.AWS_PROFILE = 'someone-else';
    await expect(defaultProvider()()).rejects.toThrow(/AWS_ACCESS_KEY_ID|environment/i);
  });
});
