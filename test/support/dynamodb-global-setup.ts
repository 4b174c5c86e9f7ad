import { startDynamoDbLocal } from '../../local/dynamodb-local';

// One DynamoDB Local per jest project run; each test file makes its own table, so files never share state.
export default async function globalSetup(): Promise<void> {
  const ddb = await startDynamoDbLocal();
  process.env.SDIM_GUARD_TEST_DYNAMODB = ddb.endpoint;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  (globalThis as { __sdimGuardDynamo?: typeof ddb }).__sdimGuardDynamo = ddb;
}
