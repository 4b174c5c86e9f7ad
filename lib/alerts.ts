import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { atLeastOnce } from './alarms';
import { acknowledge } from './nag';

export interface AlertsProps {
  /** Addresses subscribed to the topic (each confirms by e-mail). @default none */
  readonly emails?: readonly string[];
}

/** Where alerts go: an encrypted SNS topic for people (e-mail, chat) and an EventBridge bus for automation. */
export class Alerts extends Construct {
  readonly topic: Topic;
  readonly bus: EventBus;
  readonly key: Key;
  /** Alerts SNS could not deliver to a subscriber, kept for 14 days instead of being lost. */
  readonly undelivered: Queue;
  /** Alerts that did not reach anyone. */
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: AlertsProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', { enableKeyRotation: true, description: 'sdim-guard alerts', removalPolicy: RemovalPolicy.DESTROY });
    const account = Stack.of(this).account;
    const fromThisAccount = { StringEquals: { 'aws:SourceAccount': account } };
    // CloudWatch alarms publish to the encrypted topic: without this an alarm's notification is dropped silently.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsEncryptAlerts',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccount,
      }),
    );
    // SNS moves an alert it could not deliver into the encrypted dead-letter queue: it needs the queue's key.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'SnsWritesUndeliveredAlerts',
        principals: [new ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccount,
      }),
    );
    this.topic = new Topic(this, 'Topic', { masterKey: this.key, enforceSSL: true, displayName: 'sdim-guard alerts' });
    // Alarm actions publish as the CloudWatch service; only alarms of this account may.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromThisAccount,
      }),
    );
    this.undelivered = new Queue(this, 'Undelivered', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.undelivered, {
      'AwsSolutions-SQS3': 'This queue is the dead-letter queue of the alert subscriptions.',
      'Serverless-SQSRedrivePolicy': 'This queue is the dead-letter queue of the alert subscriptions.',
    });
    for (const email of props.emails ?? []) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new Error(`'${email}' is not an e-mail address`);
      this.topic.addSubscription(new EmailSubscription(email, { deadLetterQueue: this.undelivered }));
    }
    this.bus = new EventBus(this, 'Bus');
    this.alarms = [
      atLeastOnce(
        this,
        'UndeliveredAlerts',
        this.undelivered.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        'An alert could not be delivered to a subscriber and waits in the undelivered-alerts queue for 14 days (docs/deploy.md, "Alarms")',
      ),
    ];
  }

  /** Publish rights on exactly this topic and bus, and the variables the AwsNotifier reads. */
  bindNotifier(fn: LambdaFunction): void {
    this.topic.grantPublish(fn);
    this.bus.grantPutEventsTo(fn);
    fn.addEnvironment('TOPIC_ARN', this.topic.topicArn);
    fn.addEnvironment('EVENT_BUS_NAME', this.bus.eventBusName);
  }
}
