import { join, resolve } from 'node:path';
import pc from 'picocolors';

import { main as snapshotMain } from '../../lambdas/handlers/snapshot';
import { systemClock } from '../../lambdas/ports/clock';
import { describeEvent, type GuardEvent } from '../../lambdas/ports/notifier';
import type { SnapshotResult } from '../../lambdas/use-cases/take-snapshot';
import { IscEmulator } from '../emulator/server';
import { openWorkspace, prepareDataDir, type Workspace } from '../workspace';
import { LocalChangeRuntime, startApprovalApi } from './change-runtime';
import { readRuntime, removeRuntime, writeRuntime } from './runtime-file';
import { TenantScheduler } from './scheduler';

export interface LocalStackOptions {
  readonly dataDir: string;
  readonly intervalMs: number;
  /** Name under which the embedded emulator is registered as a tenant. @default 'demo' */
  readonly emulatorTenant?: string;
  readonly emulator?: { port?: number; integrations?: number; seed?: number; latencyMs?: number; faultRate?: number };
  /** Re-seed the embedded emulator instead of loading `<dataDir>/emulator.json`. @default false */
  readonly fresh?: boolean;
  /** Port of the local approval API. @default 0 (a free one) */
  readonly apiPort?: number;
  readonly log?: (line: string) => void;
}

export interface LocalStack {
  readonly workspace: Workspace;
  readonly emulator: IscEmulator;
  readonly scheduler: TenantScheduler;
  readonly changes: LocalChangeRuntime;
  readonly approvalApiUrl: string;
  readonly tenant: string;
  /** Starts the snapshot schedule and the queue poller. */
  run(): void;
  /** One snapshot of every known tenant; resolves with the failures (tenant → message). */
  tickOnce(): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

const time = () => new Date().toISOString().slice(11, 19);

/**
 * The product on embedded defaults: DynamoDB Local on the data directory, a seeded ISC emulator registered as a
 * tenant, and the snapshot handler's `main` on an in-process schedule for every known tenant.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const running = readRuntime(options.dataDir);
  if (running) throw new Error(`a local sdim-guard stack already runs on ${options.dataDir} (pid ${running.pid}); stop it first`);

  const emulator = new IscEmulator({
    port: options.emulator?.port ?? 0,
    integrations: options.emulator?.integrations ?? 25,
    seed: options.emulator?.seed ?? 1,
    latencyMs: options.emulator?.latencyMs,
    faultRate: options.emulator?.faultRate,
    // The store persists, so the tenant it guards must too: a re-seeded emulator would undo every applied change
    // and raise it as drift.
    stateFile: join(prepareStackDir(options.dataDir), 'emulator.json'),
    fresh: options.fresh,
  });
  const emulatorUrl = await emulator.start();
  let workspace: Workspace;
  try {
    workspace = await openWorkspace(options.dataDir, { create: true, ownStore: true, onEvent: (event) => log(formatEvent(event)) });
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  const tenant = options.emulatorTenant ?? 'demo';
  const [client] = emulator.clients;
  if (!client) throw new Error('the emulator has no credentials');
  workspace.secrets.setTenantCredentials(tenant, client);
  await workspace.tenants.put({ name: tenant, url: emulatorUrl, apiVersion: 'v1' });
  const changes = new LocalChangeRuntime(workspace, (line) => log(`${pc.dim(time())} apply ${line}`));
  const api = await startApprovalApi(workspace, changes.queue, options.apiPort ?? 0, (line) =>
    log(`${pc.dim(time())} ${pc.red('approval API')} ${line}`),
  );
  writeRuntime(workspace.dataDir, {
    pid: process.pid,
    dynamodbEndpoint: workspace.endpoint,
    emulatorUrl,
    approvalApiUrl: api.url,
    startedAt: new Date().toISOString(),
  });

  const ws = workspace;
  // Read on every snapshot: tenants, credentials and settings saved by other CLI processes count from the next tick.
  const deps = {
    tenants: ws.tenants,
    store: ws.store,
    secrets: ws.secrets,
    notifier: ws.notifier,
    clock: systemClock,
    anchors: ws.anchors,
    get settings() {
      return ws.settings;
    },
  };
  let failures = new Map<string, string>();
  const job = async (name: string) => {
    try {
      log(formatSnapshot(await snapshotMain({ tenant: name }, deps)));
    } catch (error) {
      failures.set(name, (error as Error).message);
      log(`${pc.dim(time())} ${pc.red('snapshot failed')} ${name}: ${(error as Error).message}`);
    }
  };
  const scheduler = new TenantScheduler(
    async () => (await workspace.tenants.list()).map((t) => t.name),
    job,
    options.intervalMs,
    (error) => log(`${pc.dim(time())} ${pc.red('schedule')}: cannot list the tenants: ${error.message}`),
  );

  let poller: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  const pollQueue = async () => {
    try {
      await changes.drain();
    } catch (error) {
      log(`${pc.dim(time())} ${pc.red('apply queue')}: ${(error as Error).message}`);
    }
  };

  return {
    workspace,
    emulator,
    scheduler,
    changes,
    approvalApiUrl: api.url,
    tenant,
    run: () => {
      scheduler.start();
      const loop = () => {
        poller = setTimeout(() => {
          polling = pollQueue().finally(() => {
            if (poller) loop();
          });
        }, 1_000);
      };
      loop();
    },
    tickOnce: async () => {
      failures = new Map();
      await scheduler.tick();
      await pollQueue();
      return failures;
    },
    stop: async () => {
      clearTimeout(poller);
      poller = undefined;
      await polling;
      await api.stop();
      await scheduler.stop();
      await emulator.stop();
      await workspace.close();
      removeRuntime(workspace.dataDir);
    },
  };
}

export function formatSnapshot(result: SnapshotResult): string {
  const head = `${pc.dim(time())} snapshot ${result.tenant} #${result.seq}: ${result.resources} resources`;
  const stats = pc.dim(
    `(${plural(result.stats.iscRequests, 'ISC request')}, ${result.stats.totalMs} ms, ${plural(result.stats.itemsWritten, 'item')} written)`,
  );
  if (result.baseline) return `${head}, baseline recorded ${stats}`;
  if (result.changes.length === 0) return `${head}, no changes ${stats}`;
  const lines = result.changes.map((c) => {
    const label =
      c.classification === 'unexpected'
        ? pc.red('UNEXPECTED')
        : c.classification === 'expected' || c.classification === 'restored'
          ? pc.green(c.classification)
          : pc.cyan(c.classification);
    return `    ${c.change} ${c.resource.kind} "${c.resource.name}" ${c.severity} ${label}`;
  });
  return [`${head}, ${plural(result.changes.length, 'change')} ${stats}`, ...lines].join('\n');
}

function prepareStackDir(dataDir: string): string {
  const dir = resolve(dataDir);
  prepareDataDir(dir, true);
  return dir;
}

function formatEvent(event: GuardEvent): string {
  return `${pc.dim(time())} ${pc.bold(pc.magenta('ALERT'))} ${describeEvent(event)}`;
}
