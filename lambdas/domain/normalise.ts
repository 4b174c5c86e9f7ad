import type { ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';
import { canonicalJson, type Json, type JsonObject, sha256Hex } from './canonical';
import { type NormalisedResource, resourceKey, STATUS_CHECK_KEY } from './resources';
import { fingerprintSecrets, type SecretPolicy } from './secrets';

export interface NormaliseOptions {
  readonly tenant: string;
  readonly secretPolicy: SecretPolicy;
  readonly hmacKey: Buffer;
  /**
   * Display names inside references (ownerRef.name, managedResourceRefs[].name, …) follow renames elsewhere in ISC;
   * leaving them out of the hash keeps an identity rename from looking like an edit of every SDIM it owns.
   * @default true
   */
  readonly ignoreReferenceNames?: boolean;
}

const REFERENCE_NAME_PATHS = [
  /^\/ownerRef\/name$/,
  /^\/clusterRef\/name$/,
  /^\/beforeProvisioningRule\/name$/,
  /^\/provisioningConfig\/managedResourceRefs\/\d+\/name$/,
];

/** JSON Pointer paths that differ without anyone having edited the object. */
export function isNoisePath(path: string, options: Pick<NormaliseOptions, 'ignoreReferenceNames'>): boolean {
  return (options.ignoreReferenceNames ?? true) && REFERENCE_NAME_PATHS.some((p) => p.test(path));
}

export function normaliseIntegration(dto: ServiceDeskIntegration, options: NormaliseOptions): NormalisedResource {
  if (!dto.id) throw new Error(`integration '${dto.name}' has no id`);
  const { modified, ...rest } = dto as ServiceDeskIntegration & { modified?: string };
  const content = fingerprintSecrets(
    sortReferenceArrays(rest as unknown as JsonObject),
    options.secretPolicy,
    options.hmacKey,
    options.tenant,
  );
  return {
    key: resourceKey('integration', dto.id),
    kind: 'integration',
    id: dto.id,
    name: dto.name,
    content,
    contentHash: hashOf(content, options),
    meta: modified ? { modified } : {},
  };
}

export function normaliseStatusCheck(config: StatusCheckConfig, options: NormaliseOptions): NormalisedResource {
  const content: JsonObject = {
    provisioningStatusCheckIntervalMinutes: config.provisioningStatusCheckIntervalMinutes,
    provisioningMaxStatusCheckDays: config.provisioningMaxStatusCheckDays,
  };
  return {
    key: STATUS_CHECK_KEY,
    kind: 'status-check',
    id: 'tenant',
    name: 'Status-check configuration',
    content,
    contentHash: hashOf(content, options),
    meta: {},
  };
}

/** The content hash ignores noise paths, so flapping display names never create a version. */
export function hashOf(content: JsonObject, options: Pick<NormaliseOptions, 'ignoreReferenceNames'>): string {
  return sha256Hex(canonicalJson(withoutNoise(content, options)));
}

/**
 * The content minus the noise paths. Only the reference objects can hold noise, so only they are copied: walking and
 * rebuilding the whole document (scripts included) made hashing 5,000 integrations twice as slow.
 */
function withoutNoise(content: JsonObject, options: Pick<NormaliseOptions, 'ignoreReferenceNames'>): Json {
  if (!(options.ignoreReferenceNames ?? true)) return content;
  const out: JsonObject = { ...content };
  for (const field of ['ownerRef', 'clusterRef', 'beforeProvisioningRule']) {
    const ref = out[field];
    if (ref && typeof ref === 'object' && !Array.isArray(ref) && 'name' in ref) {
      const { name: _name, ...rest } = ref;
      out[field] = rest;
    }
  }
  const config = out.provisioningConfig;
  if (config && typeof config === 'object' && !Array.isArray(config) && Array.isArray(config.managedResourceRefs)) {
    out.provisioningConfig = {
      ...config,
      managedResourceRefs: config.managedResourceRefs.map((ref) => {
        if (!ref || typeof ref !== 'object' || Array.isArray(ref)) return ref;
        const { name: _name, ...rest } = ref;
        return rest;
      }),
    };
  }
  return out;
}

/** ISC does not promise an order for these lists; sorting them keeps a reordering from reading as a change. */
function sortReferenceArrays(dto: JsonObject): JsonObject {
  // Shallow copies of what is reordered; fingerprinting copies the rest, so the caller's object is never changed.
  const out: JsonObject = { ...dto };
  const config = out.provisioningConfig;
  if (config && typeof config === 'object' && !Array.isArray(config) && Array.isArray(config.managedResourceRefs)) {
    out.provisioningConfig = {
      ...config,
      managedResourceRefs: [...config.managedResourceRefs].sort((a, b) => refId(a).localeCompare(refId(b))),
    };
  }
  if (Array.isArray(out.managedSources)) out.managedSources = [...out.managedSources].sort((a, b) => String(a).localeCompare(String(b)));
  return out;
}

function refId(ref: Json): string {
  return ref && typeof ref === 'object' && !Array.isArray(ref) ? String(ref.id ?? '') : '';
}
