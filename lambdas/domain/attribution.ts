import type { ChangeKind } from './detect';
import type { ResourceRef } from './resources';

/**
 * Who made a detected change, from ISC's audit events between the previous snapshot and the one that saw it.
 * An event says who acted on which integration and when, never what they changed: a change is attributed to the
 * people whose successful events on that integration fall inside its window.
 */

export type AttributionConfidence = 'exact' | 'probable' | 'unknown';

/** Why a change has no actor. `not-indexed-yet` and `search-failed` are retried by later snapshots. */
export type UnattributedReason = 'no-search-scope' | 'not-indexed-yet' | 'no-event' | 'search-failed' | 'not-audited';

export interface AttributedEvent {
  readonly actor: string;
  readonly eventTime: string;
  readonly action: string;
  readonly trackingNumber?: string;
}

export interface Attribution {
  /** exact: an event names the integration's id; probable: only its name; unknown: no event (see `reason`). */
  readonly confidence: AttributionConfidence;
  /** Who made the last matching event (the state the snapshot saw), or `sdim-guard (request <id>)`. */
  readonly actor?: string;
  /** Everyone with a matching event in the window, in time order. */
  readonly actors: readonly string[];
  readonly eventTime?: string;
  readonly trackingNumber?: string;
  /** The matching events (at most MAX_EVENTS, the latest kept). */
  readonly events: readonly AttributedEvent[];
  readonly reason?: UnattributedReason;
  /** Events created in (from, to] count: from the previous snapshot to the one that saw the change. */
  readonly window: { readonly from: string | null; readonly to: string };
  /** Set when sdim-guard's own apply made the change. */
  readonly requestId?: string;
}

export const SDIM_ACTIONS = {
  added: 'SERVICE_DESK_INTEGRATION_CREATED',
  modified: 'SERVICE_DESK_INTEGRATION_UPDATED',
  removed: 'SERVICE_DESK_INTEGRATION_DELETED',
} as const satisfies Record<ChangeKind, string>;

/** Everything a search asks for: the three successful actions and their failed twins. */
export const SEARCHED_ACTIONS = [
  ...Object.values(SDIM_ACTIONS),
  'SERVICE_DESK_INTEGRATION_CREATE_FAILED',
  'SERVICE_DESK_INTEGRATION_UPDATE_FAILED',
  'SERVICE_DESK_INTEGRATION_DELETE_FAILED',
];

const MAX_EVENTS = 10;

/** The part of an ISC event document attribution reads; everything may be missing. */
export interface AuditEvent {
  readonly id?: string;
  readonly created?: string | null;
  readonly action?: string;
  readonly actor?: { readonly name?: string };
  readonly target?: { readonly name?: string };
  readonly trackingNumber?: string;
  readonly attributes?: Record<string, unknown>;
}

export interface ChangeToAttribute {
  readonly resource: ResourceRef;
  readonly change: ChangeKind;
  /** The name before the change, when it differs (a rename): events may carry either. */
  readonly previousName?: string;
  readonly window: { readonly from: string | null; readonly to: string };
}

/** Events sorted by time; ties by id, so two runs over the same events agree. */
export function sortEvents<T extends AuditEvent>(events: readonly T[]): T[] {
  return [...events].sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || (a.id ?? '').localeCompare(b.id ?? ''));
}

function inWindow(event: AuditEvent, window: ChangeToAttribute['window']): boolean {
  const at = event.created ? Date.parse(event.created) : Number.NaN;
  if (Number.isNaN(at)) return false;
  return (window.from === null || at > Date.parse(window.from)) && at <= Date.parse(window.to);
}

/** Whether an event names the integration by id (anywhere in `attributes`, or as its target). */
function namesId(event: AuditEvent, id: string): boolean {
  if (event.target?.name === id) return true;
  return Object.values(event.attributes ?? {}).some((v) => v === id);
}

function namesName(event: AuditEvent, names: readonly string[]): boolean {
  const candidates = [event.target?.name, ...Object.values(event.attributes ?? {})].filter(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  return candidates.some((c) => names.some((n) => n.toLowerCase() === c.toLowerCase()));
}

/**
 * Attributes one change from events already fetched. A modification counts updates; an addition, creates (and
 * updates after it); a removal, deletes (and updates before it). Failed events never attribute a change.
 */
export function attributeChange(change: ChangeToAttribute, events: readonly AuditEvent[]): Attribution {
  const window = change.window;
  if (change.resource.kind !== 'integration') return unattributed('not-audited', window);
  const relevant = new Set<string>([SDIM_ACTIONS.modified, SDIM_ACTIONS[change.change]]);
  const candidates = sortEvents(events).filter((e) => e.action !== undefined && relevant.has(e.action) && inWindow(e, window));
  const byId = candidates.filter((e) => namesId(e, change.resource.id));
  const names = [change.resource.name, ...(change.previousName ? [change.previousName] : [])];
  const matched = byId.length > 0 ? byId : candidates.filter((e) => namesName(e, names));
  if (matched.length === 0) return unattributed('not-indexed-yet', window);
  return fromEvents(byId.length > 0 ? 'exact' : 'probable', matched, window);
}

/** A change sdim-guard's own apply made (the ledger says so); events in the window are kept for the record. */
export function ownApply(requestId: string, events: readonly AuditEvent[], change: ChangeToAttribute): Attribution {
  const found = change.resource.kind === 'integration' ? attributeChange(change, events) : undefined;
  const actor = `sdim-guard (request ${requestId})`;
  return {
    confidence: 'exact',
    actor,
    actors: [actor],
    events: found?.events ?? [],
    ...(found?.trackingNumber ? { trackingNumber: found.trackingNumber, eventTime: found.eventTime } : {}),
    window: change.window,
    requestId,
  };
}

export function unattributed(reason: UnattributedReason, window: Attribution['window']): Attribution {
  return { confidence: 'unknown', actors: [], events: [], reason, window };
}

function fromEvents(confidence: 'exact' | 'probable', matched: readonly AuditEvent[], window: Attribution['window']): Attribution {
  const events: AttributedEvent[] = matched.map((e) => ({
    actor: e.actor?.name || '(unnamed identity)',
    eventTime: e.created as string,
    action: e.action as string,
    ...(e.trackingNumber ? { trackingNumber: e.trackingNumber } : {}),
  }));
  const last = events.at(-1) as AttributedEvent;
  return {
    confidence,
    actor: last.actor,
    actors: [...new Set(events.map((e) => e.actor))],
    eventTime: last.eventTime,
    ...(last.trackingNumber ? { trackingNumber: last.trackingNumber } : {}),
    events: events.slice(-MAX_EVENTS),
    window,
  };
}

/** Whether a later snapshot should search again for this change's events. */
export function isRetryable(attribution: Attribution | undefined, now: Date, lookbackMs: number): boolean {
  if (attribution?.confidence !== 'unknown') return false;
  if (attribution.reason !== 'not-indexed-yet' && attribution.reason !== 'search-failed') return false;
  return now.getTime() - Date.parse(attribution.window.to) <= lookbackMs;
}

/** "mallory (exact)", "alice, mallory (probable)", "unknown: no search scope". */
export function describeAttribution(attribution: Attribution | undefined): string {
  if (!attribution) return '-';
  if (attribution.confidence === 'unknown') return `unknown: ${REASONS[attribution.reason ?? 'no-event']}`;
  if (attribution.requestId) return attribution.actor ?? `sdim-guard (request ${attribution.requestId})`;
  return `${attribution.actors.join(', ')} (${attribution.confidence})`;
}

const REASONS: Record<UnattributedReason, string> = {
  'no-search-scope': 'no search scope',
  'not-indexed-yet': 'no audit event yet',
  'no-event': 'no audit event',
  'search-failed': 'event search failed',
  'not-audited': 'ISC records no event for this',
};

/** The attribution a recorded change has now: a later annotation (a late event) wins over what was recorded. */
export function currentAttribution(
  key: string,
  snapshotSeq: number,
  recorded: Attribution | undefined,
  annotations: ReadonlyArray<{ key: string; snapshotSeq: number; attribution: Attribution }>,
): Attribution | undefined {
  return annotations.find((a) => a.key === key && a.snapshotSeq === snapshotSeq)?.attribution ?? recorded;
}
