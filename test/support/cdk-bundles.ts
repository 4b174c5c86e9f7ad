import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import type { GuardFunction } from '../../lib/guard-function';
import { SdimGuardStack, type SdimGuardStackProps } from '../../lib/sdim-guard-stack';
import { type Json, resolveIntrinsics, type Statement } from './iam-policy';

/** The table's ARN as the statements of BuiltFunction name it. */
export const BUNDLED_TABLE_ARN = 'arn:aws:dynamodb:eu-west-1:111122223333:table/sdim-guard-history';

export type FunctionKind = 'snapshot' | 'apply' | 'sweeper' | 'approval';

export interface BuiltFunction {
  /** The asset directory CDK uploads as the function's code: index.mjs, its source map, the deploy config. */
  readonly codeDir: string;
  /** As the template sets them; references (tokens) are objects until the test resolves them. */
  readonly environment: Record<string, unknown>;
  readonly handler: string;
  readonly runtime: string;
  /** Every statement of the identity policies on the function's role, the table's ARN as BUNDLED_TABLE_ARN. */
  readonly statements: Statement[];
}

/**
 * Synthesizes the stack with bundling on, as `cdk synth` and `cdk deploy` do, and returns each function's code
 * directory and environment from the cloud assembly: the exact bundles that would be uploaded.
 */
export function buildFunctions(props: Omit<SdimGuardStackProps, 'apiGatewayLogsRole'>): Record<FunctionKind, BuiltFunction> {
  const outdir = mkdtempSync(join(tmpdir(), 'sdim-guard-assembly-'));
  // As the CDK CLI runs the app: asset metadata on, so the template names each bundle's directory.
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new SdimGuardStack(app, 'Bundled', { apiGatewayLogsRole: 'existing', ...props });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type?: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }>;
  };
  const built = (fn: GuardFunction): BuiltFunction => {
    const resource = template.Resources[stack.getLogicalId(fn.node.defaultChild as never)];
    const assetPath = resource?.Metadata?.['aws:asset:path'];
    if (!resource || !assetPath) throw new Error(`no bundled asset for ${fn.node.path}`);
    const role = { Ref: stack.getLogicalId(fn.role?.node.defaultChild as CfnElement) };
    const tableId = stack.getLogicalId(stack.store.table.node.defaultChild as CfnElement);
    const statements = Object.values(template.Resources)
      .filter((r) => (r as { Type?: string }).Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([role]))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Json[] }).Statement)
      .map(
        (st) =>
          resolveIntrinsics(
            st,
            { [tableId]: BUNDLED_TABLE_ARN },
            { 'AWS::Partition': 'aws', 'AWS::AccountId': '111122223333' },
          ) as unknown as Statement,
      );
    return {
      codeDir: join(assembly.directory, assetPath),
      environment: (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
      handler: String(resource.Properties.Handler),
      runtime: String(resource.Properties.Runtime),
      statements,
    };
  };
  return {
    snapshot: built(stack.snapshots.function),
    apply: built(stack.changes.function),
    sweeper: built(stack.changes.sweeper),
    approval: built(stack.approvals.function),
  };
}
