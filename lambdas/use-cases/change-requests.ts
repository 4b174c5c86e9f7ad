import { approvalSeal, proposalSeal, sealKeyFrom } from '../domain/approval-seal';
import type { Json } from '../domain/canonical';
import {
  approve,
  type ChangeOperation,
  type ChangeRequest,
  expire,
  isExpired,
  markQueued,
  newRequest,
  RETRYABLE,
  RequestRefused,
  type RequestStatus,
  reject,
  TERMINAL,
} from '../domain/change-request';
import { type AccessConfig, forbiddenReason, identify, type Route, samePerson } from '../domain/identity';
import type { NormaliseOptions } from '../domain/normalise';
import { restoreSecrets, type SecretValues, splitSecrets } from '../domain/payload-secrets';
import { resourceKey } from '../domain/resources';
import { patchFromLive, type RequestReview, reviewOf } from '../domain/review';
import { fingerprint } from '../domain/secrets';
import { comparableHash, expectedAfter, snapshotHashOf } from '../domain/targets';
import { IscApiError } from '../isc/errors';
import { type JsonPatchOperation, type ServiceDeskIntegration, type StatusCheckConfig, schemaProblems } from '../isc/schemas';
import type { ChangeQueue, ChangeRequestStore, RequestSecretVault } from '../ports/change-requests';
import type { Clock } from '../ports/clock';
import type { IscClient } from '../ports/isc-client';
import type { SnapshotStore } from '../ports/snapshot-store';

export interface ChangeDeps {
  readonly requests: ChangeRequestStore;
  readonly vault: RequestSecretVault;
  readonly queue: ChangeQueue;
  readonly clock: Clock;
  readonly newId: () => string;
  /** Approvals needed besides the requester's own proposal. @default 1 */
  readonly approvalsRequired?: number;
  /** How long a request may wait to be applied. @default 7 days */
  readonly ttlMs?: number;
  /** Who may propose and approve, and who is the same person. @default DEFAULT_ACCESS */
  readonly access?: AccessConfig;
  /** The fingerprint key; approvals are sealed with a key derived from it (approval-seal.ts). */
  readonly sealKey: () => Promise<Buffer>;
}

/** 403 unless the access configuration lets `principal` use `route`. */
export function authorize(principal: string, route: Route, access: AccessConfig | undefined): void {
  const reason = forbiddenReason(principal, route, access);
  if (reason) throw new RequestRefused('forbidden', reason);
}

/** What proposing needs of the tenant: its ISC and stored history, and how it fingerprints. */
export interface TenantContext {
  readonly tenant: string;
  readonly isc: IscClient;
  readonly history: SnapshotStore;
  readonly normalise: NormaliseOptions;
}

/** A proposal as it arrives from the CLI or the API, before validation. */
export type ProposalInput =
  | { kind: 'create'; integration: unknown; secrets?: Record<string, Json> }
  | { kind: 'replace'; integrationId: string; integration: unknown; secrets?: Record<string, Json> }
  | { kind: 'patch'; integrationId: string; patch: unknown; secrets?: Record<string, Json> }
  | { kind: 'delete'; integrationId: string }
  | { kind: 'status-check'; config: unknown }
  | { kind: 'revert'; integrationId: string; version: number; secrets?: Record<string, Json> };

/**
 * A stored fingerprint (`{"$secret": "hmac-sha256:…"}`, e.g. copied from history) is never a credential: each one in
 * a payload must be replaced by the real value, supplied by JSON Pointer, and the value must be the one fingerprinted
 * there (so a wrong value is refused rather than applied). Supplied values for places without a fingerprint are refused.
 */
function fillFingerprints(payload: Json, supplied: Record<string, Json> | undefined, what: string, ctx: TenantContext): Json {
  const { fingerprintsFound } = splitSecrets(payload, ctx.normalise.secretPolicy, ctx.normalise.hmacKey, ctx.tenant);
  const found = fingerprintsFound.map((p) => p.replace(/\/\$secret$/, ''));
  const given = supplied ?? {};
  const missing = found.filter((p) => !(p in given));
  if (missing.length > 0)
    invalid(
      `${what} holds only the stored fingerprint of the credential(s) at ${missing.join(', ')}, not the credential: supply the real value (CLI: --secret <path>=<value>)`,
    );
  const extra = Object.keys(given).filter((p) => !found.includes(p));
  if (extra.length > 0)
    invalid(`${what} holds no credential fingerprint at ${extra.join(', ')}; put new credentials in the payload itself`);
  for (const pointer of found) {
    const stored = pointerValue(payload, pointer) as { $secret: string };
    if (fingerprint(given[pointer] as Json, ctx.normalise.hmacKey, ctx.tenant).$secret !== stored.$secret)
      invalid(`the value supplied for ${pointer} is not the credential ${what} fingerprinted there`);
  }
  return found.length > 0 ? restoreSecrets(payload, given) : payload;
}

function pointerValue(doc: Json, pointer: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(token)] : node[token];
  }
  return node;
}

/** Drops what ISC assigns, so a body taken from a GET or a stored version can be sent back. */
function bodyOf(integration: ServiceDeskIntegration): ServiceDeskIntegration {
  const { id: _id, created: _created, modified: _modified, ...rest } = integration;
  return rest as ServiceDeskIntegration;
}

function invalid(message: string): never {
  throw new RequestRefused('invalid', message);
}

async function liveIntegration(isc: IscClient, id: string): Promise<ServiceDeskIntegration> {
  try {
    return await isc.getIntegration(id);
  } catch (error) {
    if (error instanceof IscApiError && error.isNotFound) throw new RequestRefused('not-found', `integration ${id} does not exist in ISC`);
    throw error;
  }
}

/**
 * Validates a proposal against the ISC schema and the live tenant, records the live state it was written against
 * (base hash) and the state it asks for (target hash), moves its credentials to the vault, and stores it as pending.
 */
export async function propose(
  input: ProposalInput,
  requester: string,
  reason: string,
  ctx: TenantContext,
  deps: ChangeDeps,
  options: { readonly retryOf?: string } = {},
): Promise<ChangeRequest> {
  authorize(requester, 'propose', deps.access);
  if (!reason.trim()) invalid('a change request needs a reason');
  let operation: ChangeOperation;
  let live: ServiceDeskIntegration | StatusCheckConfig | undefined;
  let key: string;
  switch (input.kind) {
    case 'create': {
      const problems = schemaProblems('ServiceDeskIntegrationDto', input.integration);
      if (problems) invalid(`the integration is not valid for ISC: ${problems}`);
      const integration = bodyOf(
        fillFingerprints(input.integration as Json, input.secrets, 'the integration', ctx) as unknown as ServiceDeskIntegration,
      );
      const taken = await ctx.isc.listIntegrations({ filters: `name eq ${JSON.stringify(integration.name)}`, limit: 1 });
      if (taken.items.length > 0)
        throw new RequestRefused('conflict', `an integration named '${integration.name}' already exists (${taken.items[0]?.id})`);
      operation = { kind: 'create', integration };
      key = `integration:new:${integration.name}`;
      break;
    }
    case 'replace': {
      const problems = schemaProblems('ServiceDeskIntegrationDto', input.integration);
      if (problems) invalid(`the integration is not valid for ISC: ${problems}`);
      live = await liveIntegration(ctx.isc, input.integrationId);
      const integration = fillFingerprints(input.integration as Json, input.secrets, 'the integration', ctx);
      operation = {
        kind: 'replace',
        integrationId: input.integrationId,
        integration: bodyOf(integration as unknown as ServiceDeskIntegration),
      };
      key = resourceKey('integration', input.integrationId);
      break;
    }
    case 'patch': {
      if (!Array.isArray(input.patch) || input.patch.length === 0) invalid('a patch is a non-empty JSON array of operations');
      input.patch.forEach((op, i) => {
        const problems = schemaProblems('JsonPatchOperation', op);
        if (problems) invalid(`patch operation ${i}: ${problems}`);
        const { op: name, path } = op as JsonPatchOperation;
        if (name !== 'replace')
          invalid(`patch operation ${i} is '${name}' on ${path}: ISC accepts only 'replace' (it answers 403 to anything else)`);
        if (/^\/(id|created|modified)(\/|$)/.test(path)) invalid(`patch operation ${i}: ${path} is read-only in ISC`);
      });
      // A fingerprint in a patch value is supplied by the integration path it lands at (the op's path, and below).
      const ops = input.patch as JsonPatchOperation[];
      const supplied = Object.entries(input.secrets ?? {});
      const stray = supplied.filter(([p]) => !ops.some((op) => p === op.path || p.startsWith(`${op.path}/`))).map(([p]) => p);
      if (stray.length > 0) invalid(`the patch sets no credential at ${stray.join(', ')}`);
      const filledOps = ops.map((op, i) => {
        const mine = Object.fromEntries(
          supplied.filter(([p]) => p === op.path || p.startsWith(`${op.path}/`)).map(([p, v]) => [`/value${p.slice(op.path.length)}`, v]),
        );
        const filled = fillFingerprints({ value: op.value as Json }, mine, `patch operation ${i} (${op.path})`, ctx);
        return { ...op, value: (filled as { value: Json }).value } as JsonPatchOperation;
      });
      live = await liveIntegration(ctx.isc, input.integrationId);
      operation = {
        kind: 'patch',
        integrationId: input.integrationId,
        patch: filledOps,
      };
      key = resourceKey('integration', input.integrationId);
      break;
    }
    case 'delete':
      live = await liveIntegration(ctx.isc, input.integrationId);
      operation = { kind: 'delete', integrationId: input.integrationId };
      key = resourceKey('integration', input.integrationId);
      break;
    case 'status-check': {
      const problems = schemaProblems('QueuedCheckConfigDetails', input.config);
      if (problems) invalid(`the status-check configuration is not valid for ISC: ${problems}`);
      const config = input.config as StatusCheckConfig;
      for (const [field, value] of Object.entries(config)) {
        if (!/^[1-9]\d{0,5}$/.test(String(value))) invalid(`${field} must be a positive whole number written as a string, e.g. "30"`);
      }
      live = await ctx.isc.getStatusCheckConfig();
      operation = {
        kind: 'status-check',
        config: {
          provisioningStatusCheckIntervalMinutes: config.provisioningStatusCheckIntervalMinutes,
          provisioningMaxStatusCheckDays: config.provisioningMaxStatusCheckDays,
        },
      };
      key = resourceKey('status-check', 'tenant');
      break;
    }
    case 'revert': {
      key = resourceKey('integration', input.integrationId);
      const stored = await ctx.history.getVersionContent(ctx.tenant, key, input.version);
      if (!stored) throw new RequestRefused('not-found', `there is no stored version ${input.version} of ${key}`);
      live = await liveIntegration(ctx.isc, input.integrationId);
      const withSecrets = fillFingerprints(
        stored as Json,
        input.secrets,
        `version ${input.version}`,
        ctx,
      ) as unknown as ServiceDeskIntegration;
      operation = { kind: 'revert', integrationId: input.integrationId, version: input.version, integration: bodyOf(withSecrets) };
      break;
    }
  }
  let target: ReturnType<typeof expectedAfter>;
  try {
    target = expectedAfter(operation, live);
  } catch (error) {
    invalid(`the patch cannot be applied to the live integration: ${(error as Error).message.split('\n')[0]}`);
  }
  if (target && 'name' in target) {
    const problems = schemaProblems('ServiceDeskIntegrationDto', target);
    if (problems) invalid(`the result would not be valid for ISC: ${problems}`);
  }
  const baseHash = comparableHash(live ?? null, ctx.normalise);
  const targetHash = comparableHash(target ?? null, ctx.normalise);
  if (baseHash !== null && baseHash === targetHash) invalid('the change would leave the live object as it is');

  if (options.retryOf !== undefined) await checkRetryOf(options.retryOf, ctx.tenant, key, deps);
  // One open request per resource: a second one would be written against a base the first is about to change.
  const open = (await deps.requests.list({ tenant: ctx.tenant })).find((r) => r.resourceKey === key && !TERMINAL.has(r.status));
  if (open)
    throw new RequestRefused(
      'conflict',
      `request ${open.id} (${open.status}, by ${open.requester}) is already open for ${key}; approve, reject or wait for it first`,
    );

  const id = deps.newId();
  const { redacted, secrets } = splitSecrets(operation as unknown as Json, ctx.normalise.secretPolicy, ctx.normalise.hmacKey, ctx.tenant);
  const now = deps.clock.now();
  const unsealed = newRequest({
    id,
    tenant: ctx.tenant,
    resourceKey: key,
    operation: redacted as unknown as ChangeOperation,
    baseHash,
    baseSnapshotHash: snapshotHashOf(live ?? null, ctx.normalise),
    proposedPatch: patchFromLive(operation, live, ctx.normalise),
    targetHash,
    secretPaths: Object.keys(secrets),
    requester,
    reason,
    ...(options.retryOf !== undefined ? { retryOf: options.retryOf } : {}),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + (deps.ttlMs ?? 7 * 24 * 3_600_000)).toISOString(),
    approvalsRequired: deps.approvalsRequired ?? 1,
  });
  const request: ChangeRequest = { ...unsealed, proposalSeal: proposalSeal(unsealed, sealKeyFrom(await deps.sealKey())) };
  if (Object.keys(secrets).length > 0) await deps.vault.stash(id, secrets);
  await deps.requests.create(request);
  return request;
}

/** A retry names a request that ended without applying, on the same tenant and resource: the link is never made up. */
async function checkRetryOf(retryOf: string, tenant: string, key: string, deps: Pick<ChangeDeps, 'requests'>): Promise<void> {
  const old = await deps.requests.get(retryOf);
  if (!old) throw new RequestRefused('not-found', `retryOf: there is no change request ${retryOf}`);
  if (!RETRYABLE.has(old.status))
    throw new RequestRefused('conflict', `request ${retryOf} is ${old.status}; only failed, conflict or expired requests can be retried`);
  if (old.tenant !== tenant || old.resourceKey !== key)
    invalid(`a retry of ${retryOf} changes what it changed (${old.resourceKey} in ${old.tenant}), not ${key} in ${tenant}`);
}

/**
 * A request with what its approvers need to read: the patch from the live object at proposal time and from the live
 * object now (the stored operation recomputed against it), and whether the live object changed since the proposal.
 */
export async function reviewRequest(
  id: string,
  deps: Pick<ChangeDeps, 'requests'> & { tenantFor: (tenant: string) => Promise<Pick<TenantContext, 'isc' | 'normalise'>> },
): Promise<ChangeRequest & { review: RequestReview; retriedBy: string[] }> {
  const request = await getRequest(id, deps);
  // The link is stored on the retry (sealed with it); the request it retries ended and is never written again.
  const retriedBy = (await deps.requests.list({ tenant: request.tenant }))
    .filter((r) => r.retryOf === request.id)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
    .map((r) => r.id);
  const { isc, normalise } = await deps.tenantFor(request.tenant);
  try {
    const live = await readCurrent(isc, request);
    return { ...request, review: reviewOf(request, live, normalise), retriedBy };
  } catch (error) {
    return {
      ...request,
      review: { proposed: request.proposedPatch ?? [], error: `cannot read the live object from ISC: ${(error as Error).message}` },
      retriedBy,
    };
  }
}

async function readCurrent(isc: IscClient, request: ChangeRequest): Promise<ServiceDeskIntegration | StatusCheckConfig | null> {
  const op = request.operation;
  if (op.kind === 'status-check') return isc.getStatusCheckConfig();
  if (op.kind === 'create') {
    const found = await isc.listIntegrations({ filters: `name eq ${JSON.stringify(op.integration.name)}`, limit: 1 });
    return found.items[0] ?? null;
  }
  try {
    return await isc.getIntegration(op.integrationId);
  } catch (error) {
    if (error instanceof IscApiError && error.isNotFound) return null;
    throw error;
  }
}

export async function getRequest(id: string, deps: Pick<ChangeDeps, 'requests'>): Promise<ChangeRequest> {
  const request = await deps.requests.get(id);
  if (!request) throw new RequestRefused('not-found', `no change request ${id}`);
  return request;
}

/** Records an approval; the final one queues the request for the apply function. */
export async function approveRequest(id: string, approver: string, deps: ChangeDeps): Promise<ChangeRequest> {
  authorize(approver, 'approve', deps.access);
  const request = await getRequest(id, deps);
  const now = deps.clock.now();
  if (isExpired(request, now)) {
    await deps.requests.save(expire(request, now));
    throw new RequestRefused('conflict', `request ${id} expired at ${request.expiresAt}`);
  }
  const key = sealKeyFrom(await deps.sealKey());
  const approved = approve(
    request,
    identify(approver, deps.access),
    { requester: identify(request.requester, deps.access), approvers: request.approvals.map((a) => identify(a.by, deps.access)) },
    now,
    (at) => approvalSeal(request, approver, at, request.targetHash, key),
  );
  if (!(await deps.requests.save(approved)))
    throw new RequestRefused('conflict', `request ${id} changed while it was being approved; try again`);
  if (approved.status !== 'approved') return approved;
  return queueApproved(approved, deps);
}

/** Approved → message sent → queued. Re-run by the local runtime for requests left approved by a crash. */
export async function queueApproved(request: ChangeRequest, deps: ChangeDeps): Promise<ChangeRequest> {
  await deps.queue.enqueue({ requestId: request.id, tenant: request.tenant, resourceKey: request.resourceKey });
  const queued = markQueued(request, deps.clock.now());
  if (!(await deps.requests.save(queued))) return (await deps.requests.get(request.id)) ?? queued;
  return queued;
}

export async function rejectRequest(id: string, by: string, reason: string, deps: ChangeDeps): Promise<ChangeRequest> {
  const request = await getRequest(id, deps);
  // Approvers reject; a requester may withdraw their own request.
  if (forbiddenReason(by, 'reject', deps.access)) {
    if (!samePerson(identify(by, deps.access), identify(request.requester, deps.access))) authorize(by, 'reject', deps.access);
    authorize(by, 'withdraw', deps.access);
  }
  const rejected = reject(request, by, reason, deps.clock.now());
  if (!(await deps.requests.save(rejected)))
    throw new RequestRefused('conflict', `request ${id} changed while it was being rejected; try again`);
  await deps.vault.discard(id);
  return rejected;
}

/** Lists requests, expiring those whose time ran out on the way (a read that also keeps the queue honest). */
export async function listRequests(filter: { tenant?: string; status?: RequestStatus }, deps: ChangeDeps): Promise<ChangeRequest[]> {
  const now = deps.clock.now();
  const all = await deps.requests.list({ tenant: filter.tenant });
  const out: ChangeRequest[] = [];
  for (const request of all) {
    let current = request;
    if (isExpired(request, now) && (request.status === 'pending' || request.status === 'approved')) {
      const expired = expire(request, now);
      if (await deps.requests.save(expired)) {
        current = expired;
        await deps.vault.discard(request.id);
      }
    }
    if (!filter.status || current.status === filter.status) out.push(current);
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export type { SecretValues };
