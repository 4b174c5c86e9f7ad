import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { GSI1, TABLE_KEYS, TTL_ATTRIBUTE } from '../lambdas/adapters/dynamodb/table';
import { acknowledge, arnToken } from './nag';

export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

export interface GuardStoreProps {
  /** @default RemovalPolicy.RETAIN — the history is audit evidence */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The history table: the key schema of lambdas/adapters/dynamodb/table.ts, encrypted with a customer-managed key,
 * point-in-time recovery, deletion protection and TTL. Stateful: it lives in its own stack.
 */
export class GuardStore extends Construct {
  readonly table: Table;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: GuardStoreProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'sdim-guard history table',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Table (not TableV2): TableV2 cannot render a customer-managed key in an environment-agnostic stack.
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: GSI1.name,
      partitionKey: { name: GSI1.partitionKey, type: AttributeType.STRING },
      sortKey: { name: GSI1.sortKey, type: AttributeType.STRING },
    });
  }

  /** Sets TABLE_NAME and grants exactly the DynamoDB actions the handler performs (and the key to use them). */
  bindTable(fn: LambdaFunction, actions: readonly TableAction[]): void {
    fn.addEnvironment('TABLE_NAME', this.table.tableName);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: actions.map((a) => `dynamodb:${a}`),
        resources: [this.table.tableArn, `${this.table.tableArn}/index/*`],
      }),
    );
    this.key.grantEncryptDecrypt(fn);
    acknowledge(fn, {
      [`AwsSolutions-IAM5[Resource::${arnToken(this.table)}/index/*]`]: 'Only the indexes of this table (gsi1), for the same actions.',
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
        "Granted on this stack's own customer-managed keys only (encrypt/decrypt of table, secrets, queue).",
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]':
        "Granted on this stack's own customer-managed keys only (encrypt/decrypt of table, secrets, queue).",
    });
  }
}
