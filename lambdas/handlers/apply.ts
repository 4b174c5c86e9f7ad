import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { withDeadline } from '../isc/deadline';
import type { DeadLetters } from '../ports/dead-letters';
import { type ApplyDeps, applyChange, PermanentApplyError, resolveByReading } from '../use-cases/apply-change';
import { applyDepsFromEnvironment } from './apply-wiring';
import type { emitMetrics } from './metrics';

export interface ApplyHandlerDeps extends ApplyDeps {
  readonly deadLetters: DeadLetters;
  /** The queue's maxReceiveCount: the last delivery records the failure instead of leaving the request stuck. */
  readonly maxReceiveCount: number;
  readonly log?: (line: string) => void;
  /** Outcome counts (ChangeApplied, ChangeConflict, …) for alarms; EMF in Lambda. */
  readonly metrics?: typeof emitMetrics;
}

/** Kept back from the ISC budget to record the outcome and send its alert. */
const RECORD_MS = 15_000;
/** Less than this left: a record is not started (it would only claim and stop). */
const MIN_APPLY_MS = 5_000;

/** A message body: only ids; everything else is read from the store. */
function parseMessage(body: string): { requestId: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PermanentApplyError('the message body is not JSON');
  }
  const requestId = (parsed as { requestId?: unknown } | null)?.requestId;
  if (typeof requestId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(requestId))
    throw new PermanentApplyError('the message has no valid requestId');
  return { requestId };
}

/**
 * SQS FIFO consumer with partial batch failures. A bad message fails alone and goes to the DLQ with its reason; a
 * retryable failure is reported so SQS redelivers it, and the rest of its message group waits behind it (FIFO).
 */
export async function main(
  event: SQSEvent,
  deps: ApplyHandlerDeps,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const blockedGroups = new Set<string>();
  // Every ISC call stops RECORD_MS before Lambda's timeout, so the result is recorded by this invocation, not lost.
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - RECORD_MS : Number.POSITIVE_INFINITY;
  for (const record of event.Records) {
    const group = record.attributes.MessageGroupId ?? 'default';
    if (blockedGroups.has(group) || deadline - Date.now() < MIN_APPLY_MS) {
      // Not started: no time left for it in this invocation (or its group waits); SQS delivers it again.
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const { requestId } = parseMessage(record.body);
      const result = await withDeadline(deadline, () => applyChange(requestId, deps));
      if (!result.duplicate)
        deps.metrics?.({ Operation: 'apply' }, { [`Change${result.status[0]?.toUpperCase()}${result.status.slice(1)}`]: 1 });
      deps.log?.(`request ${requestId}: ${result.status}${result.duplicate ? ' (duplicate delivery, nothing done)' : ''}`);
    } catch (error) {
      if (error instanceof PermanentApplyError) {
        await deps.deadLetters.send(record.body, error.message, group);
        deps.log?.(`message ${record.messageId} sent to the DLQ: ${error.message}`);
        continue;
      }
      if (receiveCount(record) >= deps.maxReceiveCount) {
        await giveUp(record, error as Error, deps);
        continue;
      }
      deps.log?.(`message ${record.messageId} will be retried: ${(error as Error).message}`);
      failures.push({ itemIdentifier: record.messageId });
      blockedGroups.add(group);
    }
  }
  return { batchItemFailures: failures };
}

function receiveCount(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount ?? '1');
}

/**
 * Last delivery: a request being applied is settled by reading ISC (applied, failed or conflict; never a write), and
 * the message goes to the DLQ with why. If ISC cannot be read either, the sweeper sends the request again later.
 */
async function giveUp(record: SQSRecord, error: Error, deps: ApplyHandlerDeps): Promise<void> {
  const reason = `gave up after ${receiveCount(record)} deliveries: ${error.message}`;
  try {
    const { requestId } = parseMessage(record.body);
    const status = await resolveByReading(requestId, reason, deps);
    // Said on the console too: the last word on a request must never be "will be retried".
    deps.log?.(
      status === 'applying'
        ? `request ${requestId}: ${reason}; ISC cannot be read, so it stays applying until the sweeper sends it again`
        : `request ${requestId}: ${status ?? 'not found'} (${reason})`,
    );
  } finally {
    await deps.deadLetters.send(record.body, reason, record.attributes.MessageGroupId ?? 'default');
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>().handler((event, context) => main(event, applyDepsFromEnvironment(), context));
