import { App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SdimGuardStack, type SdimGuardStackProps } from '../../lib/sdim-guard-stack';

// Bundling is skipped; each test asserts one guarantee of the anchor bucket or of who may touch it.

function synth(props: Partial<SdimGuardStackProps> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SdimGuardStack(app, 'Test', {
    tenants: [{ name: 'acme', url: 'https://acme.api.identitynow.com' }],
    apiGatewayLogsRole: 'existing',
    ...props,
  });
  return { stack, template: Template.fromStack(stack) };
}

type Statement = { Action: string | string[]; Effect: string; Resource: unknown; Condition?: unknown };

/** Every statement of the policies attached to the role of `fn`. */
function statementsOf(template: Template, stack: Stack, fn: { role?: { node: { defaultChild?: unknown } } }): Statement[] {
  const roleId = stack.getLogicalId(fn.role?.node.defaultChild as never);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const s3Actions = (statements: Statement[]) =>
  statements
    .flatMap((s) => [s.Action].flat())
    .filter((a) => a.startsWith('s3:'))
    .sort();

describe('HistoryAnchors', () => {
  const { stack, template } = synth();
  const bucketId = () => Object.keys(template.findResources('AWS::S3::Bucket'))[0] as string;

  it('is one bucket with Object Lock in COMPLIANCE mode for 365 days by default, versioned', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } } },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('takes the retention from the deploy config', () => {
    synth({ anchorRetentionDays: 2555 }).template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });
  });

  it.each([0, -1, 1.5, 3651, Number.NaN])('refuses a retention of %p days', (days) => {
    expect(() => synth({ anchorRetentionDays: days })).toThrow(/anchorRetentionDays must be a whole number of days from 1 to 3650/);
  });

  it('is encrypted, private, TLS-only and retained when the stack goes', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId() },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets the snapshot function put anchors and nothing else: no read, delete, retention change or bypass', () => {
    const statements = statementsOf(template, stack, stack.snapshots.function);
    expect(s3Actions(statements)).toEqual(['s3:PutObject']);
    const put = statements.find((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(put?.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, '/anchors/*']] });
    expect(
      template.toJSON().Resources[stack.getLogicalId(stack.snapshots.function.node.defaultChild as never)].Properties.Environment.Variables,
    ).toMatchObject({
      ANCHOR_BUCKET: { Ref: bucketId() },
    });
  });

  it('lets the approval API (the verify route) read anchors and their versions, read only', () => {
    const statements = statementsOf(template, stack, stack.approvals.function);
    expect(s3Actions(statements)).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions']);
    const list = statements.find((s) => [s.Action].flat().includes('s3:ListBucketVersions'));
    expect(list).toMatchObject({
      Resource: { 'Fn::GetAtt': [bucketId(), 'Arn'] },
      Condition: { StringLike: { 's3:prefix': ['anchors/*'] } },
    });
    expect(
      template.toJSON().Resources[stack.getLogicalId(stack.approvals.function.node.defaultChild as never)].Properties.Environment.Variables,
    ).toMatchObject({ ANCHOR_BUCKET: { Ref: bucketId() }, SNAPSHOT_INTERVAL_MINUTES: '15' });
  });

  it('gives no other function any access to the anchor bucket', () => {
    for (const fn of [stack.changes.function, stack.changes.sweeper]) expect(s3Actions(statementsOf(template, stack, fn))).toEqual([]);
  });

  it('alarms on a failed anchor write, through the alert topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'AnchorFailed',
      Namespace: 'sdim-guard',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [Match.anyValue()],
    });
  });
});
