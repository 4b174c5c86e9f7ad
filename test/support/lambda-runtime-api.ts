import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type InvocationResult = { ok: true; response: unknown } | { ok: false; error: { errorType?: string; errorMessage?: string } };

interface Pending {
  readonly id: string;
  readonly event: unknown;
  readonly resolve: (result: InvocationResult) => void;
}

/**
 * The Lambda Runtime API (2018-06-01) as a runtime interface client sees it: /invocation/next hands out one queued
 * event at a time (long-polling until there is one), /response and /error settle it, /init/error fails every
 * waiting invocation. One server per function, as Lambda runs one sandbox per function.
 */
export class LambdaRuntimeApi {
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<string, Pending>();
  private waiting?: (pending: Pending) => void;
  private server?: Server;
  private initError?: InvocationResult;
  address = '';

  constructor(private readonly functionArn: string) {}

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const url = req.url ?? '';
      if (req.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') {
        const next = await this.next();
        this.inFlight.set(next.id, next);
        res.writeHead(200, {
          'content-type': 'application/json',
          'lambda-runtime-aws-request-id': next.id,
          'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
          'lambda-runtime-invoked-function-arn': this.functionArn,
          'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Parent=${randomUUID().replace(/-/g, '').slice(0, 16)};Sampled=1`,
        });
        res.end(JSON.stringify(next.event));
        return;
      }
      const body = await readBody(req);
      const settled = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
      if (req.method === 'POST' && settled) {
        const pending = this.inFlight.get(decodeURIComponent(settled[1] ?? ''));
        this.inFlight.delete(pending?.id ?? '');
        pending?.resolve(
          settled[2] === 'response' ? { ok: true, response: JSON.parse(body || 'null') } : { ok: false, error: JSON.parse(body) },
        );
        res.writeHead(202).end('{}');
        return;
      }
      if (req.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
        this.initError = { ok: false, error: JSON.parse(body) };
        for (const pending of this.queue.splice(0)) pending.resolve(this.initError);
        res.writeHead(202).end('{}');
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Queues an event for the runtime client and resolves with what the handler answered. */
  invoke(event: unknown): Promise<InvocationResult> {
    if (this.initError) return Promise.resolve(this.initError);
    return new Promise((resolve) => {
      const pending = { id: randomUUID(), event, resolve };
      if (this.waiting) {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting(pending);
      } else this.queue.push(pending);
    });
  }

  /** Fails everything queued or in flight (the runtime client is gone). */
  abort(reason: string): void {
    this.initError = { ok: false, error: { errorType: 'Runtime.Exited', errorMessage: reason } };
    for (const pending of [...this.queue.splice(0), ...this.inFlight.values()]) pending.resolve(this.initError);
    this.inFlight.clear();
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private next(): Promise<Pending> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
