import createClient from 'openapi-fetch';
import type { AuditEventSearch, EventSearchPage, EventSearchQuery } from '../ports/audit-events';
import type { IntegrationListing, IntegrationPage, IntegrationPageQuery, IscClient } from '../ports/isc-client';
import { InconsistentListingError, IscApiError, IscError } from './errors';
import type { paths } from './openapi/isc-sdim';
import { ISC_RATE_LIMIT, type RateLimit, SlidingWindowLimiter, sharedLimiter } from './rate-limiter';
import type {
  EventDocument,
  IntegrationTemplate,
  IntegrationType,
  JsonPatchOperation,
  ServiceDeskIntegration,
  StatusCheckConfig,
} from './schemas';
import { type IscCredentials, TokenProvider } from './token-provider';
import { DEFAULT_RETRY, defaultWait, fullJitter, type RetryPolicy, Transport, type TransportEvent } from './transport';

/** `v1` is the per-service API (`/service-desk-integrations/v1`); v3 and v2024 are deprecated and stop working in Q1 2029. */
export type IscApiVersion = 'v1' | 'v3' | 'v2024';
export const API_VERSIONS: readonly IscApiVersion[] = ['v1', 'v3', 'v2024'];
export const LEGACY_API_VERSIONS: readonly IscApiVersion[] = ['v3', 'v2024'];
/** SailPoint: the deprecated endpoints stop working in Q1 2029; the earliest day of that quarter is what we warn with. */
export const LEGACY_API_SUNSET = '2029-01-01';
export const PAGE_SIZE = 250;
/** Most events one search request may return. */
export const SEARCH_PAGE_SIZE = 10_000;

export function isApiVersion(value: unknown): value is IscApiVersion {
  return typeof value === 'string' && (API_VERSIONS as readonly string[]).includes(value);
}

export interface HttpIscClientOptions {
  /** The tenant's API root, e.g. https://acme.api.identitynow.com (no version segment). */
  readonly tenantUrl: string;
  /** @default 'v1' */
  readonly apiVersion?: IscApiVersion;
  /** Read on every token request, so rotated credentials are picked up without a restart. */
  readonly credentials: IscCredentials | (() => Promise<IscCredentials>);
  /** Per HTTP attempt. @default 15_000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_RETRY */
  readonly retry?: Partial<RetryPolicy>;
  /** false turns client-side limiting off (tests of the server's limit only). @default ISC_RATE_LIMIT, shared per tenant+client+version */
  readonly rateLimit?: RateLimit | false;
  /** Pages fetched at once when listing (the limiter still bounds the rate). @default 16 */
  readonly pageConcurrency?: number;
  /** Full listings tried before giving up on consistency. @default 3 */
  readonly listingAttempts?: number;
  readonly onRetry?: (event: TransportEvent) => void;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
  readonly wait?: (ms: number) => Promise<unknown>;
}

/**
 * The ISC client the Lambdas use: typed from the project's OpenAPI document, rate-limited, retrying. It calls the
 * per-service paths (`/service-desk-integrations/v1/…`, `/search/v1`); for a tenant still configured on a deprecated
 * version the same calls go to `/{version}/service-desk-integrations/…` and `/v3/search` (same bodies and errors).
 */
export class HttpIscClient implements IscClient, AuditEventSearch {
  readonly apiVersion: IscApiVersion;
  private readonly api;
  private readonly transport: Transport;
  private readonly searchTransport: Transport;
  private readonly toVersion: ((url: string) => string) | undefined;
  private readonly tokens: TokenProvider;
  private readonly pageConcurrency: number;
  private readonly listingAttempts: number;

  constructor(options: HttpIscClientOptions) {
    const tenantUrl = normaliseTenantUrl(options.tenantUrl);
    const version = options.apiVersion ?? 'v1';
    if (!isApiVersion(version)) throw new Error(`unsupported ISC API version '${String(version)}' (use ${API_VERSIONS.join(', ')})`);
    this.apiVersion = version;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const timeoutMs = options.timeoutMs ?? 15_000;
    const credentials = options.credentials;
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    const random = options.random ?? Math.random;
    const wait = options.wait ?? defaultWait;
    this.tokens = new TokenProvider(
      tenantUrl,
      typeof credentials === 'function' ? credentials : () => credentials,
      fetchImpl,
      timeoutMs,
      retry,
      (attempt) => wait(fullJitter(retry, attempt, random)),
    );
    const rateLimit = options.rateLimit ?? ISC_RATE_LIMIT;
    const clientId = typeof credentials === 'function' ? 'dynamic' : credentials.clientId;
    // ISC limits per client id and API version; the search API is a version of its own on the per-service paths.
    const limiterFor = (api: string) =>
      rateLimit === false
        ? undefined
        : options.wait
          ? new SlidingWindowLimiter(rateLimit, 250, Date.now, options.wait)
          : sharedLimiter(`${tenantUrl}|${clientId}|${api}`, rateLimit);
    const transportWith = (limiter: SlidingWindowLimiter | undefined) =>
      new Transport({ tokens: this.tokens, limiter, fetchImpl, timeoutMs, retry, random, wait, onRetry: options.onRetry });
    this.transport = transportWith(limiterFor(version));
    this.searchTransport = version === 'v1' ? transportWith(limiterFor('search/v1')) : this.transport;
    this.toVersion = version === 'v1' ? undefined : (url) => legacyUrl(url, version);
    this.api = createClient<paths>({ baseUrl: tenantUrl });
    this.pageConcurrency = Math.max(1, options.pageConcurrency ?? 16);
    this.listingAttempts = Math.max(1, options.listingAttempts ?? 3);
  }

  requestCount(): number {
    return this.transport.requests + (this.searchTransport === this.transport ? 0 : this.searchTransport.requests) + this.tokens.requests;
  }

  /** The fetch for one SDIM operation, sent to the deprecated path when the tenant is on a legacy version. */
  private op(operation: string) {
    return this.transport.forOperation(operation, this.toVersion);
  }

  /** One page of audit events (POST /search/v1, or /v3/search on a legacy tenant). Needs `sp:search:read`. */
  async searchEvents(query: EventSearchQuery): Promise<EventSearchPage> {
    const limit = query.limit ?? SEARCH_PAGE_SIZE;
    if (limit < 0 || limit > SEARCH_PAGE_SIZE)
      throw new IscError('searchPost', `limit must be between 0 and ${SEARCH_PAGE_SIZE}, not ${limit}`);
    const { data, response } = await this.api.POST('/search/v1', {
      params: { query: { offset: query.offset, limit, count: query.count } },
      body: query.body,
      fetch: this.searchTransport.forOperation('searchPost', this.toVersion),
    });
    const header = response.headers.get('x-total-count');
    return { items: required(data, 'searchPost') as EventDocument[], total: header === null ? undefined : Number(header) };
  }

  async listIntegrations(query: IntegrationPageQuery = {}): Promise<IntegrationPage> {
    if (query.limit !== undefined && (query.limit < 0 || query.limit > PAGE_SIZE)) {
      throw new IscError('getServiceDeskIntegrations', `limit must be between 0 and ${PAGE_SIZE}, not ${query.limit}`);
    }
    const { data, response } = await this.api.GET('/service-desk-integrations/v1', {
      params: { query: { offset: query.offset, limit: query.limit, filters: query.filters, sorters: query.sorters, count: query.count } },
      fetch: this.op('getServiceDeskIntegrations'),
    });
    const header = response.headers.get('x-total-count');
    return { items: required(data, 'getServiceDeskIntegrations'), total: header === null ? undefined : Number(header) };
  }

  /**
   * First page with count=true, then the other pages concurrently (the limiter keeps them within ISC's rate); with an
   * expected total, every page at once. The expected total may still be on its way (a promise): the first page is
   * requested at once and the others as soon as the guess arrives.
   * Offset paging is not a snapshot: if pages disagree on the total, repeat an id or come up short, list again.
   */
  async listAllIntegrations(
    options: {
      expectedTotal?: number | Promise<number | undefined>;
      onPage?: (items: readonly ServiceDeskIntegration[], offset: number) => void;
    } = {},
  ): Promise<IntegrationListing> {
    const reasons: string[] = [];
    // What the caller does with a page as it arrives is its own business: a throw there never fails the listing.
    const seen = (page: IntegrationPage, offset: number) => {
      try {
        options.onPage?.(page.items, offset);
      } catch {
        // ignored
      }
      return page;
    };
    for (let attempt = 1; attempt <= this.listingAttempts; attempt++) {
      const pages =
        attempt === 1 && options.expectedTotal
          ? await this.listSpeculatively(options.expectedTotal, seen)
          : await this.listFromFirstPage(seen);
      const problem = consistencyProblem(pages, pages[0]?.total);
      if (!problem) {
        const items = pages.flatMap((p) => p.items);
        return { items, total: items.length, attempts: attempt };
      }
      reasons.push(problem);
    }
    throw new InconsistentListingError(reasons);
  }

  private async listFromFirstPage(seen: PageSeen): Promise<IntegrationPage[]> {
    const [first] = await this.pages(0, PAGE_SIZE, seen);
    if (!first) throw new IscError('getServiceDeskIntegrations', 'the first page did not come back');
    return first.total === undefined ? this.listSequentially(first, seen) : [first, ...(await this.pages(PAGE_SIZE, first.total, seen))];
  }

  /**
   * All pages the expected total needs, at once; then whatever the real total (from any page) says is missing. A
   * wrong guess costs a page or a round trip, never correctness: the same consistency checks apply.
   */
  private async listSpeculatively(expectedTotal: number | Promise<number | undefined>, seen: PageSeen): Promise<IntegrationPage[]> {
    const first = this.pages(0, 1, seen);
    // Awaited below; until then a failure must not count as unhandled.
    first.catch(() => undefined);
    const guess = (await expectedTotal) ?? 0;
    // Requested before the first page is awaited: the guess exists to save that round trip.
    const rest = this.pages(PAGE_SIZE, guess, seen);
    rest.catch(() => undefined);
    const pages = [...(await first), ...(await rest)];
    const total = pages[0]?.total;
    if (total === undefined) return this.listSequentially(pages[0] as IntegrationPage, seen);
    const needed = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (needed < pages.length) return pages.slice(0, needed);
    return [...pages, ...(await this.pages(pages.length * PAGE_SIZE, total, seen))];
  }

  /** The pages covering [from, to), fetched concurrently, each with the total so they can be checked against each other. */
  private pages(from: number, to: number, seen: PageSeen): Promise<IntegrationPage[]> {
    const offsets: number[] = [];
    for (let offset = from; offset < to; offset += PAGE_SIZE) offsets.push(offset);
    return mapConcurrent(offsets, this.pageConcurrency, async (offset) =>
      seen(await this.listIntegrations({ offset, limit: PAGE_SIZE, count: true, sorters: 'name' }), offset),
    );
  }

  /** Fallback when ISC leaves out X-Total-Count: page until a short page. */
  private async listSequentially(first: IntegrationPage, seen: PageSeen): Promise<IntegrationPage[]> {
    const pages = [first];
    let last = first;
    while (last.items.length === PAGE_SIZE) {
      const offset = pages.length * PAGE_SIZE;
      last = seen(await this.listIntegrations({ offset, limit: PAGE_SIZE, sorters: 'name' }), offset);
      pages.push(last);
    }
    return pages;
  }

  async getIntegration(id: string): Promise<ServiceDeskIntegration> {
    const { data } = await this.api.GET('/service-desk-integrations/v1/{id}', {
      params: { path: { id } },
      fetch: this.op('getServiceDeskIntegration'),
    });
    return required(data, 'getServiceDeskIntegration');
  }

  async createIntegration(integration: ServiceDeskIntegration): Promise<ServiceDeskIntegration> {
    const { data } = await this.api.POST('/service-desk-integrations/v1', {
      body: integration,
      fetch: this.op('createServiceDeskIntegration'),
    });
    return required(data, 'createServiceDeskIntegration');
  }

  async replaceIntegration(id: string, integration: ServiceDeskIntegration): Promise<ServiceDeskIntegration> {
    const { data } = await this.api.PUT('/service-desk-integrations/v1/{id}', {
      params: { path: { id } },
      body: integration,
      fetch: this.op('putServiceDeskIntegration'),
    });
    return required(data, 'putServiceDeskIntegration');
  }

  async patchIntegration(id: string, operations: JsonPatchOperation[]): Promise<ServiceDeskIntegration> {
    const refused = operations.find((op) => op.op !== 'replace');
    if (refused) {
      throw new IscError(
        'patchServiceDeskIntegration',
        `ISC accepts only 'replace' patch operations, not '${refused.op}' (${refused.path})`,
      );
    }
    const { data } = await this.api.PATCH('/service-desk-integrations/v1/{id}', {
      params: { path: { id } },
      body: operations,
      headers: { 'content-type': 'application/json-patch+json' },
      fetch: this.op('patchServiceDeskIntegration'),
    });
    return required(data, 'patchServiceDeskIntegration');
  }

  async deleteIntegration(id: string): Promise<void> {
    await this.api.DELETE('/service-desk-integrations/v1/{id}', {
      params: { path: { id } },
      fetch: this.op('deleteServiceDeskIntegration'),
    });
  }

  async getIntegrationTypes(): Promise<IntegrationType[]> {
    const { data } = await this.api.GET('/service-desk-integrations/v1/types', {
      fetch: this.op('getServiceDeskIntegrationTypes'),
    });
    return required(data, 'getServiceDeskIntegrationTypes');
  }

  async getIntegrationTemplate(scriptName: string): Promise<IntegrationTemplate> {
    const { data } = await this.api.GET('/service-desk-integrations/v1/templates/{scriptName}', {
      params: { path: { scriptName } },
      fetch: this.op('getServiceDeskIntegrationTemplate'),
    });
    return required(data, 'getServiceDeskIntegrationTemplate');
  }

  async getStatusCheckConfig(): Promise<StatusCheckConfig> {
    const { data } = await this.api.GET('/service-desk-integrations/v1/status-check-configuration', {
      fetch: this.op('getStatusCheckDetails'),
    });
    return required(data, 'getStatusCheckDetails');
  }

  async setStatusCheckConfig(config: StatusCheckConfig): Promise<StatusCheckConfig> {
    const { data } = await this.api.PUT('/service-desk-integrations/v1/status-check-configuration', {
      body: config,
      fetch: this.op('updateStatusCheckDetails'),
    });
    return required(data, 'updateStatusCheckDetails');
  }
}

type PageSeen = (page: IntegrationPage, offset: number) => IntegrationPage;

/** The transport throws on every non-2xx, so a missing body here means ISC answered 2xx with nothing. */
function required<T>(data: T | undefined, operation: string): T {
  if (data === undefined) throw new IscApiError(operation, 200, undefined, undefined, 'the answer had no body');
  return data;
}

export function consistencyProblem(pages: IntegrationPage[], expectedTotal: number | undefined): string | undefined {
  const seen = new Set<string>();
  let count = 0;
  for (const [index, page] of pages.entries()) {
    if (page.total !== undefined && expectedTotal !== undefined && page.total !== expectedTotal) {
      return `the total moved from ${expectedTotal} to ${page.total} while paging`;
    }
    const isLast = index === pages.length - 1;
    if (!isLast && page.items.length !== PAGE_SIZE) return `page ${index + 1} held ${page.items.length} of ${PAGE_SIZE} items`;
    for (const item of page.items) {
      const id = item.id ?? '';
      if (seen.has(id)) return `integration ${id} appeared twice`;
      seen.add(id);
      count++;
    }
  }
  if (expectedTotal !== undefined && count !== expectedTotal) return `got ${count} integrations but the total is ${expectedTotal}`;
  return undefined;
}

async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** `/service-desk-integrations/v1/x` → `/v3/service-desk-integrations/x`; `/search/v1` → `/v3/search` (search has no v2024). */
export function legacyUrl(url: string, version: IscApiVersion): string {
  const parsed = new URL(url);
  const sdim = /^(.*)\/service-desk-integrations\/v1(\/.*)?$/.exec(parsed.pathname);
  if (sdim) parsed.pathname = `${sdim[1]}/${version}/service-desk-integrations${sdim[2] ?? ''}`;
  else parsed.pathname = parsed.pathname.replace(/\/search\/v1$/, '/v3/search');
  return parsed.toString();
}

export function normaliseTenantUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`'${raw}' is not a URL; expected e.g. https://acme.api.identitynow.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`tenant URL must be http(s), not ${url.protocol}`);
  if (url.username || url.password) throw new Error('tenant URL must not carry credentials');
  // Accept a URL pasted with its version segment; the client adds its own.
  const path = url.pathname
    .replace(/\/+$/, '')
    .replace(/\/(v3|v2024|v2025|v2026|beta)$/, '')
    .replace(/\/service-desk-integrations\/v1$/, '');
  return `${url.origin}${path}`;
}
