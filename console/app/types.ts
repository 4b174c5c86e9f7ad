// The shapes the approval API answers with, as the console reads them.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'queued' | 'applying' | 'applied' | 'failed' | 'conflict' | 'expired';
export const STATUSES: RequestStatus[] = [
  'pending',
  'approved',
  'rejected',
  'queued',
  'applying',
  'applied',
  'failed',
  'conflict',
  'expired',
];

export interface ChangeRequest {
  id: string;
  tenant: string;
  resourceKey: string;
  operation: { kind: string; integrationId?: string; version?: number };
  requester: string;
  reason: string;
  createdAt: string;
  expiresAt: string;
  approvalsRequired: number;
  approvals: Array<{ by: string; at: string }>;
  status: RequestStatus;
  history: Array<{ at: string; by: string; from: RequestStatus | null; to: RequestStatus; note?: string }>;
  outcome?: { error?: string };
}

export interface SideBySide {
  before: Json | null;
  after: Json | null;
}

export interface RequestView {
  request: ChangeRequest;
  live: SideBySide & { matchesBase: boolean; error?: string };
  base: (SideBySide & { version: number; takenAt: string; matchesProposal: boolean }) | null;
  approval: { allowed: boolean; reason?: string };
}

export interface PatchOp {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

/** Who made a detected change, from ISC's audit events, when attribution is available (see docs). */
export interface Attribution {
  confidence?: 'exact' | 'probable' | 'unknown';
  actor?: string;
  actors?: string[];
  eventTime?: string;
  trackingNumber?: string;
  reason?: string;
}

export interface Drift {
  key: string;
  resource: { kind: string; id: string; name: string };
  change: string;
  patch: PatchOp[];
  severity: 'low' | 'medium' | 'high';
  detectedAt: string;
  snapshotSeq: number;
  status: 'open' | 'accepted';
  acceptance?: { reason: string; by: string; at: string; until: string };
  attribution?: Attribution;
}

export interface TimelineEntry {
  seq: number;
  takenAt: string;
  hash: string;
  baseline: boolean;
  resourceCount: number;
  changes: Array<{
    key: string;
    name?: string;
    change: string;
    version: number;
    severity?: string;
    classification?: string;
    requestId?: string;
  }>;
}

export interface StoredVersion {
  key: string;
  ref: { kind: string; id: string; name: string };
  version: number;
  change: string;
  contentHash: string | null;
  takenAt: string;
}

export interface Verdict {
  ok: boolean;
  snapshotsChecked: number;
  versionsChecked: number;
  journalEntriesChecked: number;
  recordsChecked: number;
  /** Where the break is: a snapshot, a journal entry or guarded item, or the anchors outside the table. */
  firstBroken?: { part: 'snapshots' | 'journal' | 'anchors'; seq?: number; journalSeq?: number; item?: string; reason: string };
  /** The first break in one line (names a journal entry or item when the journal broke). */
  message?: string;
  anchors: {
    ok: boolean;
    source: string;
    anchorsChecked: number;
    lastAnchor?: { seq: number; anchoredAt: string; journalSeq: number };
    unanchoredTail?: {
      records: number;
      fromSeq?: number;
      toSeq?: number;
      journalEntries: number;
      fromJournalSeq?: number;
      toJournalSeq?: number;
      since: string | null;
      stale: boolean;
    };
    warnings: string[];
  } | null;
  checkedAt: string;
}

export interface IntegrationRow {
  key: string;
  ref: { kind: string; id: string; name: string };
  version: number;
  lastChange?: { seq: number; takenAt: string; change: string; version: number; classification?: string };
  drift?: 'open' | 'accepted';
}

export interface Identity {
  caller: string;
  mode: 'local' | 'aws';
  target: string;
}
