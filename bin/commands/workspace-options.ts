import type { Command } from 'commander';
import { IscApiError, IscError, IscUnavailableError } from '../../lambdas/isc/errors';
import { DEFAULT_DATA_DIR, openWorkspace, type Workspace } from '../../local/workspace';
import { nonEmptyOption, UsageError } from './options';
import { clearProgress, type Progress, startProgress } from './progress';
import { plural } from './render';

export interface WorkspaceFlags {
  dataDir: string;
  json?: boolean;
}

export function withWorkspaceOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'local store (DynamoDB Local files, secrets, alerts)', nonEmptyOption, DEFAULT_DATA_DIR)
    .option('--json', 'print machine-readable JSON');
}

/**
 * Opens the workspace for one command and always closes it (releasing its hold on the store). Anything over a second
 * (starting DynamoDB Local, reading or writing many items) shows one progress line on a terminal's stderr.
 */
export async function inWorkspace<T>(
  flags: WorkspaceFlags,
  fn: (ws: Workspace, progress: Progress) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const progress = startProgress(flags);
  let stage = 'opening the workspace';
  progress.watch(() => stage);
  try {
    const ws = await openWorkspace(flags.dataDir, {
      create: options.create,
      status: (line) => {
        stage = line === 'starting DynamoDB Local' ? 'starting DynamoDB Local (it stays up 2 minutes for the next command)' : line;
      },
    });
    try {
      progress.watch(() => `${plural(ws.activity.itemsRead, 'item')} read, ${plural(ws.activity.itemsWritten, 'item')} written`);
      return await fn(ws, progress);
    } finally {
      await ws.close();
    }
  } finally {
    progress.done();
  }
}

export function print(flags: { json?: boolean }, json: unknown, human: () => string): void {
  clearProgress();
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
