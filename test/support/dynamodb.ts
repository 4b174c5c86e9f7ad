import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/clients';
import { ensureTable } from '../../local/dynamodb-local';

export function dynamoEndpoint(): string {
  const endpoint = process.env.SDIM_GUARD_TEST_DYNAMODB;
  if (!endpoint) throw new Error('DynamoDB Local is not running: this test belongs to the integration or e2e project');
  return endpoint;
}

/** A fresh table on the shared DynamoDB Local, named uniquely so test files never see each other's data. */
export async function freshTable(): Promise<{ tableName: string; db: ReturnType<typeof createDocumentClient>; drop: () => Promise<void> }> {
  const endpoint = dynamoEndpoint();
  const tableName = `sdim-guard-test-${randomUUID()}`;
  await ensureTable(endpoint, tableName);
  const db = createDocumentClient({ endpoint });
  return {
    tableName,
    db,
    drop: async () => {
      const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      await raw.send(new DeleteTableCommand({ TableName: tableName }));
      raw.destroy();
      db.destroy();
    },
  };
}
