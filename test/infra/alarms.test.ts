import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SdimGuardStack } from '../../lib/sdim-guard-stack';

// Alarm notifications must reach people: each statement that lets them through, checked on its own.

type Statement = { Sid?: string; Effect: string; Principal?: { Service?: string }; Action: string | string[]; Condition?: unknown };

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new SdimGuardStack(app, 'Alarms', {
  tenants: [{ name: 'acme', url: 'https://acme.api.identitynow.com' }],
  alertEmails: ['secops@example.com'],
  apiGatewayLogsRole: 'existing',
});
const template = Template.fromStack(stack);
const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const fromThisAccount = { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } };

function statementsOf(type: string, refersTo: string): Statement[] {
  return Object.values(template.findResources(type))
    .filter((r) => JSON.stringify(r).includes(refersTo))
    .flatMap((r) => (r.Properties.PolicyDocument ?? r.Properties.KeyPolicy).Statement as Statement[]);
}

describe('the alert topic', () => {
  const topic = logicalId(stack.alerts.topic);

  it('lets CloudWatch alarms of this account publish', () => {
    const allow = statementsOf('AWS::SNS::TopicPolicy', topic).filter((s) => s.Effect === 'Allow');
    expect(allow).toEqual([
      {
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topic },
        Condition: fromThisAccount,
      },
    ]);
  });

  it('still refuses publishing without TLS', () => {
    const deny = statementsOf('AWS::SNS::TopicPolicy', topic).filter((s) => s.Effect === 'Deny');
    expect(JSON.stringify(deny)).toContain('"aws:SecureTransport":"false"');
  });
});

describe('the alerts key (topic and undelivered-alerts queue)', () => {
  const statements = () => statementsOf('AWS::KMS::Key', 'sdim-guard alerts');

  it('lets CloudWatch encrypt alarm notifications, for this account only', () => {
    expect(statements()).toContainEqual(
      expect.objectContaining({
        Sid: 'CloudWatchAlarmsEncryptAlerts',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: fromThisAccount,
      }),
    );
  });

  it('lets SNS write undelivered alerts into the encrypted dead-letter queue, for this account only', () => {
    expect(statements()).toContainEqual(
      expect.objectContaining({
        Sid: 'SnsWritesUndeliveredAlerts',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: fromThisAccount,
      }),
    );
  });

  it('lets only this topic send to the undelivered-alerts queue', () => {
    const queue = logicalId(stack.alerts.undelivered);
    const allow = statementsOf('AWS::SQS::QueuePolicy', queue).filter((s) => s.Effect === 'Allow');
    expect(allow).toEqual([
      expect.objectContaining({
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: logicalId(stack.alerts.topic) } } },
      }),
    ]);
  });
});

describe('alarms', () => {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
  const find = (metric: string, refersTo: string) =>
    alarms.filter((a) => a.Properties.MetricName === metric && JSON.stringify(a.Properties.Dimensions).includes(refersTo));

  it.each([
    ['Errors', 'the apply function', () => logicalId(stack.changes.function)],
    ['Errors', 'the sweeper', () => logicalId(stack.changes.sweeper)],
    ['Errors', 'the approval function', () => logicalId(stack.approvals.function)],
    ['Errors', 'the snapshot function', () => logicalId(stack.snapshots.function)],
    ['5XXError', 'the approval API', () => stack.approvals.api.restApiName],
    ['ApproximateNumberOfMessagesVisible', 'the undelivered-alerts queue', () => logicalId(stack.alerts.undelivered)],
    ['ApproximateNumberOfMessagesVisible', 'the change DLQ', () => logicalId(stack.changes.deadLetterQueue)],
  ])('%s of %s notifies the topic on the first occurrence', (metric, _label, id) => {
    const [alarm, ...more] = find(metric, id());
    expect(more).toEqual([]);
    expect(alarm?.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alerts.topic) }],
    });
  });
});
