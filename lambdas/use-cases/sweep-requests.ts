import { expire, isExpired } from '../domain/change-request';
import { type ChangeDeps, queueApproved } from './change-requests';

export interface SweepResult {
  readonly expired: number;
  readonly requeued: number;
}

/**
 * Keeps the queue honest between approvals: requests past their expiry become `expired` (and their parked
 * credentials are deleted), and a request left `approved` — its final approval saved but the queue send lost to a
 * crash — is sent again once it has waited `strandedAfterMs`. SQS deduplicates by request id, and the apply flow's
 * claim makes a second message harmless anyway.
 */
export async function sweepRequests(deps: ChangeDeps, strandedAfterMs: number): Promise<SweepResult> {
  const now = deps.clock.now();
  let expired = 0;
  let requeued = 0;
  for (const status of ['pending', 'approved', 'queued'] as const) {
    for (const request of await deps.requests.list({ status })) {
      if (isExpired(request, now)) {
        if (await deps.requests.save(expire(request, now))) {
          await deps.vault.discard(request.id);
          expired++;
        }
        continue;
      }
      const approvedAt = Date.parse(request.history.at(-1)?.at ?? request.createdAt);
      if (status === 'approved' && now.getTime() - approvedAt >= strandedAfterMs) {
        await queueApproved(request, deps);
        requeued++;
      }
    }
  }
  return { expired, requeued };
}
