import { applyPatch, type Operation } from 'fast-json-patch';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import type { JsonObject } from './canonical';
import type { ChangeOperation } from './change-request';
import { hashOf, type NormaliseOptions, normaliseIntegration, normaliseStatusCheck } from './normalise';

/**
 * The hash used to decide "is ISC still as approved?" and "is it already as requested?": the normalised content
 * without the fields ISC assigns (id, created; `modified` is already metadata), so a created integration compares
 * equal to its request and a re-created one does not look different for its new id.
 */
export function comparableHash(
  resource: ServiceDeskIntegration | StatusCheckConfig | null | undefined,
  options: NormaliseOptions,
): string | null {
  if (!resource) return null;
  if ('provisioningStatusCheckIntervalMinutes' in resource) return normaliseStatusCheck(resource, options).contentHash;
  const { content } = normaliseIntegration({ ...resource, id: resource.id ?? 'new' }, options);
  const { id: _id, created: _created, ...rest } = content;
  return hashOf(rest as JsonObject, options);
}

/** What ISC holds after the operation, given what it holds now. Read-only fields keep their live values. */
export function expectedAfter(operation: ChangeOperation, live: ServiceDeskIntegration | StatusCheckConfig | undefined) {
  switch (operation.kind) {
    case 'create':
      return withReadOnly(operation.integration, undefined);
    case 'replace':
    case 'revert':
      return withReadOnly(operation.integration, live as ServiceDeskIntegration | undefined);
    case 'patch': {
      if (!live) return undefined;
      const patched = applyPatch(structuredClone(live), operation.patch as Operation[], true, false).newDocument as ServiceDeskIntegration;
      return withReadOnly(patched, live as ServiceDeskIntegration);
    }
    case 'delete':
      return null;
    case 'status-check':
      return {
        provisioningStatusCheckIntervalMinutes: operation.config.provisioningStatusCheckIntervalMinutes,
        provisioningMaxStatusCheckDays: operation.config.provisioningMaxStatusCheckDays,
      };
  }
}

/** ISC ignores `provisioningConfig.universalManager` on input and keeps the stored value. */
function withReadOnly(requested: ServiceDeskIntegration, live: ServiceDeskIntegration | undefined): ServiceDeskIntegration {
  const { id: _id, created: _created, modified: _modified, ...body } = requested;
  const result: ServiceDeskIntegration = { ...body };
  if (requested.provisioningConfig) {
    result.provisioningConfig = { ...requested.provisioningConfig, universalManager: live?.provisioningConfig?.universalManager ?? false };
  } else if (live?.provisioningConfig) {
    result.provisioningConfig = live.provisioningConfig;
  }
  return result;
}

/** The content hash a snapshot will record for this live object (what the applied-change ledger must match). */
export function snapshotHashOf(
  resource: ServiceDeskIntegration | StatusCheckConfig | null | undefined,
  options: NormaliseOptions,
): string | null {
  if (!resource) return null;
  if ('provisioningStatusCheckIntervalMinutes' in resource) return normaliseStatusCheck(resource, options).contentHash;
  return normaliseIntegration(resource, options).contentHash;
}
