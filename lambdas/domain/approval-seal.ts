import { canonicalJson, contentHash, hmacSha256Hex, type Json } from './canonical';
import type { ChangeRequest } from './change-request';
import { type AccessConfig, identify, samePerson } from './identity';
import { isFingerprint } from './secrets';

/**
 * Seals bind a request's content to its proposal and to each approval: an HMAC, under a key only the approval API and
 * the apply function hold, over everything that decides what reaches ISC. Someone who can write the table but not read
 * the key can change an item, but not make the apply function believe the change was proposed or approved.
 */
export function sealKeyFrom(fingerprintKey: Buffer): Buffer {
  return Buffer.from(hmacSha256Hex(fingerprintKey, 'sdim-guard approval seal v1'), 'hex');
}

/** What a proposal and its approvals are about: every field that changes what is applied, or who may approve it. */
export function contentDigest(request: ChangeRequest): string {
  return contentHash({
    id: request.id,
    tenant: request.tenant,
    resourceKey: request.resourceKey,
    operation: request.operation,
    baseHash: request.baseHash,
    baseSnapshotHash: request.baseSnapshotHash ?? null,
    targetHash: request.targetHash,
    secretPaths: request.secretPaths,
    proposedPatch: request.proposedPatch ?? null,
    requester: request.requester,
    reason: request.reason,
    // Only when set, so the seals of requests written before the field existed still verify.
    ...(request.retryOf !== undefined ? { retryOf: request.retryOf } : {}),
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    approvalsRequired: request.approvalsRequired,
  });
}

export function proposalSeal(request: ChangeRequest, key: Buffer): string {
  return hmacSha256Hex(key, canonicalJson(['proposal', contentDigest(request)]));
}

export function approvalSeal(request: ChangeRequest, by: string, at: string, targetHash: string | null, key: Buffer): string {
  return hmacSha256Hex(key, canonicalJson(['approval', contentDigest(request), by, at, targetHash]));
}

/**
 * Every reason the stored request is not what was proposed and approved; empty when it is. Four eyes are checked
 * again with the current identity model: a request approved under a looser model is not applied under a stricter one.
 */
export function integrityProblems(request: ChangeRequest, key: Buffer, access?: AccessConfig): string[] {
  const problems: string[] = [];
  if (request.proposalSeal !== proposalSeal(request, key))
    problems.push('the request item no longer matches what was proposed (operation, target, requester or approvals required changed)');
  const requester = identify(request.requester, access);
  const counted: ReturnType<typeof identify>[] = [];
  for (const approval of request.approvals) {
    if (approval.seal !== approvalSeal(request, approval.by, approval.at, approval.targetHash ?? null, key)) {
      problems.push(`the approval by ${approval.by} does not match the request as it is stored`);
      continue;
    }
    if (approval.targetHash !== request.targetHash) {
      problems.push(`${approval.by} approved target ${approval.targetHash}, not ${request.targetHash}`);
      continue;
    }
    const approver = identify(approval.by, access);
    if (samePerson(approver, requester)) {
      problems.push(`${approval.by} is the requester ${request.requester} as far as sdim-guard can tell`);
      continue;
    }
    if (counted.some((c) => samePerson(c, approver))) continue;
    counted.push(approver);
  }
  if (counted.length < request.approvalsRequired)
    problems.push(`${counted.length} valid approval(s) from distinct people, ${request.approvalsRequired} required`);
  return problems;
}

/** Credentials from the vault must be the ones the sealed request fingerprinted: a swapped value is refused. */
export function vaultProblems(redacted: Json, values: Record<string, Json>, fingerprintOf: (value: Json) => { $secret: string }): string[] {
  const problems: string[] = [];
  for (const [pointer, value] of Object.entries(values)) {
    const stored = pointerGet(redacted, pointer);
    if (!isFingerprint(stored) || stored.$secret !== fingerprintOf(value).$secret)
      problems.push(`the credential at ${pointer} is not the one that was approved`);
  }
  return problems;
}

function pointerGet(doc: Json, pointer: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(token)] : node[token];
  }
  return node;
}
