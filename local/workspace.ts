import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoChangeRequestStore } from '../lambdas/adapters/dynamodb/change-request-store';
import { createDocumentClient } from '../lambdas/adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../lambdas/adapters/dynamodb/snapshot-store';
import { DynamoTenantDirectory } from '../lambdas/adapters/dynamodb/tenant-directory';
import { type AccessConfig, parseAccessConfig } from '../lambdas/domain/identity';
import { systemClock } from '../lambdas/ports/clock';
import type { GuardEvent } from '../lambdas/ports/notifier';
import { type GuardSettings, parseSettings } from '../lambdas/settings';
import { LocalAnchorFile } from './anchor-file';
import { type DynamoDbLocal, ensureTable } from './dynamodb-local';
import { LocalNotifier } from './local-notifier';
import { LocalSecretsFile, signature } from './secrets-file';
import { attachStore, type SharedStore, startOwnStore } from './shared-store';
import { mark } from './timeline';

export const DEFAULT_DATA_DIR = '.sdim-guard';

/** A JSON file parsed now and again after every change to it (another process saved it); absent reads as undefined. */
function watched<T>(path: string, parse: (text: string | undefined) => T): () => T {
  let seen = signature(path);
  let value = parse(existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  return () => {
    const now = signature(path);
    if (now !== seen) {
      value = parse(existsSync(path) ? readFileSync(path, 'utf8') : undefined);
      seen = now;
    }
    return value;
  };
}
export const LOCAL_TABLE = 'sdim-guard';

/** Everything the local CLI and runtime work on, under one data directory. */
export interface Workspace {
  readonly dataDir: string;
  readonly endpoint: string;
  readonly db: DynamoDBDocumentClient;
  readonly store: DynamoSnapshotStore;
  readonly requests: DynamoChangeRequestStore;
  readonly tenants: DynamoTenantDirectory;
  readonly secrets: LocalSecretsFile;
  readonly notifier: LocalNotifier;
  /** `<dataDir>/anchors/<tenant>.jsonl`: each committed chain head, appended (the local stand-in for S3 Object Lock). */
  readonly anchors: LocalAnchorFile;
  /** `<dataDir>/settings.json`, re-read when it changed since the last look. */
  readonly settings: GuardSettings;
  /** `<dataDir>/access.json` (re-read when it changed): proposers, approvers, people (the identity model); absent = the defaults. */
  readonly access: AccessConfig;
  /** Items this process has read from and written to the store so far (for progress output). */
  readonly activity: { readonly itemsRead: number; readonly itemsWritten: number };
  readonly eventsFile: string;
  close(): Promise<void>;
}

/** The data directory named does not exist, and this command does not create workspaces (a typo, most likely). */
export class WorkspaceNotFound extends Error {}

/**
 * A workspace is a directory. Only the commands that name something new (`snapshot --tenant-url`, `start`, `local`)
 * create it, and only inside a parent folder that exists: a mistyped `--data-dir` for any other command is an error,
 * never a silently created empty store. No recursive mkdir: Node's spins forever on paths under /proc.
 */
export function prepareDataDir(dataDir: string, create: boolean): void {
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new WorkspaceNotFound(`--data-dir ${dataDir} is a file, not a workspace folder`);
    return;
  }
  if (!create) {
    throw new WorkspaceNotFound(
      `no sdim-guard workspace at ${dataDir} (--data-dir): check the path, or create one by naming a tenant (sdim-guard snapshot --tenant NAME --tenant-url URL --client-id ID --client-secret S) or with sdim-guard start`,
    );
  }
  const parent = dirname(dataDir);
  if (!existsSync(parent)) {
    throw new WorkspaceNotFound(`cannot create the workspace ${dataDir}: its parent folder ${parent} does not exist`);
  }
  try {
    mkdirSync(dataDir, { mode: 0o700 });
  } catch (error) {
    throw new WorkspaceNotFound(`cannot create the workspace ${dataDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/**
 * Opens `<dataDir>`: DynamoDB Local persisted in `<dataDir>/dynamodb` (or an existing endpoint), the secrets file,
 * optional `<dataDir>/settings.json`, and alerts appended to `<dataDir>/events.jsonl`.
 */
export async function openWorkspace(
  dataDirOption: string,
  options: {
    endpoint?: string;
    onEvent?: (event: GuardEvent) => void;
    create?: boolean;
    /** The local stack runs its own DynamoDB Local (and claims the data directory for it); commands share one. */
    ownStore?: boolean;
    /** Told what takes time (starting DynamoDB Local), for progress output. */
    status?: (line: string) => void;
  } = {},
): Promise<Workspace> {
  const dataDir = resolve(dataDirOption);
  prepareDataDir(dataDir, options.create ?? false);
  // Read the secrets and settings first: a corrupt file must stop us before a Java process is started.
  const secrets = new LocalSecretsFile(join(dataDir, 'secrets.json'));
  const settingsPath = join(dataDir, 'settings.json');
  // Read now (a broken file stops a command before Java starts) and again whenever the file changes, so a running
  // stack uses what was saved on its next tick. A broken edit fails that tick with its message, never half-applies.
  const settings = watched(settingsPath, (text) => parseSettings(text, settingsPath));
  const accessPath = join(dataDir, 'access.json');
  const access = watched(accessPath, (text) => parseAccessConfig(text, accessPath));
  // An already running DynamoDB (Local) can be named instead of the embedded one: handy for several CLIs at once.
  const external = options.endpoint ?? process.env.SDIM_GUARD_DYNAMODB_ENDPOINT;
  const tableName = process.env.SDIM_GUARD_TABLE ?? LOCAL_TABLE;
  // Otherwise one DynamoDB Local per data directory (store.json): the stack's own, or the background store that
  // consecutive commands share (started here if none runs, left for its idle time so the next command finds it warm).
  let ddb: DynamoDbLocal | undefined;
  let shared: SharedStore | undefined;
  if (!external && options.ownStore) ddb = await startOwnStore(dataDir);
  else if (!external) shared = await attachStore(dataDir, { status: options.status });
  const endpoint = external ?? ddb?.endpoint ?? (shared as SharedStore).endpoint;
  try {
    await ensureTable(endpoint, tableName);
    mark('table-ready');
  } catch (error) {
    await ddb?.stop();
    shared?.release();
    throw error;
  }
  const db = createDocumentClient({ endpoint });
  const activity = countActivity(db);
  const eventsFile = join(dataDir, 'events.jsonl');
  return {
    dataDir,
    endpoint,
    db,
    store: new DynamoSnapshotStore(db, tableName, systemClock.now),
    requests: new DynamoChangeRequestStore(db, tableName),
    tenants: new DynamoTenantDirectory(db, tableName),
    secrets,
    notifier: new LocalNotifier(eventsFile, options.onEvent),
    anchors: new LocalAnchorFile(join(dataDir, 'anchors')),
    get settings() {
      return settings();
    },
    get access() {
      return access();
    },
    activity,
    eventsFile,
    close: async () => {
      db.destroy();
      await ddb?.stop();
      shared?.release();
    },
  };
}

/** Counts the items each DynamoDB call reads (from its answer) and writes (from its request). */
function countActivity(db: DynamoDBDocumentClient): { itemsRead: number; itemsWritten: number } {
  const activity = { itemsRead: 0, itemsWritten: 0 };
  const length = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  // BatchWrite's RequestItems hold an array per table (BatchGet's an object, counted on the answer instead).
  const sumOf = (map: unknown) => (map && typeof map === 'object' ? Object.values(map).reduce((n: number, v) => n + length(v), 0) : 0);
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      mark(`ddb> ${context.commandName}`);
      const result = await next(args);
      mark(`ddb< ${context.commandName}`);
      const output = (result.output ?? {}) as Record<string, unknown>;
      activity.itemsRead += length(output.Items) + sumOf(output.Responses) + (output.Item ? 1 : 0);
      activity.itemsWritten +=
        sumOf(input.RequestItems) + length(input.TransactItems) + (/^(Put|Update|Delete)/.test(context.commandName ?? '') ? 1 : 0);
      return result;
    },
    { step: 'initialize', name: 'sdimGuardActivity' },
  );
  return activity;
}
