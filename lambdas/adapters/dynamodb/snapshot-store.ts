import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Attribution } from '../../domain/attribution';
import { canonicalJson, type JsonObject } from '../../domain/canonical';
import type { ChainedChange } from '../../domain/chain';
import type { AppliedChange } from '../../domain/classify';
import type { KnownResource } from '../../domain/detect';
import { driftClosedEntry, driftEntry, type JournalEntryInput } from '../../domain/journal';
import type { ResourceKey, ResourceRef } from '../../domain/resources';
import {
  type AppliedChangeLedger,
  type AttributionAnnotation,
  type ChainTip,
  ConcurrentSnapshotError,
  DriftChangedError,
  type DriftEvent,
  type DriftRecord,
  type RawDigestRefresh,
  type SnapshotCommit,
  type SnapshotStore,
  type StoredSnapshot,
  type StoredVersion,
  type TenantState,
} from '../../ports/snapshot-store';
import { DynamoJournal, itemToApplied, itemToDrift, MAX_TRANSACTION_ACTIONS, type TransactAction } from './journal-store';
import { GSI1, ledgerPk, pad, resourcePk, tenantPk } from './table';

type Item = Record<string, unknown>;
type WriteOp = { put: Item } | { del: { pk: string; sk: string } };

/** Bytes of gzip'd document kept in one item; DynamoDB's limit is 400 KB including keys and attributes. */
const PART_BYTES = 350_000;
/** Change lists longer than this (as JSON) go to their own items instead of the snapshot record. */
const INLINE_CHANGES_BYTES = 100_000;
/** A transaction holds at most 100 actions and 4 MB. */
const MAX_TRANSACTION_ITEMS = MAX_TRANSACTION_ACTIONS;
const MAX_TRANSACTION_BYTES = 3_500_000;
/** Only keys a record can have (`S#` and ten digits): an item written by hand under another `S#…` key is no record. */
const RECORD_KEYS = { ':first': `S#${pad(1)}`, ':last': `S#${'9'.repeat(10)}` };
/** A claim older than this belongs to a run that died; the next run may take its sequence number over. */
export const STALE_CLAIM_MS = 15 * 60_000;

export class DynamoSnapshotStore implements SnapshotStore, AppliedChangeLedger {
  /** Drift openings, status changes and acceptances are journalled in the same transaction as their items. */
  readonly journal: DynamoJournal;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.journal = new DynamoJournal(db, tableName);
  }

  async loadState(tenant: string, options: { syncHeads?: boolean } = {}): Promise<TenantState> {
    const [latest, heads, drifts] = await Promise.all([
      this.latestCommitted(tenant),
      this.queryAll({ pk: tenantPk(tenant), prefix: 'H#' }),
      this.queryAll({ pk: tenantPk(tenant), prefix: 'D#' }),
    ]);
    let known = new Map<ResourceKey, KnownResource>(heads.map((h) => [h.key as string, headToKnown(h)]));
    if (latest && latest.item.large === true && latest.item.headsSynced !== true) {
      // The run that wrote this snapshot died after its commit and before its heads: its committed change list says what
      // the heads are. Only the snapshot flow writes them (syncHeads); every other reader computes the same view
      // without a write (the approval API's grant may not write heads, and must not need to).
      known = await this.rollForward(tenant, latest.snapshot, known, options.syncHeads === true);
    }
    const unfinished = options.syncHeads === true && latest?.item.large === true && latest.item.headsSynced !== true;
    return {
      latest: latest?.snapshot,
      known,
      drifts: drifts.map((i) => itemToDrift<DriftRecord>(i)),
      ...(unfinished ? { unfinished: latest.snapshot } : {}),
    };
  }

  async listAnnotations(tenant: string): Promise<AttributionAnnotation[]> {
    const entries = await this.journal.list(tenant);
    return entries.flatMap((e) => {
      const data = e.data as { snapshotSeq?: unknown; annotatedSeq?: unknown; attribution?: unknown } | undefined;
      if (e.type !== 'drift-annotated' || !data || typeof data.snapshotSeq !== 'number' || !data.attribution) return [];
      return [
        {
          key: e.subject,
          snapshotSeq: data.snapshotSeq,
          attribution: data.attribution as unknown as Attribution,
          annotatedAt: e.at,
          annotatedSeq: typeof data.annotatedSeq === 'number' ? data.annotatedSeq : data.snapshotSeq,
        },
      ];
    });
  }

  async loadContents(tenant: string, refs: ReadonlyArray<{ key: ResourceKey; version: number }>): Promise<Map<ResourceKey, JsonObject>> {
    const out = new Map<ResourceKey, JsonObject>();
    const items = await this.batchGet(refs.map((r) => ({ pk: resourcePk(tenant, r.key), sk: `V#${pad(r.version)}` })));
    for (const item of items) {
      const content = await this.documentOf(tenant, item);
      if (content) out.set(item.key as string, content);
    }
    const missing = refs.filter((r) => !out.has(r.key));
    if (missing.length > 0) throw new Error(`stored versions are missing for ${missing.map((m) => `${m.key}@${m.version}`).join(', ')}`);
    return out;
  }

  async appliedChanges(tenant: string, keys: readonly ResourceKey[]): Promise<AppliedChange[]> {
    const results = await Promise.all(keys.map((key) => this.queryAll({ pk: ledgerPk(tenant), prefix: `A#${key}#` })));
    return results.flat().map(itemToApplied);
  }

  async commit(tenant: string, commit: SnapshotCommit): Promise<{ itemsWritten: number }> {
    const { record } = commit;
    const pk = tenantPk(tenant);
    const versionOps: WriteOp[] = [];
    for (const resource of commit.written) {
      versionOps.push(
        ...this.versionItems(tenant, record, resource.key, refOf(resource), resource.content, resource.contentHash, resource.meta.modified),
      );
    }
    for (const removed of commit.removed)
      versionOps.push(...this.versionItems(tenant, record, removed.key, removed.ref, null, null, undefined));
    const headOps: WriteOp[] = [
      ...commit.written.map((r) => {
        const rawDigest = commit.rawDigests?.get(r.key);
        return {
          put: {
            pk,
            sk: `H#${r.key}`,
            key: r.key,
            kind: r.kind,
            id: r.id,
            name: r.name,
            contentHash: r.contentHash,
            version: record.seq,
            ...(rawDigest ? { rawDigest } : {}),
          },
        };
      }),
      ...commit.removed.map((r) => ({ del: { pk, sk: `H#${r.key}` } })),
    ];
    const driftOps: WriteOp[] = [
      ...commit.driftsToPut.map((d) => ({ put: driftToItem(pk, d) })),
      ...commit.driftsToDelete.map((key) => ({ del: { pk, sk: `D#${key}` } })),
    ];
    const changesJson = JSON.stringify(record.changes);
    const inlineChanges = changesJson.length <= INLINE_CHANGES_BYTES;
    // A stale claim this run takes over may have left versions behind (readers ignore them); the committed record names
    // that run, so verify can tell its leftovers from versions inserted by someone else.
    // (A Query for the one key: the snapshot function's grant reads T# items by Query, not GetItem.)
    const [claim] =
      (
        await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk = :sk',
            ExpressionAttributeValues: { ':pk': pk, ':sk': `S#${pad(record.seq)}` },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    const superseded = claim?.state === 'pending' && claim.snapshotId !== record.snapshotId ? [String(claim.snapshotId)] : [];
    const snapshotItem = {
      ...this.snapshotItem(tenant, record, inlineChanges),
      ...(commit.listingSeal ? { listingSeal: commit.listingSeal } : {}),
      ...(commit.fullCheckDay ? { fullCheckDay: commit.fullCheckDay } : {}),
      ...(commit.fullCheckTag ? { fullCheckTag: commit.fullCheckTag } : {}),
      ...(commit.pageHints ? { pageHints: [...commit.pageHints] } : {}),
      ...(superseded.length > 0 ? { supersedes: superseded } : {}),
    };
    const all = [...versionOps, ...headOps, ...driftOps];
    const fitsTransaction =
      inlineChanges &&
      all.length + 1 + commit.journal.length <= MAX_TRANSACTION_ITEMS &&
      approximateSize([{ put: snapshotItem }, ...all]) <= MAX_TRANSACTION_BYTES;
    if (fitsTransaction) {
      await this.transact([{ put: snapshotItem }, ...all], record.snapshotId, tenant, commit.journal);
      return { itemsWritten: all.length + 1 + commit.journal.length };
    }
    const written = await this.commitInPhases(
      tenant,
      record,
      snapshotItem,
      versionOps,
      headOps,
      inlineChanges ? [] : splitChanges(pk, record.seq, record.snapshotId, changesJson),
      // Before the record says its heads are synced: a run that dies before that leaves work the next run finishes.
      () => this.writeDriftsJournalled(tenant, driftOps, commit.journal),
    );
    return { itemsWritten: written.itemsWritten + driftOps.length + commit.journal.length };
  }

  async refreshRawDigests(tenant: string, heads: readonly RawDigestRefresh[]): Promise<number> {
    let updated = 0;
    let next = 0;
    const worker = async () => {
      while (next < heads.length) {
        const head = heads[next++] as RawDigestRefresh;
        try {
          await this.db.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk: tenantPk(tenant), sk: `H#${head.key}` },
              UpdateExpression: 'SET rawDigest = :digest',
              // Never creates a head, never touches one another run (or anyone) moved since this run read it.
              ConditionExpression: 'attribute_exists(sk) AND contentHash = :hash AND #version = :version',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':digest': head.rawDigest, ':hash': head.contentHash, ':version': head.version },
            }),
          );
          updated++;
        } catch (error) {
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, heads.length) }, worker));
    return updated;
  }

  /** Drift items of a large snapshot with their journal entries, in transactions of whole (item, entry) pairs. */
  private async writeDriftsJournalled(tenant: string, driftOps: WriteOp[], journal: readonly JournalEntryInput[]): Promise<void> {
    const skOf = (op: WriteOp) => ('put' in op ? (op.put.sk as string) : op.del.sk);
    const perChunk = Math.floor(MAX_TRANSACTION_ITEMS / 2);
    for (let i = 0; i < Math.max(driftOps.length, journal.length > 0 ? 1 : 0); i += perChunk) {
      const chunk = driftOps.slice(i, i + perChunk);
      const keys = new Set(chunk.map((op) => skOf(op).slice(2)));
      const last = i + perChunk >= driftOps.length;
      // Entries follow their item; any entry not about a drift item of this commit goes with the last chunk.
      const entries = journal.filter((e) => keys.has(e.subject) || (last && !driftOps.some((op) => skOf(op).slice(2) === e.subject)));
      await this.journal.transact(tenant, entries, () => chunk.map((op) => this.action(op)));
    }
  }

  /**
   * For snapshots too big for one transaction: claim the sequence number, write versions, commit the record, then
   * heads. Readers ignore versions whose snapshotId is not the committed one, so a run that dies midway leaves
   * nothing that counts, and the next run takes over its stale claim.
   */
  private async commitInPhases(
    tenant: string,
    record: StoredSnapshot,
    snapshotItem: Item,
    versionOps: WriteOp[],
    headOps: WriteOp[],
    changeParts: Item[],
    beforeSynced: () => Promise<void>,
  ): Promise<{ itemsWritten: number }> {
    const pk = tenantPk(tenant);
    const sk = `S#${pad(record.seq)}`;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk, state: 'pending', snapshotId: record.snapshotId, claimedAt: this.now().toISOString() },
          ...claimCondition(this.now()),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
        throw new ConcurrentSnapshotError(`another snapshot of ${tenant} holds sequence number ${record.seq}`);
      }
      throw error;
    }
    await this.batchWrite([...versionOps, ...changeParts.map((put) => ({ put }))]);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...snapshotItem, large: true, headsSynced: false },
          ConditionExpression: '#state = :pending AND snapshotId = :mine',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':pending': 'pending', ':mine': record.snapshotId },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new ConcurrentSnapshotError(`the claim on ${tenant} #${record.seq} was taken over before this run committed`);
      }
      throw error;
    }
    await this.batchWrite(headOps);
    await beforeSynced();
    await this.markHeadsSynced(tenant, record.seq);
    // claim + commit + heads-synced are three writes of one item; count what DynamoDB bills.
    return { itemsWritten: 3 + versionOps.length + changeParts.length + headOps.length };
  }

  private action(op: WriteOp): TransactAction {
    return 'put' in op ? { Put: { TableName: this.tableName, Item: op.put } } : { Delete: { TableName: this.tableName, Key: op.del } };
  }

  private async rollForward(
    tenant: string,
    snapshot: StoredSnapshot,
    known: Map<ResourceKey, KnownResource>,
    write: boolean,
  ): Promise<Map<ResourceKey, KnownResource>> {
    const pk = tenantPk(tenant);
    const ops: WriteOp[] = [];
    const next = new Map(known);
    const versions = await this.batchGet(
      snapshot.changes.filter((c) => c.change !== 'removed').map((c) => ({ pk: resourcePk(tenant, c.key), sk: `V#${pad(c.version)}` })),
    );
    for (const v of versions) {
      const head = { pk, sk: `H#${v.key}`, key: v.key, kind: v.kind, id: v.id, name: v.name, contentHash: v.contentHash, version: v.seq };
      ops.push({ put: head });
      next.set(v.key as string, headToKnown(head));
    }
    for (const c of snapshot.changes.filter((c) => c.change === 'removed')) {
      ops.push({ del: { pk, sk: `H#${c.key}` } });
      next.delete(c.key);
    }
    // Written, but not marked synced: the snapshot flow first finishes that run's drift items (finishUnfinished).
    if (write) await this.batchWrite(ops);
    return next;
  }

  /** Records that the heads reflect this (large) snapshot, so no later run rolls it forward again. */
  async markHeadsSynced(tenant: string, seq: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: tenantPk(tenant), sk: `S#${pad(seq)}` },
        UpdateExpression: 'SET headsSynced = :t',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  }

  async markAlertsSent(tenant: string, drifts: readonly DriftRecord[]): Promise<void> {
    await Promise.all(
      drifts.map((d) =>
        this.db
          .send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk: tenantPk(tenant), sk: `D#${d.key}` },
              UpdateExpression: 'SET alert = :sent',
              // Only if the drift is still the one alerted on; a newer drift keeps its own pending alert.
              ConditionExpression: 'snapshotSeq = :seq AND detectedAt = :at',
              ExpressionAttributeValues: { ':sent': 'sent', ':seq': d.snapshotSeq, ':at': d.detectedAt },
            }),
          )
          .catch((error: Error) => {
            if (error.name !== 'ConditionalCheckFailedException') throw error;
          }),
      ),
    );
  }

  async putDrift(
    tenant: string,
    drift: DriftRecord,
    event: DriftEvent,
    options: Parameters<SnapshotStore['putDrift']>[3] = {},
  ): Promise<void> {
    const entry = driftEntry(event.type, drift, event.at, event.by, event.data);
    const expected = options.ifStillDetectedBy;
    const put = { TableName: this.tableName, Item: driftToItem(tenantPk(tenant), drift) };
    const conditions = ['snapshotSeq = :seq', 'detectedAt = :at'];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':seq': expected?.snapshotSeq, ':at': expected?.detectedAt };
    if (expected?.status !== undefined) {
      conditions.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = expected.status;
    }
    if (expected?.acceptedAt !== undefined) {
      names['#acceptance'] = 'acceptance';
      if (expected.acceptedAt === null) conditions.push('attribute_not_exists(#acceptance)');
      else {
        conditions.push('#acceptance.#acceptedAt = :acceptedAt');
        names['#acceptedAt'] = 'at';
        values[':acceptedAt'] = expected.acceptedAt;
      }
    }
    const since = options.ifNoDriftSince;
    try {
      await this.journal.transact(tenant, [entry], () => [
        {
          Put: expected
            ? {
                ...put,
                ConditionExpression: conditions.join(' AND '),
                ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
                ExpressionAttributeValues: values,
              }
            : since !== undefined
              ? {
                  ...put,
                  ConditionExpression: 'attribute_not_exists(sk) OR snapshotSeq < :since',
                  ExpressionAttributeValues: { ':since': since },
                }
              : put,
        },
      ]);
    } catch (error) {
      const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
      if ((expected || since !== undefined) && reasons?.[0]?.Code === 'ConditionalCheckFailed')
        throw new DriftChangedError(
          expected
            ? `the drift on ${drift.key} is no longer the one detected by snapshot #${expected.snapshotSeq}`
            : `the drift on ${drift.key} was already written by snapshot #${since} or a later one`,
        );
      throw error;
    }
  }

  async deleteDrift(tenant: string, key: ResourceKey, event: Omit<DriftEvent, 'type'> & { readonly reason: string }): Promise<void> {
    const entry = driftClosedEntry(key, event.at, event.by, event.reason, event.data);
    await this.journal.transact(tenant, [entry], () => [
      {
        Delete: { TableName: this.tableName, Key: { pk: tenantPk(tenant), sk: `D#${key}` }, ConditionExpression: 'attribute_exists(sk)' },
      },
    ]);
  }

  async listSnapshots(tenant: string, options: { from?: string; to?: string; limit?: number } = {}): Promise<StoredSnapshot[]> {
    const values: Record<string, unknown> = {
      ':pk': `${tenantPk(tenant)}#S`,
      ':from': options.from ?? '0000',
      ':to': options.to ?? '9999',
    };
    const items = await this.queryAll(
      {
        indexName: GSI1.name,
        keyCondition: `${GSI1.partitionKey} = :pk AND ${GSI1.sortKey} BETWEEN :from AND :to`,
        values,
      },
      options.limit,
    );
    // Anything written by hand under another S#… key is no record, wherever it shows up.
    const snapshots = await Promise.all(items.filter((i) => recordSeq(i) !== undefined).map((i) => this.itemToSnapshot(tenant, i)));
    return snapshots.sort((a, b) => a.seq - b.seq);
  }

  async getSnapshot(tenant: string, seq: number): Promise<StoredSnapshot | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: tenantPk(tenant), sk: `S#${pad(seq)}` } }));
    return Item && Item.state === 'committed' ? this.itemToSnapshot(tenant, Item) : undefined;
  }

  async snapshotChain(tenant: string): Promise<StoredSnapshot[]> {
    const items = await this.queryAll({ pk: tenantPk(tenant), prefix: 'S#' });
    const records = items.filter((i) => i.state === 'committed' && recordSeq(i) !== undefined);
    const snapshots = await Promise.all(records.map((i) => this.itemToSnapshot(tenant, i)));
    return snapshots.sort((a, b) => a.seq - b.seq);
  }

  async snapshotRecords(tenant: string, seqs: readonly number[]): Promise<Map<number, StoredSnapshot>> {
    // BatchGet, not GetItem: the snapshot function's grant reads T# items by BatchGetItem and Query only.
    const items = await this.batchGet([...new Set(seqs)].map((seq) => ({ pk: tenantPk(tenant), sk: `S#${pad(seq)}` })));
    const committed = items.filter((i) => i.state === 'committed');
    const snapshots = await Promise.all(committed.map((i) => this.itemToSnapshot(tenant, i)));
    return new Map(snapshots.map((s) => [s.seq, s]));
  }

  async listVersions(tenant: string, key: ResourceKey): Promise<StoredVersion[]> {
    const items = await this.queryAll(
      { pk: resourcePk(tenant, key), prefix: 'V#' },
      undefined,
      '#key, seq, snapshotId, #kind, id, #name, #change, contentHash, takenAt, modified',
    );
    const valid = await this.committedOnly(tenant, items);
    return valid.map(itemToVersion);
  }

  async getVersionContent(tenant: string, key: ResourceKey, version: number): Promise<JsonObject | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: resourcePk(tenant, key), sk: `V#${pad(version)}` } }),
    );
    if (!Item) return undefined;
    const [valid] = await this.committedOnly(tenant, [Item]);
    return valid ? ((await this.documentOf(tenant, valid)) ?? undefined) : undefined;
  }

  async versionsWithContent(tenant: string): Promise<Array<StoredVersion & { content: JsonObject | null }>> {
    const snapshots = await this.listSnapshots(tenant);
    const committedIds = new Map(snapshots.map((s) => [s.seq, s.snapshotId]));
    const keys = new Set(snapshots.flatMap((s) => s.changes.map((c) => c.key)));
    for (const head of await this.queryAll({ pk: tenantPk(tenant), prefix: 'H#' })) keys.add(head.key as string);
    const out: Array<StoredVersion & { content: JsonObject | null }> = [];
    for (const key of keys) {
      for (const item of await this.queryAll({ pk: resourcePk(tenant, key), prefix: 'V#' })) {
        // Only versions a committed snapshot wrote are history; a dead run's leftovers are not.
        if (committedIds.get(item.seq as number) !== item.snapshotId) continue;
        out.push({ ...itemToVersion(item), seq: item.seq as number, content: await this.documentOf(tenant, item) });
      }
    }
    return out;
  }

  async uncommittedVersions(tenant: string): Promise<Array<{ key: ResourceKey; seq: number; snapshotId: string; reason: string }>> {
    const pk = tenantPk(tenant);
    const [records, snapshots, heads, drifts] = await Promise.all([
      this.queryAll({ pk, prefix: 'S#' }),
      this.listSnapshots(tenant),
      this.queryAll({ pk, prefix: 'H#' }),
      this.queryAll({ pk, prefix: 'D#' }),
    ]);
    // By key, not by `seq`: a claim item (state pending) holds no seq attribute.
    const bySeq = new Map(records.flatMap((r) => (recordSeq(r) === undefined ? [] : [[recordSeq(r) as number, r] as const])));
    const keys = new Set([...snapshots.flatMap((s) => s.changes.map((c) => c.key)), ...[...heads, ...drifts].map((i) => i.key as string)]);
    const out: Array<{ key: ResourceKey; seq: number; snapshotId: string; reason: string }> = [];
    for (const key of [...keys].sort()) {
      const items = await this.queryAll(
        { pk: resourcePk(tenant, key), prefix: 'V#' },
        undefined,
        '#key, seq, snapshotId, #kind, id, #name, #change, contentHash, takenAt, modified',
      );
      for (const item of items) {
        const seq = item.seq as number;
        const record = bySeq.get(seq);
        const snapshotId = String(item.snapshotId);
        if (!record) out.push({ key, seq, snapshotId, reason: `version ${seq} of ${key} has no snapshot record #${seq}` });
        else if (
          record.state === 'committed' &&
          record.snapshotId !== item.snapshotId &&
          !((record.supersedes as string[] | undefined) ?? []).includes(snapshotId)
        )
          out.push({ key, seq, snapshotId, reason: `version ${seq} of ${key} was not written by the run that committed snapshot #${seq}` });
      }
    }
    return out.sort((a, b) => a.seq - b.seq || (a.key < b.key ? -1 : 1));
  }

  // ---- items ----

  private versionItems(
    tenant: string,
    record: StoredSnapshot,
    key: ResourceKey,
    ref: ResourceRef,
    content: JsonObject | null,
    contentHash: string | null,
    modified: string | undefined,
  ): WriteOp[] {
    const pk = resourcePk(tenant, key);
    const base: Item = {
      pk,
      sk: `V#${pad(record.seq)}`,
      key,
      seq: record.seq,
      snapshotId: record.snapshotId,
      kind: ref.kind,
      id: ref.id,
      name: ref.name,
      change: record.changes.find((c) => c.key === key)?.change,
      contentHash,
      takenAt: record.takenAt,
      modified,
    };
    if (content === null) return [{ put: base }];
    const gz = gzipSync(canonicalJson(content));
    if (gz.length <= PART_BYTES) return [{ put: { ...base, doc: gz } }];
    const parts: WriteOp[] = [];
    for (let i = 0, n = 0; i < gz.length; i += PART_BYTES, n++) {
      parts.push({
        put: { pk, sk: `VP#${pad(record.seq)}#${pad(n, 4)}`, snapshotId: record.snapshotId, part: gz.subarray(i, i + PART_BYTES) },
      });
    }
    return [{ put: { ...base, parts: parts.length } }, ...parts];
  }

  private snapshotItem(tenant: string, record: StoredSnapshot, inlineChanges: boolean): Item {
    const { changes, ...rest } = record;
    return {
      ...rest,
      pk: tenantPk(tenant),
      sk: `S#${pad(record.seq)}`,
      state: 'committed',
      gsi1pk: `${tenantPk(tenant)}#S`,
      gsi1sk: record.takenAt,
      changeCount: changes.length,
      ...(inlineChanges ? { changes: JSON.stringify(changes) } : {}),
    };
  }

  private async itemToSnapshot(tenant: string, item: Item): Promise<StoredSnapshot> {
    let changes: ChainedChange[];
    if (typeof item.changes === 'string') {
      changes = JSON.parse(item.changes) as ChainedChange[];
    } else {
      const parts = await this.queryAll({ pk: tenantPk(tenant), prefix: `SC#${pad(recordSeq(item) ?? (item.seq as number))}#` });
      // Only this record's own parts (parts written before they were named are taken as they are).
      const own = parts.filter((p) => p.snapshotId === undefined || p.snapshotId === item.snapshotId);
      changes = JSON.parse(own.map((p) => p.json as string).join('')) as ChainedChange[];
    }
    // The key's number is the record's place in the chain (the commit's claim is conditional on the key); an attribute
    // that says otherwise was written by hand, and verify names the record (`seqAttribute`).
    const keySeq = recordSeq(item);
    return {
      tenant: item.tenant as string,
      seq: keySeq ?? (item.seq as number),
      ...(keySeq === undefined || item.seq !== keySeq ? { seqAttribute: item.seq ?? null } : {}),
      snapshotId: item.snapshotId as string,
      takenAt: item.takenAt as string,
      prevHash: item.prevHash as string,
      manifestHash: item.manifestHash as string,
      resourceCount: item.resourceCount as number,
      changes,
      hash: item.hash as string,
      baseline: item.baseline === true,
      stats: item.stats as StoredSnapshot['stats'],
      ...(typeof item.fullCheckDay === 'string' ? { fullCheckDay: item.fullCheckDay } : {}),
      ...(typeof item.fullCheckTag === 'string' ? { fullCheckTag: item.fullCheckTag } : {}),
    };
  }

  private async documentOf(tenant: string, item: Item): Promise<JsonObject | null> {
    if (item.contentHash === null || item.contentHash === undefined) return null;
    let gz: Uint8Array;
    if (item.doc instanceof Uint8Array) {
      gz = item.doc;
    } else {
      const parts = await this.queryAll({ pk: resourcePk(tenant, item.key as string), prefix: `VP#${pad(item.seq as number)}#` });
      const mine = parts.filter((p) => p.snapshotId === item.snapshotId);
      if (mine.length !== item.parts) throw new Error(`version ${item.seq} of ${item.key} has ${mine.length} of ${item.parts} parts`);
      gz = Buffer.concat(mine.map((p) => p.part as Uint8Array));
    }
    return JSON.parse(gunzipSync(gz).toString('utf8')) as JsonObject;
  }

  async chainTip(tenant: string): Promise<ChainTip | undefined> {
    // Not the change list: this read is on the critical path of every snapshot.
    const item = await this.latestRecordItem(tenant, {
      ProjectionExpression:
        'sk, #state, seq, #hash, takenAt, manifestHash, resourceCount, #large, headsSynced, listingSeal, fullCheckDay, pageHints',
      ExpressionAttributeNames: { '#state': 'state', '#hash': 'hash', '#large': 'large' },
    });
    if (!item) return undefined;
    const seq = recordSeq(item) as number;
    // A seal vouches only for a record whose fields are what the run that sealed it wrote: any attribute of another
    // type (a seq stored as a string reads the same in the seal, and '1' + 1 is '11') takes the full path.
    const wellFormed =
      item.seq === seq &&
      typeof item.hash === 'string' &&
      typeof item.takenAt === 'string' &&
      typeof item.manifestHash === 'string' &&
      typeof item.resourceCount === 'number' &&
      typeof item.fullCheckDay === 'string' &&
      typeof item.listingSeal === 'string';
    return {
      seq,
      hash: String(item.hash),
      takenAt: String(item.takenAt),
      manifestHash: String(item.manifestHash),
      resourceCount: Number(item.resourceCount),
      finished: !(item.large === true && item.headsSynced !== true),
      ...(wellFormed ? { listingSeal: item.listingSeal as string, fullCheckDay: item.fullCheckDay as string } : {}),
      ...(Array.isArray(item.pageHints) && item.pageHints.every((h) => typeof h === 'string')
        ? { pageHints: item.pageHints as string[] }
        : {}),
    };
  }

  async loadDrifts(tenant: string): Promise<DriftRecord[]> {
    const items = await this.queryAll({ pk: tenantPk(tenant), prefix: 'D#' });
    return items.map((i) => itemToDrift<DriftRecord>(i));
  }

  private async latestCommitted(tenant: string): Promise<{ snapshot: StoredSnapshot; item: Item } | undefined> {
    const item = await this.latestRecordItem(tenant);
    return item ? { snapshot: await this.itemToSnapshot(tenant, item), item } : undefined;
  }

  /**
   * The committed record with the highest number, newest first, three keys a page (the one pending claim above it is
   * skipped); pages on past anything else written under a record key by hand, so it cannot pass for "no snapshot yet".
   */
  private async latestRecordItem(
    tenant: string,
    projection: Pick<QueryCommandInput, 'ProjectionExpression' | 'ExpressionAttributeNames'> = {},
  ): Promise<Item | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
          ExpressionAttributeValues: { ':pk': tenantPk(tenant), ...RECORD_KEYS },
          ...projection,
          ScanIndexForward: false,
          Limit: 3,
          ExclusiveStartKey: startKey,
        }),
      );
      const item = (page.Items ?? []).find((i) => i.state === 'committed' && recordSeq(i) !== undefined);
      if (item) return item;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  /** Drops versions written by a run that never committed (its snapshotId is not the committed one for that seq). */
  private async committedOnly(tenant: string, items: Item[]): Promise<Item[]> {
    const seqs = [...new Set(items.map((i) => i.seq as number))];
    const records = await this.batchGet(seqs.map((seq) => ({ pk: tenantPk(tenant), sk: `S#${pad(seq)}` })));
    const committed = new Map(records.filter((r) => r.state === 'committed').map((r) => [recordSeq(r) as number, r]));
    // A version counts only if its snapshot's (hash-chained) change list names it: a copied snapshotId is not enough.
    const listed = new Map<number, Set<string>>();
    for (const record of committed.values()) {
      const snapshot = await this.itemToSnapshot(tenant, record);
      listed.set(snapshot.seq, new Set(snapshot.changes.map((c) => `${c.key}#${c.version}`)));
    }
    return items
      .filter((i) => {
        const record = committed.get(i.seq as number);
        return record?.snapshotId === i.snapshotId && listed.get(i.seq as number)?.has(`${i.key}#${i.seq}`) === true;
      })
      .sort((a, b) => (a.seq as number) - (b.seq as number));
  }

  // ---- DynamoDB plumbing ----

  private async transact(ops: WriteOp[], snapshotId: string, tenant: string, journal: readonly JournalEntryInput[]): Promise<void> {
    const [first, ...rest] = ops;
    if (!first || !('put' in first)) throw new Error('a snapshot transaction starts with its snapshot record');
    const actions = (): TransactAction[] => [
      { Put: { TableName: this.tableName, Item: first.put, ...claimCondition(this.now()) } },
      ...rest.map((op) => this.action(op)),
    ];
    // A retry after another journal writer moved the head sends different entries: it needs its own token.
    const token = (attempt: number) => `${snapshotId.slice(0, 33)}-${String(attempt).padStart(2, '0')}`;
    try {
      await this.journal.transact(tenant, journal, actions, token);
    } catch (error) {
      const reasons =
        error instanceof TransactionCanceledException || (error as Error).name === 'TransactionCanceledException'
          ? (error as TransactionCanceledException).CancellationReasons
          : undefined;
      if (reasons?.[0]?.Code === 'ConditionalCheckFailed') {
        throw new ConcurrentSnapshotError(
          `another snapshot of this tenant committed sequence number ${(first.put.seq as number) ?? '?'} first`,
        );
      }
      throw error;
    }
  }

  private async batchWrite(ops: WriteOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += 25) {
      let requests = ops
        .slice(i, i + 25)
        .map((op) => ('put' in op ? { PutRequest: { Item: op.put } } : { DeleteRequest: { Key: op.del } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB kept ${requests.length} writes unprocessed`);
        const { UnprocessedItems } = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  private async batchGet(keys: Array<{ pk: string; sk: string }>): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Array<Record<string, unknown>> = keys.slice(i, i + 100);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB kept ${pending.length} reads unprocessed`);
        const { Responses, UnprocessedKeys } = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending } } }),
        );
        out.push(...(Responses?.[this.tableName] ?? []));
        pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    return out;
  }

  private async queryAll(
    query: { pk: string; prefix: string } | { indexName: string; keyCondition: string; values: Record<string, unknown> },
    limit?: number,
    projection?: string,
  ): Promise<Item[]> {
    const input: QueryCommandInput =
      'pk' in query
        ? {
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': query.pk, ':prefix': query.prefix },
          }
        : {
            TableName: this.tableName,
            IndexName: query.indexName,
            KeyConditionExpression: query.keyCondition,
            ExpressionAttributeValues: query.values,
          };
    if (projection) {
      input.ProjectionExpression = projection;
      input.ExpressionAttributeNames = { '#key': 'key', '#kind': 'kind', '#name': 'name', '#change': 'change' };
    }
    const out: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      out.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && (limit === undefined || out.length < limit));
    return limit === undefined ? out : out.slice(0, limit);
  }
}

function claimCondition(now: Date) {
  return {
    ConditionExpression: 'attribute_not_exists(sk) OR (#state = :pending AND claimedAt < :stale)',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':pending': 'pending', ':stale': new Date(now.getTime() - STALE_CLAIM_MS).toISOString() },
  };
}

/**
 * A change list too large for the record, in parts named by the run that wrote them: a run that died after writing
 * its parts leaves them behind, and the run that takes its claim over may write fewer.
 */
function splitChanges(pk: string, seq: number, snapshotId: string, json: string): Item[] {
  const parts: Item[] = [];
  for (let i = 0, n = 0; i < json.length; i += INLINE_CHANGES_BYTES, n++) {
    parts.push({ pk, sk: `SC#${pad(seq)}#${pad(n, 4)}`, snapshotId, json: json.slice(i, i + INLINE_CHANGES_BYTES) });
  }
  return parts;
}

function approximateSize(ops: WriteOp[]): number {
  let bytes = 0;
  for (const op of ops) {
    const item = 'put' in op ? op.put : op.del;
    for (const [k, v] of Object.entries(item)) bytes += k.length + (v instanceof Uint8Array ? v.length : JSON.stringify(v ?? null).length);
  }
  return bytes;
}

function refOf(r: { kind: ResourceRef['kind']; id: string; name: string }): ResourceRef {
  return { kind: r.kind, id: r.id, name: r.name };
}

function headToKnown(h: Item): KnownResource {
  return {
    key: h.key as string,
    ref: { kind: h.kind as ResourceRef['kind'], id: h.id as string, name: h.name as string },
    contentHash: h.contentHash as string,
    version: h.version as number,
    ...(typeof h.rawDigest === 'string' ? { rawDigest: h.rawDigest } : {}),
  };
}

function itemToVersion(i: Item): StoredVersion {
  return {
    key: i.key as string,
    ref: { kind: i.kind as ResourceRef['kind'], id: i.id as string, name: i.name as string },
    version: i.seq as number,
    change: i.change as StoredVersion['change'],
    contentHash: (i.contentHash as string | null) ?? null,
    takenAt: i.takenAt as string,
    modified: i.modified as string | undefined,
  };
}

function driftToItem(pk: string, d: DriftRecord): Item {
  return { pk, sk: `D#${d.key}`, ...d, patch: JSON.stringify(d.patch) };
}

/**
 * A record's sequence number as its sort key says (`S#0000000042`): the key is what the commit's claim is conditional
 * on, while the `seq` attribute is a plain value a table writer may have retyped (verify re-hashes the record with the
 * attribute, so a retyped one is reported there).
 */
function recordSeq(item: Item): number | undefined {
  const digits = /^S#(\d{10})$/.exec(String(item.sk))?.[1];
  const seq = digits === undefined ? Number.NaN : Number(digits);
  return seq >= 1 ? seq : undefined;
}
