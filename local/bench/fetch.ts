import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import axios from 'axios';
import { Configuration, Paginator, ServiceDeskIntegrationApi } from 'sailpoint-api-client';
import { HttpIscClient } from '../../lambdas/isc/client';

export interface FetchFigure {
  readonly integrations: number;
  readonly oursMs: number;
  readonly oursRequests: number;
  readonly peerMs: number;
  readonly peerRequests: number;
}

export const CLIENT = { clientId: 'bench', clientSecret: 'bench-secret' };

/** The emulator in its own process, as a tenant would be: its CPU time is not charged to the client being measured. */
export async function startEmulatorProcess(
  root: string,
  integrations: number,
  latencyMs: number,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'sdim-guard.js'),
      'emulator',
      '--json',
      '--no-rate-limit',
      '--integrations',
      String(integrations),
      '--latency-ms',
      String(latencyMs),
      '--client-id',
      CLIENT.clientId,
      '--client-secret',
      CLIENT.clientSecret,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
  });
  return { url, child };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * What a snapshot fetches (every integration and the status-check configuration), against the emulator with 60 ms
 * latency: our client (steady state, knowing the last count) versus the official SDK's sequential Paginator.
 * One warm-up each, then the median of three.
 */
export async function benchFetch(root: string, sizes: number[], latencyMs = 60): Promise<FetchFigure[]> {
  const figures: FetchFigure[] = [];
  for (const size of sizes) {
    const { url, child } = await startEmulatorProcess(root, size, latencyMs);
    try {
      const ours = async () => {
        const client = new HttpIscClient({ tenantUrl: url, credentials: CLIENT, rateLimit: { limit: 100, windowMs: 10_000 } });
        const started = performance.now();
        const [listing] = await Promise.all([client.listAllIntegrations({ expectedTotal: size }), client.getStatusCheckConfig()]);
        if (listing.total !== size) throw new Error(`our client listed ${listing.total} of ${size}`);
        return { ms: performance.now() - started, requests: client.requestCount() };
      };
      const peer = () => peerListing(url, size);
      await ours();
      await peer();
      const oursRuns = [await ours(), await ours(), await ours()];
      const peerRuns = [await peer(), await peer(), await peer()];
      figures.push({
        integrations: size,
        oursMs: median(oursRuns.map((r) => r.ms)),
        oursRequests: oursRuns[0]?.requests ?? 0,
        peerMs: median(peerRuns.map((r) => r.ms)),
        peerRequests: peerRuns[0]?.requests ?? 0,
      });
    } finally {
      child.kill('SIGTERM');
    }
  }
  return figures;
}

/**
 * What the official SDK does to list a tenant's integrations (and read the status-check configuration): its
 * sequential Paginator, with a fresh token, as a script built on it would on every run.
 */
export async function peerListing(url: string, size: number): Promise<{ ms: number; requests: number }> {
  let requests = 0;
  const counter = axios.interceptors.request.use((config) => {
    requests++;
    return config;
  });
  const quiet = console.log;
  const started = performance.now();
  // The SDK logs every page it fetches; that noise is not part of the figure.
  console.log = () => undefined;
  try {
    const configuration = new Configuration({
      baseurl: url,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      tokenUrl: `${url}/oauth/token`,
    });
    const api = new ServiceDeskIntegrationApi(configuration);
    const [all] = await Promise.all([Paginator.paginate(api, api.getServiceDeskIntegrations, { limit: 0 }), api.getStatusCheckDetails()]);
    if (all.data.length !== size) throw new Error(`the SDK listed ${all.data.length} of ${size}`);
  } finally {
    console.log = quiet;
    axios.interceptors.request.eject(counter);
  }
  return { ms: performance.now() - started, requests };
}
