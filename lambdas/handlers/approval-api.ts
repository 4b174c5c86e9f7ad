import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { STATUSES as ALL_STATUSES, RequestRefused, type RequestStatus } from '../domain/change-request';
import { IscError } from '../isc/errors';
import type { SnapshotStore } from '../ports/snapshot-store';
import type { TenantDirectory } from '../ports/tenants';
import {
  approveRequest,
  authorize,
  type ChangeDeps,
  getRequest,
  listRequests,
  type ProposalInput,
  propose,
  rejectRequest,
  type TenantContext,
} from '../use-cases/change-requests';
import { approvalDepsFromEnvironment } from './approval-api-wiring';

export interface ApprovalApiDeps extends ChangeDeps {
  readonly tenants: TenantDirectory;
  readonly history: SnapshotStore;
  readonly tenantFor: (tenant: string) => Promise<Omit<TenantContext, 'tenant' | 'history'>>;
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
  console.error('approval API failure', error);
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

function parseProposal(body: Record<string, unknown>): { tenant: string; reason: string; input: ProposalInput } {
  const { tenant, reason, operation } = body as { tenant?: unknown; reason?: unknown; operation?: unknown };
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
  return { tenant, reason, input: op as ProposalInput };
}

/**
 * POST /requests, POST /requests/{id}/approve, POST /requests/{id}/reject, GET /requests[?status=&tenant=],
 * GET /requests/{id}.
 */
export async function main(event: APIGatewayProxyEvent, deps: ApprovalApiDeps): Promise<APIGatewayProxyResult> {
  try {
    const caller = callerOf(event);
    const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
    const segments = path.split('/').filter(Boolean);
    if (segments[0] !== 'requests') return json(404, { error: 'not-found', message: `no route ${event.httpMethod} ${path}` });
    const [, id, action] = segments;
    // Who may do what is checked per route (ACCESS); proposing, approving and rejecting check again in the use case,
    // the one place the local CLI goes through too.
    if (event.httpMethod === 'GET') authorize(caller, 'read', deps.access);
    if (event.httpMethod === 'GET' && !id) {
      const status = event.queryStringParameters?.status;
      if (status && !STATUSES.has(status as RequestStatus)) throw new BadRequest(`status must be one of ${[...STATUSES].join(', ')}`);
      return json(
        200,
        await listRequests({ status: status as RequestStatus | undefined, tenant: event.queryStringParameters?.tenant }, deps),
      );
    }
    if (event.httpMethod === 'GET' && id && !action) return json(200, await getRequest(id, deps));
    if (event.httpMethod === 'POST' && !id) {
      const { tenant, reason, input } = parseProposal(bodyOf(event));
      const config = await deps.tenants.get(tenant);
      if (!config) throw new RequestRefused('not-found', `unknown tenant '${tenant}'`);
      const context = await deps.tenantFor(tenant);
      return json(201, await propose(input, caller, reason, { tenant, history: deps.history, ...context }, deps));
    }
    if (event.httpMethod === 'POST' && id && action === 'approve') return json(200, await approveRequest(id, caller, deps));
    if (event.httpMethod === 'POST' && id && action === 'reject') {
      const reason = bodyOf(event).reason;
      if (typeof reason !== 'string' || !reason.trim()) throw new BadRequest('reason is required to reject');
      return json(200, await rejectRequest(id, caller, reason, deps));
    }
    return json(404, { error: 'not-found', message: `no route ${event.httpMethod} ${path}` });
  } catch (error) {
    return errorResponse(error);
  }
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler((event) => main(event, approvalDepsFromEnvironment()));
