import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ChangeRequest, RequestStatus } from '../../domain/change-request';
import type { AppliedChange } from '../../domain/classify';
import type { ChangeRequestStore } from '../../ports/change-requests';
import { GSI1, TTL_ATTRIBUTE, tenantPk } from './table';

/** How long the snapshot flow can still match a change to the request that made it. */
const LEDGER_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Change requests as one item each (`CR#<id>` / `CR`), every write conditional on the revision read, so two
 * approvers or two deliveries can never both move a request. Listed through gsi1 (`CR`, createdAt#id).
 */
export class DynamoChangeRequestStore implements ChangeRequestStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(request: ChangeRequest): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: this.item(request), ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  }

  async get(id: string): Promise<ChangeRequest | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `CR#${id}`, sk: 'CR' }, ConsistentRead: true }),
    );
    return Item ? (JSON.parse(Item.data as string) as ChangeRequest) : undefined;
  }

  async save(next: ChangeRequest): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.item(next), ...this.revisionCondition(next) }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async saveApplied(next: ChangeRequest, applied: AppliedChange): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: this.item(next), ...this.revisionCondition(next) } },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  pk: tenantPk(next.tenant),
                  sk: `A#${applied.key}#${applied.requestId}`,
                  ...applied,
                  [TTL_ATTRIBUTE]: Math.floor(Date.parse(applied.appliedAt) / 1000) + LEDGER_TTL_SECONDS,
                },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
      if ((error as Error).name === 'TransactionCanceledException' && reasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      throw error;
    }
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
