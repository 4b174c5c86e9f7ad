import { HttpIscClient, type IscApiVersion } from '../../lambdas/isc/client';
import { IscApiError } from '../../lambdas/isc/errors';
import type { IscEmulator } from '../../local/emulator/server';
import { startEmulator, TEST_CLIENT } from '../support/emulator';
import { conformance, officialValidators, projectValidator } from '../support/openapi-validator';

// The per-service paths (/service-desk-integrations/v1) are what SailPoint's SDK 2.x calls; no SDK on npm calls them
// yet (sailpoint-api-client 1.4.15 is the newest), so the project's client drives every operation here, and every
// answer is checked against the project's document and, when ../shared is present, SailPoint's v1 excerpt.

const conforms = conformance([projectValidator(), ...officialValidators().map((v) => v.validator)]);

interface Exchange {
  method: string;
  path: string;
  status: number;
  body: unknown;
  deprecated: string | null;
}

function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.pathname !== '/oauth/token') {
      log.push({
        method: init?.method ?? 'GET',
        path: url.pathname,
        status: response.status,
        body: text ? JSON.parse(text) : undefined,
        deprecated: response.headers.get('x-deprecated'),
      });
    }
    return response;
  };
}

describe.each([
  ['v1', '/service-desk-integrations/v1', null],
  ['v3', '/v3/service-desk-integrations', 'true'],
  ['v2024', '/v2024/service-desk-integrations', 'true'],
] as const)('the project client and the emulator on %s', (version, root, deprecated) => {
  let emulator: IscEmulator;
  let client: HttpIscClient;
  const log: Exchange[] = [];

  beforeAll(async () => {
    const started = await startEmulator({ integrations: 6, seed: 4 });
    emulator = started.emulator;
    client = new HttpIscClient({
      tenantUrl: started.url,
      apiVersion: version as IscApiVersion,
      credentials: TEST_CLIENT,
      rateLimit: false,
      fetch: recordingFetch(log),
    });
  });
  afterAll(() => emulator.stop());

  it('runs all ten operations on its own paths, every answer conforming', async () => {
    const listing = await client.listAllIntegrations();
    expect(listing.total).toBe(6);
    const created = await client.createIntegration({
      name: `Via ${version}`,
      description: 'd',
      type: 'ServiceNowSDIM',
      attributes: { url: 'x' },
    });
    const id = created.id as string;
    await client.getIntegration(id);
    await client.replaceIntegration(id, { ...created, description: 'replaced' });
    await client.patchIntegration(id, [{ op: 'replace', path: '/description', value: 'patched' }]);
    await client.deleteIntegration(id);
    const missing = await client.getIntegration(id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(IscApiError);
    const types = await client.getIntegrationTypes();
    await client.getIntegrationTemplate(types[0]?.scriptName as string);
    const config = await client.getStatusCheckConfig();
    await client.setStatusCheckConfig(config);

    expect(new Set(log.map((e) => `${e.method} ${e.path.replace(/[0-9a-f]{32}/, '{id}')}`))).toEqual(
      new Set([
        `GET ${root}`,
        `POST ${root}`,
        `GET ${root}/{id}`,
        `PUT ${root}/{id}`,
        `PATCH ${root}/{id}`,
        `DELETE ${root}/{id}`,
        `GET ${root}/types`,
        `GET ${root}/templates/${types[0]?.scriptName}`,
        `GET ${root}/status-check-configuration`,
        `PUT ${root}/status-check-configuration`,
      ]),
    );
    for (const exchange of log) {
      const results = conforms(exchange.method, exchange.path, exchange.status, exchange.body);
      // The project's document plus, when ../shared is present, the official excerpt of this very version.
      expect(results.length).toBe(officialValidators().length > 0 ? 2 : 1);
      for (const result of results) expect({ ...exchange, ...result }).toEqual({ ...exchange, ...result, problems: [] });
      expect({ path: exchange.path, deprecated: exchange.deprecated }).toEqual({ path: exchange.path, deprecated });
    }
  });
});

describe('audit events in the emulator', () => {
  let emulator: IscEmulator;
  let url: string;
  const mallory = { clientId: 'mallory-pat', clientSecret: 'fake-mallory-secret-for-tests', identity: 'mallory' };
  const noSearch = {
    clientId: 'narrow-pat',
    clientSecret: 'narrow-secret-77aa',
    identity: 'narrow',
    scopes: ['idn:service-desk-integration:manage'],
  };
  let asGuard: HttpIscClient;
  let asMallory: HttpIscClient;
  const log: Exchange[] = [];

  beforeAll(async () => {
    const started = await startEmulator({ integrations: 3, clients: [{ ...TEST_CLIENT, identity: 'sdim.guard' }, mallory, noSearch] });
    emulator = started.emulator;
    url = started.url;
    const clientAs = (credentials: { clientId: string; clientSecret: string }, apiVersion: IscApiVersion = 'v1') =>
      new HttpIscClient({ tenantUrl: url, credentials, rateLimit: false, apiVersion, fetch: recordingFetch(log) });
    asGuard = clientAs(TEST_CLIENT);
    asMallory = clientAs(mallory);
  });
  afterAll(() => emulator.stop());

  const search = (body: object, query = '', token = TEST_CLIENT, path = '/search/v1') =>
    (async () => {
      const tokenResponse = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: token.clientId, client_secret: token.clientSecret }),
      });
      const { access_token } = (await tokenResponse.json()) as { access_token: string };
      const response = await fetch(`${url}${path}${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const parsed = (await response.json()) as unknown;
      for (const result of conforms('POST', path, response.status, parsed)) expect(result).toEqual({ ...result, problems: [] });
      return { status: response.status, body: parsed as Array<Record<string, unknown>>, headers: response.headers };
    })();

  it('records every write with the identity behind the token, failed ones too', async () => {
    const [id] = emulator.state.ids();
    const before = emulator.state.get(id as string);
    await asMallory.patchIntegration(id as string, [{ op: 'replace', path: '/description', value: 'mallory was here' }]);
    await asGuard.replaceIntegration(id as string, { ...before, description: 'put back' }).catch(() => undefined);
    await asMallory.deleteIntegration('0'.repeat(32)).catch(() => undefined);
    const created = await asGuard.createIntegration({ name: 'New one', description: 'd', type: 'ServiceNowSDIM', attributes: {} });
    await asGuard.createIntegration({ name: 'new ONE', description: 'd', type: 'ServiceNowSDIM', attributes: {} }).catch(() => undefined);

    const events = emulator.events.all();
    expect(events.map((e) => [e.actor?.name, e.action, e.target?.name])).toEqual([
      ['mallory', 'SERVICE_DESK_INTEGRATION_UPDATED', before.name],
      ['sdim.guard', 'SERVICE_DESK_INTEGRATION_UPDATED', before.name],
      ['mallory', 'SERVICE_DESK_INTEGRATION_DELETE_FAILED', ''],
      ['sdim.guard', 'SERVICE_DESK_INTEGRATION_CREATED', 'New one'],
      ['sdim.guard', 'SERVICE_DESK_INTEGRATION_CREATE_FAILED', ''],
    ]);
    expect(events[0]).toMatchObject({
      type: 'SOURCE_MANAGEMENT',
      name: 'Update Service Desk Integration Passed',
      technicalName: 'SERVICE_DESK_INTEGRATION_UPDATE_PASSED',
      operation: 'UPDATE',
      status: 'PASSED',
      attributes: { id },
      trackingNumber: expect.stringMatching(/^[0-9a-f]{32}$/),
      _type: 'event',
    });
    expect(events[3]?.attributes).toEqual({ id: created.id, name: 'New one' });
    expect(events[4]?.technicalName).toBe('SERVICE_DESK_INTEGRATION_CREATE_FAILED');
  });

  it('answers a DSL search (terms, range, bool) sorted by created, paged with searchAfter, through both paths', async () => {
    const all = emulator.events.all();
    const dsl = {
      indices: ['events'],
      queryType: 'DSL',
      queryDsl: {
        bool: {
          filter: [
            { terms: { action: ['SERVICE_DESK_INTEGRATION_UPDATED', 'SERVICE_DESK_INTEGRATION_CREATED'] } },
            { range: { created: { gte: all[0]?.created, lte: all.at(-1)?.created } } },
          ],
          must_not: [{ term: { 'actor.name': 'nobody' } }],
        },
      },
      sort: ['created', 'id'],
    };
    const first = await search(dsl, '?limit=2&count=true');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-total-count')).toBe('3');
    expect(first.headers.get('x-deprecated')).toBeNull();
    expect(first.body).toHaveLength(2);
    const last = first.body[1] as { created: string; id: string };
    const rest = await search({ ...dsl, searchAfter: [last.created, last.id] }, '?limit=2');
    expect([...first.body, ...rest.body].map((e) => e.id)).toEqual(
      all
        .filter((e) => e.action === 'SERVICE_DESK_INTEGRATION_UPDATED' || e.action === 'SERVICE_DESK_INTEGRATION_CREATED')
        .map((e) => e.id),
    );
    const legacy = await search(dsl, '?offset=1', TEST_CLIENT, '/v3/search');
    expect(legacy.headers.get('x-deprecated')).toBe('true');
    expect(legacy.body.map((e) => e.id)).toEqual([...first.body, ...rest.body].slice(1).map((e) => e.id));
  });

  it('answers the SAILPOINT query syntax: fields, phrases, ranges, AND / OR / NOT', async () => {
    const all = emulator.events.all();
    const sp = (query: string) => search({ indices: ['events'], queryType: 'SAILPOINT', query: { query }, sort: ['-created'] });
    const byMallory = await sp('actor.name:mallory AND NOT status:FAILED');
    expect(byMallory.body.map((e) => e.action)).toEqual(['SERVICE_DESK_INTEGRATION_UPDATED']);
    const failed = await sp('action:(SERVICE_DESK_INTEGRATION_CREATE_FAILED OR SERVICE_DESK_INTEGRATION_DELETE_FAILED)');
    expect(failed.body.map((e) => e.action)).toEqual(['SERVICE_DESK_INTEGRATION_CREATE_FAILED', 'SERVICE_DESK_INTEGRATION_DELETE_FAILED']);
    const ranged = await sp(`created:[${all[1]?.created} TO *] AND name:"Create Service Desk Integration Passed"`);
    expect(ranged.body.map((e) => e.id)).toEqual([all[3]?.id]);
    expect((await sp('mallory')).body).toHaveLength(2);
  });

  it.each([
    ['another index', { indices: ['identities'], query: { query: '*' } }, /indices/],
    ['a TEXT query', { indices: ['events'], queryType: 'TEXT', textQuery: { terms: ['x'], fields: ['name'] } }, /not supported/],
    ['an unknown DSL clause', { indices: ['events'], queryType: 'DSL', queryDsl: { fuzzy: { name: 'x' } } }, /'fuzzy' is not supported/],
    ['date math', { indices: ['events'], queryType: 'DSL', queryDsl: { range: { created: { gte: 'now-1d' } } } }, /date math/],
    ['searchAfter without sort', { indices: ['events'], query: { query: '*' }, searchAfter: ['x'] }, /searchAfter/],
    ['a broken query string', { indices: ['events'], query: { query: 'actor.name:(mallory' } }, /missing '\)'/],
    ['aggregations', { indices: ['events'], query: { query: '*' }, aggregationsDsl: {} }, /'aggregationsDsl' is not supported/],
  ])('answers 400 to %s', async (_case, body, message) => {
    const answer = await search(body);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toMatch(message);
  });

  it('answers 403 to a token without sp:search:read, and 400 past 10,000 results without searchAfter', async () => {
    const refused = await search({ indices: ['events'], query: { query: '*' } }, '', noSearch);
    expect(refused.status).toBe(403);
    expect((refused.body as unknown as { detailCode: string }).detailCode).toBe('403 Forbidden');
    expect((await search({ indices: ['events'], query: { query: '*' } }, '?offset=9999&limit=2')).status).toBe(400);
    expect((await search({ indices: ['events'], query: { query: '*' } }, '?limit=10001')).status).toBe(400);
  });

  it('hides an event until its indexing delay has passed', async () => {
    let now = Date.parse('2026-11-24T10:00:00.000Z');
    const delayed = await startEmulator({ integrations: 1, eventDelayMs: 120_000, now: () => now, rateLimit: false });
    try {
      const client = new HttpIscClient({ tenantUrl: delayed.url, credentials: TEST_CLIENT, rateLimit: false });
      const [id] = delayed.emulator.state.ids();
      await client.patchIntegration(id as string, [{ op: 'replace', path: '/description', value: 'late' }]);
      const query = { body: { indices: ['events' as const], queryType: 'SAILPOINT' as const, query: { query: '*' } } };
      expect((await client.searchEvents(query)).items).toEqual([]);
      now += 119_999;
      expect((await client.searchEvents(query)).items).toEqual([]);
      now += 1;
      const [event] = (await client.searchEvents(query)).items;
      expect(event?.created).toBe('2026-11-24T10:00:00.000Z');
      expect(event?.synced).toBe('2026-11-24T10:02:00.000Z');
    } finally {
      await delayed.emulator.stop();
    }
  });
});
