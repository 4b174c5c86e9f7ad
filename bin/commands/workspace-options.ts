import type { Command } from 'commander';
import { IscApiError, IscError, IscUnavailableError } from '../../lambdas/isc/errors';
import { DEFAULT_DATA_DIR, openWorkspace, type Workspace } from '../../local/workspace';
import { nonEmptyOption, UsageError } from './options';

export interface WorkspaceFlags {
  dataDir: string;
  json?: boolean;
}

export function withWorkspaceOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'local store (DynamoDB Local files, secrets, alerts)', nonEmptyOption, DEFAULT_DATA_DIR)
    .option('--json', 'print machine-readable JSON');
}

/** Opens the workspace for one command and always closes it (no orphan DynamoDB Local). */
export async function inWorkspace<T>(
  flags: WorkspaceFlags,
  fn: (ws: Workspace) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const ws = await openWorkspace(flags.dataDir, { create: options.create });
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}

export function print(flags: { json?: boolean }, json: unknown, human: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${human()}\n`);
}

/** Resolves --integration/--status-check to a resource key; exactly one is required. */
export function resourceKeyFrom(flags: { integration?: string; statusCheck?: boolean }, required = true): string | undefined {
  if (flags.integration && flags.statusCheck) throw new UsageError('give --integration or --status-check, not both');
  if (flags.integration) return `integration:${flags.integration}`;
  if (flags.statusCheck) return 'status-check:tenant';
  if (required) throw new UsageError('name the resource with --integration ID or --status-check');
  return undefined;
}

/** Turns ISC failures into the sentence a person needs, naming the tenant and what to check. */
export function explainIscError(error: unknown, tenantUrl: string): Error {
  if (error instanceof IscApiError && error.operation === 'createToken' && (error.status === 401 || error.status === 400)) {
    return new Error(`cannot sign in to ${tenantUrl}: ${error.detail ?? `HTTP ${error.status}`} (check the client id and secret)`);
  }
  if (error instanceof IscUnavailableError) return new Error(`cannot reach ISC at ${tenantUrl}: ${error.message}`);
  if (error instanceof IscError) return new Error(error.message);
  return error instanceof Error ? error : new Error(String(error));
}

export function positiveInt(raw: string, option: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`${option} must be a whole number ≥ 1, not '${raw}'`);
  return Number(raw);
}
