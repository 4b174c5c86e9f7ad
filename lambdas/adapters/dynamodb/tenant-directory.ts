import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { IscApiVersion } from '../../isc/client';
import type { TenantConfig, WritableTenantDirectory } from '../../ports/tenants';

/** Tenants remembered by the local CLI: URL and API version only, never credentials. */
export class DynamoTenantDirectory implements WritableTenantDirectory {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(name: string): Promise<TenantConfig | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: 'TENANT', sk: `T#${name}` } }));
    return Item ? toConfig(Item) : undefined;
  }

  async list(): Promise<TenantConfig[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'TENANT' } }),
    );
    return Items.map(toConfig);
  }

  async put(tenant: TenantConfig): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: 'TENANT',
          sk: `T#${tenant.name}`,
          name: tenant.name,
          url: tenant.url,
          apiVersion: tenant.apiVersion,
          ...(tenant.repointedFrom && tenant.repointedAt ? { repointedFrom: tenant.repointedFrom, repointedAt: tenant.repointedAt } : {}),
        },
      }),
    );
  }
}

function toConfig(item: Record<string, unknown>): TenantConfig {
  return {
    name: item.name as string,
    url: item.url as string,
    apiVersion: item.apiVersion as IscApiVersion,
    ...(typeof item.repointedFrom === 'string' && typeof item.repointedAt === 'string'
      ? { repointedFrom: item.repointedFrom, repointedAt: item.repointedAt }
      : {}),
  };
}
