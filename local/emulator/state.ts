import { randomBytes } from 'node:crypto';
import { applyPatch, type Operation } from 'fast-json-patch';
import { type JsonPatchOperation, type ServiceDeskIntegration, type StatusCheckConfig, schemaProblems } from '../../lambdas/isc/schemas';
import { type FilterNode, matchesFilter } from './filters';

/** A failure the HTTP layer turns into the documented status and ErrorResponseDto. */
export class EmulatorError extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

const READ_ONLY_FIELDS = new Set(['id', 'created', 'modified']);
const DTO_FIELDS = [
  'id',
  'name',
  'created',
  'modified',
  'description',
  'type',
  'ownerRef',
  'clusterRef',
  'cluster',
  'managedSources',
  'provisioningConfig',
  'attributes',
  'beforeProvisioningRule',
] as const;

export interface ListQuery {
  filter?: FilterNode;
  sort?: 'name' | '-name';
  offset: number;
  limit: number;
}

/** Keeps only fields the DTO defines, as ISC's deserializer does with unknown JSON properties. */
function pickDtoFields(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of DTO_FIELDS) if (key in body) out[key] = body[key];
  return out;
}

/**
 * The tenant's data: one store shared by every API version, as on a real tenant.
 * Reads hand out deep copies so no caller can mutate stored state by accident.
 */
export class EmulatorState {
  private readonly integrations = new Map<string, ServiceDeskIntegration>();
  /** Name-sorted order, rebuilt only after a write: listings sort far more often than tenants change. */
  private sorted: ServiceDeskIntegration[] | undefined;
  private statusCheck: StatusCheckConfig = { provisioningStatusCheckIntervalMinutes: '30', provisioningMaxStatusCheckDays: '2' };

  constructor(
    private readonly now: () => number,
    seed: ServiceDeskIntegration[] = [],
  ) {
    for (const integration of seed) this.integrations.set(integration.id as string, structuredClone(integration));
  }

  get size(): number {
    return this.integrations.size;
  }

  list(query: ListQuery): { items: ServiceDeskIntegration[]; total: number } {
    let all = [...this.integrations.values()];
    if (query.filter) {
      const filter = query.filter;
      all = all.filter((i) => matchesFilter(filter, { id: i.id, name: i.name, type: i.type, cluster: i.cluster ?? i.clusterRef?.id }));
    }
    if (query.sort) {
      const order = new Map(this.byName().map((integration, index) => [integration, index]));
      const direction = query.sort === '-name' ? -1 : 1;
      all.sort((a, b) => direction * ((order.get(a) ?? 0) - (order.get(b) ?? 0)));
    }
    // No copy: the HTTP layer serialises the page at once, before anything can change it; cloning 250 integrations per
    // page cost more than the latency being emulated.
    return { items: all.slice(query.offset, query.offset + query.limit), total: all.length };
  }

  /** Case-insensitive, as ISC sorts; lower-cased once, because Intl collation per comparison made listings slow. */
  private byName(): ServiceDeskIntegration[] {
    if (!this.sorted) {
      const keyed = [...this.integrations.values()].map((integration) => ({ integration, key: integration.name.toLowerCase() }));
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.sorted = keyed.map((k) => k.integration);
    }
    return this.sorted;
  }

  /** The stored integration, or undefined; no copy (callers only read its id and name). */
  find(id: string): ServiceDeskIntegration | undefined {
    return this.integrations.get(id);
  }

  get(id: string): ServiceDeskIntegration {
    const found = this.integrations.get(id);
    if (!found) throw new EmulatorError(404, `Service desk integration '${id}' was not found.`);
    return structuredClone(found);
  }

  create(body: unknown): ServiceDeskIntegration {
    const fields = this.validated(body);
    const timestamp = new Date(this.now()).toISOString();
    const created: ServiceDeskIntegration = {
      ...fields,
      id: randomBytes(16).toString('hex'),
      created: timestamp,
      modified: timestamp,
      provisioningConfig: this.withReadOnlyProvisioning(fields.provisioningConfig, undefined),
    };
    this.assertNameFree(created.name, undefined);
    this.integrations.set(created.id as string, created);
    this.sorted = undefined;
    return structuredClone(created);
  }

  replace(id: string, body: unknown): ServiceDeskIntegration {
    return this.update(this.get(id), body);
  }

  patch(id: string, operations: unknown): ServiceDeskIntegration {
    const existing = this.get(id);
    if (!Array.isArray(operations)) {
      throw new EmulatorError(400, 'The request body must be a JSON array of JSON Patch operations.');
    }
    operations.forEach((operation, index) => {
      const problems = schemaProblems('JsonPatchOperation', operation);
      if (problems) throw new EmulatorError(400, `Patch operation ${index}: ${problems}`);
    });
    const ops = operations as JsonPatchOperation[];
    const forbidden = ops.find((op) => op.op !== 'replace');
    if (forbidden) throw new EmulatorError(403, `Patch operation '${forbidden.op}' is not allowed; only 'replace' is.`);
    for (const op of ops) {
      const top = op.path.split('/')[1] ?? '';
      if (READ_ONLY_FIELDS.has(top)) throw new EmulatorError(400, `Path '${op.path}' is read-only.`);
      if (!('value' in op)) throw new EmulatorError(400, `Patch operation on '${op.path}' has no value.`);
    }
    let patched: ServiceDeskIntegration;
    try {
      patched = applyPatch(structuredClone(existing), ops as Operation[], true, false).newDocument;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : 'invalid patch';
      throw new EmulatorError(400, `The patch cannot be applied: ${reason}`);
    }
    return this.update(existing, patched);
  }

  /** Stores a new version of `existing` from a body: validated, ids and creation kept, `modified` moved on. */
  private update(existing: ServiceDeskIntegration, body: unknown): ServiceDeskIntegration {
    const fields = this.validated(body);
    const result: ServiceDeskIntegration = {
      ...fields,
      id: existing.id,
      created: existing.created,
      modified: this.nextModified(existing),
      provisioningConfig: this.withReadOnlyProvisioning(fields.provisioningConfig, existing.provisioningConfig),
    };
    this.assertNameFree(result.name, existing.id);
    this.integrations.set(existing.id as string, result);
    this.sorted = undefined;
    return structuredClone(result);
  }

  delete(id: string): void {
    this.get(id);
    this.integrations.delete(id);
    this.sorted = undefined;
  }

  getStatusCheck(): StatusCheckConfig {
    return { ...this.statusCheck };
  }

  setStatusCheck(body: unknown): StatusCheckConfig {
    const problems = schemaProblems('QueuedCheckConfigDetails', body);
    if (problems) throw new EmulatorError(400, problems);
    const config = body as StatusCheckConfig;
    for (const [field, value] of Object.entries({
      provisioningStatusCheckIntervalMinutes: config.provisioningStatusCheckIntervalMinutes,
      provisioningMaxStatusCheckDays: config.provisioningMaxStatusCheckDays,
    })) {
      if (!/^[1-9]\d{0,5}$/.test(value)) throw new EmulatorError(400, `${field}: must be a positive whole number as a string`);
    }
    this.statusCheck = {
      provisioningStatusCheckIntervalMinutes: config.provisioningStatusCheckIntervalMinutes,
      provisioningMaxStatusCheckDays: config.provisioningMaxStatusCheckDays,
    };
    return this.getStatusCheck();
  }

  /** Every integration, in storage order (copies), for persisting the tenant. */
  all(): ServiceDeskIntegration[] {
    return [...this.integrations.values()].map((i) => structuredClone(i));
  }

  /** Ids in storage order; used by the churn option to pick something to delete. */
  ids(): string[] {
    return [...this.integrations.keys()];
  }

  private validated(body: unknown): ServiceDeskIntegration {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new EmulatorError(400, 'The request body must be a JSON object.');
    }
    const fields = pickDtoFields(body as Record<string, unknown>);
    // Read-only fields are ignored on input rather than validated, as ISC does.
    for (const key of READ_ONLY_FIELDS) delete fields[key];
    const problems = schemaProblems('ServiceDeskIntegrationDto', fields);
    if (problems) throw new EmulatorError(400, problems);
    const dto = fields as unknown as ServiceDeskIntegration;
    if (dto.name.trim() === '') throw new EmulatorError(400, 'name: must not be blank');
    return dto;
  }

  /** universalManager is read-only: keep the stored value whatever the request says. */
  private withReadOnlyProvisioning(
    requested: ServiceDeskIntegration['provisioningConfig'],
    existing: ServiceDeskIntegration['provisioningConfig'],
  ): ServiceDeskIntegration['provisioningConfig'] {
    if (!requested) return existing ? { ...existing, managedResourceRefs: existing.managedResourceRefs } : undefined;
    const universalManager = existing?.universalManager ?? false;
    return { ...requested, universalManager };
  }

  private assertNameFree(name: string, selfId: string | undefined): void {
    const lower = name.toLowerCase();
    for (const [id, other] of this.integrations) {
      if (id !== selfId && other.name.toLowerCase() === lower) {
        throw new EmulatorError(400, `A service desk integration named '${name}' already exists.`);
      }
    }
  }

  /** Strictly later than the stored value, so two edits in one millisecond still read as two changes. */
  private nextModified(existing: ServiceDeskIntegration): string {
    const previous = existing.modified ? Date.parse(existing.modified) : 0;
    return new Date(Math.max(this.now(), previous + 1)).toISOString();
  }
}
