import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerSecrets } from '../../lambdas/adapters/aws/secrets-manager';
import { bundledDeployConfig, DEPLOY_CONFIG_FILE, parseDeployConfig } from '../../lambdas/deploy-config';
import { UNSET_CREDENTIALS_KEY, UNSET_CREDENTIALS_TEXT } from '../../lambdas/ports/secrets';
import { assertDistinctTenantNames } from '../../lambdas/ports/tenants';

const acme = {
  name: 'acme',
  url: 'https://acme.api.identitynow.com',
  apiVersion: 'v3',
  secretRef: 'sdim-guard/S/tenants/acme/isc-credentials',
};

describe('the bundled deploy config', () => {
  it('gives the tenants and the settings', async () => {
    const config = parseDeployConfig(JSON.stringify({ tenants: [acme], settings: { defaultSeverity: 'high' } }), 'f.json');
    expect(await config.tenants.get('acme')).toEqual(acme);
    expect(await config.tenants.get('globex')).toBeUndefined();
    expect(config.settings.defaultSeverity).toBe('high');
  });

  it.each([
    ['not json', /f.json is not JSON/],
    ['[]', /f.json must be a JSON object/],
    ['{}', /f.json: tenants must be a JSON list of tenants/],
    [JSON.stringify({ tenants: [{ name: 'acme' }] }), /f.json: tenants\[0\] needs name and url/],
    [JSON.stringify({ tenants: [{ ...acme, apiVersion: 'v9' }] }), /tenants\[0\].apiVersion must be one of v1, v3, v2024/],
    [JSON.stringify({ tenants: [{ ...acme, secretRef: 7 }] }), /tenants\[0\].secretRef must be a string/],
    [JSON.stringify({ tenants: [acme, { ...acme, name: 'ACME' }] }), /tenant names 'acme' and 'ACME' collide/],
    [JSON.stringify({ tenants: [acme], settings: { nope: 1 } }), /f.json: settings: unknown setting\(s\) nope/],
    [JSON.stringify({ tenants: [acme], access: { nope: 1 } }), /f.json: access: unknown access setting\(s\) nope/],
  ])('refuses %s', (json, message) => {
    expect(() => parseDeployConfig(json, 'f.json')).toThrow(message);
  });

  it('is read from the function directory once, and a missing file says what is wrong', async () => {
    expect(() => bundledDeployConfig(undefined)).toThrow(/LAMBDA_TASK_ROOT is not set/);
    const empty = mkdtempSync(join(tmpdir(), 'sdim-guard-task-'));
    expect(() => bundledDeployConfig(empty)).toThrow(
      /sdim-guard-deploy.json cannot be read \(ENOENT\): the bundle was not built by the sdim-guard stack/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'sdim-guard-task-'));
    writeFileSync(join(dir, DEPLOY_CONFIG_FILE), JSON.stringify({ tenants: [acme] }));
    const first = bundledDeployConfig(dir);
    expect(await first.tenants.list()).toEqual([acme]);
    expect(bundledDeployConfig(empty)).toBe(first);
  });
});

describe('tenant name collisions', () => {
  it('names both tenants', () => {
    expect(() => assertDistinctTenantNames(['acme-sb', 'globex', 'acme_sb'])).toThrow(
      "tenant names 'acme-sb' and 'acme_sb' collide: ignoring case and punctuation both are 'acmesb'",
    );
    expect(() => assertDistinctTenantNames(['acme', 'acme'])).toThrow("tenant 'acme' is listed twice");
    expect(assertDistinctTenantNames(['acme-sb', 'acme-sb2'])).toEqual(['acme-sb', 'acme-sb2']);
  });
});

describe('a tenant secret the stack created and nobody filled in', () => {
  it('fails with what to do, not "not JSON"', async () => {
    const client = mockClient(SecretsManagerClient);
    client.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ [UNSET_CREDENTIALS_KEY]: UNSET_CREDENTIALS_TEXT }) });
    const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-west-1' }), 'fp');
    await expect(secrets.tenantCredentials(acme as never)).rejects.toThrow(
      "credentials of tenant 'acme' are not set yet: secret sdim-guard/S/tenants/acme/isc-credentials still holds the placeholder the stack created",
    );
    client.restore();
  });
});
