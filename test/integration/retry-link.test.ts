import type { ChangeRequest } from '../../lambdas/domain/change-request';
import { approveRequest, propose, reviewRequest } from '../../lambdas/use-cases/change-requests';
import { changeHarness } from '../support/change-harness';

type Harness = Awaited<ReturnType<typeof changeHarness>>;

// A retry names the request it proposes again in a field of its own (retryOf), checked when it is proposed and
// sealed with the proposal, so neither a made-up link nor an edited one survives.

describe('the retry link between change requests', () => {
  let h: Harness;
  let id: string;
  let other: string;
  let ended: ChangeRequest;

  const patchOf = (value: string, integrationId = id) => ({
    kind: 'patch' as const,
    integrationId,
    patch: [{ op: 'replace' as const, path: '/description', value }],
  });

  beforeEach(async () => {
    // Prepare: a request that ended in conflict (ISC changed between approval and apply)
    h = await changeHarness({ integrations: 5, seed: 61 });
    [id, other] = h.emulator.state.ids() as [string, string];
    await h.snapshot();
    const first = await propose(patchOf('wanted'), 'alice', 'CHG-7', h.tenantContext, h.changeDeps);
    await approveRequest(first.id, 'bob', h.changeDeps);
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), description: 'someone got there first' });
    await h.drain();
    ended = (await h.requests.get(first.id)) as ChangeRequest;
    expect(ended.status).toBe('conflict');
  });
  afterEach(() => h.close());

  const reviewDeps = () => ({ ...h.changeDeps, tenantFor: async () => h.tenantContext });

  it('stores retryOf on the new request, and the review of the old one names its retry', async () => {
    // Act
    const retry = await propose(patchOf('wanted'), 'carol', `retry of ${ended.id}: CHG-7`, h.tenantContext, h.changeDeps, {
      retryOf: ended.id,
    });
    // Assess
    expect(retry).toMatchObject({ status: 'pending', retryOf: ended.id });
    expect((await h.requests.get(retry.id))?.retryOf).toBe(ended.id);
    expect((await reviewRequest(ended.id, reviewDeps())).retriedBy).toEqual([retry.id]);
    expect((await reviewRequest(retry.id, reviewDeps())).retriedBy).toEqual([]);
    await approveRequest(retry.id, 'dave', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(retry.id))?.status).toBe('applied');
    expect(h.emulator.state.get(id).description).toBe('wanted');
  });

  it('refuses a link to a request that does not exist, did not end, or changed another resource', async () => {
    await expect(propose(patchOf('x'), 'carol', 'r', h.tenantContext, h.changeDeps, { retryOf: 'no-such-request' })).rejects.toMatchObject({
      code: 'not-found',
    });
    const open = await propose(patchOf('y', other), 'alice', 'r', h.tenantContext, h.changeDeps);
    await expect(propose(patchOf('z', other), 'carol', 'r', h.tenantContext, h.changeDeps, { retryOf: open.id })).rejects.toThrow(
      /is pending; only failed, conflict or expired requests can be retried/,
    );
    await expect(
      propose(patchOf('z', h.emulator.state.ids()[2]), 'carol', 'r', h.tenantContext, h.changeDeps, { retryOf: ended.id }),
    ).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(new RegExp(`a retry of ${ended.id} changes what it changed \\(integration:${id}`)),
    });
  });

  it('never applies a request whose retryOf was edited after approval (someone with table write access)', async () => {
    // Prepare
    const retry = await propose(patchOf('wanted'), 'carol', 'CHG-7 again', h.tenantContext, h.changeDeps, { retryOf: ended.id });
    await approveRequest(retry.id, 'dave', h.changeDeps);
    // Act: the link is moved to another request
    const stored = (await h.requests.get(retry.id)) as ChangeRequest;
    expect(await h.requests.save({ ...stored, retryOf: 'some-other-request', revision: stored.revision + 1 })).toBe(true);
    await h.drain();
    // Assess
    const done = await h.requests.get(retry.id);
    expect(done?.status).toBe('refused');
    expect(done?.history.at(-1)?.note).toMatch(/no longer matches what was proposed/);
    expect(h.emulator.state.get(id).description).toBe('someone got there first');
  });

  it('keeps sealed requests without the field valid (written before retryOf existed)', async () => {
    const plain = await propose(patchOf('plain', other), 'alice', 'CHG-8', h.tenantContext, h.changeDeps);
    expect('retryOf' in plain).toBe(false);
    await approveRequest(plain.id, 'bob', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(plain.id))?.status).toBe('applied');
  });
});
