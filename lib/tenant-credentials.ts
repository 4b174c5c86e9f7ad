import { RemovalPolicy, SecretValue, Stack, Token } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DeployConfig } from '../lambdas/deploy-config';
import { UNSET_CREDENTIALS_KEY, UNSET_CREDENTIALS_TEXT } from '../lambdas/ports/secrets';
import { assertDistinctTenantNames, assertTenantName } from '../lambdas/ports/tenants';
import { acknowledge } from './nag';
import type { TenantShards } from './tenant-shards';

export interface TenantProps {
  /** Letters, digits, '.', '_' or '-'. */
  readonly name: string;
  /** e.g. https://acme.api.identitynow.com */
  readonly url: string;
  /** The per-service v1 API; v3 and v2024 are deprecated (they stop working in Q1 2029). @default 'v1' */
  readonly apiVersion?: 'v1' | 'v3' | 'v2024';
  /**
   * An existing secret holding {"clientId": …, "clientSecret": …} (complete ARN). Without it the stack creates
   * `sdim-guard/<stack>/tenants/<name>/isc-credentials` holding a placeholder, and the tenant's snapshots fail with
   * "credentials … are not set yet" until an operator puts the credentials there.
   */
  readonly secretArn?: string;
}

export interface TenantCredentialsProps {
  readonly tenants: readonly TenantProps[];
  /** Where each tenant's created secret goes. */
  readonly shards: TenantShards;
}

/**
 * Where ISC credentials live: one secret per tenant (given or created), the fingerprint key (generated, never
 * leaves Secrets Manager), and the prefix under which change requests park credentials until they are applied.
 */
export class TenantCredentials extends Construct {
  readonly secrets: ReadonlyMap<string, ISecret>;
  /** Name prefix of the tenant secrets this stack creates: `sdim-guard/<stack>/tenants/`. */
  readonly tenantSecretPrefix: string;
  readonly fingerprintKey: Secret;
  /** The raw-document digest key: the snapshot function's alone (the other roles hold the fingerprint key). */
  readonly rawDigestKey: Secret;
  readonly key: Key;
  readonly requestSecretPrefix: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: TenantCredentialsProps,
  ) {
    super(scope, id);
    if (props.tenants.length === 0) throw new Error('sdim-guard needs at least one tenant');
    const stack = Stack.of(this);
    // Secret names (not ARNs, which are tokens until deploy) go into the bundled registry, so the stack name must be
    // known at synth time.
    if (Token.isUnresolved(stack.stackName)) throw new Error('the stack name must be a plain string, not a token');
    this.tenantSecretPrefix = `sdim-guard/${stack.stackName}/tenants/`;
    for (const tenant of props.tenants) assertTenantName(tenant.name);
    assertDistinctTenantNames(props.tenants.map((t) => t.name));
    this.key = new Key(this, 'Key', { enableKeyRotation: true, description: 'sdim-guard secrets', removalPolicy: RemovalPolicy.RETAIN });
    const secrets = new Map<string, ISecret>();
    for (const tenant of props.tenants) {
      if (!/^https:\/\//.test(tenant.url)) throw new Error(`tenant '${tenant.name}': url must start with https://`);
      if (
        tenant.secretArn !== undefined &&
        !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(tenant.secretArn)
      )
        throw new Error(`tenant '${tenant.name}': secretArn must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX)`);
      secrets.set(
        tenant.name,
        tenant.secretArn
          ? Secret.fromSecretCompleteArn(this, `Tenant-${tenant.name}`, tenant.secretArn)
          : new Secret(props.shards.scopeFor(tenant.name), `Secret-${tenant.name}`, {
              // Ends in a fixed word, never in '-' and six characters, which Secrets Manager could read as an ARN suffix.
              secretName: this.secretNameOf(tenant.name),
              description: `ISC credentials of tenant ${tenant.name}: {"clientId": "…", "clientSecret": "…"} of an ORG_ADMIN personal access token`,
              // A placeholder the functions recognise and name, instead of a random string that fails as "not JSON".
              // Constant, so no later deployment writes it over credentials an operator stored.
              secretObjectValue: { [UNSET_CREDENTIALS_KEY]: SecretValue.unsafePlainText(UNSET_CREDENTIALS_TEXT) },
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
    this.rawDigestKey = new Secret(this, 'RawDigestKey', {
      description:
        'sdim-guard HMAC key of the raw-document digests in the heads; only the snapshot function may read it. Changing it costs one full normalisation.',
      encryptionKey: this.key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.requestSecretPrefix = `sdim-guard/${Stack.of(this).stackName}/requests/`;
    const noRotation = {
      'AwsSolutions-SMG4':
        'ISC personal access tokens are rotated in ISC by an admin and then written here (docs/deploy.md); the fingerprint key must never rotate, or every stored fingerprint would look changed.',
    };
    acknowledge(this, noRotation);
    for (const secret of secrets.values()) if (secret instanceof Secret) acknowledge(secret, noRotation);
  }

  /** `sdim-guard/<stack>/tenants/<tenant>/isc-credentials` */
  secretNameOf(tenant: string): string {
    return `${this.tenantSecretPrefix}${tenant}/isc-credentials`;
  }

  /**
   * Read access to the tenants' secrets and the fingerprint key: one statement for every secret this stack created
   * (their name prefix, so the policy does not grow with the tenant count), and one per secret given by ARN.
   */
  bindReaders(fn: LambdaFunction): void {
    const stack = Stack.of(this);
    const given = this.props.tenants.filter((t) => t.secretArn);
    if (given.length < this.props.tenants.length) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${this.tenantSecretPrefix}*`],
        }),
      );
      acknowledge(fn, {
        [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.tenantSecretPrefix}*]`]:
          "Read-only, on the tenant secrets this stack creates under its own name prefix: one statement for 1 or 1,000 tenants (a policy listing each would pass IAM's size limit). Secrets Manager appends a random suffix to every ARN.",
      });
    }
    for (const tenant of given) this.secrets.get(tenant.name)?.grantRead(fn);
    this.bindFingerprintKey(fn);
  }

  /** Read access to the fingerprint key alone: approvals are sealed with a key derived from it. */
  bindFingerprintKey(fn: LambdaFunction): void {
    this.fingerprintKey.grantRead(fn);
    fn.addEnvironment('FINGERPRINT_KEY_SECRET_ARN', this.fingerprintKey.secretArn);
    this.key.grantDecrypt(fn);
  }

  /**
   * Read access to the raw-document digest key, for the snapshot function only: every role that may write heads
   * holds the fingerprint key, so digests keyed by it could be forged to keep an edit out of the history until the
   * next day's full pass; this key takes that away from all but the snapshot function, which writes the history anyway.
   */
  bindRawDigestKey(fn: LambdaFunction): void {
    this.rawDigestKey.grantRead(fn);
    fn.addEnvironment('RAW_DIGEST_KEY_SECRET_ARN', this.rawDigestKey.secretArn);
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

  /** The registry bundled with the functions: names, URLs, versions and where each secret is; never a credential. */
  registry(): DeployConfig['tenants'] {
    return this.props.tenants.map((t) => ({
      name: t.name,
      url: t.url,
      apiVersion: t.apiVersion ?? 'v1',
      secretRef: t.secretArn ?? this.secretNameOf(t.name),
    }));
  }
}
