import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type ApplyHandlerDeps, main as applyMain } from '../../lambdas/handlers/apply';
import { type ApprovalApiDeps, main as approvalMain } from '../../lambdas/handlers/approval-api';
import type { ChangeQueue } from '../../lambdas/ports/change-requests';
import { systemClock } from '../../lambdas/ports/clock';
import type { ChangeDeps } from '../../lambdas/use-cases/change-requests';
import { sweepRequests } from '../../lambdas/use-cases/sweep-requests';
import { tenantResolver } from '../../lambdas/wiring';
import type { Workspace } from '../workspace';
import { LocalFifoQueue } from './fifo-queue';

/** Locally the caller names themselves; in AWS the API takes the IAM caller and this header means nothing. */
export const LOCAL_USER_HEADER = 'x-sdim-guard-user';

/**
 * Used by CLI processes that do not run the queue: a request's `queued` status in the store is the message, and
 * the local runtime dispatches it into its in-process FIFO queue (an outbox, so nothing approved is lost).
 */
export const storeOutbox: ChangeQueue = { enqueue: async () => undefined };

export function changeDeps(ws: Workspace, queue: ChangeQueue, approvalsRequired = 1): ChangeDeps {
  return {
    requests: ws.requests,
    vault: ws.secrets,
    queue,
    clock: systemClock,
    newId: randomUUID,
    approvalsRequired,
    access: ws.access,
    sealKey: () => ws.secrets.fingerprintKey(),
  };
}

export function tenantContexts(ws: Workspace) {
  const resolve = tenantResolver(ws.tenants, ws.secrets, ws.settings);
  return async (tenant: string) => ({ ...(await resolve(tenant)), tenant, history: ws.store });
}

/** The apply side of the local runtime: FIFO queue, dispatcher from the store, and the apply handler's `main`. */
export class LocalChangeRuntime {
  readonly queue: LocalFifoQueue;
  readonly applyDeps: ApplyHandlerDeps;

  constructor(
    private readonly ws: Workspace,
    log: (line: string) => void,
  ) {
    this.queue = new LocalFifoQueue({ visibilityTimeoutMs: 2_000, maxReceiveCount: 5 });
    const resolve = tenantResolver(ws.tenants, ws.secrets, ws.settings);
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
  return { ...changeDeps(ws, queue), tenants: ws.tenants, history: ws.store, tenantFor: tenantContexts(ws) };
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
export async function startApprovalApi(ws: Workspace, queue: ChangeQueue, port = 0): Promise<{ url: string; stop: () => Promise<void> }> {
  const deps = localApprovalDeps(ws, queue);
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
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
  });
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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
      if (body.length > 1_000_000) req.destroy(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
