import { sha256Hex } from './canonical';
import { GENESIS_HASH } from './chain';

/**
 * A chain head written outside the table after a committed snapshot: the snapshot's hash and the journal head at
 * that moment. Because every record links to the one before it, an anchor vouches for the whole history up to it:
 * rewriting any earlier record (even with every later hash recomputed) changes the anchored hash, and deleting the
 * newest records leaves an anchor with no record. Anchors live where the table's writers cannot rewrite them (S3
 * Object Lock in AWS; locally an append-only, line-chained file).
 */
export interface Anchor {
  readonly tenant: string;
  /** The snapshot's sequence number and record hash. */
  readonly seq: number;
  readonly hash: string;
  readonly takenAt: string;
  /** The tenant journal's head when the anchor was written (0 and 64 zeros for an empty journal). */
  readonly journalSeq: number;
  readonly journalHash: string;
  readonly anchoredAt: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The anchor as stored (S3 object body), fields in a fixed order so the bytes are predictable. */
export function anchorJson(anchor: Anchor): string {
  const { tenant, seq, hash, takenAt, journalSeq, journalHash, anchoredAt } = anchor;
  return JSON.stringify({ tenant, seq, hash, takenAt, journalSeq, journalHash, anchoredAt });
}

/** Parses and validates a stored anchor; throws naming the first field that is wrong. */
export function parseAnchor(text: string, where: string): Anchor {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where} is not a JSON object`);
  const bad = (field: string) => new Error(`${where}: '${field}' is missing or malformed`);
  if (typeof raw.tenant !== 'string' || raw.tenant === '') throw bad('tenant');
  if (!Number.isInteger(raw.seq) || (raw.seq as number) < 1) throw bad('seq');
  if (typeof raw.hash !== 'string' || !HEX64.test(raw.hash)) throw bad('hash');
  if (typeof raw.takenAt !== 'string' || Number.isNaN(Date.parse(raw.takenAt))) throw bad('takenAt');
  if (!Number.isInteger(raw.journalSeq) || (raw.journalSeq as number) < 0) throw bad('journalSeq');
  if (typeof raw.journalHash !== 'string' || !HEX64.test(raw.journalHash)) throw bad('journalHash');
  if (typeof raw.anchoredAt !== 'string' || Number.isNaN(Date.parse(raw.anchoredAt))) throw bad('anchoredAt');
  return {
    tenant: raw.tenant,
    seq: raw.seq as number,
    hash: raw.hash,
    takenAt: raw.takenAt,
    journalSeq: raw.journalSeq as number,
    journalHash: raw.journalHash,
    anchoredAt: raw.anchoredAt,
  };
}

export const sameAnchor = (a: Anchor, b: Anchor) => anchorJson(a) === anchorJson(b);

// ---- the local anchor file: one JSON line per anchor, each naming the sha256 of the line before it ----

/** One line of the local anchor file (without the newline): the anchor plus `prevLine`, sha256 of the previous line. */
export function anchorLine(anchor: Anchor, previousLine: string | undefined): string {
  const { tenant, seq, hash, takenAt, journalSeq, journalHash, anchoredAt } = anchor;
  const prevLine = previousLine === undefined ? GENESIS_HASH : sha256Hex(previousLine);
  return JSON.stringify({ tenant, seq, hash, takenAt, journalSeq, journalHash, anchoredAt, prevLine });
}

export interface AnchorProblem {
  /** The snapshot the problem is about, when known. */
  readonly seq?: number;
  readonly reason: string;
}

/**
 * Reads the lines of a local anchor file: each must parse and name the sha256 of the line before it (64 zeros for
 * the first), so an edited, deleted or inserted line is caught at the first line that no longer links.
 */
export function readAnchorLines(text: string, where: string): { anchors: Anchor[]; problems: AnchorProblem[] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const anchors: Anchor[] = [];
  const problems: AnchorProblem[] = [];
  let previous: string | undefined;
  let previousSeq: number | undefined;
  for (const [index, line] of lines.entries()) {
    const at = `${where} line ${index + 1}`;
    let anchor: Anchor;
    let prevLine: unknown;
    try {
      anchor = parseAnchor(line, at);
      prevLine = (JSON.parse(line) as { prevLine?: unknown }).prevLine;
    } catch (error) {
      problems.push({ ...(previousSeq !== undefined ? { seq: previousSeq + 1 } : {}), reason: (error as Error).message });
      return { anchors, problems };
    }
    const expected = previous === undefined ? GENESIS_HASH : sha256Hex(previous);
    if (prevLine !== expected) {
      problems.push({
        seq: Math.min(anchor.seq, previousSeq ?? anchor.seq),
        reason:
          index === 0
            ? `${at} does not start the chain (prevLine is not 64 zeros): lines were removed from the start of the anchor file`
            : `${at} does not link to line ${index} (prevLine is not the sha256 of line ${index}): the anchor file was edited at line ${index} or ${index + 1}`,
      });
      return { anchors, problems };
    }
    anchors.push(anchor);
    previous = line;
    previousSeq = anchor.seq;
  }
  return { anchors, problems };
}

// ---- verification against the table ----

/** What the table holds, reduced to what anchors vouch for. */
export interface TableHeads {
  /** Committed snapshot records in seq order. */
  readonly snapshots: ReadonlyArray<{ readonly seq: number; readonly hash: string; readonly takenAt: string }>;
  /** Journal entries in seq order. */
  readonly journal: ReadonlyArray<{ readonly seq: number; readonly hash: string }>;
}

export interface AnchorVerdict {
  readonly ok: boolean;
  /** Where the anchors were read (s3://bucket/anchors/tenant/, or the local file). */
  readonly source: string;
  readonly anchorsChecked: number;
  readonly lastAnchor?: { readonly seq: number; readonly anchoredAt: string; readonly journalSeq: number };
  /**
   * What was written after the last anchor: snapshot records newer than its seq and journal entries newer than its
   * journal head. Normal for a moment after each snapshot; stale means anchoring is failing. Aged by the last anchor's
   * `anchoredAt` (in S3, the object's LastModified: S3's clock, not the writer's) against the verifier's clock, never
   * by the records' own dates, which whoever rewrites the tail can re-date.
   */
  readonly unanchoredTail?: {
    readonly records: number;
    readonly fromSeq?: number;
    readonly toSeq?: number;
    /** As the oldest unanchored record says (informative only: it can be re-dated). */
    readonly oldestTakenAt?: string;
    readonly journalEntries: number;
    readonly fromJournalSeq?: number;
    readonly toJournalSeq?: number;
    /** The last anchor's `anchoredAt`; null when there is no anchor at all. */
    readonly since: string | null;
    readonly stale: boolean;
  };
  readonly warnings: readonly string[];
  readonly firstBroken?: { readonly seq?: number; readonly journalSeq?: number; readonly reason: string };
}

export interface AnchorCheckInput {
  readonly tenant: string;
  readonly source: string;
  /** One anchor per seq: the oldest stored copy (the one Object Lock kept), in seq order. */
  readonly anchors: readonly Anchor[];
  readonly problems: readonly AnchorProblem[];
  readonly warnings?: readonly string[];
  readonly nowMs: number;
  /** How long records may stay unanchored before that is a failure: 2 snapshot intervals. */
  readonly graceMs: number;
}

const short = (hash: string) => hash.slice(0, 12);

/**
 * Compares the anchors with the table. Reports, each with the first bad snapshot: an anchored record missing from the
 * table (tail truncated, or a gap), a record whose hash is not the anchored one (rewritten, even if every later hash
 * was recomputed), a journal head that is not the anchored one (journal rewritten or truncated), a problem with the
 * anchors themselves (an overwritten S3 object, an edited local file), and records unanchored for longer than the
 * grace period. The earliest problem (by snapshot seq) is reported.
 */
export function verifyAnchors(table: TableHeads, input: AnchorCheckInput): AnchorVerdict {
  const bySeq = new Map(table.snapshots.map((s) => [s.seq, s]));
  const journalBySeq = new Map(table.journal.map((e) => [e.seq, e]));
  const head = table.snapshots.at(-1)?.seq ?? 0;
  const journalHead = table.journal.at(-1)?.seq ?? 0;
  const findings: Array<{ seq?: number; journalSeq?: number; reason: string }> = [...input.problems];
  const warnings = [...(input.warnings ?? [])];
  for (const anchor of input.anchors) {
    if (anchor.tenant !== input.tenant) {
      findings.push({ seq: anchor.seq, reason: `the anchor of snapshot #${anchor.seq} names tenant '${anchor.tenant}'` });
      continue;
    }
    const record = bySeq.get(anchor.seq);
    if (!record) {
      findings.push(
        anchor.seq > head
          ? {
              seq: head + 1,
              reason: `history truncated: the table ends at snapshot #${head}, but snapshot #${anchor.seq} was anchored at ${anchor.anchoredAt}`,
            }
          : { seq: anchor.seq, reason: `snapshot #${anchor.seq} was anchored at ${anchor.anchoredAt} but is missing from the table` },
      );
    } else if (record.hash !== anchor.hash) {
      findings.push({
        seq: anchor.seq,
        reason: `snapshot #${anchor.seq} was rewritten: the table's hash ${short(record.hash)}… is not the anchored ${short(anchor.hash)}… (anchored at ${anchor.anchoredAt})`,
      });
    }
    if (anchor.journalSeq > 0) {
      const entry = journalBySeq.get(anchor.journalSeq);
      if (!entry) {
        findings.push({
          seq: anchor.seq,
          journalSeq: anchor.journalSeq,
          reason: `journal entry #${anchor.journalSeq}, the journal head anchored with snapshot #${anchor.seq}, is missing: the journal ends at #${journalHead}`,
        });
      } else if (entry.hash !== anchor.journalHash) {
        findings.push({
          seq: anchor.seq,
          journalSeq: anchor.journalSeq,
          reason: `journal entry #${anchor.journalSeq} was rewritten: its hash ${short(entry.hash)}… is not the journal head ${short(anchor.journalHash)}… anchored with snapshot #${anchor.seq}`,
        });
      }
    }
  }
  const last = input.anchors.at(-1);
  const tail = unanchoredTailOf(table, last, input, head);
  if (tail?.finding) findings.push(tail.finding);
  if (tail?.warning) warnings.push(tail.warning);
  const unanchoredTail = tail?.tail;
  const firstBroken = findings.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER))[0];
  return {
    ok: firstBroken === undefined,
    source: input.source,
    anchorsChecked: input.anchors.length,
    ...(last ? { lastAnchor: { seq: last.seq, anchoredAt: last.anchoredAt, journalSeq: last.journalSeq } } : {}),
    ...(unanchoredTail ? { unanchoredTail } : {}),
    warnings,
    ...(firstBroken ? { firstBroken } : {}),
  };
}

/** A snapshot record more than this many records past the last anchor (or with none at all) is stale whatever the dates. */
export const MAX_UNANCHORED_RECORDS = 2;

/**
 * The records and journal entries written after the last anchor, and whether that is still normal. With an anchor,
 * the tail is stale once the anchor is older than the grace period by the verifier's clock: the anchor's time is the
 * store's (S3 LastModified), so rewriting and re-dating the tail in the table changes nothing. Without any anchor
 * (a fresh install, or a history from before anchors) nothing outside the table dates anything: the tail is stale once
 * it holds more than MAX_UNANCHORED_RECORDS snapshot records (a count cannot be re-dated; a fresh install has one
 * record, or two after one failed anchor write) or its oldest record says it is older than the grace period. Journal
 * entries with no snapshot record after the last anchor (or no record at all) are a warning only, however old: no
 * snapshot ran since, so nothing shows anchoring failing, and the next snapshot anchors them.
 */
function unanchoredTailOf(
  table: TableHeads,
  last: Anchor | undefined,
  input: AnchorCheckInput,
  head: number,
):
  | {
      tail: NonNullable<AnchorVerdict['unanchoredTail']>;
      finding?: { seq?: number; journalSeq?: number; reason: string };
      warning?: string;
    }
  | undefined {
  const records = table.snapshots.filter((s) => s.seq > (last?.seq ?? 0));
  const entries = table.journal.filter((e) => e.seq > (last?.journalSeq ?? 0));
  const oldest = records[0];
  const firstEntry = entries[0];
  if (!oldest && !firstEntry) return undefined;
  const minutes = Math.round(input.graceMs / 60_000);
  const parts = [
    ...(oldest ? [`${records.length} record${records.length === 1 ? '' : 's'}, #${oldest.seq}–#${head}`] : []),
    ...(firstEntry
      ? [`${entries.length} journal entr${entries.length === 1 ? 'y' : 'ies'}, #${firstEntry.seq}–#${entries.at(-1)?.seq}`]
      : []),
  ];
  let stale: boolean;
  let why: string;
  if (last && !oldest) {
    // Journal entries only: no snapshot committed since the last anchor (a CLI user who accepts or decides requests
    // between rare snapshots, ISC down so every run fails before its commit). Nothing proves anchoring is failing; the
    // next snapshot anchors them. Whoever could rewrite them could as well delete an unanchored record with them.
    stale = false;
    const ageMinutes = Math.floor((input.nowMs - Date.parse(last.anchoredAt)) / 60_000);
    why = `written after the last anchor (snapshot #${last.seq}, ${last.anchoredAt})${
      ageMinutes > minutes
        ? `; no snapshot has run since (${ageMinutes} minutes), the next one anchors them`
        : ', anchored by the next snapshot'
    }`;
  } else if (last) {
    const ageMs = input.nowMs - Date.parse(last.anchoredAt);
    stale = ageMs > input.graceMs;
    why = stale
      ? `the last anchor (snapshot #${last.seq}, written at ${last.anchoredAt}) is older than ${minutes} minutes (2 snapshot intervals) by this clock, so anchoring is failing or the anchors were removed`
      : `written after the last anchor (snapshot #${last.seq}, ${last.anchoredAt}), anchored by the next snapshot`;
  } else if (oldest) {
    const tooMany = records.length > MAX_UNANCHORED_RECORDS;
    const tooOld = input.nowMs - Date.parse(oldest.takenAt) > input.graceMs;
    stale = tooMany || tooOld;
    why = tooMany
      ? `no anchor at all for ${records.length} snapshot records (more than ${MAX_UNANCHORED_RECORDS}): anchoring is failing, or the history predates anchors and no snapshot anchored it yet`
      : tooOld
        ? `no anchor at all, and the oldest record (taken at ${oldest.takenAt}) is older than ${minutes} minutes (2 snapshot intervals): anchoring is failing`
        : 'no anchor yet: the next snapshot anchors it';
  } else {
    stale = false;
    why = 'no snapshot and no anchor yet: the first snapshot anchors them';
  }
  const tail: NonNullable<AnchorVerdict['unanchoredTail']> = {
    records: records.length,
    ...(oldest ? { fromSeq: oldest.seq, toSeq: head, oldestTakenAt: oldest.takenAt } : {}),
    journalEntries: entries.length,
    ...(firstEntry ? { fromJournalSeq: firstEntry.seq, toJournalSeq: entries.at(-1)?.seq as number } : {}),
    since: last?.anchoredAt ?? null,
    stale,
  };
  const what = `unanchored tail (${parts.join('; ')})`;
  if (!stale) return { tail, warning: `${what}: ${why}` };
  const at = oldest ? { seq: oldest.seq } : { journalSeq: firstEntry?.seq as number };
  return { tail, finding: { ...at, reason: `${what}: ${why}` } };
}
