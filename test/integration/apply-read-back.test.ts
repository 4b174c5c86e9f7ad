import type { ChangeRequest } from '../../lambdas/domain/change-request';
import type { IscClient } from '../../lambdas/ports/isc-client';
import { approveRequest, propose } from '../../lambdas/use-cases/change-requests';
import { changeHarness } from '../support/change-harness';

type Harness = Awaited<ReturnType<typeof changeHarness>>;

// ISC answers a PUT or PATCH with the integration "as updated" (and a create with the new one): the apply records that
// answer as its read-back instead of reading ISC a third time. Two requests per change, and the record still says
// what ISC holds, not what was asked.

describe('the write answer as the read-back of an apply', () => {
  let h: Harness;
  let id: string;

  beforeEach(async () => {
    h = await changeHarness({ integrations: 4, seed: 71 });
    id = h.emulator.state.ids()[0] as string;
    await h.snapshot();
  });
  afterEach(() => h.close());

  const approvedPatch = async (value: string) => {
    const request = await propose(
      { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value }] },
      'alice',
      'CHG-2',
      h.tenantContext,
      h.changeDeps,
    );
    await approveRequest(request.id, 'bob', h.changeDeps);
    return request;
  };
  /** The apply's ISC client, with the answer to PATCH rewritten by `answer`. */
  const answering = (answer: (served: Awaited<ReturnType<IscClient['patchIntegration']>>) => unknown) => {
    const isc = h.deps.isc;
    const wrapped = Object.create(isc) as typeof isc;
    wrapped.patchIntegration = async (...args: Parameters<typeof isc.patchIntegration>) =>
      answer(await isc.patchIntegration(...args)) as Awaited<ReturnType<typeof isc.patchIntegration>>;
    Object.assign(h.applyDeps, { tenantFor: async () => ({ isc: wrapped, normalise: h.tenantContext.normalise }) });
  };
  const callsFor = (method: string) => h.emulator.requests.filter((r) => r.method === method && r.path.endsWith(`/${id}`)).length;

  it('applies a patch with one read and one write, and records the target ISC answered', async () => {
    // Prepare
    const request = await approvedPatch('from the answer');
    const [gets, patches] = [callsFor('GET'), callsFor('PATCH')];
    // Act
    await h.drain();
    // Assess
    const done = (await h.requests.get(request.id)) as ChangeRequest;
    expect(done.status).toBe('applied');
    expect(done.outcome?.afterHash).toBe(done.targetHash);
    expect([callsFor('GET') - gets, callsFor('PATCH') - patches]).toEqual([1, 1]);
    expect(h.emulator.state.get(id).description).toBe('from the answer');
    // The ledger entry it wrote explains the change to the next snapshot.
    expect((await h.snapshot()).changes.map((c) => c.classification)).toEqual(['expected']);
  });

  it('records what ISC answered when it differs from what was asked', async () => {
    // Prepare: ISC (here, a stand-in answer) stores the text trimmed of its last character
    const request = await approvedPatch('stored differently');
    answering((served) => ({ ...served, description: 'stored differentl' }));
    // Act
    await h.drain();
    // Assess
    const done = (await h.requests.get(request.id)) as ChangeRequest;
    expect(done.status).toBe('applied');
    expect(done.outcome?.afterHash).not.toBe(done.targetHash);
    expect(done.history.at(-1)?.note).toMatch(/ISC stored a different content than requested; the read-back is recorded/);
  });

  it('reads ISC back when the answer carries no integration', async () => {
    // Prepare
    const request = await approvedPatch('answer without body');
    answering(() => ({}));
    const gets = callsFor('GET');
    // Act
    await h.drain();
    // Assess
    const done = (await h.requests.get(request.id)) as ChangeRequest;
    expect(done.status).toBe('applied');
    expect(done.outcome?.afterHash).toBe(done.targetHash);
    expect(callsFor('GET') - gets).toBe(2);
  });
});
