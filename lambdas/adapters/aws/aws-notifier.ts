import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { describeEvent, type GuardEvent, type Notifier } from '../../ports/notifier';
import { chatNotification } from './chat-notification';

/** EventBridge and SNS both cap a message at 256 KB; a patch larger than this is cut and says so. */
const MAX_DETAIL_BYTES = 200_000;

/**
 * Alerts to EventBridge (source "sdim-guard", detail type = event type: for rules and integrations) and to SNS (for
 * e-mail and chat subscribers). Throws unless both took the event, so the caller keeps it pending and retries.
 */
export class AwsNotifier implements Notifier {
  constructor(
    private readonly eventBridge: EventBridgeClient,
    private readonly eventBusName: string,
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(event: GuardEvent): Promise<void> {
    const detail = boundedDetail(event);
    const result = await this.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'sdim-guard',
            DetailType: event.type,
            Detail: JSON.stringify(detail),
            EventBusName: this.eventBusName,
            Time: new Date(event.time),
          },
        ],
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      throw new Error(`EventBridge refused the ${event.type} event: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
    }
    const subject = subjectOf(event);
    const text = `${describeEvent(event)}\n\n${JSON.stringify(detail, null, 2)}`;
    const chat = JSON.stringify(chatNotification({ ...event, detail }, subject));
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject,
        // Per protocol: e-mail gets the readable text; everything else (the chat applications' HTTPS subscription
        // included) gets the custom notification Amazon Q Developer in chat applications renders.
        MessageStructure: 'json',
        Message: snsMessage(chat, text, describeEvent(event)),
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          tenant: { DataType: 'String', StringValue: event.tenant },
        },
      }),
    );
  }
}

/** SNS takes 256 KB; the e-mail text carries the detail only while the whole message fits. */
function snsMessage(chat: string, text: string, short: string): string {
  const full = JSON.stringify({ default: chat, https: chat, email: text });
  if (Buffer.byteLength(full, 'utf8') <= MAX_DETAIL_BYTES + 50_000) return full;
  return JSON.stringify({
    default: chat,
    https: chat,
    email: `${short}\n\nThe detail is too large for e-mail: see the EventBridge event or \`sdim-guard diff\`.`,
  });
}

function boundedDetail(event: GuardEvent): Record<string, unknown> {
  const full = { id: event.id, tenant: event.tenant, ...event.detail };
  if (JSON.stringify(full).length <= MAX_DETAIL_BYTES) return full;
  return { ...full, patch: undefined, patchTruncated: true, note: 'The patch was too large for an alert; see `sdim-guard diff`.' };
}

/** SNS subjects: ASCII, at most 100 characters. */
function subjectOf(event: GuardEvent): string {
  const resource = (event.detail.resource as { name?: string } | undefined)?.name;
  const subject = `[sdim-guard] ${event.type}: ${event.tenant}${resource ? ` / ${resource}` : ''}`;
  return subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}
