import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAMBDA_ESBUILD_ARGS } from '../../lib/guard-function';

export interface BundleFigure {
  readonly name: string;
  readonly bytes: number;
  readonly importMs: number;
}

const BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * Bundles with the esbuild binary and the options GuardFunction gives CDK. The binary, not the JS API: under the
 * CLI's TypeScript loader the API cannot locate its own executable.
 */
function bundle(root: string, entry: string, outfile: string, extraArgs: string[] = []): number {
  const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
  const result = spawnSync(
    esbuild,
    [
      entry,
      '--bundle',
      '--minify',
      '--platform=node',
      '--format=esm',
      '--target=node22',
      '--main-fields=module,main',
      `--banner:js=${BANNER}`,
      `--outfile=${outfile}`,
      '--log-level=error',
      ...extraArgs,
    ],
    { encoding: 'utf8', cwd: root },
  );
  if (result.status !== 0) throw new Error(`esbuild failed on ${entry}: ${result.stderr || result.error?.message}`);
  return statSync(outfile).size;
}

/** Median time for a fresh Node process to import the bundle, minus an empty process's start. */
function importMs(file: string, runs = 5): number {
  const measure = (script: string) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      times.push(Number(result.stdout.trim()));
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
  };
  return measure(`const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`);
}

/** The three Lambda bundles as CDK builds them, and the official SDK doing the same listing, for comparison. */
export async function benchColdStart(root: string): Promise<BundleFigure[]> {
  process.env.NODE_PATH = join(root, 'node_modules');
  const dir = mkdtempSync(join(tmpdir(), 'sdim-guard-bundles-'));
  const figures: BundleFigure[] = [];
  const lambdaArgs = Object.entries(LAMBDA_ESBUILD_ARGS).map(([flag, value]) => `${flag}=${value}`);
  for (const handler of ['snapshot', 'apply', 'approval-api']) {
    const out = join(dir, `${handler}.mjs`);
    const bytes = bundle(root, join(root, 'lambdas', 'handlers', `${handler}.ts`), out, lambdaArgs);
    figures.push({ name: `${handler} function`, bytes, importMs: importMs(out) });
  }
  const peerEntry = join(dir, 'peer.ts');
  writeFileSync(
    peerEntry,
    [
      "import { Configuration, Paginator, ServiceDeskIntegrationApi } from 'sailpoint-api-client';",
      'export const handler = async () => {',
      '  const api = new ServiceDeskIntegrationApi(new Configuration());',
      '  return (await Paginator.paginate(api, api.getServiceDeskIntegrations, { limit: 0 })).data.length;',
      '};',
    ].join('\n'),
  );
  const peerOut = join(dir, 'peer.mjs');
  // The peer entry lives outside the repository; let it resolve the SDK from the project's node_modules.
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
  const peerBytes = bundle(root, peerEntry, peerOut);
  figures.push({ name: 'official SDK listing (peer)', bytes: peerBytes, importMs: importMs(peerOut) });
  return figures;
}
