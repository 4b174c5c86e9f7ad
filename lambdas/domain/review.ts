import { compare, type Operation } from 'fast-json-patch';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import type { JsonObject } from './canonical';
import type { ChangeOperation, ChangeRequest } from './change-request';
import { type NormaliseOptions, normaliseIntegration, normaliseStatusCheck } from './normalise';
import { comparableHash, expectedAfter } from './targets';

type Live = ServiceDeskIntegration | StatusCheckConfig | null | undefined;

/**
 * What an approver reads: the operation as a JSON Patch from the live object to the result, on fingerprinted content
 * (a credential shows as its fingerprint, never its value), without the fields ISC assigns.
 */
export function patchFromLive(operation: ChangeOperation, live: Live, options: NormaliseOptions): Operation[] {
  let target: ReturnType<typeof expectedAfter>;
  try {
    target = expectedAfter(operation, live ?? undefined);
  } catch {
    target = undefined;
  }
  return compare(displayable(live, options), displayable(target ?? null, options));
}

function displayable(resource: Live, options: NormaliseOptions): JsonObject {
  if (!resource) return {};
  if ('provisioningStatusCheckIntervalMinutes' in resource) return normaliseStatusCheck(resource, options).content;
  const { content } = normaliseIntegration({ ...resource, id: resource.id ?? 'new' }, options);
  const { id: _id, created: _created, ...rest } = content;
  return rest;
}

export interface RequestReview {
  /** The patch from the live object when the request was proposed (what the requester saw). */
  readonly proposed: readonly Operation[];
  /** The patch from the live object now; absent when ISC could not be read. */
  readonly now?: readonly Operation[];
  /** True when the live object is no longer the one the request was written against: the apply will be a conflict. */
  readonly liveChangedSinceProposal?: boolean;
  readonly error?: string;
}

export function reviewOf(request: ChangeRequest, live: Live, options: NormaliseOptions): RequestReview {
  return {
    proposed: request.proposedPatch ?? [],
    now: patchFromLive(request.operation, live, options),
    liveChangedSinceProposal: comparableHash(live ?? null, options) !== request.baseHash,
  };
}
