import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { GSI1, TABLE_KEYS, TTL_ATTRIBUTE } from '../lambdas/adapters/dynamodb/table';
import { acknowledge } from './nag';

export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/**
 * One statement of a function's table access: these actions, on items whose partition key matches one of
 * `partitionKeys` (IAM `StringLike` on `dynamodb:LeadingKeys`, e.g. KEY_FAMILIES.request). A transaction needs the
 * action of each of its parts (a Put in TransactWriteItems is checked as PutItem).
 */
export interface TableGrant {
  readonly actions: readonly TableAction[];
  /** Partition-key patterns; for `index: true`, gsi1 partition values (GSI1_FAMILIES). */
  readonly partitionKeys: readonly string[];
  /** A Query on gsi1 instead of the table. @default false */
  readonly index?: boolean;
}

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

  /**
   * Sets TABLE_NAME and grants exactly the DynamoDB access the handler performs: each grant its own statement, limited
   * by `ForAllValues:StringLike` on `dynamodb:LeadingKeys` to the partition-key families it touches (and the key to
   * use them). Index grants name gsi1 itself and list gsi1 partition values: a Query on an index carries no table
   * partition key, only the index's (the DynamoDB Developer Guide, "Using IAM policy conditions for fine-grained access
   * control", example 5, puts one LeadingKeys condition on a table and its index), and no table statement allows the
   * index ARN, so the index statement alone decides and allows only the gsi1pk values queried. Scan is never granted: it
   * carries no partition key, and `ForAllValues` over no value is true.
   */
  bindTable(fn: LambdaFunction, grants: readonly TableGrant[]): void {
    if (grants.length === 0) throw new Error(`${fn.node.path}: bindTable needs at least one grant`);
    for (const grant of grants) {
      if (grant.actions.length === 0 || grant.partitionKeys.length === 0)
        throw new Error(`${fn.node.path}: a table grant needs actions and partition keys`);
      if (grant.index && grant.actions.some((a) => a !== 'Query'))
        throw new Error(`${fn.node.path}: an index grant can only Query (not ${grant.actions.join(', ')})`);
      if (grant.partitionKeys.some((k) => !k || /^\*+$/.test(k)))
        throw new Error(`${fn.node.path}: '${grant.partitionKeys.join("', '")}' would not limit the partition keys`);
    }
    fn.addEnvironment('TABLE_NAME', this.table.tableName);
    for (const grant of grants) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: grant.actions.map((a) => `dynamodb:${a}`),
          resources: [grant.index ? `${this.table.tableArn}/index/${GSI1.name}` : this.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.partitionKeys] } },
        }),
      );
    }
    this.key.grantEncryptDecrypt(fn);
    acknowledge(fn, {
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
        "Granted on this stack's own customer-managed keys only (encrypt/decrypt of table, secrets, queue).",
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]':
        "Granted on this stack's own customer-managed keys only (encrypt/decrypt of table, secrets, queue).",
    });
  }
}
