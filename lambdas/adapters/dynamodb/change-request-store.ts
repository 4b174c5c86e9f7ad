import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ChangeRequest, RequestStatus } from '../../domain/change-request';
import type { AppliedChange } from '../../domain/classify';
import { ledgerEntry, requestEntry } from '../../domain/journal';
import type { ChangeRequestStore } from '../../ports/change-requests';
import { DynamoJournal } from './journal-store';
import { GSI1, ledgerPk, TTL_ATTRIBUTE } from './table';

/** How long the snapshot flow can still match a change to the request that made it. */
const LEDGER_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Change requests as one item each (`CR#<id>` / `CR`), every write conditional on the revision read, so two
 * approvers or two deliveries can never both move a request. Listed through gsi1 (`CR`, createdAt#id).
 */
export class DynamoChangeRequestStore implements ChangeRequestStore {
  /** Every write of a request (and of its ledger entry) is journalled in the same transaction. */
  private readonly journal: DynamoJournal;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.journal = new DynamoJournal(db, tableName);
  }

  async create(request: ChangeRequest): Promise<void> {
    try {
      await this.journal.transact(request.tenant, [requestEntry(request, request.createdAt)], () => [
        { Put: { TableName: this.tableName, Item: this.item(request), ConditionExpression: 'attribute_not_exists(pk)' } },
      ]);
    } catch (error) {
      // Callers (and the tests of the id collision) know DynamoDB's plain conditional failure.
      if (firstReasonFailed(error))
        throw Object.assign(new Error(`change request ${request.id} exists`), { name: 'ConditionalCheckFailedException' });
      throw error;
    }
  }

  async get(id: string): Promise<ChangeRequest | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `CR#${id}`, sk: 'CR' }, ConsistentRead: true }),
    );
    return Item ? (JSON.parse(Item.data as string) as ChangeRequest) : undefined;
  }

  async save(next: ChangeRequest): Promise<boolean> {
    try {
      await this.journal.transact(next.tenant, [requestEntry(next, this.lastChangeAt(next))], () => [
        { Put: { TableName: this.tableName, Item: this.item(next), ...this.revisionCondition(next) } },
      ]);
      return true;
    } catch (error) {
      if (firstReasonFailed(error)) return false;
      throw error;
    }
  }

  async saveApplied(next: ChangeRequest, applied: AppliedChange): Promise<boolean> {
    const expiresAt = Math.floor(Date.parse(applied.appliedAt) / 1000) + LEDGER_TTL_SECONDS;
    try {
      await this.journal.transact(next.tenant, [requestEntry(next, this.lastChangeAt(next)), ledgerEntry(applied, expiresAt)], () => [
        { Put: { TableName: this.tableName, Item: this.item(next), ...this.revisionCondition(next) } },
        {
          Put: {
            TableName: this.tableName,
            Item: { pk: ledgerPk(next.tenant), sk: `A#${applied.key}#${applied.requestId}`, ...applied, [TTL_ATTRIBUTE]: expiresAt },
          },
        },
      ]);
      return true;
    } catch (error) {
      if (firstReasonFailed(error)) return false;
      throw error;
    }
  }

  private lastChangeAt(request: ChangeRequest): string {
    return request.history.at(-1)?.at ?? request.createdAt;
  }

  async list(filter: { tenant?: string; status?: RequestStatus } = {}): Promise<ChangeRequest[]> {
    const out: ChangeRequest[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: GSI1.name,
          KeyConditionExpression: `${GSI1.partitionKey} = :cr`,
          ExpressionAttributeValues: { ':cr': 'CR' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const request = JSON.parse(item.data as string) as ChangeRequest;
        if ((!filter.tenant || request.tenant === filter.tenant) && (!filter.status || request.status === filter.status)) out.push(request);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }

  private item(request: ChangeRequest) {
    return {
      pk: `CR#${request.id}`,
      sk: 'CR',
      [GSI1.partitionKey]: 'CR',
      [GSI1.sortKey]: `${request.createdAt}#${request.id}`,
      tenant: request.tenant,
      status: request.status,
      revision: request.revision,
      data: JSON.stringify(request),
    };
  }

  private revisionCondition(next: ChangeRequest) {
    return { ConditionExpression: 'revision = :previous', ExpressionAttributeValues: { ':previous': next.revision - 1 } };
  }
}

/** The first action of a cancelled transaction (the request's own conditional write) failed its condition. */
function firstReasonFailed(error: unknown): boolean {
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
  return (error as Error).name === 'TransactionCanceledException' && reasons?.[0]?.Code === 'ConditionalCheckFailed';
}
