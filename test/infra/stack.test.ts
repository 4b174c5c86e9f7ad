import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { UNSET_CREDENTIALS_KEY, UNSET_CREDENTIALS_TEXT } from '../../lambdas/ports/secrets';
import { SdimGuardStack, type SdimGuardStackProps } from '../../lib/sdim-guard-stack';
import { resourcesOf, templatesOf } from './templates';

// Bundling is skipped (no esbuild run per test); each test asserts one guardrail of the synthesized template.

const TENANTS = [
  { name: 'acme', url: 'https://acme.api.identitynow.com' },
  {
    name: 'globex',
    url: 'https://globex.api.identitynow.com',
    apiVersion: 'v2024' as const,
    secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:globex-isc-AbCdEf',
  },
];

function synth(props: Partial<SdimGuardStackProps> = {}, nag = false) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SdimGuardStack(app, 'Test', {
    tenants: TENANTS,
    alertEmails: ['secops@example.com'],
    apiGatewayLogsRole: 'existing',
    ...props,
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, template: () => Template.fromStack(stack), all: () => templatesOf(stack) };
}

describe('SdimGuardStack', () => {
  const { template: t, all } = synth();
  const template = t();
  const templates = all();
  const everywhere = (type: string) => resourcesOf(templates, type);

  it('keeps history in a table with PITR, a customer-managed key, deletion protection and TTL', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1' })],
      }),
    });
  });

  it('rotates every KMS key', () => {
    for (const key of Object.values(template.findResources('AWS::KMS::Key'))) expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  it('runs every function on a current Node.js on arm64, traced, with source maps', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
      });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('gives every function a log group with retention', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(90);
  });

  it('queues changes in an encrypted FIFO queue with a FIFO dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      KmsMasterKeyId: Match.anyValue(),
      ContentBasedDeduplication: false,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
      VisibilityTimeout: 720,
    });
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    expect(queues.filter((q) => q.Properties.FifoQueue === true)).toHaveLength(2);
    expect(queues.every((q) => q.Properties.KmsMasterKeyId)).toBe(true);
  });

  it('refuses non-TLS access to every queue and the topic', () => {
    const denies = (type: string) =>
      Object.values(template.findResources(type)).filter((policy) =>
        JSON.stringify(policy.Properties.PolicyDocument.Statement).includes('"aws:SecureTransport":"false"'),
      ).length;
    expect(denies('AWS::SQS::QueuePolicy')).toBe(3);
    expect(denies('AWS::SNS::TopicPolicy')).toBe(1);
  });

  it('consumes the queue with partial batch failures and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('encrypts the alert topic and subscribes the alert e-mails with a dead-letter queue for undelivered alerts', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'secops@example.com',
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it('schedules one snapshot per tenant, carrying only the tenant name', () => {
    type Target = { Input?: string };
    const schedules = everywhere('AWS::Scheduler::Schedule').filter((s) => (s.Properties.Target as Target).Input);
    expect(schedules.map((s) => s.Properties.ScheduleExpression)).toEqual(['rate(15 minutes)', 'rate(15 minutes)']);
    expect(
      schedules.map((s) => JSON.parse((s.Properties.Target as Target).Input ?? '')).sort((a, b) => a.tenant.localeCompare(b.tenant)),
    ).toEqual([{ tenant: 'acme' }, { tenant: 'globex' }]);
  });

  it('lets the snapshot function read the tenant secrets (created ones by their prefix), the fingerprint key and the digest key', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('SnapshotsFunction'),
    );
    const reads = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .map((s) => JSON.stringify(s.Resource));
    expect(reads).toHaveLength(4);
    expect(reads.filter((r) => r.includes('globex-isc-AbCdEf'))).toHaveLength(1);
    expect(reads.filter((r) => r.includes(':secret:sdim-guard/Test/tenants/*'))).toHaveLength(1);
    expect(reads.filter((r) => r.includes('*'))).toHaveLength(1);
  });

  it('lets no role but the snapshot function read the raw-document digest key (the others hold the fingerprint key and may write heads)', () => {
    const { stack } = synth();
    const secretId = stack.getLogicalId(stack.credentials.rawDigestKey.node.defaultChild as never);
    const roleIds = (stack: Stack, fns: Array<{ role?: unknown }>) =>
      fns.map((fn) => stack.getLogicalId((fn.role as { node: { defaultChild: unknown } }).node.defaultChild as never));
    const readers = templatesOf(stack).flatMap((t) =>
      Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) =>
        (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
          .filter((s) => JSON.stringify(s.Resource).includes(`"${secretId}"`))
          .flatMap((s) => [s.Action].flat().map((action) => ({ action, roles: JSON.stringify(p.Properties.Roles) }))),
      ),
    );
    const [snapshotRole] = roleIds(stack, [stack.snapshots.function]);
    expect(readers.map((r) => r.action).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(readers.every((r) => r.roles === JSON.stringify([{ Ref: snapshotRole }]))).toBe(true);
    const otherRoles = roleIds(stack, [stack.changes.function, stack.changes.sweeper, stack.approvals.function]);
    expect(otherRoles.some((id) => readers.some((r) => r.roles.includes(`"${id}"`)))).toBe(false);
  });

  it('creates a named secret holding a recognisable placeholder for a tenant without secretArn', () => {
    const created = everywhere('AWS::SecretsManager::Secret').filter((s) => String(s.Properties.Name).includes('/tenants/'));
    expect(created.map((s) => [s.Properties.Name, s.Properties.SecretString, s.DeletionPolicy])).toEqual([
      ['sdim-guard/Test/tenants/acme/isc-credentials', JSON.stringify({ [UNSET_CREDENTIALS_KEY]: UNSET_CREDENTIALS_TEXT }), 'Retain'],
    ]);
  });

  it('scopes each function to the table actions its handler performs', () => {
    const actionsOf = (fn: string) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(fn))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>)
        .flatMap((s) => [s.Action].flat())
        .filter((a, i, all) => a.startsWith('dynamodb:') && all.indexOf(a) === i)
        .sort();
    // (Which partition keys each statement allows: test/infra/access-policy.test.ts.)
    expect(actionsOf('ChangesFunction')).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(actionsOf('ApprovalsFunction')).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(actionsOf('SnapshotsFunction')).not.toContain('dynamodb:Scan');
  });

  it('authorizes every approval API method with IAM', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    // 5 request routes, and the read side the console shares: view, whoami, tenants, drift, accept, and 5 tenant reads.
    expect(methods).toHaveLength(15);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('logs API access and throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      TracingEnabled: true,
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })],
    });
  });

  it('alarms on stale snapshots per tenant, every function error, throttles, the DLQs, API 5xx, conflicts and failed anchors, all to the topic', () => {
    const alarms = everywhere('AWS::CloudWatch::Alarm');
    const names = alarms.map((a) => a.Properties.MetricName).sort();
    expect(names).toEqual([
      '5XXError',
      'AnchorFailed',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
      'ChangeConflict',
      'Errors',
      'Errors',
      'Errors',
      'Errors',
      'SnapshotSucceeded',
      'SnapshotSucceeded',
      'Throttles',
      'Throttles',
    ]);
    const stale = alarms.filter((a) => a.Properties.MetricName === 'SnapshotSucceeded');
    expect(stale.map((a) => [a.Properties.EvaluationPeriods, a.Properties.TreatMissingData, a.Properties.Period])).toEqual([
      [2, 'breaching', 900],
      [2, 'breaching', 900],
    ]);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription).toMatch(/\S/);
  });

  it('alarms on the errors of every function', () => {
    const functions = Object.keys(template.findResources('AWS::Lambda::Function'));
    const erroring = everywhere('AWS::CloudWatch::Alarm')
      .filter((a) => a.Properties.MetricName === 'Errors')
      .map((a) => JSON.stringify(a.Properties.Dimensions));
    for (const fn of functions) expect(erroring.filter((d) => d.includes(`"Ref":"${fn}"`))).toHaveLength(1);
  });

  it('sweeps change requests every five minutes', () => {
    const sweeps = everywhere('AWS::Scheduler::Schedule').filter((s) => !(s.Properties.Target as { Input?: string }).Input);
    expect(sweeps.map((s) => s.Properties.ScheduleExpression)).toEqual(['rate(5 minutes)']);
  });

  it('has a dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('never puts a credential in the environment: tenants carry a secret ARN', () => {
    const env = Object.values(template.findResources('AWS::Lambda::Function')).map((f) => JSON.stringify(f.Properties.Environment));
    for (const text of env) expect(text).not.toMatch(/clientSecret|password/i);
  });
});

describe('SdimGuardStack props', () => {
  it.each([
    [{ tenants: [] }, /at least one tenant/],
    [{ tenants: [TENANTS[0], TENANTS[0]] }, /listed twice/],
    [{ tenants: [{ name: 'x', url: 'http://insecure' }] }, /must start with https/],
    [{ tenants: [{ name: 'bad name', url: 'https://x' }] }, /letters, digits/],
    [{ approvalsRequired: 0 }, /approvalsRequired/],
    [{ scheduleMinutes: 0 }, /intervalMinutes/],
    [{ alertEmails: ['not-an-address'] }, /not an e-mail address/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as Partial<SdimGuardStackProps>)).toThrow(message);
  });
});

describe('cdk-nag (AWS Solutions and Serverless packs)', () => {
  it('reports no unacknowledged finding', () => {
    const { app } = synth({}, true);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synthesis when a finding is not acknowledged (so the check above can fail)', () => {
    const app = new App();
    const stack = new Stack(app, 'Bad');
    new Queue(stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow();
  });
});
