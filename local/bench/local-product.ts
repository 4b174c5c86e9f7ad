import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import { HttpIscClient } from '../../lambdas/isc/client';
import { systemClock } from '../../lambdas/ports/clock';
import { takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { ensureTable } from '../dynamodb-local';
import { CLIENT, peerListing, startEmulatorProcess } from './fetch';

/** Runs of each side in the end-to-end figure (after one warm-up each). */
const RUNS = 5;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** One kind of snapshot run in the end-to-end figure. */
export interface EndToEndRun {
  /** Median wall time of the whole run: fetch, store read, detection, commit. */
  readonly ms: number;
  readonly fetchMs: number;
  /** CPU time of this process (user + system) for the median run: what load on a shared machine inflates less. */
  readonly cpuMs: number;
  /** Integrations normalised in the median run (the others kept their head's hash by raw digest, or by the seal). */
  readonly normalised: number;
  /** The latest record's seal vouched for the fetch: no head read. */
  readonly listingSealMatched: boolean;
  readonly iscRequests: number;
  readonly itemsWritten: number;
  readonly changes: number;
}

export interface EndToEndFigure {
  readonly integrations: number;
  /** Unchanged, the same UTC day as the latest record: the seal vouches for the fetch (what most scheduled runs are). */
  readonly sealed: EndToEndRun;
  /** Unchanged, but the seal not usable (the record has none): the heads are read and every raw digest checked. */
  readonly unsealed: EndToEndRun;
  /** One integration edited before each run: the seal misses, then the heads are read and one integration normalised. */
  readonly oneEdit: EndToEndRun;
  /** The official SDK's Paginator listing the same tenant (the listing alone, nothing stored or compared). */
  readonly peerMs: number;
  readonly peerRequests: number;
}

/**
 * A whole snapshot of a tenant (fetch, read the stored state, normalise, hash, diff, commit) against a warm DynamoDB
 * Local, next to the official SDK's listing of the same tenant (emulator in its own process, 60 ms latency): unchanged
 * and sealed, unchanged without a seal, and with one edit. One warm-up each, then the median of five, all interleaved.
 * Rounds are spaced so the client's rate limiter (100 requests in 10 s) never delays a request.
 */
export async function benchEndToEnd(root: string, endpoint: string, size: number, latencyMs = 60): Promise<EndToEndFigure> {
  const { url, child } = await startEmulatorProcess(root, size, latencyMs);
  const table = `bench-e2e-${randomUUID()}`;
  await ensureTable(endpoint, table);
  const db = createDocumentClient({ endpoint });
  try {
    const store = new DynamoSnapshotStore(db, table);
    const deps = {
      isc: new HttpIscClient({ tenantUrl: url, credentials: CLIENT }),
      store,
      ledger: store,
      notifier: { publish: async () => undefined },
      clock: systemClock,
      newId: randomUUID,
      fingerprintKey: randomBytes(32),
      secretPolicy: new SecretPolicy(),
      severityRules: new SeverityRules(),
    };
    // The same store, its records read without their seals: what a run that cannot use the seal does.
    const unsealedStore = Object.create(store) as DynamoSnapshotStore;
    unsealedStore.chainTip = async (tenant) => {
      const tip = await store.chainTip(tenant);
      return tip && { ...tip, listingSeal: undefined };
    };
    const baseline = await takeSnapshot('bench', deps);
    if (!baseline.baseline) throw new Error('the first snapshot was not a baseline');
    const edited = (await deps.isc.listIntegrations({ limit: 1 })).items[0]?.id;
    if (!edited) throw new Error('the tenant has no integration to edit');
    let edits = 0;
    const run = async (kind: 'sealed' | 'unsealed' | 'oneEdit'): Promise<EndToEndRun> => {
      if (kind === 'oneEdit')
        await deps.isc.patchIntegration(edited, [{ op: 'replace', path: '/description', value: `bench edit ${++edits}` }]);
      const runDeps = kind === 'unsealed' ? { ...deps, store: unsealedStore } : deps;
      const before = deps.isc.requestCount();
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await takeSnapshot('bench', runDeps);
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const expected = kind === 'oneEdit' ? 1 : 0;
      if (result.changes.length !== expected) throw new Error(`a ${kind} run showed ${result.changes.length} changes, not ${expected}`);
      if (result.stats.listingSealMatched !== (kind === 'sealed'))
        throw new Error(`a ${kind} run was${result.stats.listingSealMatched ? '' : ' not'} sealed`);
      return {
        ms,
        fetchMs: result.stats.fetchMs,
        cpuMs: (used.user + used.system) / 1000,
        normalised: result.stats.normalised,
        listingSealMatched: result.stats.listingSealMatched,
        iscRequests: deps.isc.requestCount() - before,
        itemsWritten: result.stats.itemsWritten,
        changes: result.changes.length,
      };
    };
    const peer = () => peerListing(url, size);
    const kinds = ['sealed', 'unsealed', 'oneEdit'] as const;
    const runs = { sealed: [] as EndToEndRun[], unsealed: [] as EndToEndRun[], oneEdit: [] as EndToEndRun[] };
    const peerRuns: Array<Awaited<ReturnType<typeof peer>>> = [];
    for (let round = 0; round <= RUNS; round++) {
      // Round 0 warms up; an edit round leaves the tenant changed, so a sealed run always follows a sealing one.
      for (const kind of ['oneEdit', 'unsealed', 'sealed'] as const) {
        const figure = await run(kind);
        if (round > 0) runs[kind].push(figure);
      }
      const listing = await peer();
      if (round > 0) peerRuns.push(listing);
      await sleep(4_000);
    }
    const middle = (list: EndToEndRun[]) => {
      const m = median(list.map((r) => r.ms));
      const found = list.find((r) => r.ms === m) as EndToEndRun;
      return { ...found, cpuMs: median(list.map((r) => r.cpuMs)) };
    };
    return {
      integrations: size,
      ...(Object.fromEntries(kinds.map((k) => [k, middle(runs[k])])) as Record<(typeof kinds)[number], EndToEndRun>),
      peerMs: median(peerRuns.map((r) => r.ms)),
      peerRequests: peerRuns[0]?.requests ?? 0,
    };
  } finally {
    child.kill('SIGTERM');
    db.destroy();
  }
}

export interface CliFigure {
  readonly integrations: number;
  /** The very first command on this machine: no background store, no class-data archive yet (it records one). */
  readonly firstEverMs: number;
  /** No store running (the previous one stopped), the archive recorded: a JVM starts. Median of three. */
  readonly coldMs: number;
  /** The background store left by the previous command is reused. Median of three. */
  readonly warmMs: number;
  /** Node.js start and the CLI's modules: `sdim-guard --help`. Median of three. */
  readonly cliStartMs: number;
  /** Where the median cold run's time went (SDIM_GUARD_TIMELINE), ms after the command was spawned. */
  readonly coldTimeline: ReadonlyArray<{ readonly stage: string; readonly atMs: number }>;
}

/** The timeline marks (local/timeline.ts) a cold `snapshot` is explained by, in the order they happen. */
const COLD_STAGES: ReadonlyArray<readonly [mark: string, stage: string]> = [
  ['node-start', 'Node.js starts'],
  ['store-prestarted', 'store daemon spawned (bin/sdim-guard.js, before the CLI modules)'],
  ['java-spawned', 'Java started by the daemon (local/store-boot.js)'],
  ['cli-loaded', 'CLI modules loaded'],
  ['store-answers', 'DynamoDB Local answers'],
  ['table-ready', 'table found (the cold JVM’s first request)'],
  ['snapshot-start', 'tenant read, snapshot starts'],
  ['snapshot-end', 'snapshot committed'],
  ['exit', 'process exits'],
];

function readTimeline(file: string, startedAt: number): Array<{ stage: string; atMs: number }> {
  if (!existsSync(file)) return [];
  const first = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [at, , ...label] = line.split(' ');
    const name = label.join(' ');
    if (at && !first.has(name)) first.set(name, Number(at));
  }
  return COLD_STAGES.flatMap(([mark, stage]) => {
    const at = first.get(mark);
    return at === undefined ? [] : [{ stage, atMs: Math.round(at - startedAt) }];
  });
}

/**
 * Wall time of `sdim-guard snapshot` of an unchanged tenant, as a person runs it with no stack: the first command
 * ever (JVM without archive), a command after the background store stopped (JVM with the archive), and a command
 * right after another (the background store reused). The emulator runs in its own process at 60 ms latency.
 */
export async function benchCliSnapshot(root: string, size: number, latencyMs = 60): Promise<CliFigure> {
  const { url, child } = await startEmulatorProcess(root, size, latencyMs);
  const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-bench-cli-'));
  const cache = mkdtempSync(join(tmpdir(), 'sdim-guard-bench-cache-'));
  const env: NodeJS.ProcessEnv = { ...process.env, SDIM_GUARD_CACHE_DIR: cache, SDIM_GUARD_STORE_IDLE_SECONDS: '60', NO_COLOR: '1' };
  delete env.SDIM_GUARD_DYNAMODB_ENDPOINT;
  delete env.SDIM_GUARD_TABLE;
  let timeline: { file: string; startedAt: number } | undefined;
  const cli = async (...args: string[]) => {
    const started = performance.now();
    if (timeline) timeline.startedAt = performance.timeOrigin + started;
    const code = await new Promise<number | null>((resolve) => {
      const run = spawn(process.execPath, [join(root, 'bin', 'sdim-guard.js'), ...args], {
        env: timeline ? { ...env, SDIM_GUARD_TIMELINE: timeline.file } : env,
        stdio: 'ignore',
      });
      run.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`sdim-guard ${args[0]} exited ${code}`);
    return performance.now() - started;
  };
  const snapshot = () => cli('snapshot', '--tenant', 'bench', '--data-dir', dataDir, '--json');
  const stopStore = async () => {
    const file = join(dataDir, 'store.json');
    if (!existsSync(file)) return;
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    // The store stops its JVM, which records the class-data archive on its first exit.
    for (let i = 0; i < 600 && existsSync(file); i++) await sleep(100);
  };
  try {
    const firstEverMs = await cli(
      'snapshot',
      '--tenant',
      'bench',
      '--tenant-url',
      url,
      '--client-id',
      CLIENT.clientId,
      '--client-secret',
      CLIENT.clientSecret,
      '--data-dir',
      dataDir,
      '--json',
    );
    const warm = [await snapshot(), await snapshot(), await snapshot()];
    const cold: Array<{ ms: number; timeline: Array<{ stage: string; atMs: number }> }> = [];
    for (let i = 0; i < 3; i++) {
      await stopStore();
      timeline = { file: join(dataDir, `timeline-${i}.txt`), startedAt: 0 };
      const ms = await snapshot();
      cold.push({ ms, timeline: readTimeline(timeline.file, timeline.startedAt) });
      timeline = undefined;
    }
    const middle = [...cold].sort((a, b) => a.ms - b.ms)[1] as (typeof cold)[number];
    const cliStart = [await cli('--help'), await cli('--help'), await cli('--help')];
    return {
      integrations: size,
      firstEverMs,
      coldMs: middle.ms,
      warmMs: median(warm),
      cliStartMs: median(cliStart),
      coldTimeline: middle.timeline,
    };
  } finally {
    await stopStore();
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}
