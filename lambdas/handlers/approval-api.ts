import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { STATUSES as ALL_STATUSES, RequestRefused, type RequestStatus } from '../domain/change-request';
import type { Route as AccessRoute } from '../domain/identity';
import { scrubError } from '../domain/secrets';
import { IscError } from '../isc/errors';
import type { AnchorStore } from '../ports/anchors';
import type { SnapshotStore } from '../ports/snapshot-store';
import type { TenantDirectory } from '../ports/tenants';
import {
  approveRequest,
  authorize,
  type ChangeDeps,
  listRequests,
  type ProposalInput,
  propose,
  rejectRequest,
  reviewRequest,
  type TenantContext,
} from '../use-cases/change-requests';
import {
  acceptDrifts,
  compareVersions,
  listDrift,
  listIntegrations,
  parseKey,
  requestView,
  resourceVersions,
  tenantTimeline,
  verifyTenant,
} from '../use-cases/console-reads';
import { approvalDepsFromEnvironment } from './approval-api-wiring';

export interface ApprovalApiDeps extends ChangeDeps {
  readonly tenants: TenantDirectory;
  readonly history: SnapshotStore;
  readonly tenantFor: (tenant: string) => Promise<Omit<TenantContext, 'tenant' | 'history'>>;
  /** The longest a drift acceptance may run (settings `maxAcceptanceDays`). @default 90 */
  readonly maxAcceptanceDays?: number;
  /** The history anchors verify compares the table with (S3 Object Lock; locally the anchor file). */
  readonly anchors?: AnchorStore;
  /** Minutes between snapshots, for verify's unanchored-tail rule. @default 15 */
  readonly snapshotIntervalMinutes?: number;
}

const STATUSES = new Set<RequestStatus>(ALL_STATUSES);

/** The one place domain errors become HTTP statuses; nothing raw is serialised to a caller. */
function errorResponse(error: unknown): APIGatewayProxyResult {
  if (error instanceof RequestRefused) {
    const status = { 'not-found': 404, forbidden: 403, invalid: 400, conflict: 409 }[error.code];
    return json(status, { error: error.code, message: error.message });
  }
  if (error instanceof BadRequest) return json(400, { error: 'invalid', message: error.message });
  if (error instanceof IscError) return json(502, { error: 'isc', message: error.message });
  console.error('approval API failure', scrubError(error));
  return json(500, { error: 'internal', message: 'internal error; see the function logs' });
}

class BadRequest extends Error {}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The caller, as IAM authenticated it. Never taken from the body. */
function callerOf(event: APIGatewayProxyEvent): string {
  const caller = event.requestContext?.identity?.userArn;
  if (!caller) throw new RequestRefused('forbidden', 'the request carries no authenticated caller (the API must use IAM authorization)');
  return caller;
}

function bodyOf(event: APIGatewayProxyEvent): Record<string, unknown> {
  if (!event.body) throw new BadRequest('the request needs a JSON body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body);
  } catch {
    throw new BadRequest('the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function parseProposal(body: Record<string, unknown>): { tenant: string; reason: string; input: ProposalInput; retryOf?: string } {
  const { tenant, reason, operation, retryOf } = body as { tenant?: unknown; reason?: unknown; operation?: unknown; retryOf?: unknown };
  if (retryOf !== undefined && (typeof retryOf !== 'string' || !retryOf)) throw new BadRequest('retryOf must be a request id');
  if (typeof tenant !== 'string' || !tenant) throw new BadRequest('tenant is required');
  if (typeof reason !== 'string' || !reason.trim()) throw new BadRequest('reason is required');
  const op = operation as { kind?: unknown } | undefined;
  const kinds = ['create', 'replace', 'patch', 'delete', 'status-check', 'revert'];
  if (!op || typeof op.kind !== 'string' || !kinds.includes(op.kind))
    throw new BadRequest(`operation.kind must be one of ${kinds.join(', ')}`);
  const needsId = op.kind === 'replace' || op.kind === 'patch' || op.kind === 'delete' || op.kind === 'revert';
  if (needsId && typeof (op as { integrationId?: unknown }).integrationId !== 'string')
    throw new BadRequest(`operation.integrationId is required for ${op.kind}`);
  if (op.kind === 'revert' && !Number.isInteger((op as { version?: unknown }).version))
    throw new BadRequest('operation.version must be a whole number');
  return { tenant, reason, input: op as ProposalInput, ...(retryOf !== undefined ? { retryOf: retryOf as string } : {}) };
}

function wholeNumber(raw: string | undefined, name: string): number {
  if (!raw || !/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new BadRequest(`${name} must be a whole number ≥ 1`);
  return Number(raw);
}

type Route = (event: APIGatewayProxyEvent, caller: string, params: string[], deps: ApprovalApiDeps) => Promise<APIGatewayProxyResult>;

/**
 * Who may do what is checked per route (ACCESS): every GET is a read (proposers and approvers); accepting drift is a
 * decision like approving (approvers). Proposing, approving and rejecting check again in their use cases, the one
 * place the local CLI goes through too.
 */
function permission(method: string, pattern: string): AccessRoute | undefined {
  if (method === 'GET') return 'read';
  if (pattern === 'POST /tenants/{}/drift/accept') return 'approve';
  return undefined;
}

/** Routes as `METHOD /path` with `{}` for one path segment; the captured segments are passed in order. */
const ROUTES: Array<[string, Route]> = [
  ['GET /whoami', async (_e, caller) => json(200, { caller })],
  [
    'GET /requests',
    async (event, _c, _p, deps) => {
      const status = event.queryStringParameters?.status;
      if (status && !STATUSES.has(status as RequestStatus)) throw new BadRequest(`status must be one of ${[...STATUSES].join(', ')}`);
      const tenant = event.queryStringParameters?.tenant || undefined;
      return json(200, await listRequests({ status: status as RequestStatus | undefined, tenant }, deps));
    },
  ],
  [
    'POST /requests',
    async (event, caller, _p, deps) => {
      const { tenant, reason, input, retryOf } = parseProposal(bodyOf(event));
      const config = await deps.tenants.get(tenant);
      if (!config) throw new RequestRefused('not-found', `unknown tenant '${tenant}'`);
      const context = await deps.tenantFor(tenant);
      return json(201, await propose(input, caller, reason, { tenant, history: deps.history, ...context }, deps, { retryOf }));
    },
  ],
  // The request with its review: the patch from the live object at proposal time and now.
  ['GET /requests/{}', async (_e, _c, [id], deps) => json(200, await reviewRequest(id as string, deps))],
  ['GET /requests/{}/view', async (_e, caller, [id], deps) => json(200, await requestView(id as string, caller, deps))],
  ['POST /requests/{}/approve', async (_e, caller, [id], deps) => json(200, await approveRequest(id as string, caller, deps))],
  [
    'POST /requests/{}/reject',
    async (event, caller, [id], deps) => {
      const reason = bodyOf(event).reason;
      if (typeof reason !== 'string' || !reason.trim()) throw new BadRequest('reason is required to reject');
      return json(200, await rejectRequest(id as string, caller, reason, deps));
    },
  ],
  [
    'GET /tenants',
    async (_e, _c, _p, deps) =>
      json(
        200,
        (await deps.tenants.list()).map((t) => ({ name: t.name })),
      ),
  ],
  [
    'GET /tenants/{}/drift',
    async (event, _c, [tenant], deps) => {
      const status = event.queryStringParameters?.status;
      if (status && status !== 'open' && status !== 'accepted') throw new BadRequest('status must be open or accepted');
      return json(200, await listDrift(tenant as string, { status: status as 'open' | 'accepted' | undefined }, deps));
    },
  ],
  [
    'POST /tenants/{}/drift/accept',
    async (event, caller, [tenant], deps) => {
      const { keys, reason, until } = bodyOf(event);
      if (!Array.isArray(keys) || keys.length === 0 || keys.length > 500)
        throw new BadRequest('keys must be a list of 1 to 500 resource keys');
      if (typeof reason !== 'string' || !reason.trim()) throw new BadRequest('reason is required to accept drift');
      if (typeof until !== 'string' || !until) throw new BadRequest('until is required (a date or an ISO time)');
      const parsed = keys.map((k) => parseKey(typeof k === 'string' ? k : undefined));
      return json(200, await acceptDrifts(tenant as string, { keys: parsed, reason, until }, caller, deps));
    },
  ],
  ['GET /tenants/{}/history', async (_e, _c, [tenant], deps) => json(200, await tenantTimeline(tenant as string, deps))],
  [
    'GET /tenants/{}/versions',
    async (event, _c, [tenant], deps) =>
      json(200, await resourceVersions(tenant as string, parseKey(event.queryStringParameters?.key), deps)),
  ],
  [
    'GET /tenants/{}/compare',
    async (event, _c, [tenant], deps) => {
      const q = event.queryStringParameters ?? {};
      const key = parseKey(q.key);
      return json(200, await compareVersions(tenant as string, key, wholeNumber(q.from, 'from'), wholeNumber(q.to, 'to'), deps));
    },
  ],
  ['GET /tenants/{}/verify', async (_e, _c, [tenant], deps) => json(200, await verifyTenant(tenant as string, deps))],
  [
    'GET /tenants/{}/integrations',
    async (event, _c, [tenant], deps) =>
      json(200, await listIntegrations(tenant as string, event.queryStringParameters?.search || undefined, deps)),
  ],
];

function match(pattern: string, method: string, segments: string[]): string[] | undefined {
  const [m, path] = pattern.split(' ') as [string, string];
  const parts = path.split('/').filter(Boolean);
  if (m !== method || parts.length !== segments.length) return undefined;
  const params: string[] = [];
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] as string;
    if (part === '{}') params.push(decodeURIComponent(segment));
    else if (part !== segment) return undefined;
  }
  return params;
}

/**
 * Change requests: POST /requests, GET /requests[?status=&tenant=], GET /requests/{id}, GET /requests/{id}/view,
 * POST /requests/{id}/approve, POST /requests/{id}/reject. Read side (what the CLI and the console share):
 * GET /whoami, GET /tenants, GET /tenants/{t}/drift[?status=], POST /tenants/{t}/drift/accept,
 * GET /tenants/{t}/history, GET /tenants/{t}/versions?key=, GET /tenants/{t}/compare?key=&from=&to=,
 * GET /tenants/{t}/verify, GET /tenants/{t}/integrations[?search=].
 */
export async function main(event: APIGatewayProxyEvent, deps: ApprovalApiDeps): Promise<APIGatewayProxyResult> {
  try {
    const caller = callerOf(event);
    const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
    const segments = path.split('/').filter(Boolean);
    for (const [pattern, route] of ROUTES) {
      let params: string[] | undefined;
      try {
        params = match(pattern, event.httpMethod, segments);
      } catch {
        throw new BadRequest(`the path ${path} is not correctly encoded`);
      }
      if (!params) continue;
      const needs = permission(event.httpMethod, pattern);
      if (needs) authorize(caller, needs, deps.access);
      return await route(event, caller, params, deps);
    }
    return json(404, { error: 'not-found', message: `no route ${event.httpMethod} ${path}` });
  } catch (error) {
    return errorResponse(error);
  }
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler((event) => main(event, approvalDepsFromEnvironment()));
