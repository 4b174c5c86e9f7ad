import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface TenantProps {
  /** Letters, digits, '.', '_' or '-'. */
  readonly name: string;
  /** e.g. https://acme.api.identitynow.com */
  readonly url: string;
  /** The per-service v1 API; v3 and v2024 are deprecated (they stop working in Q1 2029). @default 'v1' */
  readonly apiVersion?: 'v1' | 'v3' | 'v2024';
  /** An existing secret holding {"clientId": …, "clientSecret": …}; without it, an empty one is created to fill in. */
  readonly secretArn?: string;
}

export interface TenantCredentialsProps {
  readonly tenants: readonly TenantProps[];
}

/**
 * Where ISC credentials live: one secret per tenant (given or created), the fingerprint key (generated, never
 * leaves Secrets Manager), and the prefix under which change requests park credentials until they are applied.
 */
export class TenantCredentials extends Construct {
  readonly secrets: ReadonlyMap<string, ISecret>;
  readonly fingerprintKey: Secret;
  readonly key: Key;
  readonly requestSecretPrefix: string;

  constructor(scope: Construct, id: string, props: TenantCredentialsProps) {
    super(scope, id);
    if (props.tenants.length === 0) throw new Error('sdim-guard needs at least one tenant');
    const names = new Set<string>();
    this.key = new Key(this, 'Key', { enableKeyRotation: true, description: 'sdim-guard secrets', removalPolicy: RemovalPolicy.RETAIN });
    const secrets = new Map<string, ISecret>();
    for (const tenant of props.tenants) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(tenant.name))
        throw new Error(`tenant name '${tenant.name}' must be letters, digits, '.', '_' or '-'`);
      if (names.has(tenant.name)) throw new Error(`tenant '${tenant.name}' is listed twice`);
      if (!/^https:\/\//.test(tenant.url)) throw new Error(`tenant '${tenant.name}': url must start with https://`);
      names.add(tenant.name);
      secrets.set(
        tenant.name,
        tenant.secretArn
          ? Secret.fromSecretCompleteArn(this, `Tenant-${tenant.name}`, tenant.secretArn)
          : new Secret(this, `Tenant-${tenant.name}`, {
              description: `ISC client credentials of tenant ${tenant.name}: put {"clientId": "…", "clientSecret": "…"} here`,
              encryptionKey: this.key,
              removalPolicy: RemovalPolicy.RETAIN,
            }),
      );
    }
    this.secrets = secrets;
    this.fingerprintKey = new Secret(this, 'FingerprintKey', {
      description: 'sdim-guard HMAC key for credential fingerprints; changing it makes every stored secret look changed',
      encryptionKey: this.key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.requestSecretPrefix = `sdim-guard/${Stack.of(this).stackName}/requests/`;
    acknowledge(this, {
      'AwsSolutions-SMG4':
        'ISC client secrets are rotated in ISC by an admin and then written here (docs/deploy.md); the fingerprint key must never rotate, or every stored fingerprint would look changed.',
    });
  }

  /** Read access to exactly the tenants' secrets and the fingerprint key. */
  bindReaders(fn: LambdaFunction): void {
    for (const secret of this.secrets.values()) secret.grantRead(fn);
    this.fingerprintKey.grantRead(fn);
    fn.addEnvironment('FINGERPRINT_KEY_SECRET_ARN', this.fingerprintKey.secretArn);
    this.key.grantDecrypt(fn);
  }

  /** Create/read/delete of request secrets under the prefix (propose stashes, apply reads and deletes). */
  bindRequestVault(fn: LambdaFunction, actions: ReadonlyArray<'CreateSecret' | 'GetSecretValue' | 'DeleteSecret'>): void {
    const stack = Stack.of(this);
    fn.addEnvironment('REQUEST_SECRET_PREFIX', this.requestSecretPrefix);
    fn.addEnvironment('REQUEST_SECRET_KMS_KEY', this.key.keyArn);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: actions.map((a) => `secretsmanager:${a}`),
        resources: [`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${this.requestSecretPrefix}*`],
      }),
    );
    this.key.grantEncryptDecrypt(fn as IGrantable);
    acknowledge(fn, {
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.requestSecretPrefix}*]`]:
        'Request secrets are created per change request under this prefix, so their names are not known at deploy time.',
    });
  }

  /** The TENANTS variable the handlers read: names, URLs, versions and secret ARNs; never a credential. */
  tenantsJson(tenants: readonly TenantProps[]): string {
    return Stack.of(this).toJsonString(
      tenants.map((t) => ({ name: t.name, url: t.url, apiVersion: t.apiVersion ?? 'v1', secretRef: this.secrets.get(t.name)?.secretArn })),
    );
  }
}
