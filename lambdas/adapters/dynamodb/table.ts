import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * One table for everything a tenant's history needs. Keys (see docs/data-model.md):
 *   TENANT            / T#<name>                 tenant directory (URL, API version; never credentials)
 *   T#<tenant>        / S#<seq>                  snapshot record: the hash-chain link, claim and commit point
 *   T#<tenant>        / SC#<seq>#<n>             change list of a large snapshot, in parts
 *   T#<tenant>        / H#<resource key>         head: the latest version of each live resource
 *   T#<tenant>        / D#<resource key>         open or accepted drift, with its alert outbox state
 *   L#<tenant>        / A#<resource key>#<req>   ledger: an applied change request's result (expires); a partition of
 *                                                its own so only the apply function's role can write it
 *   T#<tenant>        / J#<seq>                  journal entry: append-only, hash-chained (drift, request, ledger changes)
 *   CR#<request id>   / CR                       a change request (gsi1: CR / createdAt#id)
 *   R#<tenant>#<key>  / V#<seq>                  a resource version: gzip'd canonical document
 *   R#<tenant>#<key>  / VP#<seq>#<n>             parts of a document too large for one item
 * GSI1 finds snapshots (and so changes) of a tenant in a time range (T#<tenant>#S / takenAt), and change requests
 * in creation order (CR / createdAt#id).
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
export const GSI1 = { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' } as const;
export const TTL_ATTRIBUTE = 'expiresAt';

export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
      { AttributeName: GSI1.partitionKey, AttributeType: 'S' },
      { AttributeName: GSI1.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: GSI1.name,
        KeySchema: [
          { AttributeName: GSI1.partitionKey, KeyType: 'HASH' },
          { AttributeName: GSI1.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/**
 * The partition-key families above as IAM `StringLike` patterns: lib/store.ts grants each function only the families
 * its code touches (`dynamodb:LeadingKeys`), and test/integration/table-access.test.ts records every key the handlers
 * really use and checks it against the synthesized policies. Tenant names never contain `#`.
 */
export const KEY_FAMILIES = {
  /** The local CLI's tenant directory (`TENANT`); Lambda functions read tenants from their bundled file instead. */
  tenantDirectory: 'TENANT',
  /** Everything of one tenant but its ledger: snapshots, heads, drift, journal (`T#<tenant>`). */
  tenant: 'T#*',
  /**
   * The applied-change ledger (`L#<tenant>`): what makes a change "expected". Apart from `T#` because IAM cannot limit
   * sort keys: a role that writes drift or journal entries must not be able to write ledger entries too.
   */
  ledger: 'L#*',
  /** Change requests (`CR#<id>`). */
  request: 'CR#*',
  /** Resource versions and their parts (`R#<tenant>#<key>`). */
  resource: 'R#*',
} as const;

/** gsi1 partition values as IAM `StringLike` patterns: snapshots of a tenant, and change requests. */
export const GSI1_FAMILIES = { snapshots: 'T#*#S', requests: 'CR' } as const;

export const pad = (n: number, width = 10) => String(n).padStart(width, '0');
export const tenantPk = (tenant: string) => `T#${tenant}`;
export const ledgerPk = (tenant: string) => `L#${tenant}`;
export const resourcePk = (tenant: string, key: string) => `R#${tenant}#${key}`;
