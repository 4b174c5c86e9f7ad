import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { AwsNotifier } from '../adapters/aws/aws-notifier';
import { getStringFromEnv } from './env';

/** Alerts to the stack's EventBridge bus and SNS topic. */
export function notifierFromEnvironment(): AwsNotifier {
  return new AwsNotifier(new EventBridgeClient({}), getStringFromEnv('EVENT_BUS_NAME'), new SNSClient({}), getStringFromEnv('TOPIC_ARN'));
}
