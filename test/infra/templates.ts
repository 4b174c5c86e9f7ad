import { Template } from 'aws-cdk-lib/assertions';
import type { SdimGuardStack } from '../../lib/sdim-guard-stack';

export type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

/** The stack's template and each tenant shard's (nested stacks are templates of their own). */
export function templatesOf(stack: SdimGuardStack): Template[] {
  return [Template.fromStack(stack), ...stack.shards.stacks.map((shard) => Template.fromStack(shard))];
}

/** Resources of one type across the stack and its shards. */
export function resourcesOf(templates: Template[], type: string): Resource[] {
  return templates.flatMap((t) => Object.values(t.findResources(type)) as Resource[]);
}
