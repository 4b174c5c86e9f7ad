import type { IscEmulator } from '../../local/emulator/server';
import { startEmulator, TEST_CLIENT, tokenFor } from '../support/emulator';
import { conformance, officialValidators, projectValidator } from '../support/openapi-validator';

// Every malformed request gets the status and body the API description documents for it, on the per-service path and
// on a deprecated one (which also says X-Deprecated: true).

const conforms = conformance([projectValidator(), ...officialValidators().map((v) => v.validator)]);
const SDIM_ROOT = { v1: '/service-desk-integrations/v1', v3: '/v3/service-desk-integrations' } as const;

describe.each(['v1', 'v3'] as const)('the emulator refuses bad input with the documented errors (%s paths)', (version) => {
  let emulator: IscEmulator;
  let url: string;
  let auth: Record<string, string>;
  let someId: string;

  beforeAll(async () => {
    ({ emulator, url } = await startEmulator({ integrations: 5 }));
    auth = { authorization: `Bearer ${await tokenFor(url)}` };
    someId = emulator.state.ids()[0] as string;
  });
  afterAll(() => emulator.stop());

  async function call(method: string, path: string, init: { body?: string; contentType?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...auth, ...init.headers };
    if (init.contentType) headers['content-type'] = init.contentType;
    const fullPath = path.replace(/^\/service-desk-integrations/, SDIM_ROOT[version]);
    const response = await fetch(`${url}${fullPath}`, { method, headers, body: init.body });
    const text = await response.text();
    const body = text ? JSON.parse(text) : undefined;
    const apiPath = fullPath.split('?')[0] as string;
    for (const result of conforms(method, apiPath, response.status, body)) expect(result.problems).toEqual([]);
    expect(response.headers.get('x-deprecated')).toBe(version === 'v1' ? null : 'true');
    return { status: response.status, body, headers: response.headers };
  }

  const messageOf = (body: { messages?: Array<{ text: string }> }) => body.messages?.[0]?.text ?? '';

  it.each([
    ['limit above 250', '?limit=251', /limit must be at most 250/],
    ['a negative offset', '?offset=-1', /offset must be a whole number/],
    ['a non-numeric limit', '?limit=ten', /limit must be a whole number/],
    ['count that is not a boolean', '?count=yes', /count must be true or false/],
    ['an unsupported sorter', '?sorters=created', /Sorting by 'created' is not supported/],
    ['an unsupported filter field', `?filters=${encodeURIComponent('description eq "x"')}`, /not supported for field 'description'/],
    ['an unsupported operator', `?filters=${encodeURIComponent('name in ("a")')}`, /operator 'in' is not supported for field 'name'/],
    ['an uppercase operator', `?filters=${encodeURIComponent('name EQ "a"')}`, /operators are lowercase/],
    ['an unterminated string', `?filters=${encodeURIComponent('name eq "a')}`, /unterminated string/],
    ['unbalanced parentheses', `?filters=${encodeURIComponent('(name eq "a"')}`, /expected '\)'/],
    ['a dangling and', `?filters=${encodeURIComponent('name eq "a" and')}`, /expected a field name/],
  ])('answers 400 to a listing with %s', async (_case, query, message) => {
    const { status, body } = await call('GET', `/service-desk-integrations${query}`);
    expect(status).toBe(400);
    expect(body.detailCode).toBe('400.1 Bad Request Content');
    expect(body.trackingId).toMatch(/^[0-9a-f]{32}$/);
    expect(messageOf(body)).toMatch(message);
  });

  it.each([
    ['missing required fields', JSON.stringify({ name: 'x' }), 'application/json', /description: is required/],
    [
      'attributes that are not an object',
      JSON.stringify({ name: 'x', description: 'd', type: 't', attributes: 'no' }),
      'application/json',
      /attributes: must be object/,
    ],
    ['a body that is not JSON', '{"name": ', 'application/json', /not valid JSON/],
    ['a body that is an array', '[]', 'application/json', /must be a JSON object/],
    ['the wrong content type', '{}', 'text/plain', /Content-Type must be application\/json/],
    [
      'a blank name',
      JSON.stringify({ name: '  ', description: 'd', type: 't', attributes: {} }),
      'application/json',
      /name: must not be blank/,
    ],
  ])('answers 400 to a create with %s', async (_case, body, contentType, message) => {
    const before = emulator.state.size;
    const result = await call('POST', '/service-desk-integrations', { body, contentType });
    expect(result.status).toBe(400);
    expect(messageOf(result.body)).toMatch(message);
    expect(emulator.state.size).toBe(before);
  });

  it('answers 400 to a create that reuses an existing name, whatever its case', async () => {
    const existing = emulator.state.get(someId);
    const { status, body } = await call('POST', '/service-desk-integrations', {
      body: JSON.stringify({ ...existing, name: existing.name.toUpperCase() }),
      contentType: 'application/json',
    });
    expect(status).toBe(400);
    expect(messageOf(body)).toMatch(/already exists/);
  });

  it.each([
    ['GET', undefined],
    ['PUT', JSON.stringify({ name: 'n', description: 'd', type: 't', attributes: {} })],
    ['PATCH', JSON.stringify([{ op: 'replace', path: '/description', value: 'x' }])],
    ['DELETE', undefined],
  ])('answers 404 to %s of an unknown id', async (method, body) => {
    const contentType = method === 'PATCH' ? 'application/json-patch+json' : body ? 'application/json' : undefined;
    const result = await call(method, '/service-desk-integrations/00000000000000000000000000000000', { body, contentType });
    expect(result.status).toBe(404);
    expect(result.body.detailCode).toBe('404 Not found');
  });

  it.each([
    ['remove', 403, /only 'replace'/],
    ['add', 403, /only 'replace'/],
    ['move', 403, /only 'replace'/],
  ])('answers %s patch operations with %i', async (op, expected, message) => {
    const result = await call('PATCH', `/service-desk-integrations/${someId}`, {
      body: JSON.stringify([{ op, path: '/description', from: '/name', value: 'x' }]),
      contentType: 'application/json-patch+json',
    });
    expect(result.status).toBe(expected);
    expect(messageOf(result.body)).toMatch(message);
  });

  it.each([
    ['a read-only path', [{ op: 'replace', path: '/id', value: 'x' }], /read-only/],
    ['a path that does not exist', [{ op: 'replace', path: '/nope/deeper', value: 'x' }], /cannot be applied/],
    ['a value of the wrong type', [{ op: 'replace', path: '/attributes', value: 'flat' }], /attributes: must be object/],
    ['an operation without a path', [{ op: 'replace', value: 'x' }], /path: is required/],
    ['a body that is not an array', { op: 'replace' }, /JSON array/],
  ])('answers 400 to a patch with %s and leaves the integration as it was', async (_case, body, message) => {
    const before = emulator.state.get(someId);
    const result = await call('PATCH', `/service-desk-integrations/${someId}`, {
      body: JSON.stringify(body),
      contentType: 'application/json-patch+json',
    });
    expect(result.status).toBe(400);
    expect(messageOf(result.body)).toMatch(message);
    expect(emulator.state.get(someId)).toEqual(before);
  });

  it('answers 400 to a patch sent as application/json', async () => {
    const result = await call('PATCH', `/service-desk-integrations/${someId}`, {
      body: JSON.stringify([{ op: 'replace', path: '/description', value: 'x' }]),
      contentType: 'application/json',
    });
    expect(result.status).toBe(400);
    expect(messageOf(result.body)).toMatch(/application\/json-patch\+json/);
  });

  it.each([
    ['a number instead of a string', { provisioningStatusCheckIntervalMinutes: 30, provisioningMaxStatusCheckDays: '2' }, /must be string/],
    ['a missing field', { provisioningStatusCheckIntervalMinutes: '30' }, /provisioningMaxStatusCheckDays: is required/],
    [
      'a value that is not a number',
      { provisioningStatusCheckIntervalMinutes: 'soon', provisioningMaxStatusCheckDays: '2' },
      /positive whole number/,
    ],
  ])('answers 400 to a status-check update with %s and keeps the old one', async (_case, body, message) => {
    const before = emulator.state.getStatusCheck();
    const result = await call('PUT', '/service-desk-integrations/status-check-configuration', {
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
    expect(result.status).toBe(400);
    expect(messageOf(result.body)).toMatch(message);
    expect(emulator.state.getStatusCheck()).toEqual(before);
  });

  it('answers 401 with {"error"} without a token, with an unknown token, and with an expired one', async () => {
    for (const authorization of [undefined, 'Bearer not-a-token', 'Basic abc']) {
      const response = await fetch(`${url}${SDIM_ROOT[version]}`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: expect.stringMatching(/^JWT validation failed: JWT is (missing|invalid)$/) });
    }
  });

  it('expires tokens after expires_in and says so', async () => {
    let now = Date.now();
    const { emulator: shortLived, url: shortUrl } = await startEmulator({ tokenTtlSeconds: 60, now: () => now });
    try {
      const token = await tokenFor(shortUrl);
      const ok = await fetch(`${shortUrl}/v3/service-desk-integrations`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      now += 61_000;
      const expired = await fetch(`${shortUrl}/v3/service-desk-integrations`, { headers: { authorization: `Bearer ${token}` } });
      expect(expired.status).toBe(401);
      expect(await expired.json()).toEqual({ error: 'JWT validation failed: JWT is expired' });
    } finally {
      await shortLived.stop();
    }
  });

  describe('the token endpoint', () => {
    const post = (init: { query?: string; body?: RequestInit['body']; contentType?: string }) =>
      fetch(`${url}/oauth/token${init.query ?? ''}`, {
        method: 'POST',
        headers: init.contentType ? { 'content-type': init.contentType } : {},
        body: init.body,
      });

    it('accepts form-urlencoded, multipart and query-string credentials', async () => {
      const form = new FormData();
      form.append('grant_type', 'client_credentials');
      form.append('client_id', TEST_CLIENT.clientId);
      form.append('client_secret', TEST_CLIENT.clientSecret);
      const answers = await Promise.all([
        post({ body: new URLSearchParams({ grant_type: 'client_credentials', ...asParams(TEST_CLIENT) }) }),
        post({ body: form }),
        post({ query: `?${new URLSearchParams({ grant_type: 'client_credentials', ...asParams(TEST_CLIENT) })}` }),
        // The official CLI's mix: grant type in the query, the rest urlencoded.
        post({ query: '?grant_type=client_credentials', body: new URLSearchParams(asParams(TEST_CLIENT)) }),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(await answer.json()).toMatchObject({
          token_type: 'bearer',
          expires_in: 749,
          access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        });
      }
    });

    it('refuses a wrong secret with 401 and never echoes it', async () => {
      const answer = await post({
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: TEST_CLIENT.clientId, client_secret: 'wrong-secret-xyz' }),
      });
      expect(answer.status).toBe(401);
      const text = await answer.text();
      expect(JSON.parse(text)).toEqual({ error: 'invalid_client', error_description: 'Bad credentials' });
      expect(text).not.toContain('wrong-secret-xyz');
    });

    it('refuses a missing or unsupported grant type with 400', async () => {
      const missing = await post({ body: new URLSearchParams(asParams(TEST_CLIENT)) });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { error: string }).error).toBe('invalid_request');
      const wrong = await post({ body: new URLSearchParams({ grant_type: 'password', ...asParams(TEST_CLIENT) }) });
      expect(wrong.status).toBe(400);
      expect(((await wrong.json()) as { error: string }).error).toBe('unsupported_grant_type');
    });
  });

  it('rate-limits at 100 requests per 10 s per client id and API version, with Retry-After', async () => {
    let now = Date.now();
    const { emulator: limited, url: limitedUrl } = await startEmulator({ now: () => now });
    try {
      const headers = { authorization: `Bearer ${await tokenFor(limitedUrl)}` };
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) statuses.push((await fetch(`${limitedUrl}/v3/service-desk-integrations?limit=1`, { headers })).status);
      expect(statuses.slice(0, 100).every((s) => s === 200)).toBe(true);
      const refused = await fetch(`${limitedUrl}/v3/service-desk-integrations?limit=1`, { headers });
      expect(statuses[100]).toBe(429);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('10');
      expect(await refused.json()).toEqual({ message: ' Rate Limit Exceeded ' });
      // Another API version has its own budget.
      expect((await fetch(`${limitedUrl}/v2024/service-desk-integrations?limit=1`, { headers })).status).toBe(200);
      expect((await fetch(`${limitedUrl}/service-desk-integrations/v1?limit=1`, { headers })).status).toBe(200);
      now += 10_000;
      expect((await fetch(`${limitedUrl}/v3/service-desk-integrations?limit=1`, { headers })).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

function asParams(credentials: typeof TEST_CLIENT) {
  return { client_id: credentials.clientId, client_secret: credentials.clientSecret };
}
