import { APPLY_LEASE_MS, claimable, expire, isExpired } from '../domain/change-request';
import { type ChangeDeps, queueApproved } from './change-requests';

export interface SweepResult {
  readonly expired: number;
  readonly requeued: number;
  /** Requests left `applying` by an apply that died (lease expired), or `queued` with their message lost: sent again. */
  readonly resent: number;
}

/**
 * Keeps the queue honest between approvals: requests past their expiry become `expired` (and their parked
 * credentials are deleted), and a request left `approved` — its final approval saved but the queue send lost to a
 * crash — is sent again once it has waited `strandedAfterMs`. SQS deduplicates by request id, and the apply flow's
 * claim makes a second message harmless anyway.
 */
export async function sweepRequests(deps: ChangeDeps, strandedAfterMs: number, leaseMs = APPLY_LEASE_MS): Promise<SweepResult> {
  const now = deps.clock.now();
  let expired = 0;
  let requeued = 0;
  let resent = 0;
  // No request is left behind: one whose apply died holding the claim (a Lambda timeout, its message then in the DLQ),
  // or one queued whose message is gone, is sent to the apply function again with a fresh deduplication id. The apply
  // function takes the expired claim over and decides by reading ISC first (applied / re-sent / conflict).
  for (const status of ['applying', 'queued'] as const) {
    for (const request of await deps.requests.list({ status })) {
      const since = now.getTime() - Date.parse(request.history.at(-1)?.at ?? request.createdAt);
      const due = status === 'applying' ? claimable(request, now, leaseMs) : since >= Math.max(strandedAfterMs, leaseMs);
      if (!due) continue;
      await deps.queue.enqueue({
        requestId: request.id,
        tenant: request.tenant,
        resourceKey: request.resourceKey,
        resend: `r${request.revision}`,
      });
      resent++;
    }
  }
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
  return { expired, requeued, resent };
}
