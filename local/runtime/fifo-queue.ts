import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { groupOf } from '../../lambdas/adapters/aws/sqs';
import type { ChangeMessage, ChangeQueue } from '../../lambdas/ports/change-requests';
import type { DeadLetters } from '../../lambdas/ports/dead-letters';

interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly groupId: string;
  readonly dedupId: string;
  receiveCount: number;
  visibleAt: number;
  inFlight: boolean;
}

export interface DeadLetter {
  readonly body: string;
  readonly reason: string;
  readonly groupId: string;
  readonly at: string;
}

export interface FifoQueueOptions {
  /** @default 10 */
  readonly batchSize?: number;
  /** @default 30_000 */
  readonly visibilityTimeoutMs?: number;
  /** After this many receives a message that still fails moves to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** SQS FIFO drops a repeated deduplication id within five minutes. @default 300_000 */
  readonly dedupWindowMs?: number;
  readonly now?: () => number;
}

/**
 * An in-process SQS FIFO queue driving a handler the way the Lambda event source does: batches of up to
 * `batchSize`, one message in flight per group, a visibility timeout before a failed message comes back,
 * `ApproximateReceiveCount`, partial batch responses, and a dead-letter queue after `maxReceiveCount` receives.
 */
export class LocalFifoQueue implements ChangeQueue, DeadLetters {
  readonly deadLetters: DeadLetter[] = [];
  private readonly messages: QueuedMessage[] = [];
  private readonly seen = new Map<string, number>();
  private readonly batchSize: number;
  private readonly visibilityTimeoutMs: number;
  readonly maxReceiveCount: number;
  private readonly dedupWindowMs: number;
  private readonly now: () => number;

  constructor(options: FifoQueueOptions = {}) {
    this.batchSize = options.batchSize ?? 10;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.dedupWindowMs = options.dedupWindowMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  async enqueue(message: ChangeMessage): Promise<void> {
    this.sendRaw(
      JSON.stringify({ requestId: message.requestId }),
      groupOf(message.tenant, message.resourceKey),
      message.resend ? `${message.requestId}.${message.resend}` : message.requestId,
    );
  }

  /** Any body, as a producer (or an attacker) could send it; for tests of malformed messages. */
  sendRaw(body: string, groupId: string, dedupId: string = randomUUID()): void {
    const now = this.now();
    const last = this.seen.get(dedupId);
    if (last !== undefined && now - last < this.dedupWindowMs) return;
    this.seen.set(dedupId, now);
    this.messages.push({ messageId: randomUUID(), body, groupId, dedupId, receiveCount: 0, visibleAt: now, inFlight: false });
  }

  async send(body: string, reason: string, groupId: string): Promise<void> {
    this.deadLetters.push({ body, reason, groupId, at: new Date(this.now()).toISOString() });
  }

  get depth(): number {
    return this.messages.length;
  }

  /** Receives one batch (the first visible message of each group, in order) and hands it to the handler. */
  async pollOnce(handler: (event: SQSEvent) => Promise<SQSBatchResponse>): Promise<number> {
    const now = this.now();
    const batch: QueuedMessage[] = [];
    const groupsTaken = new Set<string>();
    for (const message of this.messages) {
      if (batch.length >= this.batchSize) break;
      if (groupsTaken.has(message.groupId) || message.inFlight) {
        groupsTaken.add(message.groupId);
        continue;
      }
      if (message.visibleAt > now) {
        // FIFO: a group waits behind its invisible head message.
        groupsTaken.add(message.groupId);
        continue;
      }
      // One group's messages may come together in order, as SQS FIFO batches do.
      batch.push(message);
    }
    if (batch.length === 0) return 0;
    for (const m of batch) {
      m.inFlight = true;
      m.receiveCount++;
    }
    let failed: Set<string>;
    try {
      const response = await handler({ Records: batch.map(toRecord) });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      // A handler that throws fails the whole batch, as Lambda does.
      failed = new Set(batch.map((m) => m.messageId));
    }
    for (const m of batch) {
      m.inFlight = false;
      if (!failed.has(m.messageId)) {
        this.remove(m);
      } else if (m.receiveCount >= this.maxReceiveCount) {
        this.remove(m);
        await this.send(m.body, `moved to the DLQ after ${m.receiveCount} receives`, m.groupId);
      } else {
        m.visibleAt = this.now() + this.visibilityTimeoutMs;
      }
    }
    return batch.length;
  }

  /** Polls until the queue is empty, waiting out visibility timeouts; bounded by `timeoutMs`. */
  async drain(handler: (event: SQSEvent) => Promise<SQSBatchResponse>, timeoutMs = 120_000): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (this.messages.length > 0) {
      if (this.now() > deadline) throw new Error(`the change queue did not drain within ${timeoutMs} ms (${this.messages.length} left)`);
      const handled = await this.pollOnce(handler);
      if (handled === 0) {
        const next = Math.min(...this.messages.map((m) => m.visibleAt));
        await sleep(Math.max(5, Math.min(1000, next - this.now())));
      }
    }
  }

  private remove(message: QueuedMessage): void {
    const index = this.messages.indexOf(message);
    if (index >= 0) this.messages.splice(index, 1);
  }
}

function toRecord(m: QueuedMessage): SQSRecord {
  return {
    messageId: m.messageId,
    receiptHandle: `${m.messageId}#${m.receiveCount}`,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.visibleAt),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: m.groupId,
      MessageDeduplicationId: m.dedupId,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:sdim-guard-changes.fifo',
    awsRegion: 'local',
  };
}
