import { type ChangeRequest, RETRYABLE } from '../../lambdas/domain/change-request';
import type { ProposalInput } from '../../lambdas/use-cases/change-requests';
import { Refusal } from './options';

/**
 * The proposal that retries `request`: the same operation on the same tenant, linked by `retryOf` (checked and sealed
 * by propose) and with a reason naming it. It is a new request, so it needs its approvals again; the old one stays as
 * it ended.
 */
export function retryProposal(request: ChangeRequest): { tenant: string; reason: string; input: ProposalInput; retryOf: string } {
  if (!RETRYABLE.has(request.status)) {
    throw new Refusal(`request ${request.id} is ${request.status}; only failed, conflict or expired requests can be retried`);
  }
  if (request.secretPaths.length > 0) {
    throw new Refusal(
      `request ${request.id} carried credentials (${request.secretPaths.join(', ')}), discarded when it ended; propose it again with them`,
    );
  }
  const op = request.operation;
  const input: ProposalInput =
    op.kind === 'create'
      ? { kind: 'create', integration: op.integration }
      : op.kind === 'replace'
        ? { kind: 'replace', integrationId: op.integrationId, integration: op.integration }
        : op.kind === 'patch'
          ? { kind: 'patch', integrationId: op.integrationId, patch: op.patch }
          : op.kind === 'delete'
            ? { kind: 'delete', integrationId: op.integrationId }
            : op.kind === 'status-check'
              ? { kind: 'status-check', config: op.config }
              : { kind: 'revert', integrationId: op.integrationId, version: op.version };
  return { tenant: request.tenant, reason: `retry of ${request.id}: ${request.reason}`, input, retryOf: request.id };
}
