import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS } from '../../lib/approval-api';
import type { GuardFunction } from '../../lib/guard-function';
import { SdimGuardStack, type SdimGuardStackProps } from '../../lib/sdim-guard-stack';
import type { TenantProps } from '../../lib/tenant-credentials';
import { TENANT_SHARD_COUNT } from '../../lib/tenant-shards';
import { resourcesOf, templatesOf } from './templates';

// What changes with the number of tenants, and the limits a deployment must stay under. Bundling is skipped here;
// test/lambda-runtime builds the bundles for real and runs them.

/** Lambda: all variables of a function together, names and values, at most 4 KB. */
const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/**
 * A reference resolves only at deploy time; count each as 256 characters, more than any ARN, queue URL or name the
 * stack references (the longest, a queue URL with an 80-character name, is about 150).
 */
const RESOLVED_REFERENCE = 256;

function deployedLength(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value && typeof value === 'object' && 'Fn::Join' in value) {
    const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.reduce<number>((sum, part) => sum + deployedLength(part), separator.length * Math.max(0, parts.length - 1));
  }
  return RESOLVED_REFERENCE;
}

function tenants(count: number, withSecretArns = false): TenantProps[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `tenant-${String(i).padStart(4, '0')}-with-a-long-descriptive-name`,
    url: `https://tenant-${i}-with-a-long-descriptive-name.api.identitynow.com`,
    apiVersion: 'v2024' as const,
    ...(withSecretArns
      ? { secretArn: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:isc/tenant-${i}-AbC${String(i).padStart(3, '0')}` }
      : {}),
  }));
}

function synth(props: Partial<SdimGuardStackProps>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SdimGuardStack(app, 'Scale', { tenants: tenants(1), apiGatewayLogsRole: 'existing', ...props });
  return { stack, template: Template.fromStack(stack), templates: templatesOf(stack) };
}

function guardFunctions(stack: SdimGuardStack): GuardFunction[] {
  return [stack.snapshots.function, stack.changes.function, stack.changes.sweeper, stack.approvals.function];
}

describe.each([1, 15, 100, 1000])('%i tenants', (count) => {
  const { stack, template, templates } = synth({ tenants: tenants(count), settings: { defaultSeverity: 'high' } });

  it('puts a schedule, a stale-snapshot alarm and a secret per tenant into shards, each under 500 resources', () => {
    expect(resourcesOf(templates, 'AWS::Scheduler::Schedule')).toHaveLength(count + 1);
    expect(resourcesOf(templates, 'AWS::CloudWatch::Alarm').filter((a) => a.Properties.MetricName === 'SnapshotSucceeded')).toHaveLength(
      count,
    );
    expect(stack.shards.stacks.length).toBeLessThanOrEqual(Math.min(count, TENANT_SHARD_COUNT));
    for (const t of templates) {
      const json = t.toJSON() as { Resources: object; Outputs?: object };
      expect(Object.keys(json.Resources).length).toBeLessThan(500);
      expect(Object.keys(json.Outputs ?? {}).length).toBeLessThan(200);
      expect(JSON.stringify(json).length).toBeLessThan(1_000_000);
    }
  });

  it('synthesizes with every function environment under 4 KB, the same size as for one tenant', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      const variables = Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>);
      const size = variables.reduce((sum, [name, value]) => sum + name.length + deployedLength(value), 0);
      expect(size).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT);
      expect(variables.map(([name]) => name)).not.toEqual(expect.arrayContaining(['TENANTS']));
    }
  });

  it('bundles every tenant, with its secret name, and the settings with every function', () => {
    for (const fn of guardFunctions(stack)) {
      expect(fn?.deployConfig?.tenants).toHaveLength(count);
      expect(fn?.deployConfig?.tenants[count - 1]).toEqual({
        name: `tenant-${String(count - 1).padStart(4, '0')}-with-a-long-descriptive-name`,
        url: `https://tenant-${count - 1}-with-a-long-descriptive-name.api.identitynow.com`,
        apiVersion: 'v2024',
        secretRef: `sdim-guard/Scale/tenants/tenant-${String(count - 1).padStart(4, '0')}-with-a-long-descriptive-name/isc-credentials`,
      });
      expect(fn?.deployConfig?.settings).toEqual({ defaultSeverity: 'high' });
    }
  });

  it('grants the created tenant secrets with one statement, whatever the count', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('SnapshotsFunction'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>)
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    // The tenant secrets by their prefix, the fingerprint key and the raw-document digest key.
    expect(statements).toHaveLength(3);
  });
});

describe('100 tenants with their own secrets', () => {
  it('stay under IAM policy size limits', () => {
    const { template } = synth({ tenants: tenants(100, true) });
    const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: unknown }> };
    // A role's inline policies together: at most 10,240 characters (without white space).
    const perRole = new Map<string, number>();
    for (const resource of Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
      const { Roles, PolicyDocument } = resource.Properties as { Roles: unknown[]; PolicyDocument: unknown };
      for (const role of Roles) {
        const key = JSON.stringify(role);
        perRole.set(key, (perRole.get(key) ?? 0) + JSON.stringify(PolicyDocument).length);
      }
    }
    for (const size of perRole.values()) expect(size).toBeLessThan(10_240);
  });
});

describe('tenant names', () => {
  it.each([
    ['acme-sb', 'acme_sb'],
    ['acme.sb', 'AcmeSB'],
  ])('refuses %s next to %s, naming both', (first, second) => {
    const list = [
      { name: first, url: 'https://a.api.identitynow.com' },
      { name: second, url: 'https://b.api.identitynow.com' },
    ];
    expect(() => synth({ tenants: list })).toThrow(`tenant names '${first}' and '${second}' collide`);
  });

  it('accepts names that differ in letters or digits', () => {
    const list = [
      { name: 'acme-sb', url: 'https://a.api.identitynow.com' },
      { name: 'acme-sb2', url: 'https://b.api.identitynow.com' },
    ];
    expect(() => synth({ tenants: list })).not.toThrow();
  });

  it('refuses a secretArn that is not a complete Secrets Manager ARN', () => {
    const list = [{ name: 'acme', url: 'https://a.api.identitynow.com', secretArn: 'isc/acme' }];
    expect(() => synth({ tenants: list })).toThrow(/tenant 'acme': secretArn must be the complete ARN/);
  });
});

describe('approval API', () => {
  it('times the function out before API Gateway gives up on it', () => {
    const { stack, template } = synth({});
    const timeout = template.toJSON().Resources[stack.getLogicalId(stack.approvals.function.node.defaultChild as never)].Properties
      .Timeout as number;
    expect(timeout).toBeLessThan(API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS);
  });

  it("leaves the account's API Gateway logging role alone unless told to create it", () => {
    synth({ apiGatewayLogsRole: 'existing' }).template.resourceCountIs('AWS::ApiGateway::Account', 0);
    const created = synth({ apiGatewayLogsRole: 'create' }).template;
    const accounts = Object.values(created.findResources('AWS::ApiGateway::Account'));
    expect(accounts).toHaveLength(1);
    expect(accounts[0]?.DeletionPolicy).toBe('Retain');
  });

  it('refuses a configuration that does not say which', () => {
    expect(() => synth({ apiGatewayLogsRole: undefined })).toThrow(/apiGatewayLogsRole must be 'create' .* or 'existing'/);
  });
});
