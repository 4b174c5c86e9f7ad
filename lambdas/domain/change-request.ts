import type { Operation } from 'fast-json-patch';
import type { JsonPatchOperation, ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import { type Identity, samePerson } from './identity';
import type { ResourceKey } from './resources';

export type RequestStatus =
  | 'pending'
  | 'approved'
  | 'rejected'
  | 'queued'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'conflict'
  | 'expired'
  | 'refused';
/** `refused`: the apply function found the stored request is not what was proposed and approved; ISC untouched. */
export const TERMINAL: ReadonlySet<RequestStatus> = new Set(['rejected', 'applied', 'failed', 'conflict', 'expired', 'refused']);
/** The ends a request can be proposed again from (`sdim-guard retry`): a new request, linked by `retryOf`. */
export const RETRYABLE: ReadonlySet<RequestStatus> = new Set(['failed', 'conflict', 'expired']);
export const STATUSES: readonly RequestStatus[] = [
  'pending',
  'approved',
  'rejected',
  'queued',
  'applying',
  'applied',
  'failed',
  'conflict',
  'expired',
  'refused',
];

/** What a request asks ISC to do. Stored with credentials replaced by fingerprints (the values wait in the Secrets port). */
export type ChangeOperation =
  | { readonly kind: 'create'; readonly integration: ServiceDeskIntegration }
  | { readonly kind: 'replace'; readonly integrationId: string; readonly integration: ServiceDeskIntegration }
  | { readonly kind: 'patch'; readonly integrationId: string; readonly patch: JsonPatchOperation[] }
  | { readonly kind: 'delete'; readonly integrationId: string }
  | { readonly kind: 'status-check'; readonly config: StatusCheckConfig }
  | { readonly kind: 'revert'; readonly integrationId: string; readonly version: number; readonly integration: ServiceDeskIntegration };

export interface StatusChange {
  readonly at: string;
  readonly by: string;
  readonly from: RequestStatus | null;
  readonly to: RequestStatus;
  readonly note?: string;
}

export interface ApplyOutcome {
  /** Live content hashes: what ISC held before the call and after it. */
  readonly beforeHash: string | null;
  readonly afterHash: string | null;
  /** The integration id ISC assigned (create) or acted on. */
  readonly integrationId?: string;
  readonly error?: string;
}

/** One approval, bound to the content it approved: the target hash and a seal over the whole request. */
export interface Approval {
  readonly by: string;
  readonly at: string;
  /** The person keys the identity model gave the approver (for the record; apply recomputes them). */
  readonly persons?: readonly string[];
  readonly targetHash?: string | null;
  readonly seal?: string;
}

export interface ChangeRequest {
  readonly id: string;
  readonly tenant: string;
  readonly resourceKey: ResourceKey;
  readonly operation: ChangeOperation;
  /** Comparable hash of the live object when the request was written; null when it must not exist (create). */
  readonly baseHash: string | null;
  /** Snapshot content hash of the live object when the request was written (the ledger's transition base). */
  readonly baseSnapshotHash?: string | null;
  /** Comparable hash ISC should hold once applied; null when it must be gone (delete). */
  readonly targetHash: string | null;
  /** The operation as a JSON Patch from the live object at proposal time (fingerprinted content): what approvers read. */
  readonly proposedPatch?: readonly Operation[];
  /** JSON Pointer paths whose values are held by the Secrets port, not in this record. */
  readonly secretPaths: readonly string[];
  readonly requester: string;
  readonly reason: string;
  /** The id of the ended (failed, conflict, expired) request this one proposes again; sealed with the proposal. */
  readonly retryOf?: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly approvalsRequired: number;
  readonly approvals: readonly Approval[];
  /** HMAC over the proposed content (see approval-seal.ts); absent only on requests older than seals. */
  readonly proposalSeal?: string;
  readonly status: RequestStatus;
  readonly history: readonly StatusChange[];
  readonly outcome?: ApplyOutcome;
  /** Outbox state of the outcome alert: pending until the notifier took it, so a redelivery sends it again. */
  readonly alert?: 'pending' | 'sent';
  /** Bumped on every write; each write is conditional on the version read. */
  readonly revision: number;
}

/** A refusal the caller can act on: the API maps it to 4xx, the CLI to a message. */
export class RequestRefused extends Error {
  constructor(
    readonly code: 'not-found' | 'forbidden' | 'invalid' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'RequestRefused';
  }
}

function move(
  request: ChangeRequest,
  to: RequestStatus,
  by: string,
  at: string,
  note?: string,
  extra: Partial<ChangeRequest> = {},
): ChangeRequest {
  return {
    ...request,
    ...extra,
    status: to,
    revision: request.revision + 1,
    history: [...request.history, { at, by, from: request.status, to, ...(note ? { note } : {}) }],
  };
}

export function isExpired(request: ChangeRequest, now: Date): boolean {
  return !TERMINAL.has(request.status) && request.status !== 'applying' && Date.parse(request.expiresAt) <= now.getTime();
}

export function expire(request: ChangeRequest, now: Date): ChangeRequest {
  return move(request, 'expired', 'sdim-guard', now.toISOString(), `not applied before ${request.expiresAt}`);
}

/**
 * Four eyes: the requester never approves, each person counts once, enough approvals make it approved. Sameness is
 * the identity model's (identity.ts): `requester` and earlier approvers are identified with the same model.
 */
export function approve(
  request: ChangeRequest,
  approver: Identity,
  identities: { requester: Identity; approvers: readonly Identity[] },
  now: Date,
  seal: (at: string) => string,
): ChangeRequest {
  if (isExpired(request, now)) throw new RequestRefused('conflict', `request ${request.id} expired at ${request.expiresAt}`);
  if (request.status !== 'pending') throw new RequestRefused('conflict', `request ${request.id} is ${request.status}, not pending`);
  const by = approver.principal;
  if (samePerson(approver, identities.requester)) {
    const how = by === request.requester ? '' : ` (${by} and ${request.requester} are the same person as far as sdim-guard can tell)`;
    throw new RequestRefused('forbidden', `${by} proposed request ${request.id} and cannot approve it${how}`);
  }
  const earlier = request.approvals.find((_, i) => identities.approvers[i] && samePerson(approver, identities.approvers[i] as Identity));
  if (earlier) {
    const how = earlier.by === by ? '' : ` as ${earlier.by} (the same person as far as sdim-guard can tell)`;
    throw new RequestRefused('conflict', `${by} already approved request ${request.id}${how}`);
  }
  const at = now.toISOString();
  const approvals = [...request.approvals, { by, at, persons: approver.persons, targetHash: request.targetHash, seal: seal(at) }];
  if (approvals.length >= request.approvalsRequired) return move(request, 'approved', by, at, undefined, { approvals });
  return {
    ...request,
    approvals,
    revision: request.revision + 1,
    history: [
      ...request.history,
      { at, by, from: 'pending', to: 'pending', note: `approval ${approvals.length} of ${request.approvalsRequired}` },
    ],
  };
}

export function reject(request: ChangeRequest, by: string, reason: string, now: Date): ChangeRequest {
  if (request.status !== 'pending' && request.status !== 'approved')
    throw new RequestRefused('conflict', `request ${request.id} is ${request.status}; only pending or approved requests can be rejected`);
  if (!reason.trim()) throw new RequestRefused('invalid', 'a rejection needs a reason');
  return move(request, 'rejected', by, now.toISOString(), reason);
}

export function markQueued(request: ChangeRequest, now: Date): ChangeRequest {
  if (request.status !== 'approved') throw new RequestRefused('conflict', `request ${request.id} is ${request.status}, not approved`);
  return move(request, 'queued', 'sdim-guard', now.toISOString());
}

/**
 * A claim older than the lease belongs to an apply that died; another delivery may take it over. With SQS FIFO the
 * lease is the function timeout: a message is redelivered only after its visibility timeout, which is longer.
 */
export const APPLY_LEASE_MS = 2 * 60_000;

export function claimable(request: ChangeRequest, now: Date, leaseMs = APPLY_LEASE_MS): boolean {
  if (request.status === 'queued' || request.status === 'approved') return true;
  if (request.status !== 'applying') return false;
  const claimedAt = Date.parse(request.history.at(-1)?.at ?? request.createdAt);
  return now.getTime() - claimedAt >= leaseMs;
}

export function claim(request: ChangeRequest, now: Date): ChangeRequest {
  return move(
    request,
    'applying',
    'sdim-guard',
    now.toISOString(),
    request.status === 'applying' ? 'taken over from an apply that stopped' : undefined,
  );
}

export function finish(
  request: ChangeRequest,
  to: 'applied' | 'failed' | 'conflict' | 'refused',
  outcome: ApplyOutcome,
  now: Date,
  note?: string,
): ChangeRequest {
  if (request.status !== 'applying') throw new RequestRefused('conflict', `request ${request.id} is ${request.status}, not applying`);
  return move(request, to, 'sdim-guard', now.toISOString(), note, { outcome, alert: 'pending' });
}

export function alertSent(request: ChangeRequest): ChangeRequest {
  return { ...request, alert: 'sent', revision: request.revision + 1 };
}

export function newRequest(fields: Omit<ChangeRequest, 'status' | 'history' | 'approvals' | 'revision' | 'proposalSeal'>): ChangeRequest {
  return {
    ...fields,
    status: 'pending',
    approvals: [],
    revision: 1,
    history: [{ at: fields.createdAt, by: fields.requester, from: null, to: 'pending', note: fields.reason }],
  };
}
