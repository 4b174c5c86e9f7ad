import { integrityProblems, sealKeyFrom, vaultProblems } from '../domain/approval-seal';
import type { Json } from '../domain/canonical';
import {
  type ApplyOutcome,
  alertSent,
  type ChangeOperation,
  type ChangeRequest,
  claim,
  claimable,
  expire,
  finish,
  isExpired,
  TERMINAL,
} from '../domain/change-request';
import type { AccessConfig } from '../domain/identity';
import type { NormaliseOptions } from '../domain/normalise';
import { restoreSecrets } from '../domain/payload-secrets';
import { resourceKey } from '../domain/resources';
import { fingerprint } from '../domain/secrets';
import { comparableHash, expectedAfter, snapshotHashOf } from '../domain/targets';
import { remainingMs } from '../isc/deadline';
import { IscApiError } from '../isc/errors';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import type { ChangeRequestStore, RequestSecretVault } from '../ports/change-requests';
import type { Clock } from '../ports/clock';
import type { IscClient } from '../ports/isc-client';
import type { Notifier } from '../ports/notifier';

export interface ApplyDeps {
  readonly requests: ChangeRequestStore;
  readonly vault: RequestSecretVault;
  readonly notifier: Notifier;
  readonly clock: Clock;
  /** The ISC client and fingerprinting of the request's tenant. */
  readonly tenantFor: (tenant: string) => Promise<{ isc: IscClient; normalise: NormaliseOptions }>;
  /** The identity model four eyes are re-checked with before anything reaches ISC. @default DEFAULT_ACCESS */
  readonly access?: AccessConfig;
  /** How old a claim must be before another delivery may take it over. @default APPLY_LEASE_MS */
  readonly leaseMs?: number;
  /**
   * Test hook: awaited at each step boundary, so a test can stop the apply there as a crash (a throw) or a Lambda
   * timeout (a promise that never settles: no code of this invocation runs again) would.
   */
  readonly checkpoint?: (step: 'claimed' | 'isc-called' | 'recorded') => void | Promise<void>;
}

/** Writes sent per delivery when ISC provably did not take the previous one (it still holds the base). */
const MAX_WRITE_ATTEMPTS = 3;
/** Time a re-send needs (the write, its read-back and recording the result). */
const RESEND_BUDGET_MS = 5_000;

/** Worth another delivery later (ISC down, another delivery holds the claim). */
export class RetryableApplyError extends Error {}
/** Never worth retrying (unknown request, malformed message): straight to the DLQ with this reason. */
export class PermanentApplyError extends Error {}

export interface ApplyResult {
  readonly requestId: string;
  readonly status: ChangeRequest['status'];
  /** True when this delivery found the request already finished (a duplicate) and did nothing. */
  readonly duplicate: boolean;
}

type Live = ServiceDeskIntegration | StatusCheckConfig | null;

/**
 * Applies one approved request exactly once, whatever crashes or duplicate deliveries happen:
 * claim it with a conditional write; re-read the live object; if it already is the target, record applied without
 * calling ISC (a previous delivery did it and died); if it is still the base, call ISC; anything else is a conflict
 * and ISC is left alone. The result is recorded together with the ledger entry the next snapshot classifies by.
 */
export async function applyChange(requestId: string, deps: ApplyDeps): Promise<ApplyResult> {
  const request = await deps.requests.get(requestId);
  if (!request) throw new PermanentApplyError(`no change request ${requestId}`);
  if (TERMINAL.has(request.status)) {
    await deps.vault.discard(request.id);
    // A delivery that recorded the outcome but could not alert left it pending: this one sends it.
    if (request.alert === 'pending') await deliverOutcome(request, deps);
    return { requestId, status: request.status, duplicate: true };
  }
  const now = deps.clock.now();
  if (request.status === 'pending') throw new PermanentApplyError(`request ${requestId} is not approved`);
  if (isExpired(request, now)) {
    await deps.requests.save(expire(request, now));
    await deps.vault.discard(request.id);
    return { requestId, status: 'expired', duplicate: false };
  }
  if (!claimable(request, now, deps.leaseMs)) throw new RetryableApplyError(`request ${requestId} is being applied by another delivery`);
  const claimed = claim(request, now);
  if (!(await deps.requests.save(claimed))) throw new RetryableApplyError(`request ${requestId} was claimed by another delivery`);
  await deps.checkpoint?.('claimed');

  const { isc, normalise } = await deps.tenantFor(request.tenant);
  // What is applied must be what was proposed and approved: seals first, before ISC is even read.
  const tampered = integrityProblems(claimed, sealKeyFrom(normalise.hmacKey), deps.access);
  if (tampered.length > 0) return refuse(claimed, tampered, deps);
  const live = await readLive(isc, claimed);
  const liveHash = comparableHash(live, normalise);
  const liveId = live && 'id' in live ? live.id : undefined;

  if (liveHash === claimed.targetHash) {
    const outcome = { beforeHash: null, afterHash: liveHash, integrationId: liveId ?? integrationIdOf(claimed.operation) };
    return record(claimed, 'applied', outcome, deps, 'ISC already held the requested state', snapshotHashOf(live, normalise));
  }
  if (liveHash !== claimed.baseHash) {
    const outcome: ApplyOutcome = {
      beforeHash: liveHash,
      afterHash: liveHash,
      integrationId: liveId ?? integrationIdOf(claimed.operation),
    };
    return record(claimed, 'conflict', outcome, deps, 'the live object changed since the request was approved; ISC was not touched');
  }

  const loaded = await withSecrets(claimed, deps.vault);
  const swapped = vaultProblems(claimed.operation as unknown as Json, loaded.values, (v) =>
    fingerprint(v, normalise.hmacKey, claimed.tenant),
  );
  if (swapped.length > 0) return refuse(claimed, swapped, deps);
  const operation = loaded.operation;
  // The target is recomputed from the stored operation and the live base, and must be the one approved.
  const recomputed = comparableHash(expectedAfterOrNull(operation, live), normalise);
  if (recomputed !== claimed.targetHash)
    return refuse(claimed, [`the stored operation now produces ${recomputed}, not the approved target ${claimed.targetHash}`], deps);
  let resultId: string | undefined;
  let after: Live | undefined;
  let lostNote: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      ({ id: resultId, after } = await call(isc, operation));
      await deps.checkpoint?.('isc-called');
      break;
    } catch (error) {
      if (error instanceof IscApiError && error.status >= 400 && error.status < 500 && error.status !== 429 && error.status !== 401) {
        return record(
          claimed,
          'failed',
          { beforeHash: liveHash, afterHash: liveHash, integrationId: liveId, error: error.message },
          deps,
          `ISC refused the change: ${error.message}`,
        );
      }
      // Unknown outcome (timeout, 5xx, a lost response): read before sending again, never re-send blindly.
      await deps.checkpoint?.('isc-called');
      let now: Live;
      try {
        now = await readLive(isc, claimed);
      } catch (readError) {
        // The claim stays; the next delivery (or the sweeper's re-queue after the lease) re-reads and decides.
        throw new RetryableApplyError(
          `applying ${requestId}: outcome unknown (${(error as Error).message}); re-read failed: ${(readError as Error).message}`,
        );
      }
      const nowHash = comparableHash(now, normalise);
      if (nowHash === claimed.targetHash) {
        after = now;
        resultId = now && 'id' in now ? now.id : integrationIdOf(claimed.operation);
        lostNote = `the response of the ISC write was lost (${(error as Error).message}); ISC holds the requested state`;
        break;
      }
      if (nowHash !== claimed.baseHash) {
        const outcome = { beforeHash: liveHash, afterHash: nowHash, integrationId: liveId, error: (error as Error).message };
        return record(
          claimed,
          'conflict',
          outcome,
          deps,
          'the live object changed while the write was in doubt; ISC was not written again',
        );
      }
      // Still the base: that write did not happen. Send it again while the budget allows; otherwise a later delivery will.
      if (attempt >= MAX_WRITE_ATTEMPTS || remainingMs() < RESEND_BUDGET_MS)
        throw new RetryableApplyError(`applying ${requestId} failed for now (ISC still holds the base): ${(error as Error).message}`);
    }
  }
  after ??= await readLive(isc, claimed, resultId);
  const afterHash = comparableHash(after, normalise);
  const note =
    lostNote ?? (afterHash === claimed.targetHash ? undefined : 'ISC stored a different content than requested; the read-back is recorded');
  return record(
    claimed,
    'applied',
    { beforeHash: liveHash, afterHash, integrationId: resultId ?? liveId },
    deps,
    note,
    snapshotHashOf(after, normalise),
  );
}

/**
 * The last word on a request whose deliveries ran out (or whose outcome is in doubt): decided by reading ISC, never by
 * writing. Live = target → applied (with its ledger entry); live = base → failed (ISC untouched); anything else →
 * conflict. If ISC cannot be read the request stays `applying`; the sweeper sends it again once its lease expired.
 */
export async function resolveByReading(requestId: string, reason: string, deps: ApplyDeps): Promise<ChangeRequest['status'] | undefined> {
  const request = await deps.requests.get(requestId);
  if (request?.status !== 'applying') return request?.status;
  const { isc, normalise } = await deps.tenantFor(request.tenant);
  let live: Live;
  try {
    live = await readLive(isc, request);
  } catch {
    return 'applying';
  }
  const liveHash = comparableHash(live, normalise);
  const integrationId = (live && 'id' in live ? live.id : undefined) ?? integrationIdOf(request.operation);
  try {
    if (liveHash === request.targetHash) {
      const tampered = integrityProblems(request, sealKeyFrom(normalise.hmacKey), deps.access);
      if (tampered.length > 0) return (await refuse(request, tampered, deps)).status;
      const outcome = { beforeHash: null, afterHash: liveHash, integrationId };
      return (await record(request, 'applied', outcome, deps, `${reason}; ISC holds the requested state`, snapshotHashOf(live, normalise)))
        .status;
    }
    const to = liveHash === request.baseHash ? 'failed' : 'conflict';
    const note =
      to === 'failed' ? `${reason}; ISC still holds the base and was not touched` : `${reason}; ISC holds neither the base nor the target`;
    return (await record(request, to, { beforeHash: liveHash, afterHash: liveHash, integrationId, error: reason }, deps, note)).status;
  } catch (error) {
    if (error instanceof RetryableApplyError) return (await deps.requests.get(requestId))?.status;
    throw error;
  }
}

function expectedAfterOrNull(operation: ChangeOperation, live: Live) {
  try {
    return expectedAfter(operation, live ?? undefined) ?? null;
  } catch {
    return null;
  }
}

/** The stored request is not what was approved: terminal, alerted, ISC untouched. */
function refuse(request: ChangeRequest, problems: string[], deps: ApplyDeps): Promise<ApplyResult> {
  const reason = `refused: ${problems.join('; ')}; ISC was not touched`;
  return record(request, 'refused', { beforeHash: null, afterHash: null, error: reason }, deps, reason);
}

async function record(
  request: ChangeRequest,
  to: 'applied' | 'failed' | 'conflict' | 'refused',
  outcome: ApplyOutcome,
  deps: ApplyDeps,
  note?: string,
  ledgerHash: string | null = null,
): Promise<ApplyResult> {
  const now = deps.clock.now();
  const finished = finish(request, to, outcome, now, note);
  const saved =
    to === 'applied'
      ? await deps.requests.saveApplied(finished, {
          requestId: request.id,
          // The transition this request explains: from the state it was approved against to what ISC holds now.
          baseHash: request.baseSnapshotHash ?? null,
          key:
            outcome.integrationId && request.resourceKey.startsWith('integration:')
              ? resourceKey('integration', outcome.integrationId)
              : request.resourceKey,
          // What the next snapshot will record for this resource: null for a deletion.
          resultHash: ledgerHash,
          appliedAt: now.toISOString(),
        })
      : await deps.requests.save(finished);
  if (!saved) throw new RetryableApplyError(`request ${request.id} changed while its result was recorded`);
  await deps.checkpoint?.('recorded');
  await deps.vault.discard(request.id);
  await deliverOutcome(finished, deps);
  return { requestId: request.id, status: to, duplicate: false };
}

/**
 * The outcome alert, at least once: on failure the message is retried, and the redelivery (finding the request
 * finished with its alert pending) sends it; the event id lets consumers drop a repeat.
 */
async function deliverOutcome(request: ChangeRequest, deps: ApplyDeps): Promise<void> {
  const to = request.status;
  const type =
    to === 'applied' ? 'Change Applied' : to === 'conflict' ? 'Change Conflict' : to === 'refused' ? 'Change Refused' : 'Change Failed';
  try {
    await deps.notifier.publish({
      type,
      tenant: request.tenant,
      time: deps.clock.now().toISOString(),
      id: `${request.tenant}:${request.id}:${to}`,
      detail: {
        requestId: request.id,
        resourceKey: request.resourceKey,
        operation: request.operation.kind,
        // What was approved, as a JSON Patch from the live object at proposal time (credentials as fingerprints).
        patch: request.proposedPatch ?? [],
        requester: request.requester,
        approvers: request.approvals.map((a) => a.by),
        outcome: request.outcome,
        note: request.history.at(-1)?.note,
      },
    });
  } catch (error) {
    throw new RetryableApplyError(`request ${request.id} is ${to}, but its alert could not be sent yet: ${(error as Error).message}`);
  }
  // If this write loses a race, another delivery marked it (or will send the alert once more, with the same id).
  await deps.requests.save(alertSent(request));
}

async function withSecrets(
  request: ChangeRequest,
  vault: RequestSecretVault,
): Promise<{ operation: ChangeOperation; values: Record<string, Json> }> {
  if (request.secretPaths.length === 0) return { operation: request.operation, values: {} };
  const values = await vault.load(request.id);
  return { operation: restoreSecrets(request.operation as unknown as Json, values) as unknown as ChangeOperation, values };
}

function integrationIdOf(operation: ChangeOperation): string | undefined {
  return 'integrationId' in operation ? operation.integrationId : undefined;
}

/** The live object the request is about; null when it does not exist. A create is found by its (unique) name. */
async function readLive(isc: IscClient, request: ChangeRequest, createdId?: string): Promise<Live> {
  const op = request.operation;
  if (op.kind === 'status-check') return isc.getStatusCheckConfig();
  const id = createdId ?? integrationIdOf(op);
  if (op.kind === 'create' && !createdId) {
    const found = await isc.listIntegrations({ filters: `name eq ${JSON.stringify(op.integration.name)}`, limit: 1 });
    return found.items[0] ?? null;
  }
  try {
    return await isc.getIntegration(id as string);
  } catch (error) {
    if (error instanceof IscApiError && error.isNotFound) return null;
    throw error;
  }
}

/**
 * The one ISC call of the request: the integration id it acted on, and what ISC answered it now holds. ISC answers a
 * create, PUT and PATCH with the integration "as updated", the status-check PUT with the configuration, a DELETE with
 * 204: that answer is the read-back, so an apply costs two requests (read, write), not three. An answer without the
 * object (no id) leaves `after` undefined and the caller reads ISC instead.
 */
async function call(isc: IscClient, op: ChangeOperation): Promise<{ id: string | undefined; after: Live | undefined }> {
  const integration = (answer: ServiceDeskIntegration) => ({
    id: answer.id,
    after: answer && typeof answer === 'object' && typeof answer.id === 'string' ? answer : undefined,
  });
  switch (op.kind) {
    case 'create':
      return integration(await isc.createIntegration(op.integration));
    case 'replace':
    case 'revert':
      return integration(await isc.replaceIntegration(op.integrationId, op.integration));
    case 'patch':
      return integration(await isc.patchIntegration(op.integrationId, op.patch));
    case 'delete':
      await isc.deleteIntegration(op.integrationId);
      return { id: op.integrationId, after: null };
    case 'status-check': {
      const answer = await isc.setStatusCheckConfig(op.config);
      return { id: undefined, after: answer && typeof answer === 'object' ? answer : undefined };
    }
  }
}
