import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../dynamodb-local';
import { benchAttribution } from './attribution';
import { benchColdStart } from './cold-start';
import { benchDetection } from './detection';
import { benchFetch } from './fetch';
import { benchCliSnapshot, benchEndToEnd, type CliFigure, type EndToEndFigure, type EndToEndRun } from './local-product';
import { benchApply, benchScaleOut, benchStore } from './store-and-apply';
import { benchVerify } from './verify';

export const BENCH_PARTS = [
  'fetch',
  'detection',
  'cold-start',
  'store',
  'apply',
  'scale-out',
  'attribution',
  'verify',
  'end-to-end',
  'cli',
] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

export interface BenchOptions {
  /** Smaller sizes, for a quick look (the goals are judged on the full run). */
  readonly quick?: boolean;
  /** Only these benchmarks (all when absent); --update-docs needs them all. */
  readonly only?: readonly BenchPart[];
  readonly json?: boolean;
  /** Rewrite docs/performance.md with these figures. */
  readonly updateDocs?: boolean;
  readonly root: string;
  readonly out?: (line: string) => void;
}

const pass = (ok: boolean) => (ok ? 'met' : 'MISSED');
const ms = (n: number) => `${Math.round(n)} ms`;

/** Runs every benchmark in one process, prints the figures and the goals they are judged against. */
export async function runBench(options: BenchOptions): Promise<{ goalsMet: boolean; figures: Record<string, unknown> }> {
  const out = options.out ?? ((line: string) => process.stderr.write(`${line}\n`));
  const want = (part: BenchPart) => !options.only || options.only.includes(part);
  if (options.updateDocs && options.only) throw new Error('--update-docs rewrites every figure: run it without --only');
  const sizes = options.quick ? [10, 250, 1000] : [10, 250, 1000, 2000, 5000];
  let fetch: Awaited<ReturnType<typeof benchFetch>> = [];
  if (want('fetch')) {
    out('fetch: our client vs the official SDK paginator, emulator at 60 ms latency…');
    fetch = await benchFetch(options.root, sizes);
  }
  let detection: ReturnType<typeof benchDetection> | undefined;
  if (want('detection')) {
    out('detection: normalise, hash and diff…');
    detection = benchDetection(options.quick ? 1000 : 5000);
  }
  let coldStart: Awaited<ReturnType<typeof benchColdStart>> = [];
  if (want('cold-start')) {
    out('cold start: bundling the functions…');
    coldStart = await benchColdStart(options.root);
  }
  let store: Awaited<ReturnType<typeof benchStore>> = [];
  let apply: Awaited<ReturnType<typeof benchApply>> | undefined;
  let scaleOut: Awaited<ReturnType<typeof benchScaleOut>> | undefined;
  let attribution: Awaited<ReturnType<typeof benchAttribution>> = [];
  let verify: Awaited<ReturnType<typeof benchVerify>> | undefined;
  let endToEnd: EndToEndFigure | undefined;
  if (want('store') || want('apply') || want('scale-out') || want('attribution') || want('verify') || want('end-to-end')) {
    out('starting DynamoDB Local…');
    const ddb = await startDynamoDbLocal();
    try {
      if (want('end-to-end')) {
        out('end to end: an unchanged 2,000-integration snapshot against a warm store vs the SDK paginator…');
        endToEnd = await benchEndToEnd(options.root, ddb.endpoint, options.quick ? 500 : 2000);
      }
      if (want('store')) store = await benchStore(ddb.endpoint, options.quick ? [1000] : [1000, 5000]);
      if (want('apply')) {
        out(`apply throughput under the rate limit, sustained (${options.quick ? 'quick' : 'over three minutes'})…`);
        apply = await benchApply(ddb.endpoint, options.quick ? 60 : 1000);
      }
      if (want('scale-out')) {
        out('scale-out: many tenants at once…');
        scaleOut = await benchScaleOut(ddb.endpoint, options.quick ? 20 : 100, 100, 60);
      }
      if (want('attribution')) {
        out('attribution: audit-event searches per snapshot…');
        attribution = await benchAttribution(ddb.endpoint, options.quick ? 300 : 1000);
      }
      if (want('verify')) {
        out('verify: a history of snapshots checked against its anchors…');
        verify = await benchVerify(ddb.endpoint, options.quick ? 200 : 1000);
      }
    } finally {
      await ddb.stop();
    }
  }
  let cli: CliFigure | undefined;
  if (want('cli')) {
    out('CLI: sdim-guard snapshot of a 2,000-integration tenant with no stack running…');
    cli = await benchCliSnapshot(options.root, options.quick ? 500 : 2000);
  }

  const at2000 = fetch.find((f) => f.integrations === 2000);
  const goals = [
    at2000
      ? {
          goal: 'fetch of 2,000 in ≤ 0.25× the SDK paginator’s time',
          value: `${(at2000.oursMs / at2000.peerMs).toFixed(2)}×`,
          ok: at2000.oursMs <= 0.25 * at2000.peerMs,
        }
      : undefined,
    ...fetch.map((f) => ({
      goal: `requests for ${f.integrations} ≤ ceil(N/250) + 2 = ${Math.ceil(f.integrations / 250) + 2}`,
      value: String(f.oursRequests),
      ok: f.oursRequests <= Math.ceil(f.integrations / 250) + 2,
    })),
    endToEnd
      ? {
          goal: `unchanged snapshot of ${endToEnd.integrations} end to end (fetch, store read, detect, commit) ≤ 0.35× the SDK paginator's listing`,
          value: `${(endToEnd.sealed.ms / endToEnd.peerMs).toFixed(2)}× (${ms(endToEnd.sealed.ms)} vs ${ms(endToEnd.peerMs)}; without a seal ${(endToEnd.unsealed.ms / endToEnd.peerMs).toFixed(2)}×)`,
          ok: endToEnd.sealed.ms <= 0.35 * endToEnd.peerMs,
        }
      : undefined,
    cli
      ? {
          goal: `CLI snapshot of ${cli.integrations}, no stack, background store from the previous command ≤ 3 s`,
          value: ms(cli.warmMs),
          ok: cli.warmMs <= 3_000,
        }
      : undefined,
    cli
      ? {
          goal: `CLI snapshot of ${cli.integrations}, no stack, no store running (JVM starts) ≤ 3 s`,
          value: ms(cli.coldMs),
          ok: cli.coldMs <= 3_000,
        }
      : undefined,
    ...store
      .filter((s) => s.run === 'unchanged')
      .map((s) => ({
        goal: `unchanged run of ${s.integrations} writes ≤ 2 items`,
        value: String(s.itemsWritten),
        ok: s.itemsWritten <= 2,
      })),
    detection
      ? { goal: `detection of ${detection.integrations} < 250 ms`, value: ms(detection.medianMs), ok: detection.medianMs < 250 }
      : undefined,
    ...coldStart
      .filter((c) => !c.name.includes('peer'))
      .map((c) => ({
        goal: `${c.name} < 1 MB and imports < 150 ms`,
        value: `${(c.bytes / 1024).toFixed(0)} KB, ${ms(c.importMs)}`,
        ok: c.bytes < 1_048_576 && c.importMs < 150,
      })),
    apply ? { goal: 'apply receives no 429', value: String(apply.rateLimited), ok: apply.rateLimited === 0 } : undefined,
    apply
      ? {
          goal: 'apply sustained over ≥ 3 minutes ≥ 190 changes per minute',
          value: `${apply.perMinute.toFixed(0)} per minute over ${(apply.seconds / 60).toFixed(1)} min`,
          ok: apply.perMinute >= 190 && apply.seconds >= 180,
        }
      : undefined,
    attribution.length > 0
      ? {
          goal: 'attribution: ≤ 1 search request per snapshot',
          value: attribution.map((a) => a.searchRequests).join(' / '),
          ok: attribution.every((a) => a.searchRequests <= 1),
        }
      : undefined,
    attribution.length > 0
      ? {
          goal: 'attribution: every edit attributed (late ones on the next run)',
          value: `${attribution.reduce((n, a) => n + a.attributed, 0)} of ${attribution.reduce((n, a) => n + a.changes, 0)}`,
          ok: attribution.reduce((n, a) => n + a.attributed, 0) === attribution.reduce((n, a) => n + a.changes, 0),
        }
      : undefined,
    verify
      ? { goal: `verify of ${verify.snapshots} anchored snapshots passes`, value: verify.ok ? 'passes' : 'FAILS', ok: verify.ok }
      : undefined,
  ].filter((g): g is { goal: string; value: string; ok: boolean } => g !== undefined);

  const figures = { machine: machine(), fetch, detection, coldStart, store, apply, scaleOut, attribution, verify, endToEnd, cli, goals };
  const report = render(figures);
  if (options.json) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  else process.stdout.write(`${report}\n`);
  if (options.updateDocs) writeFileSync(join(options.root, 'docs', 'performance.md'), docs(report));
  return { goalsMet: goals.every((g) => g.ok), figures };
}

function machine() {
  const cpu = cpus();
  return {
    node: process.version,
    cpus: `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString().slice(0, 10),
  };
}

function table(headers: string[], rows: Array<Array<string | number>>): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function render(f: {
  machine: ReturnType<typeof machine>;
  fetch: Awaited<ReturnType<typeof benchFetch>>;
  detection?: ReturnType<typeof benchDetection>;
  coldStart: Awaited<ReturnType<typeof benchColdStart>>;
  store: Awaited<ReturnType<typeof benchStore>>;
  apply?: Awaited<ReturnType<typeof benchApply>>;
  scaleOut?: Awaited<ReturnType<typeof benchScaleOut>>;
  attribution: Awaited<ReturnType<typeof benchAttribution>>;
  verify?: Awaited<ReturnType<typeof benchVerify>>;
  endToEnd?: EndToEndFigure;
  cli?: CliFigure;
  goals: Array<{ goal: string; value: string; ok: boolean }>;
}): string {
  const sections: string[][] = [[`Machine: ${f.machine.cpus}, ${f.machine.memoryGiB} GiB, Node.js ${f.machine.node}, ${f.machine.date}`]];
  if (f.fetch.length > 0)
    sections.push([
      '### Snapshot fetch (all integrations + status-check configuration, emulator at 60 ms latency)',
      table(
        ['integrations', 'sdim-guard', 'requests', 'official SDK paginator', 'requests', 'ratio'],
        f.fetch.map((x) => [
          x.integrations,
          ms(x.oursMs),
          x.oursRequests,
          ms(x.peerMs),
          x.peerRequests,
          `${(x.oursMs / x.peerMs).toFixed(2)}×`,
        ]),
      ),
    ]);
  if (f.endToEnd) {
    const e = f.endToEnd;
    const row = (label: string, r: EndToEndRun) => [
      `${label}: fetch (${ms(r.fetchMs)}), store read, detect, commit`,
      ms(r.ms),
      ms(r.cpuMs),
      r.listingSealMatched ? 'no (sealed)' : 'yes',
      r.normalised,
      r.iscRequests,
      r.itemsWritten,
      `${(r.ms / e.peerMs).toFixed(2)}×`,
    ];
    sections.push([
      `### Snapshot end to end: ${e.integrations} integrations, warm DynamoDB Local, emulator at 60 ms latency (median of 5, interleaved)`,
      table(
        ['', 'wall time', 'CPU of this process', 'heads read', 'integrations normalised', 'ISC requests', 'items written', 'ratio'],
        [
          row('sdim-guard, unchanged (same UTC day: sealed)', e.sealed),
          row('sdim-guard, unchanged, no seal to use', e.unsealed),
          row('sdim-guard, one integration edited', e.oneEdit),
          ['official SDK paginator: the listing alone', ms(e.peerMs), '–', '–', '–', e.peerRequests, '–', '1.00×'],
        ],
      ),
    ]);
  }
  if (f.cli) {
    const c = f.cli;
    sections.push([
      `### CLI: \`sdim-guard snapshot\` of an unchanged ${c.integrations}-integration tenant, no stack running (wall time, process start to exit)`,
      table(
        ['situation', 'wall time'],
        [
          ['the background store of the previous command is reused (median of 3)', ms(c.warmMs)],
          ['no store running: a JVM starts, class-data archive mapped (median of 3)', ms(c.coldMs)],
          ['first command ever: the baseline (every item written) while a JVM starts and records the archive', ms(c.firstEverMs)],
          ['of which Node.js and the CLI modules (`sdim-guard --help`)', ms(c.cliStartMs)],
        ],
      ),
      ...(c.coldTimeline.length > 0
        ? [
            '',
            'Where the time of the median run without a store went (`SDIM_GUARD_TIMELINE`; ms after the command was started):',
            '',
            table(
              ['stage', 'at'],
              c.coldTimeline.map((t) => [t.stage, ms(t.atMs)]),
            ),
          ]
        : []),
    ]);
  }
  if (f.store.length > 0)
    sections.push([
      '### Store cost (DynamoDB Local; bytes = size of items created or changed)',
      table(
        ['integrations', 'run', 'items written', 'bytes written', 'run time'],
        f.store.map((s) => [s.integrations, s.run, s.itemsWritten, s.bytesWritten, ms(s.totalMs)]),
      ),
    ]);
  if (f.detection)
    sections.push([
      `### Detection CPU: normalise, fingerprint, hash and diff ${f.detection.integrations} integrations (${f.detection.changes} changed): median ${ms(f.detection.medianMs)}`,
    ]);
  if (f.coldStart.length > 0)
    sections.push([
      '### Cold start (esbuild, minified, ESM; import time in a fresh Node process, median of 5)',
      table(
        ['bundle', 'size', 'import'],
        f.coldStart.map((c) => [c.name, `${(c.bytes / 1024).toFixed(0)} KB`, ms(c.importMs)]),
      ),
    ]);
  if (f.apply)
    sections.push([
      `### Apply throughput under the ISC rate limit (100 requests / 10 s), sustained: ${f.apply.changes} changes in ${f.apply.seconds.toFixed(1)} s = ${f.apply.perMinute.toFixed(0)} per minute, ${f.apply.iscRequests} ISC requests (${f.apply.requestsPerChange.toFixed(2)} per change), ${f.apply.rateLimited} answered 429`,
    ]);
  if (f.scaleOut)
    sections.push([
      `### Scale-out: ${f.scaleOut.first.tenants} tenants × 100 integrations at 60 ms latency, all at once`,
      table(
        ['run', 'wall time', 'slowest tenant'],
        [
          ['first (baselines)', ms(f.scaleOut.first.totalMs), ms(f.scaleOut.first.slowestMs)],
          ['steady (unchanged)', ms(f.scaleOut.steady.totalMs), ms(f.scaleOut.steady.slowestMs)],
        ],
      ),
    ]);
  if (f.attribution.length > 0)
    sections.push([
      `### Attribution: audit-event search requests per snapshot (${f.attribution[1]?.changes ?? 0} edits by 3 people, then 3 edits whose events are indexed late)`,
      table(
        ['run', 'changes', 'attributed', 'search requests', 'ISC requests'],
        f.attribution.map((a) => [a.run, a.changes, a.attributed, a.searchRequests, a.iscRequests]),
      ),
    ]);
  if (f.verify) sections.push([renderVerify(f.verify)]);
  sections.push([
    '### Goals',
    table(
      ['goal', 'measured', ''],
      f.goals.map((g) => [g.goal, g.value, pass(g.ok)]),
    ),
  ]);
  return sections.map((lines) => lines.join('\n')).join('\n\n');
}

/** The verify benchmark's section (also printed alone by `npx tsx local/bench/verify-only.ts`). */
export function renderVerify(v: Awaited<ReturnType<typeof benchVerify>>): string {
  return [
    `### Verify: ${v.snapshots} snapshots of ${v.integrations} integrations (${v.versions} versions, ${v.journalEntries} journal entries, ${v.anchors} anchors in the local anchor file), DynamoDB Local, median of 3`,
    table(
      ['check', 'wall time'],
      [
        ['table only (chains, versions re-hashed, journal and items)', ms(v.tableOnlyMs)],
        ['the same and every anchor compared', ms(v.withAnchorsMs)],
      ],
    ),
  ].join('\n');
}

function docs(report: string): string {
  return [
    '# Performance',
    '',
    'Figures from `npm run bench` (all benchmarks in one run; `npm run bench -- --json` for machines,',
    "`npm run bench -- --update-docs` rewrites this file). The peer is SailPoint's official `sailpoint-api-client`",
    'Paginator, run in the same process against the same emulator (in its own process, as a tenant would be). The',
    'fetch figures are medians of three after one warm-up. Benchmarks print figures; no test is timed.',
    '',
    report,
    '',
  ].join('\n');
}
