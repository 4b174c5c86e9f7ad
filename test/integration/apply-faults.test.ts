import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { TERMINAL } from '../../lambdas/domain/change-request';
import { type ApplyHandlerDeps, main as applyMain } from '../../lambdas/handlers/apply';
import { HttpIscClient } from '../../lambdas/isc/client';
import { IscUnavailableError } from '../../lambdas/isc/errors';
import type { IscClient } from '../../lambdas/ports/isc-client';
import { applyChange, resolveByReading } from '../../lambdas/use-cases/apply-change';
import { approveRequest, propose } from '../../lambdas/use-cases/change-requests';
import { sweepRequests } from '../../lambdas/use-cases/sweep-requests';
import { changeHarness } from '../support/change-harness';
import { TEST_CLIENT } from '../support/emulator';

type Step = 'claimed' | 'isc-called' | 'recorded';

/** ISC that performs every write and then loses its response, as a dropped connection would. */
function losingWriteResponses(isc: IscClient): IscClient {
  const lose =
    <A extends unknown[]>(name: string, write: (...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<never> => {
      await write(...args);
      throw new IscUnavailableError(name, `ISC ${name}: connection reset after the request was sent (response lost)`);
    };
  return {
    ...isc,
    listIntegrations: (q) => isc.listIntegrations(q),
    listAllIntegrations: (o) => isc.listAllIntegrations(o),
    getIntegration: (id) => isc.getIntegration(id),
    getStatusCheckConfig: () => isc.getStatusCheckConfig(),
    getIntegrationTypes: () => isc.getIntegrationTypes(),
    getIntegrationTemplate: (s) => isc.getIntegrationTemplate(s),
    requestCount: () => isc.requestCount(),
    createIntegration: lose('createServiceDeskIntegration', (i) => isc.createIntegration(i)),
    replaceIntegration: lose('putServiceDeskIntegration', (id, i) => isc.replaceIntegration(id, i)),
    patchIntegration: lose('patchServiceDeskIntegration', (id, p) => isc.patchIntegration(id, p)),
    deleteIntegration: lose('deleteServiceDeskIntegration', (id) => isc.deleteIntegration(id)),
    setStatusCheckConfig: lose('updateStatusCheckDetails', (c) => isc.setStatusCheckConfig(c)),
  };
}

describe('apply under Lambda timeouts, lost write responses and duplicate deliveries', () => {
  it('ends 200 changes each in exactly one terminal state, each written to ISC at most once, none left after the sweeper', async () => {
    const h = await changeHarness({ integrations: 200, seed: 97, rateLimit: false });
    try {
      const ids = h.emulator.state.ids().slice(0, 200);
      expect(ids).toHaveLength(200);
      let random = 7;
      const chance = (p: number) => {
        random = (random * 1103515245 + 12345) % 2 ** 31;
        return random / 2 ** 31 < p;
      };

      // A Lambda timeout: the invocation's promise is abandoned at the checkpoint (nothing after it runs), and the
      // batch fails as a whole, as SQS sees it.
      let killInvocation: (() => void) | undefined;
      let faults = true;
      const kills: Record<Step, number> = { claimed: 0, 'isc-called': 0, recorded: 0 };
      const deps: ApplyHandlerDeps = {
        ...h.applyDeps,
        tenantFor: async (tenant) => ({ ...(await h.applyDeps.tenantFor(tenant)), isc: losingWriteResponses(h.deps.isc) }),
        checkpoint: (step) => {
          if (!faults || !chance(0.12)) return;
          kills[step]++;
          killInvocation?.();
          return new Promise<void>(() => undefined);
        },
      };
      const invoke = (event: SQSEvent) =>
        new Promise<SQSBatchResponse>((resolve, reject) => {
          killInvocation = () => reject(new Error('Task timed out'));
          applyMain(event, deps).then(resolve, reject);
        });

      // Prepare: 200 approved changes, a third of them delivered twice.
      const requestIds: string[] = [];
      for (const [n, integrationId] of ids.entries()) {
        const request = await propose(
          { kind: 'patch', integrationId, patch: [{ op: 'replace', path: '/description', value: `change ${n}` }] },
          'alice',
          'fault test',
          h.tenantContext,
          h.changeDeps,
        );
        requestIds.push(request.id);
        await approveRequest(request.id, 'bob', h.changeDeps);
        if (chance(0.33)) h.queue.sendRaw(JSON.stringify({ requestId: request.id }), `acme/integration:${integrationId}`);
      }

      // Act: drain with faults; the deliveries SQS gave up on land in the DLQ, their requests possibly mid-apply.
      await h.queue.drain(invoke, 170_000);
      faults = false;
      const afterFaults = await Promise.all(requestIds.map((id) => h.requests.get(id)));
      const stuck = afterFaults.filter((r) => r && !TERMINAL.has(r.status)).length;
      // Then the sweeper sends every request whose lease ran out (or whose message is gone) again, and the queue drains.
      h.advance(10 * 60_000);
      const swept = await sweepRequests(h.changeDeps, 0, 0);
      await h.queue.drain(invoke, 170_000);

      // Assess
      expect(kills.claimed).toBeGreaterThan(0);
      expect(kills['isc-called']).toBeGreaterThan(0);
      expect(kills.recorded).toBeGreaterThan(0);
      expect(h.queue.deadLetters.length).toBeGreaterThan(0);
      expect(swept.resent).toBe(stuck);
      const final = await Promise.all(requestIds.map((id) => h.requests.get(id)));
      for (const [n, request] of final.entries()) {
        const integrationId = ids[n] as string;
        expect(request && TERMINAL.has(request.status)).toBe(true);
        expect(request?.history.filter((s) => TERMINAL.has(s.to))).toHaveLength(1);
        // At most once: a request applied wrote once; one that did not apply never wrote.
        expect(h.writesTo(integrationId)).toBe(request?.status === 'applied' ? 1 : 0);
        if (request?.status === 'applied') expect(h.emulator.state.get(integrationId).description).toBe(`change ${n}`);
      }
      // Only kills and lost responses were injected: nothing refused ISC, so every change got applied.
      expect(final.map((r) => r?.status)).toEqual(requestIds.map(() => 'applied'));
      console.log(
        `fault test: kills ${JSON.stringify(kills)}, ${h.queue.deadLetters.length} messages dead-lettered, ${stuck} requests left non-terminal by the faults, ${swept.resent} re-sent by the sweeper`,
      );
    } finally {
      await h.close();
    }
  }, 400_000);

  it('reads ISC before sending a write again when the HTTP response was lost: one write each, DELETE applied not failed', async () => {
    const h = await changeHarness({ integrations: 6, seed: 98, rateLimit: false });
    try {
      // Prepare: an HTTP client whose writes reach ISC and then lose their response (the connection drops).
      const lossy = new HttpIscClient({
        tenantUrl: h.url,
        credentials: TEST_CLIENT,
        rateLimit: false,
        retry: { baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 6 },
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if ((init?.method ?? 'GET') === 'GET' || new URL(String(input)).pathname.includes('oauth')) return response;
          await response.arrayBuffer();
          throw new TypeError('fetch failed: socket hang up');
        },
      });
      const deps = { ...h.applyDeps, tenantFor: async (t: string) => ({ ...(await h.applyDeps.tenantFor(t)), isc: lossy }) };
      const [a, b, c] = h.emulator.state.ids() as [string, string, string];
      const live = h.emulator.state.get(c);
      const proposals = [
        { kind: 'delete' as const, integrationId: a },
        { kind: 'patch' as const, integrationId: b, patch: [{ op: 'replace', path: '/description', value: 'patched once' }] },
        { kind: 'replace' as const, integrationId: c, integration: { ...live, description: 'replaced once' } },
      ];
      const ids: string[] = [];
      for (const input of proposals) {
        const request = await propose(input, 'alice', 'lost responses', h.tenantContext, h.changeDeps);
        await approveRequest(request.id, 'bob', h.changeDeps);
        ids.push(request.id);
      }
      // Act
      await h.queue.drain((event) => applyMain(event, deps));
      // Assess
      const done = await Promise.all(ids.map((id) => h.requests.get(id)));
      expect(done.map((r) => r?.status)).toEqual(['applied', 'applied', 'applied']);
      expect(done.map((r) => r?.history.at(-1)?.note)).toEqual(ids.map(() => expect.stringMatching(/response of the ISC write was lost/)));
      expect([a, b, c].map((id) => h.emulator.requests.filter((r) => r.path.endsWith(id) && r.method !== 'GET').length)).toEqual([1, 1, 1]);
      expect(h.emulator.state.ids()).not.toContain(a);
      expect(h.emulator.state.get(b).description).toBe('patched once');
      expect(h.emulator.state.get(c).description).toBe('replaced once');
    } finally {
      await h.close();
    }
  });

  it('keeps every ISC call inside the budget Lambda gives the apply, and starts no record it has no time for', async () => {
    const h = await changeHarness({ integrations: 3, seed: 99, rateLimit: false });
    try {
      // Prepare: ISC answers 503 with a long Retry-After forever; without a budget the client would wait it out.
      const stalling = new HttpIscClient({
        tenantUrl: h.url,
        credentials: TEST_CLIENT,
        rateLimit: false,
        fetch: async (input, init) =>
          new URL(String(input)).pathname.includes('oauth')
            ? fetch(input, init)
            : new Response('{}', { status: 429, headers: { 'retry-after': '20' } }),
      });
      const deps = { ...h.applyDeps, tenantFor: async (t: string) => ({ ...(await h.applyDeps.tenantFor(t)), isc: stalling }) };
      const id = h.emulator.state.ids()[0] as string;
      const request = await propose(
        { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'budget' }] },
        'alice',
        'r',
        h.tenantContext,
        h.changeDeps,
      );
      await approveRequest(request.id, 'bob', { ...h.changeDeps, queue: { enqueue: async () => undefined } });
      const event = {
        Records: [
          {
            messageId: 'm1',
            body: JSON.stringify({ requestId: request.id }),
            attributes: { MessageGroupId: 'g', ApproximateReceiveCount: '1' },
          },
        ],
      } as unknown as SQSEvent;
      // Act: 22 s left in the invocation (15 s are kept back to record the outcome).
      const started = Date.now();
      const response = await applyMain(event, deps, { getRemainingTimeInMillis: () => 22_000 });
      const elapsed = Date.now() - started;
      const starved = await applyMain(event, deps, { getRemainingTimeInMillis: () => 3_000 });
      // Assess: the call gave up inside the 7 s budget instead of waiting 20 s; the message is retried later.
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
      expect(elapsed).toBeLessThan(5_000);
      expect((await h.requests.get(request.id))?.status).toBe('applying');
      expect(starved.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    } finally {
      await h.close();
    }
  });

  it('settles a request whose deliveries ran out by reading ISC, never writing: target → applied, base → failed', async () => {
    const h = await changeHarness({ integrations: 3, seed: 100, rateLimit: false });
    try {
      const [a, b] = h.emulator.state.ids() as [string, string];
      const stuckAfter = async (integrationId: string, step: Step) => {
        const request = await propose(
          { kind: 'patch', integrationId, patch: [{ op: 'replace', path: '/description', value: `stuck after ${step}` }] },
          'alice',
          'r',
          h.tenantContext,
          h.changeDeps,
        );
        await approveRequest(request.id, 'bob', { ...h.changeDeps, queue: { enqueue: async () => undefined } });
        await expect(
          applyChange(request.id, {
            ...h.applyDeps,
            checkpoint: (s) => {
              if (s === step) throw new Error('killed');
            },
          }),
        ).rejects.toThrow('killed');
        expect((await h.requests.get(request.id))?.status).toBe('applying');
        return request.id;
      };
      const written = await stuckAfter(a, 'isc-called');
      const untouched = await stuckAfter(b, 'claimed');
      const writes = h.emulator.requests.filter((r) => r.method !== 'GET').length;
      expect(await resolveByReading(written, 'gave up after 6 deliveries', h.applyDeps)).toBe('applied');
      expect(await resolveByReading(untouched, 'gave up after 6 deliveries', h.applyDeps)).toBe('failed');
      expect(await resolveByReading(untouched, 'again', h.applyDeps)).toBe('failed');
      expect(h.emulator.requests.filter((r) => r.method !== 'GET').length).toBe(writes);
      expect((await h.requests.get(untouched))?.history.at(-1)?.note).toMatch(/ISC still holds the base and was not touched/);
    } finally {
      await h.close();
    }
  });
});
