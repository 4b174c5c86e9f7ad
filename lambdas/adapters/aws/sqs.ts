import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ChangeMessage, ChangeQueue } from '../../ports/change-requests';
import type { DeadLetters } from '../../ports/dead-letters';

/** Group = tenant + resource, so two changes to one resource never race; deduplication id = request id. */
export class SqsChangeQueue implements ChangeQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: ChangeMessage): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ requestId: message.requestId }),
        MessageGroupId: groupOf(message.tenant, message.resourceKey),
        MessageDeduplicationId: message.resend ? `${message.requestId}.${message.resend}` : message.requestId,
      }),
    );
  }
}

export function groupOf(tenant: string, resourceKey: string): string {
  // SQS group ids allow 128 characters of [A-Za-z0-9!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~].
  return `${tenant}/${resourceKey}`.replace(/[^\x21-\x7e]/g, '_').slice(0, 128);
}

export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: string, reason: string, groupId: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        MessageGroupId: groupId,
        MessageDeduplicationId: `${Date.now()}-${Math.random().toString(36).slice(2)}`,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
      }),
    );
  }
}
