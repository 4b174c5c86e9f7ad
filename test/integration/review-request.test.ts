import { RequestRefused } from '../../lambdas/domain/change-request';
import { IscUnavailableError } from '../../lambdas/isc/errors';
import type { IscClient } from '../../lambdas/ports/isc-client';
import { applyChange, resolveByReading } from '../../lambdas/use-cases/apply-change';
import { approveRequest, propose, reviewRequest } from '../../lambdas/use-cases/change-requests';
import { changeHarness } from '../support/change-harness';

type Harness = Awaited<ReturnType<typeof changeHarness>>;

/** An ISC whose every read fails as an outage would (the writes are never reached by these tests). */
function unreadable(isc: IscClient): IscClient {
  const down = async (): Promise<never> => {
    throw new IscUnavailableError('getServiceDeskIntegration', 'ISC getServiceDeskIntegration: 503 Service Unavailable');
  };
  return { ...isc, getIntegration: down, listIntegrations: down, getStatusCheckConfig: down };
}

describe('reviewRequest: what an approver reads before approving', () => {
  let h: Harness;
  const review = (id: string, isc?: IscClient) =>
    reviewRequest(id, {
      requests: h.requests,
      tenantFor: async () => ({ isc: isc ?? h.tenantContext.isc, normalise: h.tenantContext.normalise }),
    });

  beforeAll(async () => {
    h = await changeHarness({ integrations: 5, seed: 313, rateLimit: false });
    await h.snapshot();
  });
  afterAll(() => h.close());

  it('shows the patch as proposed and as it would apply now, and says when the live object moved since', async () => {
    const id = h.emulator.state.ids()[0] as string;
    const request = await propose(
      { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'reviewed' }] },
      'alice',
      'r',
      h.tenantContext,
      h.changeDeps,
    );
    const first = await review(request.id);
    expect(first.review).toEqual({
      proposed: [{ op: 'replace', path: '/description', value: 'reviewed' }],
      now: [{ op: 'replace', path: '/description', value: 'reviewed' }],
      liveChangedSinceProposal: false,
    });
    expect(first).toMatchObject({ id: request.id, status: 'pending', revision: request.revision });

    h.emulator.state.patch(id, [{ op: 'replace', path: '/name', value: 'renamed by hand' }]);
    const later = await review(request.id);
    // A patch touches only its paths: it would still set the description, but the request was written against
    // another object, so the apply will end as a conflict, and the review says so.
    expect(later.review).toEqual({
      proposed: [{ op: 'replace', path: '/description', value: 'reviewed' }],
      now: [{ op: 'replace', path: '/description', value: 'reviewed' }],
      liveChangedSinceProposal: true,
    });
  });

  it('reads the status-check configuration for a status-check request, and finds a create by its name', async () => {
    const check = await propose(
      { kind: 'status-check', config: { provisioningStatusCheckIntervalMinutes: '55', provisioningMaxStatusCheckDays: '4' } },
      'alice',
      'r',
      h.tenantContext,
      h.changeDeps,
    );
    expect((await review(check.id)).review).toMatchObject({ liveChangedSinceProposal: false, now: check.proposedPatch });

    const template = h.emulator.state.get(h.emulator.state.ids()[1] as string);
    const create = await propose(
      { kind: 'create', integration: { ...template, name: 'reviewed create', description: 'new' } },
      'alice',
      'r',
      h.tenantContext,
      h.changeDeps,
    );
    expect((await review(create.id)).review.liveChangedSinceProposal).toBe(false);
    // Someone creates one of that name by hand: the review says the request no longer fits what ISC holds.
    const { id: _id, created: _created, modified: _modified, ...fields } = template;
    h.emulator.state.create({ ...fields, name: 'reviewed create', description: 'by hand' });
    const moved = await review(create.id);
    expect(moved.review.liveChangedSinceProposal).toBe(true);
    expect(moved.review.now).toEqual(expect.arrayContaining([{ op: 'replace', path: '/description', value: 'new' }]));
  });

  it('shows a deleted integration as gone (the patch from nothing), not as an error', async () => {
    const id = h.emulator.state.ids()[2] as string;
    const request = await propose(
      { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'x' }] },
      'alice',
      'r',
      h.tenantContext,
      h.changeDeps,
    );
    h.emulator.state.delete(id);
    const shown = await review(request.id);
    expect(shown.review.error).toBeUndefined();
    expect(shown.review.liveChangedSinceProposal).toBe(true);
  });

  it('still shows the proposed patch, with why, when ISC cannot be read, and writes nothing', async () => {
    const id = h.emulator.state.ids()[3] as string;
    const request = await propose({ kind: 'delete', integrationId: id }, 'alice', 'r', h.tenantContext, h.changeDeps);
    const items = await h.itemCount();
    const shown = await review(request.id, unreadable(h.tenantContext.isc));
    expect(shown.review).toEqual({
      proposed: request.proposedPatch,
      error: expect.stringMatching(/^cannot read the live object from ISC: .*503 Service Unavailable/),
    });
    expect(shown.review.proposed.length).toBeGreaterThan(0);
    expect(await h.itemCount()).toBe(items);
    expect((await h.requests.get(request.id))?.revision).toBe(request.revision);
  });

  it('answers not-found for an unknown request', async () => {
    await expect(review('no-such-request')).rejects.toEqual(new RequestRefused('not-found', 'no change request no-such-request'));
  });
});

describe('resolveByReading when ISC cannot be read', () => {
  it('leaves the request applying with its claim and history untouched, writes nothing, and never guesses applied', async () => {
    const h = await changeHarness({ integrations: 3, seed: 314, rateLimit: false });
    try {
      const id = h.emulator.state.ids()[0] as string;
      const request = await propose(
        { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'in doubt' }] },
        'alice',
        'r',
        h.tenantContext,
        h.changeDeps,
      );
      await approveRequest(request.id, 'bob', { ...h.changeDeps, queue: { enqueue: async () => undefined } });
      // The write reached ISC and the invocation died: ISC holds the target, the request is left applying.
      await expect(
        applyChange(request.id, {
          ...h.applyDeps,
          checkpoint: (step) => {
            if (step === 'isc-called') throw new Error('killed');
          },
        }),
      ).rejects.toThrow('killed');
      expect(h.emulator.state.get(id).description).toBe('in doubt');
      const stuck = await h.requests.get(request.id);
      const items = await h.itemCount();
      const events = h.notifier.events.length;

      // Act: the last delivery settles by reading, but ISC is down.
      const deps = {
        ...h.applyDeps,
        tenantFor: async (t: string) => ({ ...(await h.applyDeps.tenantFor(t)), isc: unreadable(h.deps.isc) }),
      };
      const status = await resolveByReading(request.id, 'gave up after 6 deliveries', deps);

      // Assess: still applying (even though ISC in fact holds the target), nothing written, nothing alerted.
      expect(status).toBe('applying');
      expect(await h.requests.get(request.id)).toEqual(stuck);
      expect(await h.itemCount()).toBe(items);
      expect(h.notifier.events.length).toBe(events);
      // Once ISC answers again, reading settles it: applied, with its ledger entry.
      expect(await resolveByReading(request.id, 'gave up after 6 deliveries', h.applyDeps)).toBe('applied');
      expect(await h.itemCount()).toBeGreaterThan(items);
    } finally {
      await h.close();
    }
  });
});
