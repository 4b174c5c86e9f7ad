import type { Operation } from 'fast-json-patch';
import { type Attribution, currentAttribution } from '../domain/attribution';
import type { Json, JsonObject } from '../domain/canonical';
import { approve, type ChangeRequest, RequestRefused } from '../domain/change-request';
import { type Acceptance, isActive } from '../domain/classify';
import { type LastChange, lastChanges, maskPair, maskPatch, matchesSearch } from '../domain/display';
import { type AccessConfig, identify } from '../domain/identity';
import { hashOf, type NormaliseOptions, normaliseIntegration, normaliseStatusCheck } from '../domain/normalise';
import { parseResourceKey, type ResourceKey, type ResourceRef } from '../domain/resources';
import type { Severity } from '../domain/severity';
import { expectedAfter } from '../domain/targets';
import { IscApiError } from '../isc/errors';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import type { AnchorStore } from '../ports/anchors';
import type { Clock } from '../ports/clock';
import type { IscClient } from '../ports/isc-client';
import { DriftChangedError, type DriftRecord, type SnapshotStore, type StoredVersion } from '../ports/snapshot-store';
import type { TenantDirectory } from '../ports/tenants';
import { authorize, getRequest } from './change-requests';
import { type HistoryVerdict, verifyHistory } from './verify-history';

/** What the read routes need: the stored history, the tenants, and per tenant its ISC and how it fingerprints. */
export interface ReadDeps {
  readonly history: SnapshotStore;
  readonly tenants: TenantDirectory;
  readonly clock: Clock;
  readonly tenantFor: (tenant: string) => Promise<{ isc: IscClient; normalise: NormaliseOptions }>;
  /** The longest an acceptance may run, in days (settings `maxAcceptanceDays`). @default 90 */
  readonly maxAcceptanceDays?: number;
  /** Where chain heads are anchored outside the table; verify compares the table with them. */
  readonly anchors?: AnchorStore;
  /** Minutes between snapshots, for verify's unanchored-tail rule. @default 15 */
  readonly snapshotIntervalMinutes?: number;
}

/** A day (2026-12-31) lasts to its end, UTC; an ISO time is taken as it is. Undefined when it is neither. */
export function acceptanceEnd(raw: string): number | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (day) {
    const end = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]), 23, 59, 59, 999);
    // Calendar-checked: 2026-02-30 is not a day.
    return new Date(end).toISOString().slice(0, 10) === raw ? end : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) return undefined;
  const time = Date.parse(raw);
  return Number.isNaN(time) ? undefined : time;
}

function notFound(message: string): never {
  throw new RequestRefused('not-found', message);
}

function invalid(message: string): never {
  throw new RequestRefused('invalid', message);
}

export async function requireKnownTenant(tenant: string, deps: Pick<ReadDeps, 'tenants'>): Promise<void> {
  if (!(await deps.tenants.get(tenant))) notFound(`unknown tenant '${tenant}'`);
}

/** A resource key from a caller: `integration:<id>` or `status-check:tenant`, nothing else. */
export function parseKey(raw: string | undefined): ResourceKey {
  if (!raw) invalid('a resource key is required (integration:<id> or status-check:tenant)');
  try {
    const { kind, id } = parseResourceKey(raw);
    if (!id || (kind === 'status-check' && id !== 'tenant')) throw new Error('bad id');
  } catch {
    invalid(`'${raw}' is not a resource key (integration:<id> or status-check:tenant)`);
  }
  return raw;
}

// ---------- requests: the change side by side ----------

/** One side-by-side comparison: the document before and after the change, credentials as changed/unchanged only. */
export interface SideBySide {
  readonly before: Json | null;
  readonly after: Json | null;
}

export interface RequestView {
  readonly request: ChangeRequest;
  /** The change applied to the live object as ISC holds it now. */
  readonly live: SideBySide & { readonly matchesBase: boolean; readonly error?: string };
  /** The change applied to the stored version the request was proposed on (the latest snapshot before it). */
  readonly base: (SideBySide & { readonly version: number; readonly takenAt: string; readonly matchesProposal: boolean }) | null;
  /** Whether this caller may approve it now, and why not (the domain's own answer, not a guess of the page). */
  readonly approval: { readonly allowed: boolean; readonly reason?: string };
}

type Resource = ServiceDeskIntegration | StatusCheckConfig;

/** Normalised (credentials fingerprinted) without the fields ISC assigns, as the request hashes compare them. */
function comparable(resource: Resource | null | undefined, options: NormaliseOptions): JsonObject | null {
  if (!resource) return null;
  if ('provisioningStatusCheckIntervalMinutes' in resource) return normaliseStatusCheck(resource, options).content;
  const { content } = normaliseIntegration({ ...resource, id: resource.id ?? 'new' }, options);
  const { id: _id, created: _created, ...rest } = content;
  return rest;
}

async function liveResource(isc: IscClient, key: ResourceKey): Promise<Resource | null> {
  const { kind, id } = parseResourceKey(key);
  if (kind === 'status-check') return isc.getStatusCheckConfig();
  try {
    return await isc.getIntegration(id);
  } catch (error) {
    if (error instanceof IscApiError && error.isNotFound) return null;
    throw error;
  }
}

function afterOf(request: ChangeRequest, from: Resource | null, options: NormaliseOptions): Json | null {
  try {
    return comparable(expectedAfter(request.operation, from ?? undefined) ?? null, options);
  } catch (error) {
    return { error: `the change cannot be applied to this object: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * A request as a change board reads it: the change applied to the live object now, and to the version it was proposed
 * on, each side by side; whether ISC still holds what the request was written against; and whether `caller` may
 * approve it (asked of the domain's four-eyes rule itself, without saving anything).
 */
export async function requestView(
  id: string,
  caller: string,
  deps: ReadDeps & { requests: Parameters<typeof getRequest>[1]['requests']; access?: AccessConfig },
) {
  const request = await getRequest(id, deps);
  const { isc, normalise } = await deps.tenantFor(request.tenant);
  let approval: RequestView['approval'] = { allowed: true };
  try {
    // The approval use case's own checks, on a copy: nothing is sealed or saved.
    authorize(caller, 'approve', deps.access);
    const who = (principal: string) => identify(principal, deps.access);
    approve(
      request,
      who(caller),
      { requester: who(request.requester), approvers: request.approvals.map((a) => who(a.by)) },
      deps.clock.now(),
      () => '',
    );
  } catch (error) {
    if (!(error instanceof RequestRefused)) throw error;
    approval = { allowed: false, reason: error.message };
  }

  let live: RequestView['live'];
  const isCreate = request.operation.kind === 'create';
  try {
    const now = isCreate ? null : await liveResource(isc, request.resourceKey);
    const before = comparable(now, normalise);
    const matchesBase = (before === null ? null : hashOf(before, normalise)) === request.baseHash;
    live = { ...pair(before, afterOf(request, now, normalise)), matchesBase };
  } catch (error) {
    live = { before: null, after: null, matchesBase: false, error: `cannot read the live object from ISC: ${(error as Error).message}` };
  }

  let base: RequestView['base'] = null;
  if (!isCreate) {
    // The stored version ISC held when the request was written: the one with the recorded snapshot hash, else the
    // latest one taken before the proposal (then `matchesProposal` says whether it is what the request was based on).
    const versions = (await deps.history.listVersions(request.tenant, request.resourceKey)).filter((v) => v.change !== 'removed');
    const exact = request.baseSnapshotHash ? versions.filter((v) => v.contentHash === request.baseSnapshotHash).at(-1) : undefined;
    const at = exact ?? versions.filter((v) => v.takenAt <= request.createdAt).at(-1);
    const stored = at ? await deps.history.getVersionContent(request.tenant, request.resourceKey, at.version) : undefined;
    if (at && stored) {
      const { id: _id, created: _created, ...rest } = stored;
      const asResource = { ...stored } as unknown as Resource;
      base = {
        ...pair(rest, afterOf(request, asResource, normalise)),
        version: at.version,
        takenAt: at.takenAt,
        matchesProposal: hashOf(rest, normalise) === request.baseHash,
      };
    }
  }
  return { request, live, base, approval } satisfies RequestView;
}

function pair(before: Json | null, after: Json | null): SideBySide {
  const masked = maskPair(before, after);
  return { before: masked.left, after: masked.right };
}

// ---------- drift ----------

export interface DriftView extends Omit<DriftRecord, 'patch' | 'alert' | 'alertReason'> {
  readonly patch: Operation[];
}

/** Drift still standing in a tenant, newest first; `open` leaves out the accepted ones. */
export async function listDrift(tenant: string, filter: { status?: 'open' | 'accepted' }, deps: ReadDeps): Promise<DriftView[]> {
  await requireKnownTenant(tenant, deps);
  const { drifts } = await deps.history.loadState(tenant);
  return drifts
    .filter((d) => !filter.status || d.status === filter.status)
    .sort((a, b) => b.detectedAt.localeCompare(a.detectedAt))
    .map(forReaders);
}

/** A drift record without its alert outbox fields, credentials in its patch shown as "changed". */
function forReaders(drift: DriftRecord): DriftView {
  const { alert: _a, alertReason: _r, attributionAlert: _aa, patch, ...rest } = drift as DriftRecord & { attributionAlert?: unknown };
  return { ...rest, patch: maskPatch(patch) };
}

export interface AcceptInput {
  readonly keys: readonly ResourceKey[];
  readonly reason: string;
  readonly until: string;
}

/** A drift after an accept: `already` when an identical acceptance was in force, so nothing was written. */
export interface AcceptedDriftView extends DriftView {
  readonly already: boolean;
}

/**
 * Acknowledges drift on one or more resources with a reason until a time; it alerts again if still present then.
 * All keys are checked before anything is written, so a bulk accept with one unknown key changes nothing. The API,
 * the console and the CLI all accept through here, so each acceptance is journaled the same way.
 */
export async function acceptDrifts(
  tenant: string,
  input: AcceptInput,
  by: string,
  deps: Pick<ReadDeps, 'history' | 'tenants' | 'clock' | 'maxAcceptanceDays'>,
): Promise<AcceptedDriftView[]> {
  await requireKnownTenant(tenant, deps);
  if (!input.reason.trim()) invalid('a reason is required to accept drift');
  const until = acceptanceEnd(input.until);
  if (until === undefined)
    invalid(`until must be a day (2026-12-31) or an ISO time with a zone (2026-12-31T17:00:00Z), not '${input.until}'`);
  const now = deps.clock.now();
  if (until <= now.getTime()) invalid(`until ${input.until} is not in the future`);
  const maxDays = deps.maxAcceptanceDays ?? 90;
  if (until > now.getTime() + maxDays * 86_400_000)
    invalid(`until ${input.until} is more than ${maxDays} days away (maxAcceptanceDays); accept it again when it runs out`);
  if (input.keys.length === 0) invalid('name at least one drifted resource to accept');
  const { drifts } = await deps.history.loadState(tenant);
  const chosen = [...new Set(input.keys)].map((key) => {
    const drift = drifts.find((d) => d.key === key);
    if (!drift) notFound(`no drift on ${key} in tenant '${tenant}' to accept`);
    return drift;
  });
  const out: AcceptedDriftView[] = [];
  for (const drift of chosen) {
    const acceptance: Acceptance = {
      key: drift.key,
      contentHash: drift.toHash,
      reason: input.reason,
      by,
      at: now.toISOString(),
      until: new Date(until).toISOString(),
    };
    const already =
      drift.status === 'accepted' &&
      drift.acceptance !== undefined &&
      isActive(drift.acceptance, now) &&
      drift.acceptance.until === acceptance.until &&
      drift.acceptance.reason === acceptance.reason;
    const accepted: DriftRecord = already ? drift : { ...drift, status: 'accepted', acceptance };
    // Only the drift that was read: a snapshot may have replaced it (a newer edit) or closed it meanwhile, and an
    // acceptance of the old state must not be written over the new drift.
    if (!already)
      await deps.history
        .putDrift(
          tenant,
          accepted,
          { type: 'drift-accepted', at: acceptance.at, by: acceptance.by },
          { ifStillDetectedBy: { snapshotSeq: drift.snapshotSeq, detectedAt: drift.detectedAt } },
        )
        .catch((error: Error) => {
          if (error instanceof DriftChangedError)
            throw new RequestRefused('conflict', `${error.message}: a snapshot changed it while it was being accepted; look at it again`);
          throw error;
        });
    out.push({ ...forReaders(accepted), already });
  }
  return out;
}

// ---------- history ----------

export interface TimelineEntry {
  readonly seq: number;
  readonly takenAt: string;
  readonly hash: string;
  readonly baseline: boolean;
  readonly resourceCount: number;
  readonly changes: ReadonlyArray<{
    key: ResourceKey;
    name?: string;
    change: string;
    version: number;
    severity?: Severity;
    classification?: string;
    requestId?: string;
    /** Who made it (a late audit event's annotation applied). */
    attribution?: Attribution;
  }>;
}

/** A tenant's snapshots, newest first, each with the changes it recorded. */
export async function tenantTimeline(tenant: string, deps: ReadDeps, limit = 200): Promise<TimelineEntry[]> {
  await requireKnownTenant(tenant, deps);
  const [snapshots, annotations] = await Promise.all([deps.history.listSnapshots(tenant), deps.history.listAnnotations(tenant)]);
  return snapshots
    .slice(-limit)
    .reverse()
    .map((s) => ({
      seq: s.seq,
      takenAt: s.takenAt,
      hash: s.hash,
      baseline: s.baseline,
      resourceCount: s.resourceCount,
      changes: s.changes.map(({ key, name, change, version, severity, classification, requestId, attribution }) => ({
        key,
        ...(currentAttribution(key, s.seq, attribution, annotations)
          ? { attribution: currentAttribution(key, s.seq, attribution, annotations) }
          : {}),
        ...(name ? { name } : {}),
        change,
        version,
        ...(severity ? { severity } : {}),
        ...(classification ? { classification } : {}),
        ...(requestId ? { requestId } : {}),
      })),
    }));
}

/** The stored versions of one resource, oldest first. */
export async function resourceVersions(tenant: string, key: ResourceKey, deps: ReadDeps): Promise<StoredVersion[]> {
  await requireKnownTenant(tenant, deps);
  const versions = await deps.history.listVersions(tenant, key);
  if (versions.length === 0) notFound(`no history for ${key} in tenant '${tenant}'`);
  return versions;
}

/** Two stored versions of one resource, side by side (a tombstone is null). */
export async function compareVersions(
  tenant: string,
  key: ResourceKey,
  from: number,
  to: number,
  deps: ReadDeps,
): Promise<SideBySide & { from: StoredVersion; to: StoredVersion }> {
  const versions = await resourceVersions(tenant, key, deps);
  const find = (n: number) =>
    versions.find((v) => v.version === n) ?? notFound(`${key} has no version ${n} (it has ${versions.map((v) => v.version).join(', ')})`);
  const a = find(from);
  const b = find(to);
  const content = async (v: StoredVersion) =>
    v.change === 'removed' ? null : ((await deps.history.getVersionContent(tenant, key, v.version)) ?? null);
  return { ...pair(await content(a), await content(b)), from: a, to: b };
}

/** Recomputes the tenant's whole chain; the first broken link when there is one. */
export async function verifyTenant(tenant: string, deps: ReadDeps): Promise<HistoryVerdict & { checkedAt: string }> {
  await requireKnownTenant(tenant, deps);
  const { normalise } = await deps.tenantFor(tenant);
  const verdict = await verifyHistory(deps.history, tenant, {
    ignoreReferenceNames: normalise.ignoreReferenceNames,
    ...(deps.anchors ? { anchors: deps.anchors } : {}),
    ...(deps.snapshotIntervalMinutes ? { intervalMinutes: deps.snapshotIntervalMinutes } : {}),
  });
  return { ...verdict, checkedAt: deps.clock.now().toISOString() };
}

// ---------- integrations ----------

export interface IntegrationRow {
  readonly key: ResourceKey;
  readonly ref: ResourceRef;
  readonly version: number;
  readonly lastChange?: LastChange;
  readonly drift?: 'open' | 'accepted';
}

/** The guarded resources as the latest snapshot knows them, with their last recorded change; `search` filters. */
export async function listIntegrations(tenant: string, search: string | undefined, deps: ReadDeps): Promise<IntegrationRow[]> {
  await requireKnownTenant(tenant, deps);
  const [{ known, drifts }, snapshots] = await Promise.all([deps.history.loadState(tenant), deps.history.listSnapshots(tenant)]);
  const last = lastChanges(snapshots);
  const driftOf = new Map(drifts.map((d) => [d.key, d.status]));
  return [...known.values()]
    .filter((k) => matchesSearch([k.ref.name, k.ref.id, k.key], search))
    .map((k) => ({
      key: k.key,
      ref: k.ref,
      version: k.version,
      ...(last.get(k.key) ? { lastChange: last.get(k.key) } : {}),
      ...(driftOf.get(k.key) ? { drift: driftOf.get(k.key) } : {}),
    }))
    .sort((a, b) => a.ref.name.localeCompare(b.ref.name));
}

export type { Acceptance };
