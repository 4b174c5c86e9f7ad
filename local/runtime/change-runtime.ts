import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type ApplyHandlerDeps, main as applyMain } from '../../lambdas/handlers/apply';
import { type ApprovalApiDeps, main as approvalMain } from '../../lambdas/handlers/approval-api';
import type { ChangeQueue } from '../../lambdas/ports/change-requests';
import { systemClock } from '../../lambdas/ports/clock';
import { sweepRequests } from '../../lambdas/use-cases/sweep-requests';
import type { Workspace } from '../workspace';
import { changeDeps, LOCAL_USER_HEADER, storeOutbox, tenantContexts, workspaceTenantResolver } from './change-deps';
import { LocalFifoQueue } from './fifo-queue';

// What one-shot CLI commands need is in change-deps.ts, so they load none of the handlers imported here.
export { changeDeps, LOCAL_USER_HEADER, storeOutbox, tenantContexts, workspaceTenantResolver };

/** The apply side of the local runtime: FIFO queue, dispatcher from the store, and the apply handler's `main`. */
export class LocalChangeRuntime {
  readonly queue: LocalFifoQueue;
  readonly applyDeps: ApplyHandlerDeps;

  constructor(
    private readonly ws: Workspace,
    log: (line: string) => void,
  ) {
    this.queue = new LocalFifoQueue({ visibilityTimeoutMs: 2_000, maxReceiveCount: 5 });
    const resolve = workspaceTenantResolver(ws);
    this.applyDeps = {
      requests: ws.requests,
      vault: ws.secrets,
      notifier: ws.notifier,
      clock: systemClock,
      tenantFor: resolve,
      deadLetters: this.queue,
      maxReceiveCount: 5,
      leaseMs: 2_000,
      access: ws.access,
      log,
    };
  }

  /**
   * Requests queued in the store (by a CLI, or before a restart) go into the in-process queue; the sweep expires
   * overdue ones and queues approvals nobody queued (locally at once: nothing else would).
   */
  async dispatch(): Promise<number> {
    await sweepRequests(changeDeps(this.ws, this.queue), 0);
    const waiting = await this.ws.requests.list({ status: 'queued' });
    for (const request of waiting)
      await this.queue.enqueue({ requestId: request.id, tenant: request.tenant, resourceKey: request.resourceKey });
    return waiting.length;
  }

  /** Dispatch, then apply until the queue is empty. */
  async drain(): Promise<void> {
    await this.dispatch();
    await this.queue.drain((event) => applyMain(event, this.applyDeps));
  }
}

/** The approval API's dependencies on a workspace: the composition the Lambda wiring does, with local adapters. */
export function localApprovalDeps(ws: Workspace, queue: ChangeQueue): ApprovalApiDeps {
  return {
    ...changeDeps(ws, queue),
    tenants: ws.tenants,
    history: ws.store,
    tenantFor: tenantContexts(ws),
    maxAcceptanceDays: ws.settings.maxAcceptanceDays,
    anchors: ws.anchors,
  };
}

/** An API Gateway-shaped event for the approval handler; locally the caller is whoever the user header names. */
export function localApprovalEvent(request: {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
  user: string | undefined;
}): APIGatewayProxyEvent {
  return {
    httpMethod: request.method,
    path: request.path,
    body: request.body || null,
    isBase64Encoded: false,
    queryStringParameters: request.query,
    headers: {},
    requestContext: { identity: { userArn: request.user || null } },
  } as unknown as APIGatewayProxyEvent;
}

/** The approval API handler on localhost: same `main`, events shaped like API Gateway's. */
export async function startApprovalApi(
  ws: Workspace,
  queue: ChangeQueue,
  port = 0,
  log: (line: string) => void = (line) =>
    process.stderr.write(`${line}
`),
): Promise<{ url: string; stop: () => Promise<void> }> {
  const deps = localApprovalDeps(ws, queue);
  const server: Server = createServer((req, res) => {
    serve(req, res, deps).catch((error: unknown) => {
      // Contained: one bad request never takes the stack down; the caller gets a 500 and the console the reason.
      log(`approval API: ${req.method} ${req.url} failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) reply(res, 500, { error: 'internal', message: 'internal error; see the sdim-guard console' });
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Bodies above this are answered 413; API Gateway's own limit is 10 MB, the API's real requests are a few KB. */
export const MAX_API_BODY_BYTES = 1024 * 1024;
/** An oversized body is read (and dropped) up to this much so the client sees the 413; past it the socket is cut. */
const MAX_DRAINED_BYTES = 16 * 1024 * 1024;

class BodyTooLarge extends Error {}

async function serve(req: IncomingMessage, res: ServerResponse, deps: ApprovalApiDeps): Promise<void> {
  let body: string;
  try {
    body = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      reply(res, 413, { error: 'too-large', message: `the request body exceeds ${MAX_API_BODY_BYTES} bytes` });
      return;
    }
    throw error;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const user = req.headers[LOCAL_USER_HEADER];
  const event = localApprovalEvent({
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    body,
    user: typeof user === 'string' ? user : undefined,
  });
  const result = await approvalMain(event, deps);
  res.writeHead(result.statusCode, result.headers as Record<string, string>);
  res.end(result.body);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAINED_BYTES) req.destroy();
      else if (size <= MAX_API_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_API_BODY_BYTES ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
    req.on('close', () => {
      if (size > MAX_DRAINED_BYTES) reject(new BodyTooLarge());
    });
  });
}
