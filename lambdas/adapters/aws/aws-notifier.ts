import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { describeEvent, type GuardEvent, type Notifier } from '../../ports/notifier';

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
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subjectOf(event),
        Message: `${describeEvent(event)}\n\n${JSON.stringify(detail, null, 2)}`,
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          tenant: { DataType: 'String', StringValue: event.tenant },
        },
      }),
    );
  }
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
