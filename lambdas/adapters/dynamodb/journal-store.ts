import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ChangeRequest } from '../../domain/change-request';
import type { AppliedChange } from '../../domain/classify';
import {
  chainEntries,
  driftDigest,
  EMPTY_JOURNAL,
  type JournalEntry,
  type JournalEntryInput,
  type JournalHead,
  ledgerDigest,
  ledgerRecordId,
  recordDigest,
  type StoredRecord,
} from '../../domain/journal';
import { type Journal, JournalContentionError } from '../../ports/journal';
import { GSI1, ledgerPk, pad, tenantPk } from './table';

type Item = Record<string, unknown>;
/** One action of a TransactWriteItems call, as the document client takes it. */
export type TransactAction = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** DynamoDB's limit of actions in one transaction. */
export const MAX_TRANSACTION_ACTIONS = 100;
const MAX_ATTEMPTS = 12;

export const journalSk = (seq: number) => `J#${pad(seq)}`;

/**
 * The journal as items `T#<tenant>` / `J#<seq:10>`, each written with `attribute_not_exists`, so two writers can
 * never both take a sequence number and an entry can never be overwritten through this adapter.
 */
export class DynamoJournal implements Journal {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async head(tenant: string): Promise<JournalHead> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :j)',
        ExpressionAttributeValues: { ':pk': tenantPk(tenant), ':j': 'J#' },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const last = Items[0];
    return last ? { seq: last.seq as number, hash: last.hash as string } : EMPTY_JOURNAL;
  }

  async list(tenant: string, options: { afterSeq?: number } = {}): Promise<JournalEntry[]> {
    const items = await this.query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': tenantPk(tenant), ':from': journalSk((options.afterSeq ?? 0) + 1), ':to': 'J#9' },
      ConsistentRead: true,
    });
    return items.map(itemToEntry);
  }

  append(tenant: string, entries: readonly JournalEntryInput[]): Promise<JournalEntry[]> {
    return this.transact(tenant, entries, () => []);
  }

  /**
   * Writes `actions()` and the entries chained after the current head in ONE transaction, so an item change and its
   * journal entry exist together or not at all. When another writer took the next sequence number first, re-reads
   * the head and tries again (actions are rebuilt per attempt). A failure of one of the caller's own actions is
   * rethrown as DynamoDB reported it (CancellationReasons in the caller's order first).
   */
  async transact(
    tenant: string,
    inputs: readonly JournalEntryInput[],
    actions: (attempt: number) => TransactAction[],
    token?: (attempt: number) => string,
  ): Promise<JournalEntry[]> {
    if (inputs.length === 0) {
      const own = actions(0);
      if (own.length > 0)
        await this.db.send(new TransactWriteCommand({ TransactItems: own, ...(token ? { ClientRequestToken: token(0) } : {}) }));
      return [];
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const own = actions(attempt);
      if (own.length + inputs.length > MAX_TRANSACTION_ACTIONS)
        throw new Error(`${own.length} writes and ${inputs.length} journal entries do not fit one transaction`);
      const entries = chainEntries(tenant, await this.head(tenant), inputs);
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              ...own,
              ...entries.map((entry) => ({
                Put: { TableName: this.tableName, Item: entryToItem(entry), ConditionExpression: 'attribute_not_exists(sk)' },
              })),
            ],
            ...(token ? { ClientRequestToken: token(attempt) } : {}),
          }),
        );
        return entries;
      } catch (error) {
        const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
        const ownFailed = reasons.slice(0, own.length).some((r) => r.Code && r.Code !== 'None');
        const journalRace = reasons.slice(own.length).some((r) => r.Code === 'ConditionalCheckFailed');
        const conflict = (error as Error).name === 'TransactionCanceledException' && journalRace && !ownFailed;
        if (!conflict) throw error;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
      }
    }
    throw new JournalContentionError(`the journal of ${tenant} kept moving; gave up after ${MAX_ATTEMPTS} attempts`);
  }

  async storedRecords(tenant: string): Promise<StoredRecord[]> {
    const pk = tenantPk(tenant);
    const [drifts, ledger, requests] = await Promise.all([
      this.query({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': pk, ':p': 'D#' },
        ConsistentRead: true,
      }),
      this.query({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': ledgerPk(tenant), ':p': 'A#' },
        ConsistentRead: true,
      }),
      this.query({
        TableName: this.tableName,
        IndexName: GSI1.name,
        KeyConditionExpression: `${GSI1.partitionKey} = :cr`,
        ExpressionAttributeValues: { ':cr': 'CR' },
      }),
    ]);
    return [
      ...drifts.map((i) => ({ kind: 'drift' as const, id: i.key as string, digest: driftDigest(itemToDrift(i)) })),
      ...ledger.map((i) => {
        const applied = itemToApplied(i);
        return { kind: 'ledger' as const, id: ledgerRecordId(applied), digest: ledgerDigest(applied) };
      }),
      ...requests
        .filter((i) => i.tenant === tenant)
        .map((i) => {
          const request = JSON.parse(i.data as string) as ChangeRequest;
          // The plain attributes are what the list filters on: they must agree with the journalled record too.
          const agrees = request.tenant === i.tenant && request.status === i.status && request.revision === i.revision;
          return { kind: 'request' as const, id: request.id, digest: agrees ? recordDigest(request) : 'disagrees-with-its-attributes' };
        }),
    ];
  }

  private async query(input: QueryCommandInput): Promise<Item[]> {
    const out: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      out.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }
}

function entryToItem(entry: JournalEntry): Item {
  return {
    pk: tenantPk(entry.tenant),
    sk: journalSk(entry.seq),
    tenant: entry.tenant,
    seq: entry.seq,
    type: entry.type,
    subject: entry.subject,
    at: entry.at,
    ...(entry.by !== undefined ? { by: entry.by } : {}),
    // JSON text, so what was hashed is read back byte for byte (no number or empty-value conversions).
    data: JSON.stringify(entry.data),
    ...(entry.record ? { record: JSON.stringify(entry.record) } : {}),
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}

function itemToEntry(item: Item): JournalEntry {
  return {
    tenant: item.tenant as string,
    seq: item.seq as number,
    type: item.type as JournalEntry['type'],
    subject: item.subject as string,
    at: item.at as string,
    ...(item.by !== undefined ? { by: item.by as string } : {}),
    data: JSON.parse(item.data as string),
    ...(item.record !== undefined ? { record: JSON.parse(item.record as string) } : {}),
    prevHash: item.prevHash as string,
    hash: item.hash as string,
  };
}

/** A drift item as stored (`driftToItem` in the snapshot store) back to the record. */
/** A ledger item as the applied change it records (older items have no baseHash). */
export function itemToApplied(i: Item): AppliedChange {
  return {
    requestId: i.requestId as string,
    key: i.key as string,
    ...(i.baseHash !== undefined ? { baseHash: (i.baseHash as string | null) ?? null } : {}),
    resultHash: (i.resultHash as string | null) ?? null,
    appliedAt: i.appliedAt as string,
  };
}

export function itemToDrift<T>(i: Item): T {
  const { pk: _pk, sk: _sk, patch, ...rest } = i;
  return { ...(rest as object), patch: JSON.parse(patch as string) } as T;
}
