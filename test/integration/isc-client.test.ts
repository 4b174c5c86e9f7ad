import { HttpIscClient } from '../../lambdas/isc/client';
import { InconsistentListingError, IscApiError, IscError, IscUnavailableError } from '../../lambdas/isc/errors';
import type { IscEmulator } from '../../local/emulator/server';
import { startEmulator, TEST_CLIENT } from '../support/emulator';

// The client against the emulator with latency, injected faults and edits during paging.

const fastRetries = { baseDelayMs: 5, maxDelayMs: 200 };

function clientFor(url: string, extra: Partial<ConstructorParameters<typeof HttpIscClient>[0]> = {}) {
  return new HttpIscClient({ tenantUrl: url, credentials: TEST_CLIENT, retry: fastRetries, rateLimit: false, ...extra });
}

/** Everything written to stdout/stderr and the console while `fn` runs. */
async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; output: string }> {
  const chunks: string[] = [];
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => chunks.push(String(chunk)) > 0),
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => chunks.push(String(chunk)) > 0),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        chunks.push(args.map(String).join(' '));
      }),
    ),
  ];
  try {
    return { result: await fn(), error: undefined, output: chunks.join('\n') };
  } catch (error) {
    return { result: undefined, error, output: chunks.join('\n') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('HttpIscClient against the emulator', () => {
  const emulators: IscEmulator[] = [];
  const start = async (options: Parameters<typeof startEmulator>[0]) => {
    const started = await startEmulator(options);
    emulators.push(started.emulator);
    return started;
  };
  afterEach(async () => {
    await Promise.all(emulators.splice(0).map((e) => e.stop()));
  });

  it('lists 2,600 integrations with 20 ms latency and 30 % injected faults, losing and repeating nothing', async () => {
    // Prepare
    const { emulator, url } = await start({ integrations: 2600, latencyMs: 20, faultRate: 0.3, seed: 3 });
    const retries: number[] = [];
    const client = clientFor(url, { retry: { ...fastRetries, maxAttempts: 10 }, onRetry: (e) => retries.push(e.status ?? 0) });
    // Act
    const { result: listing, output } = await captureOutput(() => client.listAllIntegrations());
    // Assess
    const ids = listing?.items.map((i) => i.id) ?? [];
    expect(new Set(ids).size).toBe(2600);
    expect([...ids].sort()).toEqual([...emulator.state.ids()].sort());
    expect(emulator.requests.some((r) => r.injectedFault)).toBe(true);
    expect(retries.length).toBe(emulator.requests.filter((r) => r.injectedFault).length);
    expect(output).not.toContain(TEST_CLIENT.clientSecret);
  });

  it('needs ceil(N/250) listing requests and one token request, even at exactly 250 integrations', async () => {
    for (const count of [0, 249, 250, 2000]) {
      const { url } = await start({ integrations: count });
      const client = clientFor(url);
      const listing = await client.listAllIntegrations();
      expect(listing.total).toBe(count);
      expect(client.requestCount()).toBe(Math.max(1, Math.ceil(count / 250)) + 1);
    }
  });

  it('hands each page to onPage as it arrives (speculative or not); a throwing onPage never fails the listing', async () => {
    const { url } = await start({ integrations: 600 });
    for (const expectedTotal of [undefined, 600]) {
      const pages: string[][] = [];
      const listing = await clientFor(url).listAllIntegrations({
        expectedTotal,
        onPage: (items) => {
          pages.push(items.map((i) => i.id as string));
          throw new Error('a caller bug');
        },
      });
      expect(pages.map((p) => p.length).sort()).toEqual([100, 250, 250]);
      expect(pages.flat().sort()).toEqual(listing.items.map((i) => i.id).sort());
    }
  });

  it('keeps under the rate limit on its own: no 429 for 35 requests against a limit of 10 per second', async () => {
    const { emulator, url } = await start({ integrations: 10, rateLimit: { limit: 10, windowMs: 1000 } });
    const client = clientFor(url, { rateLimit: { limit: 10, windowMs: 1000 } });
    await Promise.all(Array.from({ length: 35 }, () => client.listIntegrations({ limit: 1 })));
    const served = emulator.requests.filter((r) => r.path.startsWith('/service-desk-integrations/v1'));
    expect(served).toHaveLength(35);
    expect(served.filter((r) => r.status === 429)).toEqual([]);
  });

  it('waits out a 429 as long as Retry-After says, then succeeds', async () => {
    const { emulator, url } = await start({ integrations: 3, rateLimit: { limit: 2, windowMs: 1000 } });
    const waits: number[] = [];
    const client = clientFor(url, { onRetry: (e) => waits.push(e.delayMs) });
    const started = Date.now();
    for (let i = 0; i < 3; i++) await client.getStatusCheckConfig();
    expect(emulator.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('refreshes an expired token once on 401 and carries on', async () => {
    let now = Date.now();
    const { emulator, url } = await start({ integrations: 2, now: () => now });
    const client = clientFor(url);
    await client.getStatusCheckConfig();
    now += 750_000; // the server-side token expired while the client still holds it
    await expect(client.getStatusCheckConfig()).resolves.toBeDefined();
    expect(emulator.requests.filter((r) => r.path === '/oauth/token')).toHaveLength(2);
    expect(emulator.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });

  it('fails with the operation, status and trackingId, without retrying a 404', async () => {
    const { emulator, url } = await start({ integrations: 1 });
    const client = clientFor(url);
    const error = await client.getIntegration('f'.repeat(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IscApiError);
    const apiError = error as IscApiError;
    expect(apiError.operation).toBe('getServiceDeskIntegration');
    expect(apiError.status).toBe(404);
    expect(apiError.trackingId).toMatch(/^[0-9a-f]{32}$/);
    expect(apiError.message).toContain(apiError.trackingId as string);
    expect(emulator.requests.filter((r) => r.path.startsWith('/service-desk-integrations/v1'))).toHaveLength(1);
  });

  it('says the credentials are wrong without printing the secret', async () => {
    const { url } = await start({ integrations: 1 });
    const secret = 'wrong-secret-that-must-not-leak';
    const client = clientFor(url, { credentials: { clientId: TEST_CLIENT.clientId, clientSecret: secret } });
    const { error, output } = await captureOutput(() => client.listAllIntegrations());
    expect(error).toBeInstanceOf(IscApiError);
    expect((error as IscApiError).operation).toBe('createToken');
    expect((error as IscApiError).status).toBe(401);
    expect((error as Error).message).toMatch(/Bad credentials/);
    const everything = `${output}${(error as Error).message}${(error as Error).stack}${JSON.stringify(error)}`;
    expect(everything).not.toContain(secret);
  });

  it('reports an unreachable tenant as unavailable after retrying', async () => {
    const { emulator, url } = await start({ integrations: 0 });
    await emulator.stop();
    const error = await clientFor(url)
      .getStatusCheckConfig()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IscUnavailableError);
    expect((error as Error).message).toMatch(/cannot reach .*oauth\/token after 6 attempt\(s\): ECONNREFUSED/);
  });

  it('retries an idempotent call through 5xx storms but never re-sends a create after a 5xx', async () => {
    const { emulator, url } = await start({ integrations: 1, faultRate: 1 });
    const client = clientFor(url, { retry: { ...fastRetries, maxAttempts: 3 } });
    const create = await client
      .createIntegration({ name: 'once', description: 'd', type: 'ServiceNowSDIM', attributes: {} })
      .catch((e: unknown) => e);
    expect(create).toBeInstanceOf(IscError);
    const posts = emulator.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/service-desk-integrations/v1'));
    // Faults are 429 (retried: nothing was done) or 5xx (not retried: it may have been done).
    expect(posts.length).toBeLessThanOrEqual(3);
    const fiveHundreds = posts.filter((r) => r.status >= 500);
    expect(fiveHundreds.length).toBeLessThanOrEqual(1);
    if (fiveHundreds.length === 1) expect(posts.at(-1)?.status).toBeGreaterThanOrEqual(500);
  });

  it('refuses a patch operation other than replace before sending anything', async () => {
    const { emulator, url } = await start({ integrations: 1 });
    const id = emulator.state.ids()[0] as string;
    await expect(clientFor(url).patchIntegration(id, [{ op: 'remove', path: '/description' }])).rejects.toThrow(
      /only 'replace' patch operations, not 'remove'/,
    );
    expect(emulator.requests).toHaveLength(0);
  });

  it('lists again when the tenant changes while it pages, and succeeds once it holds still', async () => {
    const { emulator, url } = await start({ integrations: 600, listingChurn: { deletes: 0, creates: 1, pages: 2 } });
    const listing = await clientFor(url, { pageConcurrency: 1 }).listAllIntegrations();
    expect(listing.attempts).toBe(2);
    expect([...listing.items.map((i) => i.id)].sort()).toEqual([...emulator.state.ids()].sort());
  });

  it('fails loudly when the listing never holds still', async () => {
    const { url } = await start({ integrations: 600, listingChurn: { deletes: 1, creates: 0 } });
    const error = await clientFor(url)
      .listAllIntegrations()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InconsistentListingError);
    expect((error as InconsistentListingError).reasons).toHaveLength(3);
    expect((error as Error).message).toMatch(/the total moved from \d+ to \d+ while paging/);
  });

  it('speaks v2024 on the same data', async () => {
    const { url } = await start({ integrations: 5 });
    const v3 = await clientFor(url).listAllIntegrations();
    const v2024 = await clientFor(url, { apiVersion: 'v2024' }).listAllIntegrations();
    expect(v2024.items).toEqual(v3.items);
  });
});

describe('HttpIscClient speculative listing', () => {
  it.each([
    [1000, 1000, 4],
    [1000, 600, 4],
    [1000, 1400, 4],
  ])('lists %i integrations with an expected total of %i in %i listing requests, all correct', async (actual, expected, requests) => {
    const { emulator, url } = await startEmulator({ integrations: actual });
    try {
      const client = clientFor(url);
      const listing = await client.listAllIntegrations({ expectedTotal: expected });
      expect([...listing.items.map((i) => i.id)].sort()).toEqual([...emulator.state.ids()].sort());
      const listRequests = emulator.requests.filter((r) => r.path === '/service-desk-integrations/v1').length;
      expect(listRequests).toBe(expected > actual ? Math.ceil(expected / 250) : requests);
    } finally {
      await emulator.stop();
    }
  });

  it.each([
    [1000, 1000, 4],
    [1000, undefined, 4],
    [1000, 1400, 6],
  ])('guess #%# still on its way: the first page is requested at once, all %i listed correctly', async (actual, expected, requests) => {
    const { emulator, url } = await startEmulator({ integrations: actual, latencyMs: 20 });
    try {
      let answer: (n: number | undefined) => void = () => undefined;
      const guess = new Promise<number | undefined>((resolve) => {
        answer = resolve;
      });
      const listing = clientFor(url).listAllIntegrations({ expectedTotal: guess });
      const listRequests = () => emulator.requests.filter((r) => r.path === '/service-desk-integrations/v1').length;
      for (let i = 0; i < 200 && listRequests() === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(listRequests()).toBe(1);
      answer(expected);
      const { items } = await listing;
      expect(items.map((i) => i.id).sort()).toEqual([...emulator.state.ids()].sort());
      expect(listRequests()).toBe(requests);
    } finally {
      await emulator.stop();
    }
  });

  it('with the expected total known, every page is in flight before the first one answers (one round trip, not two)', async () => {
    const { emulator, url } = await startEmulator({ integrations: 1000, latencyMs: 80 });
    try {
      let inFlight = 0;
      let mostInFlight = 0;
      const counting: typeof fetch = async (input, init) => {
        const listing = String(input instanceof Request ? input.url : input).includes('/service-desk-integrations/v1?');
        if (listing) mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          return await fetch(input, init);
        } finally {
          if (listing) inFlight--;
        }
      };
      const client = clientFor(url, { fetch: counting });
      await client.getStatusCheckConfig(); // the token, so the listing's first request does not carry it
      const { items } = await client.listAllIntegrations({ expectedTotal: 1000 });
      expect(items).toHaveLength(1000);
      expect(mostInFlight).toBe(4);
    } finally {
      await emulator.stop();
    }
  });

  it('a failed guess fails the listing (no unhandled rejection)', async () => {
    const { emulator, url } = await startEmulator({ integrations: 10 });
    try {
      await expect(clientFor(url).listAllIntegrations({ expectedTotal: Promise.reject(new Error('store down')) })).rejects.toThrow(
        'store down',
      );
    } finally {
      await emulator.stop();
    }
  });
});
