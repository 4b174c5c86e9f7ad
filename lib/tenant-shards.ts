import { createHash } from 'node:crypto';
import { NestedStack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Fixed, so a tenant's shard never changes when others are added or removed. */
export const TENANT_SHARD_COUNT = 16;

/**
 * Where per-tenant resources live (its schedule, its stale-snapshot alarm, the secret the stack creates for it): one
 * of 16 nested stacks, chosen by a hash of the tenant name. CloudFormation allows 500 resources per stack (CDK
 * refuses to synthesize more) and a tenant needs up to three, so one flat stack stops at about 150 tenants; 16
 * shards hold over 1,000. The hash (not the position in the list) keeps a tenant in the same shard when others are
 * added or removed, so its resources are never moved, which would replace them (and, for a secret with a fixed
 * name, fail on the name). Shards are created only when a tenant falls into them.
 */
export class TenantShards extends Construct {
  private readonly shards = new Map<number, NestedStack>();

  /** The nested stack that holds this tenant's resources. */
  scopeFor(tenant: string): Construct {
    const index = shardIndex(tenant);
    let shard = this.shards.get(index);
    if (!shard) {
      shard = new NestedStack(this, `Shard${index}`, { description: `sdim-guard per-tenant resources, shard ${index}` });
      this.shards.set(index, shard);
    }
    return shard;
  }

  /** The shards in use, in index order. */
  get stacks(): NestedStack[] {
    return [...this.shards.entries()].sort(([a], [b]) => a - b).map(([, stack]) => stack);
  }
}

export function shardIndex(tenant: string): number {
  return createHash('sha256').update(tenant).digest().readUInt32BE(0) % TENANT_SHARD_COUNT;
}
