import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceDeskIntegration, StatusCheckConfig } from '../../lambdas/isc/schemas';
import { INTEGRATION_KINDS, kindByScriptName } from './catalog';
import { AuditLog, MAX_SEARCH_RESULTS, type SdimOperation } from './events';
import { FilterError, parseFilter } from './filters';
import { hexId, seededRandom } from './prng';
import { FixedWindowLimiter } from './rate-limit';
import { seedIntegrations } from './seed';
import { EmulatorError, EmulatorState, type ListQuery } from './state';
import { type ClientCredentials, TokenIssuer } from './tokens';

/** Deprecated version prefixes: served from the same store, every answer marked `X-Deprecated: true`. */
export const API_VERSIONS = ['v3', 'v2024', 'v2025', 'v2026'] as const;
const SDIM_V1 = /^\/service-desk-integrations\/v1(\/.*)?$/;
const SDIM_LEGACY = /^\/(v3|v2024|v2025|v2026)\/service-desk-integrations(\/.*)?$/;
const SEARCH_SCOPES = ['sp:search:read', 'sp:scopes:all'];
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOGGED_REQUESTS = 20_000;

export interface EmulatorOptions {
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Seeded integrations, spread over every documented type. @default 25 */
  readonly integrations?: number;
  /** Same seed, same tenant. @default 1 */
  readonly seed?: number;
  /** Added to every response. @default 0 */
  readonly latencyMs?: number;
  /** Share of API requests answered with an injected 429 or 5xx instead of being served. @default 0 */
  readonly faultRate?: number;
  /** Share of write requests (POST, PUT, PATCH, DELETE) answered with an injected 429 or 5xx; reads are served. @default 0 */
  readonly writeFaultRate?: number;
  /** The credentials the token endpoint accepts. @default one generated pair */
  readonly clients?: readonly ClientCredentials[];
  /** Token lifetime; ISC's documented example is 749 s. @default 749 */
  readonly tokenTtlSeconds?: number;
  /** Requests per window per client id and API version; false turns the limit off. @default {limit: 100, windowMs: 10_000} */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number } | false;
  /**
   * After each listing page is served, delete `deletes` of the integrations it listed and create `creates` new ones;
   * only for the first `pages` pages served, when given. @default no churn
   */
  readonly listingChurn?: { readonly deletes: number; readonly creates: number; readonly pages?: number };
  /** Organisation name used in tokens. @default 'emulated' */
  readonly org?: string;
  /** Injectable clock for token expiry and rate-limit tests. @default Date.now */
  readonly now?: () => number;
  /**
   * Keep the tenant's data in this file: loaded at construction when it exists (instead of seeding), rewritten
   * atomically after every change served. The local stack uses it so a restart is not a new tenant.
   */
  readonly stateFile?: string;
  /** With `stateFile`: ignore what it holds and start from the seed again. @default false */
  readonly fresh?: boolean;
  /** Milliseconds before an audit event becomes searchable (ISC indexes "usually within minutes"). @default 0 */
  readonly eventDelayMs?: number;
}

export interface LoggedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly version?: string;
  readonly clientId?: string;
  readonly status: number;
  readonly injectedFault: boolean;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string>; json?: string };

/**
 * Stored integrations are never mutated in place (every write stores a new object), so each one's JSON can be
 * computed once. A single-threaded emulator serialising every page afresh would charge concurrent clients for CPU a
 * real, distributed tenant spends in parallel.
 */
const serialised = new WeakMap<object, string>();
function jsonOf(value: object): string {
  let text = serialised.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    serialised.set(value, text);
  }
  return text;
}

const DETAIL_CODES: Record<number, string> = {
  400: '400.1 Bad Request Content',
  403: '403 Forbidden',
  404: '404 Not found',
  405: '405 Method Not Allowed',
  500: '500.0 Internal Fault',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

export function errorBody(status: number, text: string) {
  return {
    detailCode: DETAIL_CODES[status] ?? `${status}`,
    trackingId: randomBytes(16).toString('hex'),
    messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text }],
    causes: [],
  };
}

const errorReply = (status: number, text: string): Reply => ({ status, body: errorBody(status, text) });

/**
 * A stateful stand-in for an ISC tenant's service-desk-integration API: same paths, status codes, headers and
 * bodies, with expiring tokens, the rate limit, and knobs for latency, faults and edits during paging.
 */
export class IscEmulator {
  readonly state: EmulatorState;
  readonly clients: ClientCredentials[];
  /** The audit events of every SDIM write, as the `events` search index holds them. */
  readonly events: AuditLog;
  readonly requests: LoggedRequest[] = [];
  latencyMs: number;
  faultRate: number;
  writeFaultRate: number;
  listingChurn: { deletes: number; creates: number; pages?: number };

  private readonly now: () => number;
  private readonly tokens: TokenIssuer;
  private readonly limiter: FixedWindowLimiter | undefined;
  private readonly random: () => number;
  private server: Server | undefined;
  private churnCounter = 0;
  /** True when the data came from `stateFile` rather than the seed. */
  readonly restored: boolean;

  constructor(private readonly options: EmulatorOptions = {}) {
    this.now = options.now ?? Date.now;
    const seed = options.seed ?? 1;
    this.random = seededRandom(seed ^ 0x5eed);
    this.clients = [...(options.clients ?? [{ clientId: `emu-${hexId(Math.random, 12)}`, clientSecret: hexId(Math.random, 40) }])];
    if (this.clients.length === 0) throw new Error('the emulator needs at least one client credential pair');
    this.events = new AuditLog(this.now, options.eventDelayMs ?? 0, options.org ?? 'emulated');
    const saved = options.stateFile && !options.fresh ? loadStateFile(options.stateFile) : undefined;
    this.restored = saved !== undefined;
    this.state = new EmulatorState(this.now, saved?.integrations ?? seedIntegrations(options.integrations ?? 25, seed));
    if (saved) this.state.setStatusCheck(saved.statusCheck);
    if (options.stateFile && !saved) this.persist();
    this.tokens = new TokenIssuer(this.clients, options.tokenTtlSeconds ?? 749, this.now, options.org ?? 'emulated');
    const rateLimit = options.rateLimit ?? { limit: 100, windowMs: 10_000 };
    this.limiter = rateLimit ? new FixedWindowLimiter(rateLimit.limit, rateLimit.windowMs, this.now) : undefined;
    this.latencyMs = options.latencyMs ?? 0;
    this.faultRate = options.faultRate ?? 0;
    this.writeFaultRate = options.writeFaultRate ?? 0;
    this.listingChurn = { deletes: 0, creates: 0, ...options.listingChurn };
    if (this.faultRate < 0 || this.faultRate > 1) throw new Error('faultRate must be between 0 and 1');
  }

  /** Another credential pair, e.g. a second person's personal access token, so tests can choose who acts. */
  addClient(client: ClientCredentials): void {
    if (this.clients.some((c) => c.clientId === client.clientId)) throw new Error(`client '${client.clientId}' exists already`);
    this.clients.push(client);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        // A bug in the emulator must still answer like ISC does, not hang the client.
        if (!res.headersSent) this.send(res, errorReply(500, `Emulator failure: ${String(error)}`));
      });
    });
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the emulator is not started');
    return `http://${address.address}:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    let bodyText: string;
    try {
      bodyText = await readBody(req);
    } catch {
      return this.finish(res, method, url.pathname, undefined, undefined, false, errorReply(400, 'Request body too large.'));
    }
    if (this.latencyMs > 0) await sleep(this.latencyMs);

    if (url.pathname === '/oauth/token') {
      const reply = method === 'POST' ? await this.token(req, url, bodyText) : errorReply(405, 'Use POST.');
      return this.finish(res, method, url.pathname, undefined, undefined, false, reply);
    }

    const api = apiOf(url.pathname);
    if (!api) {
      return this.finish(res, method, url.pathname, undefined, undefined, false, errorReply(404, `No API at ${url.pathname}.`));
    }
    const { version, resourcePath, deprecated } = api;

    const auth = this.tokens.verify(req.headers.authorization);
    if ('error' in auth) {
      return this.finish(res, method, url.pathname, version, undefined, false, { status: 401, body: { error: auth.error } });
    }
    if (this.limiter) {
      const retryAfter = this.limiter.take(`${auth.clientId}:${version}`);
      if (retryAfter !== null) {
        return this.finish(res, method, url.pathname, version, auth.clientId, false, rateLimited(retryAfter));
      }
    }
    const writeFault = method !== 'GET' && this.writeFaultRate > 0 && this.random() < this.writeFaultRate;
    if (writeFault || (this.faultRate > 0 && this.random() < this.faultRate)) {
      return this.finish(res, method, url.pathname, version, auth.clientId, true, this.injectedFault());
    }
    const client = this.clients.find((c) => c.clientId === auth.clientId);
    const caller: Caller = {
      actor: client?.identity ?? auth.clientId,
      scopes: client?.scopes ?? ['sp:scopes:all'],
      ipAddress: req.socket.remoteAddress,
    };
    let reply: Reply;
    try {
      reply =
        resourcePath === undefined
          ? this.search(method, url.searchParams, req.headers['content-type'], bodyText, caller)
          : this.route(method, resourcePath, url.searchParams, req.headers['content-type'], bodyText, caller);
    } catch (error) {
      if (error instanceof EmulatorError) reply = errorReply(error.status, error.message);
      else throw error;
    }
    const churned = method === 'GET' && (this.listingChurn.deletes > 0 || this.listingChurn.creates > 0);
    if (reply.status < 300 && resourcePath !== undefined && (method !== 'GET' || churned)) this.persist();
    if (deprecated) reply = { ...reply, headers: { ...reply.headers, 'X-Deprecated': 'true' } };
    this.finish(res, method, url.pathname, version, auth.clientId, false, reply);
  }

  private search(method: string, query: URLSearchParams, contentType: string | undefined, body: string, caller: Caller): Reply {
    if (method !== 'POST') return errorReply(405, `${method} is not supported on search.`);
    if (!caller.scopes.some((s) => SEARCH_SCOPES.includes(s))) {
      return errorReply(403, 'The token lacks the scope sp:search:read.');
    }
    const offset = integerParam(query, 'offset', 0);
    const limit = integerParam(query, 'limit', 250, MAX_SEARCH_RESULTS);
    const count = booleanParam(query, 'count');
    const { items, total } = this.events.search(parseJson(body, contentType, 'application/json'), { offset, limit });
    return { status: 200, body: items, headers: count ? { 'X-Total-Count': String(total) } : {} };
  }

  /**
   * Runs one SDIM write and records its audit event, passed or failed, as ISC does. The event names the integration
   * the request was about (by id, or by the name in the body when it never existed).
   */
  private audited(operation: SdimOperation, caller: Caller, id: string | undefined, write: () => Reply, bodyName?: string): Reply {
    const before = id === undefined ? undefined : this.state.find(id);
    const record = (passed: boolean, integration?: { id: string; name: string }) =>
      this.events.record({ operation, passed, actor: caller.actor, integration, ipAddress: caller.ipAddress });
    let reply: Reply;
    try {
      reply = write();
    } catch (error) {
      record(false, before ? { id: before.id as string, name: before.name } : id ? { id, name: bodyName ?? '' } : undefined);
      throw error;
    }
    const after = reply.body as { id?: string; name?: string } | undefined;
    const subject = after?.id
      ? { id: after.id, name: after.name ?? '' }
      : before
        ? { id: before.id as string, name: before.name }
        : undefined;
    record(true, subject);
    return reply;
  }

  private route(
    method: string,
    path: string,
    query: URLSearchParams,
    contentType: string | undefined,
    body: string,
    caller: Caller,
  ): Reply {
    const segments = path.split('/').filter(Boolean).map(decodeSegment);
    const [first, second, ...rest] = segments;
    if (first === undefined) {
      if (method === 'GET') return this.list(query);
      if (method === 'POST') {
        return this.audited('CREATE', caller, undefined, () => ({
          status: 200,
          body: this.state.create(parseJson(body, contentType, 'application/json')),
        }));
      }
      return errorReply(405, `${method} is not supported on ${path}.`);
    }
    // Literal segments are routed before {id}, as ISC does.
    if (first === 'types' && second === undefined) {
      if (method !== 'GET') return errorReply(405, `${method} is not supported on ${path}.`);
      return { status: 200, body: INTEGRATION_KINDS.map(({ name, type, scriptName }) => ({ name, type, scriptName })) };
    }
    if (first === 'templates' && second !== undefined && rest.length === 0) {
      if (method !== 'GET') return errorReply(405, `${method} is not supported on ${path}.`);
      return this.template(second);
    }
    if (first === 'status-check-configuration' && second === undefined) {
      if (method === 'GET') return { status: 200, body: this.state.getStatusCheck() };
      if (method === 'PUT') return { status: 200, body: this.state.setStatusCheck(parseJson(body, contentType, 'application/json')) };
      return errorReply(405, `${method} is not supported on ${path}.`);
    }
    if (second !== undefined) return errorReply(404, `No API at ${path}.`);
    switch (method) {
      case 'GET':
        return { status: 200, body: this.state.get(first) };
      case 'PUT':
        return this.audited('UPDATE', caller, first, () => ({
          status: 200,
          body: this.state.replace(first, parseJson(body, contentType, 'application/json')),
        }));
      case 'PATCH':
        return this.audited('UPDATE', caller, first, () => {
          const parsed = parseJson(body, contentType, 'application/json-patch+json');
          return { status: 200, body: this.state.patch(first, unwrapLegacyPatch(parsed)) };
        });
      case 'DELETE':
        return this.audited('DELETE', caller, first, () => {
          this.state.delete(first);
          return { status: 204 };
        });
      default:
        return errorReply(405, `${method} is not supported on ${path}.`);
    }
  }

  private list(query: URLSearchParams): Reply {
    const parsed = parseListQuery(query);
    const { items, total } = this.state.list(parsed.query);
    const headers: Record<string, string> = parsed.count ? { 'X-Total-Count': String(total) } : {};
    const json = `[${items.map(jsonOf).join(',')}]`;
    this.churnAfterPage(items.map((i) => i.id as string));
    return { status: 200, body: items, headers, json };
  }

  /** Simulates admins editing the tenant while a client pages through it: the case offset paging cannot see. */
  private churnAfterPage(servedIds: string[]): void {
    const { deletes, creates, pages } = this.listingChurn;
    if (pages !== undefined) {
      if (pages <= 0) return;
      this.listingChurn = { ...this.listingChurn, pages: pages - 1 };
    }
    for (let i = 0; i < deletes && i < servedIds.length; i++) {
      const id = servedIds[i] as string;
      if (this.state.ids().includes(id)) this.state.delete(id);
    }
    for (let i = 0; i < creates; i++) {
      const n = ++this.churnCounter;
      const [template] = seedIntegrations(1, 100_000 + n);
      if (template) this.state.create({ ...template, name: `Churned integration ${n} ${hexId(this.random, 6)}` });
    }
  }

  /** Written to a temporary file and renamed: a crash leaves the previous state or the new one, never half of one. */
  private persist(): void {
    const file = this.options.stateFile;
    if (!file) return;
    const document: StateFile = { version: 1, integrations: this.state.all(), statusCheck: this.state.getStatusCheck() };
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(document));
    renameSync(temporary, file);
  }

  private template(scriptName: string): Reply {
    const kind = kindByScriptName(scriptName);
    if (!kind) return errorReply(404, `No service desk integration template with scriptName '${scriptName}'.`);
    const stamp = new Date(Date.UTC(2024, 0, 1)).toISOString();
    return {
      status: 200,
      body: {
        id: `template-${kind.scriptName}`,
        name: kind.name,
        created: stamp,
        modified: stamp,
        type: kind.type,
        attributes: Object.fromEntries(
          Object.entries(kind.attributes).map(([name, spec]) => [name, spec.secret ? '' : spec.sample('example')]),
        ),
        provisioningConfig: {
          universalManager: false,
          managedResourceRefs: [],
          planInitializerScript: null,
          noProvisioningRequests: false,
          provisioningRequestExpiration: 168,
        },
      },
    };
  }

  private async token(req: IncomingMessage, url: URL, bodyText: string): Promise<Reply> {
    const params = new Map<string, string>(url.searchParams);
    const contentType = req.headers['content-type'] ?? '';
    if (bodyText && /^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType)) {
      try {
        // The Fetch API's form parser handles both encodings, including the official SDK's multipart body.
        const form = await new Request('http://emulator/', {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: bodyText,
        }).formData();
        for (const [key, value] of form) if (typeof value === 'string') params.set(key, value);
      } catch {
        return { status: 400, body: { error: 'invalid_request', error_description: 'The form body could not be parsed.' } };
      }
    }
    const grantType = params.get('grant_type');
    if (!grantType) return { status: 400, body: { error: 'invalid_request', error_description: 'Missing grant type' } };
    if (grantType !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grantType}` } };
    }
    const clientId = params.get('client_id');
    const clientSecret = params.get('client_secret');
    if (!clientId || !clientSecret || !this.tokens.authenticate(clientId, clientSecret)) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Bad credentials' } };
    }
    return { status: 200, body: this.tokens.issue(clientId) };
  }

  private injectedFault(): Reply {
    const roll = this.random();
    if (roll < 0.4) return rateLimited(1);
    const status = roll < 0.6 ? 500 : roll < 0.75 ? 502 : roll < 0.9 ? 503 : 504;
    return errorReply(status, 'Injected fault.');
  }

  private finish(
    res: ServerResponse,
    method: string,
    path: string,
    version: string | undefined,
    clientId: string | undefined,
    injectedFault: boolean,
    reply: Reply,
  ): void {
    if (this.requests.length >= MAX_LOGGED_REQUESTS) this.requests.splice(0, this.requests.length / 2);
    this.requests.push({ at: this.now(), method, path, version, clientId, status: reply.status, injectedFault });
    this.send(res, reply);
  }

  private send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string> = { ...reply.headers };
    let payload: string | undefined;
    if (reply.body !== undefined) {
      payload = reply.json ?? JSON.stringify(reply.body);
      headers['Content-Type'] = 'application/json;charset=utf-8';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  }
}

interface Caller {
  /** The identity behind the token: what ISC's audit events name as `actor.name`. */
  readonly actor: string;
  readonly scopes: readonly string[];
  readonly ipAddress: string | undefined;
}

/** Which API a path belongs to: the per-service SDIM or search paths, or a deprecated version-prefixed one. */
function apiOf(pathname: string): { version: string; resourcePath: string | undefined; deprecated: boolean } | undefined {
  const v1 = SDIM_V1.exec(pathname);
  if (v1) return { version: 'v1', resourcePath: v1[1] ?? '', deprecated: false };
  const legacy = SDIM_LEGACY.exec(pathname);
  if (legacy) return { version: legacy[1] as string, resourcePath: legacy[2] ?? '', deprecated: true };
  if (pathname === '/search/v1') return { version: 'search/v1', resourcePath: undefined, deprecated: false };
  if (pathname === '/v3/search') return { version: 'v3', resourcePath: undefined, deprecated: true };
  return undefined;
}

/** A malformed percent-escape is the client's error (400), as ISC's gateway answers it, never a 500. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new EmulatorError(400, `Malformed percent-escape in the path segment '${segment}'.`);
  }
}

interface StateFile {
  readonly version: 1;
  readonly integrations: ServiceDeskIntegration[];
  readonly statusCheck: StatusCheckConfig;
}

function loadStateFile(path: string): StateFile | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: Partial<StateFile>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StateFile>;
  } catch (error) {
    throw new Error(`the emulator state ${path} cannot be read (${(error as Error).message}); start with --fresh to re-seed it`);
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.integrations) || typeof parsed.statusCheck !== 'object' || !parsed.statusCheck) {
    throw new Error(`the emulator state ${path} is not one this version wrote; start with --fresh to re-seed it`);
  }
  return parsed as StateFile;
}

function rateLimited(retryAfterSeconds: number): Reply {
  return { status: 429, body: { message: ' Rate Limit Exceeded ' }, headers: { 'Retry-After': String(retryAfterSeconds) } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(body: string, contentType: string | undefined, expected: string): unknown {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== expected) {
    throw new EmulatorError(400, `Content-Type must be ${expected}, not ${mediaType || 'missing'}.`);
  }
  if (!body.trim()) throw new EmulatorError(400, 'The request body is empty.');
  try {
    return JSON.parse(body);
  } catch {
    throw new EmulatorError(400, 'The request body is not valid JSON.');
  }
}

/** The npm sailpoint-api-client 1.4 wraps the operations as {"operations": [...]}, an older documented form. */
function unwrapLegacyPatch(body: unknown): unknown {
  if (body && typeof body === 'object' && !Array.isArray(body) && Array.isArray((body as { operations?: unknown }).operations)) {
    return (body as { operations: unknown[] }).operations;
  }
  return body;
}

function integerParam(query: URLSearchParams, name: string, fallback: number, max?: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) throw new EmulatorError(400, `${name} must be a whole number ≥ 0, not '${raw}'.`);
  const value = Number(raw);
  if (max !== undefined && value > max) throw new EmulatorError(400, `${name} must be at most ${max}, not ${value}.`);
  return value;
}

function booleanParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw !== null && raw !== 'true' && raw !== 'false') throw new EmulatorError(400, `${name} must be true or false, not '${raw}'.`);
  return raw === 'true';
}

function parseListQuery(query: URLSearchParams): { query: ListQuery; count: boolean } {
  const offset = integerParam(query, 'offset', 0);
  const limit = integerParam(query, 'limit', 250, 250);
  const count = booleanParam(query, 'count');
  const sorters = query.get('sorters');
  let sort: ListQuery['sort'];
  if (sorters !== null) {
    const keys = sorters.split(',').map((s) => s.trim());
    for (const key of keys) {
      if (key !== 'name' && key !== '-name') throw new EmulatorError(400, `Sorting by '${key}' is not supported; use name or -name.`);
    }
    sort = keys[0] as ListQuery['sort'];
  }
  const filters = query.get('filters');
  let filter: ListQuery['filter'];
  if (filters !== null) {
    try {
      filter = parseFilter(filters);
    } catch (error) {
      if (error instanceof FilterError) throw new EmulatorError(400, `Invalid filter: ${error.message}.`);
      throw error;
    }
  }
  return { query: { offset, limit, sort, filter }, count };
}
