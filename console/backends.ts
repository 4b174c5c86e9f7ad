import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { RemoteApprovalApi } from '../bin/commands/remote-api';
import { main as approvalMain } from '../lambdas/handlers/approval-api';
import { localApprovalDeps, localApprovalEvent, storeOutbox } from '../local/runtime/change-runtime';
import type { Workspace } from '../local/workspace';
import type { ApiReply, ConsoleBackend } from './server';

function parsed(body: string): unknown {
  try {
    return body ? JSON.parse(body) : undefined;
  } catch {
    return { message: body.slice(0, 200) };
  }
}

/**
 * The local stack: the approval handler's own `main` in-process on the workspace (which attaches to a running
 * `sdim-guard start`), the caller being the `--as` name. Approved requests go to the store's outbox; the running
 * stack (or `sdim-guard local --once`) applies them.
 */
export function localBackend(ws: Workspace, user: string): ConsoleBackend {
  const deps = localApprovalDeps(ws, storeOutbox);
  return {
    describe: { mode: 'local', target: ws.dataDir, user },
    call: async (method, path, query, body) => {
      const result = await approvalMain(localApprovalEvent({ method, path, query, body: body ?? '', user }), deps);
      return { status: result.statusCode, body: parsed(result.body) };
    },
  };
}

/** What AWS says when the signing credentials are no longer valid; the operator must sign in again. */
const EXPIRED = /security token included in the request is (expired|invalid)|ExpiredToken|token has expired|signature expired/i;

/**
 * The deployed approval API, every call signed with the operator's own AWS credentials (SigV4), exactly as the CLI
 * signs: the console holds nothing those credentials do not already grant.
 */
export function awsBackend(apiUrl: string, credentials?: AwsCredentialIdentityProvider): ConsoleBackend {
  const api = new RemoteApprovalApi(apiUrl, undefined, credentials);
  return {
    describe: { mode: 'aws', target: apiUrl },
    call: async (method, path, query, body): Promise<ApiReply> => {
      let payload: unknown;
      if (body !== undefined) {
        try {
          payload = JSON.parse(body);
        } catch {
          return { status: 400, body: { error: 'invalid', message: 'the body is not valid JSON' } };
        }
      }
      let reply: ApiReply;
      try {
        reply = await api.send(method, path, payload, query);
      } catch (error) {
        const message = (error as Error).message;
        if (EXPIRED.test(message) || /session .*expired/i.test(message))
          return {
            status: 401,
            body: {
              error: 'aws-session-expired',
              message: `your AWS session has expired (${message}). Sign in again (e.g. aws sso login), then retry; nothing was changed.`,
            },
          };
        if (/credential/i.test((error as Error).name) || /credentials/i.test(message))
          return {
            status: 401,
            body: {
              error: 'aws-credentials',
              message: `no usable AWS credentials: ${message}. Sign in (e.g. aws sso login) and reload; nothing was changed.`,
            },
          };
        return { status: 502, body: { error: 'unreachable', message } };
      }
      const said = (reply.body as { message?: unknown } | undefined)?.message;
      if ((reply.status === 403 || reply.status === 401) && typeof said === 'string' && EXPIRED.test(said))
        return {
          status: 401,
          body: {
            error: 'aws-session-expired',
            message: `your AWS session has expired (AWS said: "${said}"). Sign in again (e.g. aws sso login), then retry; nothing was changed.`,
          },
        };
      return reply;
    },
  };
}
