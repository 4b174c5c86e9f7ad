import {
  type Attribution,
  attributeChange,
  type ChangeToAttribute,
  describeAttribution,
  isRetryable,
  ownApply,
  SEARCHED_ACTIONS,
  unattributed,
} from '../domain/attribution';
import type { JsonObject } from '../domain/canonical';
import { applyChanges, type ChainedChange, GENESIS_HASH, manifestHash, type SnapshotLink, snapshotHash } from '../domain/chain';
import {
  type ClassifiedChange,
  classify,
  detectionSeq,
  eligibleEntries,
  isActive,
  type PreviousSnapshot,
  restoring,
} from '../domain/classify';
import { boundedPatch, changedKeys, detectChanges, type KnownResource } from '../domain/detect';
import { driftClosedEntry, driftEntry, driftRestoredEntry, type JournalEntryInput } from '../domain/journal';
import { type NormaliseOptions, normaliseStatusCheck } from '../domain/normalise';
import { RawDigests, type RecordTip } from '../domain/raw-digest';
import { type NormalisedResource, type ResourceKey, resourceKey } from '../domain/resources';
import type { SecretPolicy } from '../domain/secrets';
import type { Severity, SeverityRules } from '../domain/severity';
import { type IscApiVersion, LEGACY_API_SUNSET, LEGACY_API_VERSIONS, PAGE_SIZE, SEARCH_PAGE_SIZE } from '../isc/client';
import { IscApiError } from '../isc/errors';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import type { AnchorStore } from '../ports/anchors';
import type { AuditEventSearch } from '../ports/audit-events';
import type { Clock } from '../ports/clock';
import type { IscClient } from '../ports/isc-client';
import type { GuardEvent, Notifier } from '../ports/notifier';
import {
  type AppliedChangeLedger,
  type ChainTip,
  DriftChangedError,
  type DriftRecord,
  type RawDigestRefresh,
  type SnapshotStore,
  type StoredSnapshot,
} from '../ports/snapshot-store';
import { untrustedDrifts } from './backed-drifts';
import { checkedContents, checkedState } from './checked-heads';
import { finishUnfinished } from './unfinished-run';

/** Who the journal names for what the snapshot flow itself decides. */
export const JOURNAL_ACTOR = 'sdim-guard';

export interface SnapshotDeps {
  readonly isc: IscClient;
  readonly store: SnapshotStore;
  readonly ledger: AppliedChangeLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly fingerprintKey: Buffer;
  /**
   * The key of the raw-document digests in the heads (domain/raw-digest.ts). In AWS a secret only the snapshot
   * function's role may read, so that the other roles, which hold the fingerprint key and may write heads, cannot
   * forge a digest that keeps an edit out of the history. Without it the digests are keyed by the fingerprint key.
   */
  readonly rawDigestKey?: Buffer;
  readonly secretPolicy: SecretPolicy;
  readonly severityRules: SeverityRules;
  /** @default true */
  readonly ignoreReferenceNames?: boolean;
  /**
   * The tenant was pointed at another ISC at `at`: the first snapshot after it records every difference as the
   * repoint (classification `repoint`), closes the old URL's drift and alerts nothing.
   */
  readonly repoint?: { readonly from: string; readonly to: string; readonly at: string };
  /** Apparent removals confirmed one by one with a GET; above this, by a second full listing. @default 50 */
  readonly removalCheckLimit?: number;
  /** The tenant's configured ISC API version; a deprecated one is warned about once a day. @default 'v1' */
  readonly apiVersion?: IscApiVersion;
  /** ISC's audit-event search; without it changes carry no attribution. */
  readonly auditEvents?: AuditEventSearch;
  /** How long after a change a later snapshot still looks for its (late) audit event. @default 24 h */
  readonly attributionLookbackMs?: number;
  /**
   * Write-once storage for chain heads: after the commit, the new head (and the journal head) is anchored there. A
   * failed write never fails the committed snapshot: it is reported (result, warning event) and the next snapshot's
   * anchor covers this record through the chain. Without it nothing is anchored.
   */
  readonly anchors?: AnchorStore;
}

export const DEFAULT_ATTRIBUTION_LOOKBACK_MS = 24 * 3_600_000;

/** Something the operator must act on although the snapshot itself succeeded. */
export type SnapshotWarning =
  | {
      readonly code: 'legacy-api-version';
      readonly message: string;
      readonly apiVersion: IscApiVersion;
      /** The day the deprecated endpoints may stop answering (SailPoint: Q1 2029). */
      readonly sunset: string;
    }
  | {
      /**
       * On a full normalisation (the first snapshot of a UTC day), a head's raw digest matched the live document but
       * its content hash is not the one normalising that document gives: the head was forged with the fingerprint key,
       * or the normaliser changed without a new NORMALISER_VERSION. The snapshot used the normalised content.
       */
      readonly code: 'raw-digest-mismatch';
      readonly message: string;
      readonly keys: ResourceKey[];
    }
  | {
      /** The snapshot is committed but its head could not be anchored; the next snapshot's anchor covers it. */
      readonly code: 'anchor-failed';
      readonly message: string;
      readonly seq: number;
    }
  | {
      /**
       * A drift item that would have excused (accepted) or closed (restored) a change is not the snapshot flow's own
       * detection (written into the table by hand?): the change was classified unexpected and alerted instead.
       */
      readonly code: 'unbacked-drift';
      readonly message: string;
      readonly key: ResourceKey;
      readonly seq: number;
    }
  | {
      /** The stored heads disagreed with the chain's manifest: this run used the chain (written into the table by hand?). */
      readonly code: 'heads-disagree';
      readonly message: string;
      readonly seq: number;
    };

/** What became of the anchor of this snapshot's head. */
export type AnchorOutcome =
  | { readonly status: 'written' | 'already-present'; readonly seq: number; readonly journalSeq: number; readonly source: string }
  | { readonly status: 'failed'; readonly seq: number; readonly error: string; readonly source: string };

export interface SnapshotChangeView {
  readonly resource: { kind: string; id: string; name: string };
  readonly change: 'added' | 'removed' | 'modified';
  readonly patch: unknown[];
  readonly severity: Severity;
  readonly classification: ClassifiedChange['classification'];
  readonly requestId?: string;
  readonly attribution?: Attribution;
}

/** What `snapshot --json` prints and the handler returns. */
export interface SnapshotResult {
  readonly snapshotId: string;
  readonly tenant: string;
  readonly seq: number;
  readonly hash: string;
  readonly baseline: boolean;
  readonly resources: number;
  readonly changes: SnapshotChangeView[];
  readonly alerts: { readonly sent: number; readonly pending: number };
  /** Once per UTC day per tenant (its first snapshot of the day), e.g. a deprecated API version; or a failed anchor. */
  readonly warnings?: SnapshotWarning[];
  /** Absent when no anchor store is configured. */
  readonly anchor?: AnchorOutcome;
  readonly stats: {
    iscRequests: number;
    fetchMs: number;
    totalMs: number;
    /** Items the commit wrote, plus heads whose raw digest was refreshed. */
    itemsWritten: number;
    /** Integrations normalised; the others kept their head's hash on the word of its raw digest. */
    normalised: number;
    /** Unchanged heads given a fresh raw digest (their raw document or the settings moved; or written before digests). */
    headsRefreshed: number;
    /**
     * The fetch was the one the latest record was sealed with (domain/raw-digest.ts `seal`): no head was read, nothing
     * normalised, the record repeats the latest one's manifest.
     */
    listingSealMatched: boolean;
    listingAttempts: number;
    /** Apparent removals that a GET (or a second listing) proved real. */
    removalsConfirmed: number;
    /** Integrations the listing skipped (pages shifted under it) that a GET found still there. */
    listingRecovered: number;
    /** Audit-event search requests made for attribution (1 in the normal case, 0 without changes). */
    searchRequests: number;
  };
  /** Drifts of earlier snapshots whose late audit event this run found (each annotated and alerted once). */
  readonly lateAttributions?: Array<{ resource: SnapshotChangeView['resource']; snapshotSeq: number; attribution: Attribution }>;
}

/**
 * Snapshot flow: fetch everything (consistently) → normalise and fingerprint → compare with the stored heads →
 * diff what changed → classify → commit versions, heads, drifts and one chained snapshot record → alert.
 * Nothing is written unless the whole fetch succeeded, so a failed or partial fetch never looks like a removal.
 */
export async function takeSnapshot(tenant: string, deps: SnapshotDeps): Promise<SnapshotResult> {
  const started = deps.clock.now();
  const requestsBefore = deps.isc.requestCount();
  const options: NormaliseOptions = {
    tenant,
    secretPolicy: deps.secretPolicy,
    hmacKey: deps.fingerprintKey,
    ignoreReferenceNames: deps.ignoreReferenceNames ?? true,
  };

  // The status check (and with it the token) is fetched while the stored state is read. The size of the last
  // snapshot (one small read) lets the listing request every page at once, also while the state is read; a wrong
  // guess costs a page or a round trip, never correctness (the listing checks itself).
  const statusCheck = deps.isc.getStatusCheckConfig();
  statusCheck.catch(() => undefined);
  // The first page is requested at once, the others as soon as that small read answers.
  const tip = deps.store.chainTip?.(tenant);
  tip?.catch(() => undefined);
  // Each page's raw documents are digested as the page arrives (domain/raw-digest.ts), while the rest is on its way.
  const digests = new RawDigests(options, deps.rawDigestKey);
  // Heads the chain vouches for (checkedState): a forged head would hide a hand edit. Read as soon as the run knows
  // it needs them: at once when the latest record offers no usable seal, else when a page arrives that differs from
  // the latest record's page hints (the fetch cannot be the sealed one), so a changed run waits less for them.
  let headsRead: ReturnType<typeof checkedState> | undefined;
  let ended = false;
  const readHeads = () => {
    if (!headsRead) {
      headsRead = checkedState(tenant, deps.store);
      headsRead.catch(() => undefined);
    }
    return headsRead;
  };
  let hints: readonly string[] | undefined;
  const arrived = new Map<number, string>();
  const differs = (offset: number, digest: string) => {
    if (hints && !ended && hints[offset / PAGE_SIZE] !== digest) readHeads();
  };
  const onPage = (items: readonly ServiceDeskIntegration[], offset: number) => {
    digests.prime(items);
    const digest = digests.page(items, offset);
    arrived.set(offset, digest);
    differs(offset, digest);
  };
  try {
    tip?.then(
      (t) => {
        if (ended) return;
        if (!t || !maySeal(t, started, deps)) return void readHeads();
        hints = t.pageHints ?? [];
        for (const [offset, digest] of arrived) differs(offset, digest);
      },
      () => undefined,
    );
    const early =
      tip === undefined
        ? undefined
        : fetchLive(
            deps.isc,
            tip.then((t) => (t === undefined ? undefined : Math.max(0, t.resourceCount - 1))),
            statusCheck,
            onPage,
          );
    early?.catch(() => undefined);
    // The fetch the latest record was sealed with (domain/raw-digest.ts `seal`): nothing changed, no head is needed.
    const sealed = tip && early ? await sealedFetch(tenant, await tip, early, digests, started, deps) : undefined;
    if (sealed) return await recordUnchanged(tenant, sealed, digests, { started, requestsBefore }, deps);
    const { state: loaded, headsWarning } = await readHeads();
    // A large run that died after its commit left its drift items unwritten: finish them (alerted by this run).
    const state = await finishUnfinished(tenant, loaded, deps.store, deps.clock.now(), JOURNAL_ACTOR);
    const knownIntegrations = [...state.known.values()].filter((k) => k.ref.kind === 'integration').length;
    const live = await (early ?? fetchLive(deps.isc, knownIntegrations, statusCheck, onPage));
    let integrations = live.integrations;
    let removalsConfirmed = 0;
    let listingRecovered = 0;
    // An integration whose raw document (and every setting of normalisation) is the one its head's hash was normalised
    // from keeps that hash without being normalised again (domain/raw-digest.ts). The first snapshot started on each
    // UTC day normalises everything and checks that every digest vouched for the hash normalising gives. That day is
    // kept on the record (`fullCheckDay`, so a run straddling midnight does not count for the new day) and trusted only
    // with its keyed tag: without the digest key nobody can move it to spare a day its full check.
    const startedDay = utcDay(started);
    const latest = state.latest;
    const checkedOn =
      latest?.fullCheckDay !== undefined && latest.fullCheckTag === digests.fullCheckTag({ ...latest, fullCheckDay: latest.fullCheckDay })
        ? latest.fullCheckDay
        : undefined;
    const everything = checkedOn !== startedDay;
    let rawDigests = new Map<ResourceKey, string>();
    let normalised = 0;
    let disproved: ResourceKey[] = [];
    const normalise = (list: ServiceDeskIntegration[]) => {
      rawDigests = new Map();
      normalised = 0;
      disproved = [];
      const resources = list.map((i) => {
        const head = i.id === undefined ? undefined : state.known.get(resourceKey('integration', i.id));
        const resolved = digests.resolve(i, head, !everything);
        if (resolved.normalised) normalised++;
        if (resolved.vouched && resolved.resource.contentHash !== head?.contentHash) disproved.push(resolved.resource.key);
        rawDigests.set(resolved.resource.key, resolved.rawDigest);
        return resolved.resource;
      });
      return [...resources, normaliseStatusCheck(live.statusCheck, options)];
    };
    let current = normalise(integrations);

    const apparentRemovals = changedKeys(state.known, current).removed.filter((r) => r.ref.kind === 'integration');
    if (apparentRemovals.length > 0) {
      const confirmed = await confirmRemovals(deps.isc, apparentRemovals, deps.removalCheckLimit ?? 50);
      removalsConfirmed = confirmed.removed.length;
      listingRecovered = confirmed.stillThere.length;
      if (confirmed.stillThere.length > 0) {
        const byId = new Map(integrations.map((i) => [i.id, i]));
        for (const found of confirmed.stillThere) byId.set(found.id, found);
        integrations = [...byId.values()];
        current = normalise(integrations);
      }
    }
    const fetchMs = deps.clock.now().getTime() - started.getTime();

    const baseline = state.latest === undefined;
    const { modified, removed } = changedKeys(state.known, current);
    // The content each changed head names, checked against its hash (a head's version is not in the manifest check).
    const previous = baseline
      ? { contents: new Map<ResourceKey, JsonObject>(), suspect: [] as ResourceKey[], warning: undefined }
      : await checkedContents(
          tenant,
          state,
          [...modified, ...removed].map((r) => r.key),
          deps.store,
        );
    const suspect = new Set(previous.suspect);
    const detected = baseline
      ? []
      : detectChanges(state.known, current, previous.contents, deps.severityRules, options).map((c) =>
          suspect.has(c.key) ? { ...c, patch: [], severity: 'high' as const } : c,
        );
    const headsNote = [headsWarning, previous.warning].filter((w): w is string => w !== undefined).join('; ') || undefined;

    const now = deps.clock.now();
    const applied =
      detected.length > 0
        ? await deps.ledger.appliedChanges(
            tenant,
            detected.map((c) => c.key),
          )
        : [];
    const eligible = eligibleEntries(applied, previousSnapshot(state.latest));
    const repointing = deps.repoint !== undefined && state.latest !== undefined && state.latest.takenAt < deps.repoint.at;
    // A drift item excuses (accepted) or closes (restored) a change only if the chain backs it: see untrustedDrifts.
    const unbacked = repointing ? [] : await untrustedDrifts(tenant, detected, state, deps.store);
    const untrusted = new Set(unbacked.map((u) => u.key));
    const driftByKey = new Map(state.drifts.map((d) => [d.key, d]));
    const acceptances = state.drifts.flatMap((d) =>
      d.status === 'accepted' && d.acceptance && !untrusted.has(d.key) ? [d.acceptance] : [],
    );
    const classified: ClassifiedChange[] = repointing
      ? detected.map((c) => ({ ...c, classification: 'repoint' as const }))
      : detected.map((c) => restoring(classify(c, eligible, acceptances, now), untrusted.has(c.key) ? undefined : driftByKey.get(c.key)));

    const seq = (state.latest?.seq ?? 0) + 1;
    const snapshotId = deps.newId();
    const takenAt = now.toISOString();
    const changedKeysNow = new Set(classified.map((c) => c.key));
    const retried = state.drifts.filter(
      (d) => isRetryable(d.attribution, now, deps.attributionLookbackMs ?? DEFAULT_ATTRIBUTION_LOOKBACK_MS) && !changedKeysNow.has(d.key),
    );
    const attributed =
      deps.auditEvents && !baseline
        ? await attributeRun(deps.auditEvents, classified, retried, state.latest?.takenAt ?? null, takenAt, state.known)
        : { byKey: new Map<ResourceKey, Attribution>(), late: [], searchRequests: 0 };
    const driftsToPut: DriftRecord[] = [];
    const driftsToDelete: ResourceKey[] = [];
    for (const change of classified) {
      if (change.classification === 'unexpected') {
        driftsToPut.push({
          key: change.key,
          resource: change.resource,
          change: change.change,
          fromHash: change.fromHash,
          toHash: change.toHash,
          patch: boundedPatch(change.patch),
          severity: change.severity,
          detectedAt: takenAt,
          snapshotSeq: seq,
          status: 'open',
          alert: 'pending',
          alertReason: 'new-drift',
          ...(attributed.byKey.has(change.key) ? { attribution: attributed.byKey.get(change.key) } : {}),
        });
      } else if (driftByKey.has(change.key) && change.classification !== 'accepted') {
        // Applied by request, restored to the state before the drift, or moved with a repoint: the drift is over.
        driftsToDelete.push(change.key);
      }
    }
    // After a repoint no drift of the old URL stands: it described another ISC.
    if (repointing) for (const d of state.drifts) if (!driftsToDelete.includes(d.key)) driftsToDelete.push(d.key);
    const changedNow = new Set(classified.map((c) => c.key));
    const currentHash = new Map(current.map((r) => [r.key, r.contentHash]));
    for (const drift of state.drifts) {
      // An acceptance that ran out while the resource still holds the accepted state is drift again.
      const stillThere = (currentHash.get(drift.key) ?? null) === drift.toHash;
      if (acceptanceRanOut(drift, now) && stillThere && !changedNow.has(drift.key)) {
        driftsToPut.push({
          ...drift,
          status: 'open',
          alert: 'pending',
          alertReason: 'acceptance-expired',
          detectedAt: takenAt,
          snapshotSeq: seq,
          // The chained record that recorded the drift stays the one that backs it (untrustedDrifts).
          detectedSeq: detectionSeq(drift),
        });
      }
    }

    const journal: JournalEntryInput[] = [
      ...driftsToPut.map((d) =>
        driftEntry(d.alertReason === 'acceptance-expired' ? 'drift-reopened' : 'drift-opened', d, takenAt, JOURNAL_ACTOR, { snapshotId }),
      ),
      ...driftsToDelete.map((key) => {
        const change = classified.find((c) => c.key === key);
        if (change?.classification === 'restored') {
          const drift = driftByKey.get(key);
          return driftRestoredEntry(key, takenAt, JOURNAL_ACTOR, {
            driftedHash: drift?.toHash ?? null,
            restoredHash: change.toHash,
            snapshotSeq: seq,
            snapshotId,
          });
        }
        const reason =
          change?.classification === 'expected' ? 'an applied change request explains the current state' : 'the tenant was repointed';
        return driftClosedEntry(key, takenAt, JOURNAL_ACTOR, reason, {
          snapshotSeq: seq,
          snapshotId,
          requestId: change?.requestId ?? null,
        });
      }),
    ];
    const record = chainRecord(
      tenant,
      seq,
      snapshotId,
      takenAt,
      state.latest,
      state.known,
      current,
      classified,
      baseline,
      attributed.byKey,
    );
    const written = baseline ? current : current.filter((r) => changedNow.has(r.key));
    const { itemsWritten } = await deps.store.commit(tenant, {
      record: { ...record, baseline, stats: { iscRequests: deps.isc.requestCount() - requestsBefore, fetchMs, totalMs: 0 } },
      written,
      removed: classified.filter((c) => c.change === 'removed').map((c) => ({ key: c.key, ref: c.resource })),
      driftsToPut,
      driftsToDelete,
      journal,
      rawDigests,
      // The manifest is what normalising this fetch gives (changes applied to the checked heads): the next run may
      // take it without the heads if its fetch is the same.
      ...recordKeeps(digests, digests.listing(integrations, live.statusCheck), { ...record, fullCheckDay: startedDay }, live.integrations),
    });
    const headsRefreshed = await refreshDigests(tenant, state.known, current, changedNow, rawDigests, deps.store);

    const { alerts, anchor, warnings, lateAttributions } = await afterCommit(tenant, deps, {
      seq,
      hash: record.hash,
      takenAt,
      previousTakenAt: state.latest?.takenAt,
      drifts: state.drifts,
      driftsToPut,
      changed: changedNow,
      late: attributed.late,
      warnings: [
        ...(disproved.length > 0
          ? [
              {
                code: 'raw-digest-mismatch' as const,
                keys: [...disproved].sort(),
                message: `the raw digest stored with ${disproved.length} head(s) vouched for a content hash that normalising the live document does not give (${[...disproved].sort().slice(0, 5).join(', ')}${disproved.length > 5 ? ', …' : ''}): the heads were written by someone holding the fingerprint key, or the normaliser changed without NORMALISER_VERSION; this snapshot compared the normalised content`,
              },
            ]
          : []),
        ...unbacked.map((u) => ({ code: 'unbacked-drift' as const, key: u.key, seq, message: u.message })),
        ...(headsNote ? [{ code: 'heads-disagree' as const, seq, message: headsNote }] : []),
      ],
    });

    return {
      snapshotId,
      tenant,
      seq,
      hash: record.hash,
      baseline,
      resources: current.length,
      changes: classified.map((c) => ({
        resource: c.resource,
        change: c.change,
        patch: c.patch,
        severity: c.severity,
        classification: c.classification,
        ...(c.requestId ? { requestId: c.requestId } : {}),
        ...(attributed.byKey.has(c.key) ? { attribution: attributed.byKey.get(c.key) } : {}),
      })),
      alerts,
      ...(lateAttributions.length > 0 ? { lateAttributions } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(anchor ? { anchor } : {}),
      stats: {
        iscRequests: deps.isc.requestCount() - requestsBefore,
        fetchMs,
        totalMs: deps.clock.now().getTime() - started.getTime(),
        itemsWritten: itemsWritten + headsRefreshed,
        normalised,
        headsRefreshed,
        listingSealMatched: false,
        listingAttempts: live.listingAttempts,
        removalsConfirmed,
        listingRecovered,
        searchRequests: attributed.searchRequests,
      },
    };
  } finally {
    // A heads read started early (it may roll heads forward) is never left running when the run ends, sealed or failed,
    // and none starts afterwards (a page still arriving): in Lambda it would go out on the next thaw, over whatever
    // another run wrote since.
    ended = true;
    await headsRead?.catch(() => undefined);
  }
}

type LiveFetch = Awaited<ReturnType<typeof fetchLive>>;

/** An accepted drift whose acceptance has run out by `now` (drift again, if the resource still holds that state). */
const acceptanceRanOut = (drift: DriftRecord, now: Date) =>
  drift.status === 'accepted' && drift.acceptance !== undefined && !isActive(drift.acceptance, now);

/** A fetch the latest record's seal vouches for, with what the run needs besides the heads. */
interface SealedFetch {
  readonly tip: ChainTip & { readonly listingSeal: string; readonly fullCheckDay: string };
  readonly live: LiveFetch;
  readonly listing: string;
  readonly drifts: readonly DriftRecord[];
  /** When the seal and the acceptances were checked: the new record's time. */
  readonly now: Date;
}

const utcDay = (at: Date) => at.toISOString().slice(0, 10);

/**
 * What every committed record keeps besides its chained fields: the seal of its fetch, the day of the last full check
 * with its tag, and the page hints of the listing as it was paged (domain/raw-digest.ts).
 */
function recordKeeps(digests: RawDigests, listing: string, record: RecordTip, listed: readonly ServiceDeskIntegration[]) {
  return {
    listingSeal: digests.seal(listing, record),
    fullCheckDay: record.fullCheckDay,
    fullCheckTag: digests.fullCheckTag(record),
    pageHints: digests.pages(listed, PAGE_SIZE),
  };
}

/**
 * Whether the latest record's seal may vouch for this run's fetch at all: it has one, its full check was the day the
 * run started, it is finished, no repoint is pending, and the store can read the drifts alone.
 */
function maySeal(tip: ChainTip, started: Date, deps: SnapshotDeps): boolean {
  if (!tip.listingSeal || tip.fullCheckDay !== utcDay(started) || !tip.finished || !deps.store.loadDrifts) return false;
  return deps.repoint === undefined || tip.takenAt >= deps.repoint.at;
}

/**
 * The live fetch, if it is exactly the one the latest record was sealed with: every integration's document and the
 * status-check configuration as ISC sent them, under the same settings and keys (domain/raw-digest.ts). Then the
 * record's manifest is what normalising this fetch gives, so the run needs no head. Never on the first snapshot of a
 * UTC day (it normalises everything), after an unfinished run, before a repoint's first snapshot, or while an
 * acceptance has run out (reopening it needs the resource's hash); any doubt takes the full path.
 */
async function sealedFetch(
  tenant: string,
  tip: ChainTip | undefined,
  early: Promise<LiveFetch>,
  digests: RawDigests,
  started: Date,
  deps: SnapshotDeps,
): Promise<SealedFetch | undefined> {
  const { listingSeal, fullCheckDay } = tip ?? {};
  const loadDrifts = deps.store.loadDrifts?.bind(deps.store);
  if (!tip || !listingSeal || !fullCheckDay || !loadDrifts || !maySeal(tip, started, deps)) return undefined;
  const [drifts, live] = await Promise.all([loadDrifts(tenant), early]);
  // One instant for every check below and for the record: a day or an acceptance that ends while the run works is
  // judged as of the record's own time.
  const now = deps.clock.now();
  if (utcDay(now) !== fullCheckDay) return undefined;
  if (drifts.some((d) => acceptanceRanOut(d, now))) return undefined;
  const listing = digests.listing(live.integrations, live.statusCheck);
  if (digests.seal(listing, { ...tip, fullCheckDay }) !== listingSeal) return undefined;
  return { tip: { ...tip, listingSeal, fullCheckDay }, live, listing, drifts, now };
}

/**
 * The run whose fetch the latest record's seal vouches for: nothing changed, so its record repeats the manifest and
 * count and lists no change. Drifts still get their pending alerts and late attributions, the head its anchor.
 */
async function recordUnchanged(
  tenant: string,
  { tip, live, listing, drifts, now }: SealedFetch,
  digests: RawDigests,
  run: { started: Date; requestsBefore: number },
  deps: SnapshotDeps,
): Promise<SnapshotResult> {
  const takenAt = now.toISOString();
  const fetchMs = now.getTime() - run.started.getTime();
  const seq = tip.seq + 1;
  const snapshotId = deps.newId();
  const retried = drifts.filter((d) => isRetryable(d.attribution, now, deps.attributionLookbackMs ?? DEFAULT_ATTRIBUTION_LOOKBACK_MS));
  const attributed = deps.auditEvents
    ? await attributeRun(deps.auditEvents, [], retried, tip.takenAt, takenAt, new Map())
    : { late: [], searchRequests: 0 };
  const link: SnapshotLink = {
    tenant,
    seq,
    snapshotId,
    takenAt,
    prevHash: tip.hash,
    manifestHash: tip.manifestHash,
    resourceCount: tip.resourceCount,
    changes: [],
  };
  const record = { ...link, hash: snapshotHash(link) };
  const { itemsWritten } = await deps.store.commit(tenant, {
    record: { ...record, baseline: false, stats: { iscRequests: deps.isc.requestCount() - run.requestsBefore, fetchMs, totalMs: 0 } },
    written: [],
    removed: [],
    driftsToPut: [],
    driftsToDelete: [],
    journal: [],
    ...recordKeeps(digests, listing, { ...record, fullCheckDay: tip.fullCheckDay }, live.integrations),
  });
  const { alerts, anchor, warnings, lateAttributions } = await afterCommit(tenant, deps, {
    seq,
    hash: record.hash,
    takenAt,
    previousTakenAt: tip.takenAt,
    drifts,
    driftsToPut: [],
    changed: new Set(),
    late: attributed.late,
    warnings: [],
  });
  return {
    snapshotId,
    tenant,
    seq,
    hash: record.hash,
    baseline: false,
    resources: tip.resourceCount,
    changes: [],
    alerts,
    ...(lateAttributions.length > 0 ? { lateAttributions } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(anchor ? { anchor } : {}),
    stats: {
      iscRequests: deps.isc.requestCount() - run.requestsBefore,
      fetchMs,
      totalMs: deps.clock.now().getTime() - run.started.getTime(),
      itemsWritten,
      normalised: 0,
      headsRefreshed: 0,
      listingSealMatched: true,
      listingAttempts: live.listingAttempts,
      removalsConfirmed: 0,
      listingRecovered: 0,
      searchRequests: attributed.searchRequests,
    },
  };
}

/**
 * What every run does once committed: late attributions written, pending alerts delivered, the head anchored (after
 * every journal write of the run, so the anchored journal head covers them), warnings published.
 */
async function afterCommit(
  tenant: string,
  deps: SnapshotDeps,
  run: {
    readonly seq: number;
    readonly hash: string;
    readonly takenAt: string;
    readonly previousTakenAt: string | undefined;
    readonly drifts: readonly DriftRecord[];
    readonly driftsToPut: readonly DriftRecord[];
    readonly changed: ReadonlySet<ResourceKey>;
    readonly late: ReadonlyArray<{ drift: DriftRecord; attribution: Attribution }>;
    readonly warnings: readonly SnapshotWarning[];
  },
) {
  const { seq, takenAt } = run;
  const annotated = await annotateLate(tenant, seq, takenAt, run.late, deps);
  const pending = [
    ...run.drifts.filter(
      (d) =>
        d.alert === 'pending' &&
        !run.changed.has(d.key) &&
        !run.driftsToPut.some((p) => p.key === d.key) &&
        !annotated.some((a) => a.key === d.key),
    ),
    ...run.driftsToPut,
    ...annotated,
  ];
  const alerts = await deliverAlerts(tenant, pending, deps);
  const lateAttributions = annotated.map((d) => ({
    resource: d.resource,
    snapshotSeq: d.snapshotSeq,
    attribution: d.attribution as Attribution,
  }));
  const anchor = deps.anchors ? await anchorHead(tenant, { seq, hash: run.hash, takenAt }, deps.anchors, deps) : undefined;
  const warnings: SnapshotWarning[] = [
    ...dailyWarnings(deps.apiVersion ?? 'v1', run.previousTakenAt, takenAt),
    ...run.warnings,
    ...(anchor?.status === 'failed'
      ? [
          {
            code: 'anchor-failed' as const,
            seq,
            message: `snapshot #${seq} is committed but its head could not be anchored in ${anchor.source} (${anchor.error}); the next snapshot's anchor covers it`,
          },
        ]
      : []),
  ];
  await publishWarnings(tenant, seq, warnings, deps);
  return { alerts, anchor, warnings, lateAttributions };
}

/**
 * Who made this run's changes, and the late events of earlier drifts: one search over the union of their windows
 * (more only past 10,000 events), matched per change by the pure `attributeChange`. A search that fails never fails
 * the snapshot: 403 means the credential lacks sp:search:read, anything else is retried by the next run.
 */
async function attributeRun(
  search: AuditEventSearch,
  classified: readonly ClassifiedChange[],
  retried: readonly DriftRecord[],
  previousTakenAt: string | null,
  takenAt: string,
  known: ReadonlyMap<ResourceKey, KnownResource>,
) {
  const window = { from: previousTakenAt, to: takenAt };
  const toAttribute = (c: ClassifiedChange): ChangeToAttribute => {
    const previousName = known.get(c.key)?.ref.name;
    return {
      resource: c.resource,
      change: c.change,
      window,
      ...(previousName && previousName !== c.resource.name ? { previousName } : {}),
    };
  };
  const byKey = new Map<ResourceKey, Attribution>();
  const late: Array<{ drift: DriftRecord; attribution: Attribution }> = [];
  const audited = classified.some((c) => c.resource.kind === 'integration') || retried.length > 0;
  const windows = [window, ...retried.map((d) => (d.attribution as Attribution).window)];
  const from = windows.some((w) => w.from === null) ? null : (windows.map((w) => w.from as string).sort()[0] ?? null);
  const found = audited ? await searchEvents(search, from, takenAt) : { events: [], requests: 0, failure: undefined };
  for (const change of classified) {
    const subject = toAttribute(change);
    if (change.classification === 'expected' && change.requestId) byKey.set(change.key, ownApply(change.requestId, found.events, subject));
    else if (found.failure && change.resource.kind === 'integration') byKey.set(change.key, unattributed(found.failure, window));
    else byKey.set(change.key, attributeChange(subject, found.events));
  }
  if (!found.failure) {
    for (const drift of retried) {
      const attribution = attributeChange(
        { resource: drift.resource, change: drift.change, window: (drift.attribution as Attribution).window },
        found.events,
      );
      if (attribution.confidence !== 'unknown') late.push({ drift, attribution });
    }
  }
  return { byKey, late, searchRequests: found.requests };
}

async function searchEvents(search: AuditEventSearch, from: string | null, to: string) {
  const range = { range: { created: { ...(from ? { gt: from } : {}), lte: to } } };
  const body = {
    indices: ['events' as const],
    queryType: 'DSL' as const,
    queryDsl: { bool: { filter: [{ terms: { action: SEARCHED_ACTIONS } }, range] } },
    sort: ['created', 'id'],
  };
  const events: Awaited<ReturnType<AuditEventSearch['searchEvents']>>['items'] = [];
  let requests = 0;
  try {
    let searchAfter: string[] | undefined;
    for (;;) {
      requests++;
      const page = await search.searchEvents({ body: searchAfter ? { ...body, searchAfter } : body, limit: SEARCH_PAGE_SIZE });
      events.push(...page.items);
      const last = page.items.at(-1);
      if (page.items.length < SEARCH_PAGE_SIZE || !last) break;
      searchAfter = [last.created ?? '', last.id ?? ''];
    }
  } catch (error) {
    const failure = error instanceof IscApiError && error.status === 403 ? ('no-search-scope' as const) : ('search-failed' as const);
    return { events: [], requests, failure };
  }
  return { events, requests, failure: undefined };
}

/**
 * A drift whose audit event arrived late: the drift item takes the attribution and a `drift-annotated` journal entry
 * records it, in one transaction (the chained snapshot record stays as written). Its alert outbox is set to an
 * `attributed` alert, so exactly one follow-up says who, retried by later runs until delivered.
 */
async function annotateLate(
  tenant: string,
  seq: number,
  takenAt: string,
  late: ReadonlyArray<{ drift: DriftRecord; attribution: Attribution }>,
  deps: SnapshotDeps,
): Promise<DriftRecord[]> {
  const annotated: DriftRecord[] = [];
  for (const { drift, attribution } of late) {
    const updated: DriftRecord = {
      ...drift,
      attribution,
      attributionAnnotatedAt: takenAt,
      // A first alert still undelivered now carries who; otherwise one follow-up alert says it.
      ...(drift.alert === 'pending' ? {} : { alert: 'pending' as const, alertReason: 'attributed' as const }),
    };
    // Only over the drift item this run read: an accept (or another change) made while this run was working must not
    // be undone by writing the older item back. The drift stays unattributed and the next run annotates what it reads.
    const written = await deps.store
      .putDrift(
        tenant,
        updated,
        {
          type: 'drift-annotated',
          at: takenAt,
          by: JOURNAL_ACTOR,
          data: { snapshotSeq: drift.snapshotSeq, annotatedSeq: seq, attribution: JSON.parse(JSON.stringify(attribution)) },
        },
        {
          ifStillDetectedBy: {
            snapshotSeq: drift.snapshotSeq,
            detectedAt: drift.detectedAt,
            status: drift.status,
            acceptedAt: drift.acceptance?.at ?? null,
          },
        },
      )
      .then(
        () => true,
        (error: Error) => {
          if (error instanceof DriftChangedError) return false;
          throw error;
        },
      );
    if (written) annotated.push(updated);
  }
  return annotated;
}

/** What an alert says about who: the summary, not the whole event list. */
export function alertAttribution(attribution: Attribution | undefined) {
  if (!attribution) return undefined;
  const { confidence, actor, actors, eventTime, trackingNumber, reason, requestId } = attribution;
  return { confidence, actor, actors, eventTime, trackingNumber, reason, requestId };
}

/**
 * Warnings repeated once per UTC day: on the first snapshot of a day (comparing with the previous snapshot's day),
 * so a tenant snapshotted every 5 minutes is not told 288 times, and a restart does not reset anything.
 */
export function dailyWarnings(apiVersion: IscApiVersion, previousTakenAt: string | undefined, takenAt: string): SnapshotWarning[] {
  if (!LEGACY_API_VERSIONS.includes(apiVersion)) return [];
  if (previousTakenAt !== undefined && previousTakenAt.slice(0, 10) === takenAt.slice(0, 10)) return [];
  return [
    {
      code: 'legacy-api-version',
      apiVersion,
      sunset: LEGACY_API_SUNSET,
      message: `ISC API ${apiVersion} is deprecated: SailPoint stops serving it in Q1 2029 (as early as ${LEGACY_API_SUNSET}). Set the tenant's apiVersion to v1 (/service-desk-integrations/v1).`,
    },
  ];
}

/**
 * Anchors the chain head and the journal head outside the table. Never throws: the snapshot is committed, and losing
 * it over an anchor would be worse than a late anchor (the next one vouches for every record before it).
 */
async function anchorHead(
  tenant: string,
  head: { seq: number; hash: string; takenAt: string },
  anchors: AnchorStore,
  deps: SnapshotDeps,
): Promise<AnchorOutcome> {
  try {
    const journal = await deps.store.journal.head(tenant);
    const status = await anchors.write({
      tenant,
      ...head,
      journalSeq: journal.seq,
      journalHash: journal.hash,
      anchoredAt: deps.clock.now().toISOString(),
    });
    return { status, seq: head.seq, journalSeq: journal.seq, source: anchors.source };
  } catch (error) {
    return {
      status: 'failed',
      seq: head.seq,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      source: anchors.source,
    };
  }
}

/** Best effort: a warning that cannot be delivered today is repeated tomorrow; it never fails the snapshot. */
async function publishWarnings(tenant: string, seq: number, warnings: readonly SnapshotWarning[], deps: SnapshotDeps): Promise<void> {
  for (const warning of warnings) {
    await deps.notifier
      .publish({
        type: 'Snapshot Warning',
        tenant,
        time: deps.clock.now().toISOString(),
        id: `${tenant}:${warning.code}:${seq}${'key' in warning ? `:${warning.key}` : ''}`,
        detail: { ...warning },
      })
      .catch(() => undefined);
  }
}

async function fetchLive(
  isc: IscClient,
  expectedTotal: number | Promise<number | undefined>,
  statusCheckPending: Promise<StatusCheckConfig>,
  onPage: (items: readonly ServiceDeskIntegration[], offset: number) => void,
) {
  const [listing, statusCheck] = await Promise.all([isc.listAllIntegrations({ expectedTotal, onPage }), statusCheckPending]);
  return { integrations: listing.items, statusCheck, listingAttempts: listing.attempts };
}

/**
 * Offset paging can skip an item that still exists when others are deleted while it pages, and that must never be
 * recorded as a removal. Each apparent removal is confirmed with a 404 from a GET of its id; past `limit` of them, by
 * a second consistent listing that must also lack it.
 */
async function confirmRemovals(isc: IscClient, apparent: KnownResource[], limit: number) {
  const removed: KnownResource[] = [];
  const stillThere: ServiceDeskIntegration[] = [];
  if (apparent.length <= limit) {
    await Promise.all(
      apparent.map(async (candidate) => {
        try {
          stillThere.push(await isc.getIntegration(candidate.ref.id));
        } catch (error) {
          if (error instanceof IscApiError && error.isNotFound) removed.push(candidate);
          else throw error;
        }
      }),
    );
  } else {
    const second = await isc.listAllIntegrations();
    const ids = new Map(second.items.map((i) => [i.id, i]));
    for (const candidate of apparent) {
      const found = ids.get(candidate.ref.id);
      if (found) stillThere.push(found);
      else removed.push(candidate);
    }
  }
  return { removed, stillThere };
}

function previousSnapshot(latest: StoredSnapshot | undefined): PreviousSnapshot | undefined {
  if (!latest) return undefined;
  return {
    takenAt: latest.takenAt,
    fetchStartedAt: new Date(Date.parse(latest.takenAt) - (latest.stats?.fetchMs ?? 0)).toISOString(),
    explained: new Set(
      latest.changes.flatMap((c) => ((c as { requestId?: string }).requestId ? [(c as { requestId: string }).requestId] : [])),
    ),
  };
}

function chainRecord(
  tenant: string,
  seq: number,
  snapshotId: string,
  takenAt: string,
  latest: StoredSnapshot | undefined,
  known: ReadonlyMap<ResourceKey, KnownResource>,
  current: NormalisedResource[],
  classified: ClassifiedChange[],
  baseline: boolean,
  attributions: ReadonlyMap<ResourceKey, Attribution>,
) {
  const changes: ChainedChange[] = baseline
    ? current.map((r) => ({ key: r.key, name: r.name, change: 'added', fromHash: null, toHash: r.contentHash, version: seq }))
    : classified.map((c) => ({
        key: c.key,
        name: c.resource.name,
        change: c.change,
        fromHash: c.fromHash,
        toHash: c.toHash,
        version: seq,
        severity: c.severity,
        classification: c.classification,
        ...(c.requestId ? { requestId: c.requestId } : {}),
        ...(attributions.has(c.key) ? { attribution: attributions.get(c.key) } : {}),
      }));
  const manifest = new Map([...known.values()].map((k) => [k.key, k.contentHash]));
  applyChanges(manifest, changes);
  const link: SnapshotLink = {
    tenant,
    seq,
    snapshotId,
    takenAt,
    prevHash: latest?.hash ?? GENESIS_HASH,
    manifestHash: manifestHash(manifest),
    resourceCount: manifest.size,
    changes: [...changes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
  return { ...link, hash: snapshotHash(link) };
}

/**
 * Unchanged heads whose raw digest is missing or stale get the fresh one, so the next run skips their normalisation.
 * Best effort, after the commit: a failure costs the next run time, never correctness.
 */
async function refreshDigests(
  tenant: string,
  known: ReadonlyMap<ResourceKey, KnownResource>,
  current: readonly NormalisedResource[],
  written: ReadonlySet<ResourceKey>,
  rawDigests: ReadonlyMap<ResourceKey, string>,
  store: SnapshotStore,
): Promise<number> {
  if (!store.refreshRawDigests) return 0;
  const stale: RawDigestRefresh[] = [];
  for (const resource of current) {
    const head = known.get(resource.key);
    const rawDigest = rawDigests.get(resource.key);
    if (!head || !rawDigest || written.has(resource.key) || head.contentHash !== resource.contentHash) continue;
    if (head.rawDigest !== rawDigest) stale.push({ key: resource.key, contentHash: head.contentHash, version: head.version, rawDigest });
  }
  if (stale.length === 0) return 0;
  return store.refreshRawDigests(tenant, stale).catch(() => 0);
}

/** Publishes pending drift alerts; a failure leaves them pending for the next run instead of losing them. */
const ALERT_TYPES = {
  'new-drift': 'Drift Detected',
  'acceptance-expired': 'Drift Acceptance Expired',
  attributed: 'Drift Attributed',
} as const satisfies Record<NonNullable<DriftRecord['alertReason']>, GuardEvent['type']>;

async function deliverAlerts(tenant: string, pending: DriftRecord[], deps: SnapshotDeps) {
  const sent: DriftRecord[] = [];
  for (const drift of pending) {
    const event: GuardEvent = {
      type: ALERT_TYPES[drift.alertReason ?? 'new-drift'],
      tenant,
      time: deps.clock.now().toISOString(),
      id: `${tenant}:${drift.key}:${drift.snapshotSeq}:${drift.alertReason ?? 'new-drift'}`,
      detail: {
        resource: drift.resource,
        change: drift.change,
        severity: drift.severity,
        patch: drift.patch,
        fromHash: drift.fromHash,
        toHash: drift.toHash,
        detectedAt: drift.detectedAt,
        snapshotSeq: drift.snapshotSeq,
        ...(drift.acceptance ? { acceptance: drift.acceptance } : {}),
        ...(drift.attribution ? { attribution: alertAttribution(drift.attribution), by: describeAttribution(drift.attribution) } : {}),
      },
    };
    try {
      await deps.notifier.publish(event);
      sent.push(drift);
    } catch {
      // Kept pending in the store; the next run delivers it.
    }
  }
  if (sent.length > 0) await deps.store.markAlertsSent(tenant, sent);
  return { sent: sent.length, pending: pending.length - sent.length };
}
