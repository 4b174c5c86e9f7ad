import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { compare } from 'fast-json-patch';
import pc from 'picocolors';
import type { Json } from '../../lambdas/domain/canonical';
import { STATUSES as ALL_STATUSES, type ChangeRequest, RequestRefused, type RequestStatus } from '../../lambdas/domain/change-request';
import type { RequestReview } from '../../lambdas/domain/review';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';
import {
  approveRequest,
  getRequest,
  listRequests,
  type ProposalInput,
  propose,
  rejectRequest,
  reviewRequest,
} from '../../lambdas/use-cases/change-requests';
import { changeDeps, storeOutbox, tenantContexts } from '../../local/runtime/change-deps';
import { requireTenant } from './history';
import { nonEmptyOption, UsageError } from './options';
import { RemoteApprovalApi } from './remote-api';
import { patchLines, table } from './render';
import { retryProposal } from './retry';
import { explainIscError, inWorkspace, positiveInt, print, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

interface ProposeFlags extends WorkspaceFlags, IdentityFlags {
  tenant: string;
  integration?: string;
  patch?: string;
  replace?: string;
  delete?: boolean;
  revert?: string;
  secret: string[];
  create?: string;
  statusCheck?: string;
  reason: string;
}

const STATUSES: readonly RequestStatus[] = ALL_STATUSES;

function parseJsonArgument(raw: string, option: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new UsageError(`${option} is not valid JSON`);
  }
}

function readJsonFile(file: string, option: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${option} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${option} ${file}: not valid JSON`);
  }
}

/** Exactly one operation, and the options it needs: checked before anything is opened. */
function proposalFrom(flags: ProposeFlags): ProposalInput {
  const withIntegration = [
    flags.patch !== undefined,
    flags.replace !== undefined,
    flags.delete === true,
    flags.revert !== undefined,
  ].filter(Boolean).length;
  const standalone = [flags.create !== undefined, flags.statusCheck !== undefined].filter(Boolean).length;
  if (withIntegration + standalone !== 1) {
    throw new UsageError(
      'give exactly one operation: --integration ID with --patch, --replace, --delete or --revert; or --create FILE; or --status-check JSON',
    );
  }
  if (withIntegration === 1 && !flags.integration) throw new UsageError('--patch, --replace, --delete and --revert need --integration ID');
  if (standalone === 1 && flags.integration) throw new UsageError('--create and --status-check do not take --integration');
  if (flags.secret.length > 0 && (flags.delete || flags.statusCheck !== undefined))
    throw new UsageError('--secret goes with --revert, --create, --replace or --patch');
  const secrets: Record<string, Json> = {};
  for (const pair of flags.secret) {
    const at = pair.indexOf('=');
    if (at < 1 || !pair.startsWith('/'))
      throw new UsageError(`--secret takes /json/pointer=value, e.g. /attributes/password=…; got '${pair.split('=')[0]}=…'`);
    secrets[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const id = flags.integration as string;
  if (flags.patch !== undefined) return { kind: 'patch', integrationId: id, patch: parseJsonArgument(flags.patch, '--patch'), secrets };
  if (flags.replace !== undefined)
    return { kind: 'replace', integrationId: id, integration: readJsonFile(flags.replace, '--replace'), secrets };
  if (flags.delete) return { kind: 'delete', integrationId: id };
  if (flags.revert !== undefined) return { kind: 'revert', integrationId: id, version: positiveInt(flags.revert, '--revert'), secrets };
  if (flags.create !== undefined) return { kind: 'create', integration: readJsonFile(flags.create, '--create'), secrets };
  return { kind: 'status-check', config: parseJsonArgument(flags.statusCheck as string, '--status-check') };
}

interface IdentityFlags {
  as?: string;
  apiUrl?: string;
}

/**
 * Locally `--as` names the person; against a deployed stack (`--api-url` or SDIM_GUARD_API_URL) the caller is the AWS
 * identity that signs the request, and `--as` is refused: nobody may claim to be someone else.
 */
function remoteApi(flags: IdentityFlags): RemoteApprovalApi | undefined {
  const url = flags.apiUrl ?? process.env.SDIM_GUARD_API_URL;
  if (url) {
    if (flags.as) throw new UsageError('--as is not accepted by the deployed API: the caller is your AWS identity (SigV4)');
    return new RemoteApprovalApi(url);
  }
  if (!flags.as) throw new UsageError('--as <user> is required locally (or give --api-url to use the deployed API as yourself)');
  return undefined;
}

const apiUrlOption = [
  '--api-url <url>',
  'the deployed approval API (default: $SDIM_GUARD_API_URL); calls are signed with your AWS credentials',
] as const;

export function registerRequestCommands(program: Command): void {
  withWorkspaceOptions(
    program
      .command('propose')
      .description('Propose a change to an integration or the status-check configuration; someone else must approve it.')
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option('--integration <id>', 'the integration to change')
      .option('--patch <json>', 'JSON Patch, replace operations only, e.g. \'[{"op":"replace","path":"/description","value":"x"}]\'')
      .option('--replace <file>', 'a whole ServiceDeskIntegrationDto (PUT)')
      .option('--delete', 'delete the integration')
      .option('--revert <version>', 'put back a stored version (see history --integration)')
      .option(
        '--secret <pointer=value>',
        'a credential a stored fingerprint ({"$secret": …}) stands for in --revert, --create, --replace or --patch; it must match the fingerprint (repeatable)',
        (v: string, all: string[]) => [...all, v],
        [],
      )
      .option('--create <file>', 'a new ServiceDeskIntegrationDto')
      .option(
        '--status-check <json>',
        'the new status-check configuration, e.g. \'{"provisioningStatusCheckIntervalMinutes":"30","provisioningMaxStatusCheckDays":"2"}\'',
      )
      .option('--as <user>', 'who proposes (locally; in AWS the caller is taken from IAM)', nonEmptyOption)
      .option(...apiUrlOption)
      .requiredOption('--reason <text>', 'why (a ticket, a change number)', nonEmptyOption),
  ).action(async (flags: ProposeFlags) => {
    const input = proposalFrom(flags);
    const api = remoteApi(flags);
    if (api) {
      const request = (await api.call('POST', '/requests', {
        tenant: flags.tenant,
        reason: flags.reason,
        operation: input,
      })) as ChangeRequest;
      print(
        flags,
        request,
        () => `Proposed ${pc.bold(request.id)} (${request.operation.kind} ${request.resourceKey}); status ${request.status}.`,
      );
      return;
    }
    const requester = flags.as as string;
    await inWorkspace(flags, async (ws) => {
      await requireTenant(ws, flags.tenant);
      const context = await tenantContexts(ws)(flags.tenant);
      const url = (await ws.tenants.get(flags.tenant))?.url ?? '';
      // A refusal (RequestRefused) exits 1 with its message, like any failed operation; 2 is for bad flags.
      const request = await propose(input, requester, flags.reason, context, changeDeps(ws, storeOutbox)).catch((error: unknown) => {
        if (error instanceof RequestRefused) throw error;
        throw explainIscError(error, url);
      });
      print(
        flags,
        request,
        () =>
          `Proposed ${pc.bold(request.id)} (${request.operation.kind} ${request.resourceKey}); status ${request.status}. Approve with: sdim-guard approve ${request.id} --as <someone else>`,
      );
    });
  });

  withWorkspaceOptions(
    program
      .command('approve <id>')
      .description('Approve a change request (not your own); the last approval queues it for apply.')
      .option('--as <user>', 'who approves (locally)', nonEmptyOption)
      .option(...apiUrlOption),
  ).action(async (id: string, flags: WorkspaceFlags & IdentityFlags) => {
    const api = remoteApi(flags);
    if (api) {
      const request = (await api.call('POST', `/requests/${encodeURIComponent(id)}/approve`)) as ChangeRequest;
      print(flags, request, () => `Approved ${id}: ${request.status}.`);
      return;
    }
    await inWorkspace(flags, async (ws) => {
      const request = await approveRequest(id, flags.as as string, changeDeps(ws, storeOutbox));
      print(flags, request, () =>
        request.status === 'queued'
          ? `Approved ${id}; queued for apply (the local runtime applies it: sdim-guard start, or sdim-guard local --once).`
          : `Approved ${id}: ${request.approvals.length} of ${request.approvalsRequired} approvals.`,
      );
    });
  });

  withWorkspaceOptions(
    program
      .command('retry <id>')
      .description('Propose a failed, conflicting or expired request again: a new request linked to it, approved again.')
      .option('--as <user>', 'who proposes the retry (locally)', nonEmptyOption)
      .option(...apiUrlOption),
  ).action(async (id: string, flags: WorkspaceFlags & IdentityFlags) => {
    const api = remoteApi(flags);
    if (api) {
      const old = (await api.call('GET', `/requests/${encodeURIComponent(id)}`)) as ChangeRequest;
      const { tenant, reason, input, retryOf } = retryProposal(old);
      const request = (await api.call('POST', '/requests', { tenant, reason, operation: input, retryOf })) as ChangeRequest;
      print(flags, request, () => `Proposed ${pc.bold(request.id)} to retry ${id}; status ${request.status}.`);
      return;
    }
    await inWorkspace(flags, async (ws) => {
      const deps = changeDeps(ws, storeOutbox);
      const { tenant, reason, input, retryOf } = retryProposal(await getRequest(id, deps));
      const context = await tenantContexts(ws)(tenant);
      const url = (await ws.tenants.get(tenant))?.url ?? '';
      const request = await propose(input, flags.as as string, reason, context, deps, { retryOf }).catch((error: unknown) => {
        if (error instanceof RequestRefused) throw error;
        throw explainIscError(error, url);
      });
      print(
        flags,
        request,
        () =>
          `Proposed ${pc.bold(request.id)} to retry ${id}; status ${request.status}. Approve with: sdim-guard approve ${request.id} --as <someone else>`,
      );
    });
  });

  withWorkspaceOptions(
    program
      .command('reject <id>')
      .description('Reject a change request, with a reason.')
      .option('--as <user>', 'who rejects (locally)', nonEmptyOption)
      .option(...apiUrlOption)
      .requiredOption('--reason <text>', 'why', nonEmptyOption),
  ).action(async (id: string, flags: WorkspaceFlags & IdentityFlags & { reason: string }) => {
    const api = remoteApi(flags);
    if (api) {
      const request = (await api.call('POST', `/requests/${encodeURIComponent(id)}/reject`, { reason: flags.reason })) as ChangeRequest;
      print(flags, request, () => `Rejected ${id}.`);
      return;
    }
    await inWorkspace(flags, async (ws) => {
      const request = await rejectRequest(id, flags.as as string, flags.reason, changeDeps(ws, storeOutbox));
      print(flags, request, () => `Rejected ${id}.`);
    });
  });

  withWorkspaceOptions(
    program
      .command('requests')
      .description('List change requests.')
      .option('--status <status>', `one of ${STATUSES.join(', ')}`)
      .option('--tenant <name>', 'only this tenant')
      .option(...apiUrlOption),
  ).action(async (flags: WorkspaceFlags & { status?: string; tenant?: string; apiUrl?: string }) => {
    if (flags.status && !STATUSES.includes(flags.status as RequestStatus)) {
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    }
    const url = flags.apiUrl ?? process.env.SDIM_GUARD_API_URL;
    const requests = url
      ? ((await new RemoteApprovalApi(url).call('GET', '/requests', undefined, {
          status: flags.status,
          tenant: flags.tenant,
        })) as ChangeRequest[])
      : await inWorkspace(flags, (ws) =>
          listRequests({ status: flags.status as RequestStatus | undefined, tenant: flags.tenant }, changeDeps(ws, storeOutbox)),
        );
    print(flags, requests, () =>
      requests.length === 0
        ? 'No change requests.'
        : table(
            ['id', 'status', 'tenant', 'operation', 'resource', 'requester', 'created'],
            requests.map((r) => [r.id, statusColour(r.status), r.tenant, r.operation.kind, r.resourceKey, r.requester, r.createdAt]),
          ),
    );
  });

  withWorkspaceOptions(
    program
      .command('show <id>')
      .description('Show a change request, its history, and the change it makes.')
      .option(...apiUrlOption),
  ).action(async (id: string, flags: WorkspaceFlags & { apiUrl?: string }) => {
    const url = flags.apiUrl ?? process.env.SDIM_GUARD_API_URL;
    const request = url
      ? ((await new RemoteApprovalApi(url).call('GET', `/requests/${encodeURIComponent(id)}`)) as Reviewed)
      : await inWorkspace(flags, (ws) => reviewRequest(id, { ...changeDeps(ws, storeOutbox), tenantFor: tenantContexts(ws) }));
    print(flags, request, () => describeRequest(request));
  });
}

function statusColour(status: RequestStatus): string {
  if (status === 'applied') return pc.green(status);
  if (status === 'conflict' || status === 'failed' || status === 'rejected' || status === 'refused') return pc.red(status);
  if (status === 'expired') return pc.dim(status);
  return pc.yellow(status);
}

type Reviewed = ChangeRequest & { review?: RequestReview; retriedBy?: readonly string[] };

function describeRequest(r: Reviewed): string {
  const lines = [
    `${pc.bold(r.id)}  ${statusColour(r.status)}  ${r.operation.kind} ${r.resourceKey} in ${r.tenant}`,
    `  requested by ${r.requester}: ${r.reason}`,
    ...(r.retryOf ? [`  retry of ${r.retryOf}`] : []),
    ...(r.retriedBy?.length ? [`  retried by ${r.retriedBy.join(', ')}`] : []),
    `  approvals ${r.approvals.length}/${r.approvalsRequired}${r.approvals.length ? ` (${r.approvals.map((a) => a.by).join(', ')})` : ''}; expires ${r.expiresAt}`,
    `  base ${r.baseHash?.slice(0, 12) ?? '(must not exist)'} → target ${r.targetHash?.slice(0, 12) ?? '(removed)'}`,
    '  change:',
  ];
  const op = r.operation;
  if (r.proposedPatch) {
    // The operation as a patch from the live object (at proposal time, and now if the live object moved since).
    lines[lines.length - 1] = '  change (JSON Patch from the live object at proposal time):';
    lines.push(...(r.proposedPatch.length ? patchLines(r.proposedPatch as never) : ['    (none)']));
    if (r.review?.error) lines.push(pc.yellow(`  ${r.review.error}`));
    else if (r.review?.liveChangedSinceProposal) {
      lines.push(pc.yellow('  live changed since proposal; the change from the live object now (the apply will end as a conflict):'));
      lines.push(...patchLines((r.review.now ?? []) as never));
    }
  } else if (op.kind === 'patch') lines.push(...patchLines(op.patch));
  else if (op.kind === 'delete') lines.push(pc.red('    remove the integration'));
  else if (op.kind === 'status-check') lines.push(...patchLines(compare({}, op.config)));
  else lines.push(...patchLines(compare({}, withoutIds(op.integration))));
  lines.push('  history:');
  for (const h of r.history) lines.push(`    ${h.at}  ${h.from ?? '-'} → ${h.to}  by ${h.by}${h.note ? `  (${h.note})` : ''}`);
  if (r.outcome?.error) lines.push(pc.red(`  error: ${r.outcome.error}`));
  return lines.join('\n');
}

function withoutIds(integration: ServiceDeskIntegration) {
  const { id: _id, created: _c, modified: _m, ...rest } = integration;
  return rest;
}
