import { type ChangeRequest, RequestRefused } from '../../lambdas/domain/change-request';
import { approveRequest, listRequests, propose, rejectRequest } from '../../lambdas/use-cases/change-requests';
import { sweepRequests } from '../../lambdas/use-cases/sweep-requests';
import { changeHarness } from '../support/change-harness';

type Harness = Awaited<ReturnType<typeof changeHarness>>;

describe('the change-approval queue with exactly-once apply', () => {
  let h: Harness;
  let id: string;

  beforeEach(async () => {
    h = await changeHarness({ integrations: 20, seed: 51 });
    id = h.emulator.state.ids()[0] as string;
    await h.snapshot();
  });
  afterEach(() => h.close());

  const proposePatch = (value: string, integrationId = id, requester = 'alice') =>
    propose(
      { kind: 'patch', integrationId, patch: [{ op: 'replace', path: '/description', value }] },
      requester,
      'CHG-1',
      h.tenantContext,
      h.changeDeps,
    );

  it('applies an approved patch once, and the next snapshot calls it expected without an alert', async () => {
    // Prepare
    const request = await proposePatch('approved description');
    expect(request).toMatchObject({ status: 'pending', requester: 'alice', approvalsRequired: 1 });
    // Act
    const approved = await approveRequest(request.id, 'bob', h.changeDeps);
    await h.drain();
    // Assess
    expect(approved.status).toBe('queued');
    const done = await h.requests.get(request.id);
    expect(done?.status).toBe('applied');
    expect(done?.history.map((s) => s.to)).toEqual(['pending', 'approved', 'queued', 'applying', 'applied']);
    expect(h.emulator.state.get(id).description).toBe('approved description');
    expect(h.writesTo(id)).toBe(1);
    const alertsBefore = h.notifier.events.filter((e) => e.type === 'Drift Detected').length;
    const next = await h.snapshot();
    expect(next.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id, 'expected']]);
    expect(h.notifier.events.filter((e) => e.type === 'Drift Detected')).toHaveLength(alertsBefore);
    expect(h.notifier.events.map((e) => e.type)).toContain('Change Applied');
  });

  it('refuses an approval by the requester (four eyes) and counts each approver once', async () => {
    h.changeDeps = { ...h.changeDeps, approvalsRequired: 2 };
    const request = await proposePatch('needs two');
    await expect(approveRequest(request.id, 'alice', h.changeDeps)).rejects.toThrow(/alice proposed request .* and cannot approve it/);
    const one = await approveRequest(request.id, 'bob', h.changeDeps);
    expect(one.status).toBe('pending');
    await expect(approveRequest(request.id, 'bob', h.changeDeps)).rejects.toThrow(/bob already approved/);
    const two = await approveRequest(request.id, 'carol', h.changeDeps);
    expect(two.status).toBe('queued');
    await expect(approveRequest(request.id, 'dave', h.changeDeps)).rejects.toThrow(/is queued, not pending/);
  });

  it('marks a stale approval as conflict, alerts, and leaves ISC untouched', async () => {
    const request = await proposePatch('what the board approved');
    h.emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'someone edited it meanwhile' }]);
    await approveRequest(request.id, 'bob', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(request.id))?.status).toBe('conflict');
    expect(h.emulator.state.get(id).description).toBe('someone edited it meanwhile');
    expect(h.writesTo(id)).toBe(0);
    expect(h.notifier.events.map((e) => e.type)).toContain('Change Conflict');
  });

  describe('ledger entries explain one transition, once', () => {
    const applyPatch = async (value: string) => {
      const request = await proposePatch(value);
      await approveRequest(request.id, 'bob', h.changeDeps);
      await h.drain();
      expect((await h.requests.get(request.id))?.status).toBe('applied');
      h.advance(60_000);
      return request;
    };
    const manualEdit = (value: string) => {
      h.emulator.state.patch(id, [{ op: 'replace', path: '/description', value }]);
      h.advance(60_000);
    };
    const classificationOf = async () => {
      const result = await h.snapshot();
      h.advance(60_000);
      return result.changes.filter((c) => c.resource.id === id).map((c) => c.classification);
    };

    it("calls a direct return to an earlier request's state unexpected (request 1 sets B, request 2 sets C, someone sets B)", async () => {
      h.advance(60_000);
      await applyPatch('state B');
      await applyPatch('state C');
      expect(await classificationOf()).toEqual(['expected']);
      manualEdit('state B');
      expect(await classificationOf()).toEqual(['unexpected']);
    });

    it('does not let an entry the previous snapshot already explained explain a later edit to the same state', async () => {
      h.advance(60_000);
      await applyPatch('state B');
      expect(await classificationOf()).toEqual(['expected']);
      manualEdit('someone else');
      expect(await classificationOf()).toEqual(['unexpected']);
      manualEdit('state B');
      // Not explained by the ledger entry (not "expected"): it undoes the standing drift, so it is "restored" and
      // closes that drift without an alert.
      expect(await classificationOf()).toEqual(['restored']);
    });

    it('does not let an entry hidden by a manual undo before any snapshot explain a later edit', async () => {
      h.advance(60_000);
      const original = h.emulator.state.get(id).description as string;
      await applyPatch('state B');
      manualEdit(original);
      expect(await classificationOf()).toEqual([]);
      manualEdit('state B');
      expect(await classificationOf()).toEqual(['unexpected']);
    });
  });

  describe('an insider who can write the table but not read the keys', () => {
    /** Writes the item as someone with dynamodb:PutItem would: any content, a valid revision. */
    const tamper = async (requestId: string, edit: (r: ChangeRequest) => ChangeRequest) => {
      const current = (await h.requests.get(requestId)) as ChangeRequest;
      expect(await h.requests.save({ ...edit(current), revision: current.revision + 1 })).toBe(true);
    };
    const expectRefused = async (requestId: string, why: RegExp) => {
      await h.drain();
      const done = await h.requests.get(requestId);
      expect(done?.status).toBe('refused');
      expect(done?.history.at(-1)?.note).toMatch(why);
      expect(h.writesTo(id)).toBe(0);
      expect(h.notifier.events.filter((e) => e.type === 'Change Refused' && e.detail.requestId === requestId)).toHaveLength(1);
    };
    const patchTo = (value: string) => [{ op: 'replace' as const, path: '/description', value }];

    it('cannot get a different operation applied by editing it after approval', async () => {
      const request = await proposePatch('approved text');
      await approveRequest(request.id, 'bob', h.changeDeps);
      await tamper(request.id, (r) => ({ ...r, operation: { kind: 'patch', integrationId: id, patch: patchTo('insider text') } }));
      await expectRefused(request.id, /no longer matches what was proposed/);
      expect(h.emulator.state.get(id).description).not.toBe('insider text');
    });

    it('cannot change the operation and its target hash together', async () => {
      const request = await proposePatch('approved text');
      const other = await proposePatch('insider text', h.emulator.state.ids()[2]);
      await approveRequest(request.id, 'bob', h.changeDeps);
      await tamper(request.id, (r) => ({
        ...r,
        operation: { kind: 'patch', integrationId: id, patch: patchTo('insider text') },
        targetHash: other.targetHash,
      }));
      await expectRefused(request.id, /no longer matches what was proposed/);
    });

    it('cannot approve a pending request by writing approvals, nor reuse a seal from another request', async () => {
      const request = await proposePatch('never approved');
      const donor = await proposePatch('approved elsewhere', h.emulator.state.ids()[3]);
      const approvedDonor = await approveRequest(donor.id, 'bob', h.changeDeps);
      await tamper(request.id, (r) => ({ ...r, status: 'queued', approvals: approvedDonor.approvals }));
      h.queue.sendRaw(JSON.stringify({ requestId: request.id }), `acme/integration:${id}`);
      await expectRefused(request.id, /approval by bob does not match the request/);
    });

    it('cannot make the requester someone else after approval, nor lower the approvals required', async () => {
      h.changeDeps = { ...h.changeDeps, approvalsRequired: 2 };
      const request = await proposePatch('needs two');
      await approveRequest(request.id, 'bob', h.changeDeps);
      await tamper(request.id, (r) => ({ ...r, approvalsRequired: 1, status: 'queued' }));
      h.queue.sendRaw(JSON.stringify({ requestId: request.id }), `acme/integration:${id}`);
      await expectRefused(request.id, /no longer matches what was proposed/);
    });

    it('cannot swap the parked credential of an approved request', async () => {
      const secretKey = Object.keys(h.emulator.state.get(id).attributes).find((k) => /password|token|secret/i.test(k)) as string;
      const live = h.emulator.state.get(id);
      const request = await propose(
        {
          kind: 'replace',
          integrationId: id,
          integration: { ...live, attributes: { ...live.attributes, [secretKey]: 'rotated-by-the-board' } },
        },
        'alice',
        'rotate',
        h.tenantContext,
        h.changeDeps,
      );
      await approveRequest(request.id, 'bob', h.changeDeps);
      const pointer = request.secretPaths[0] as string;
      h.vault.values.set(request.id, { [pointer]: 'insider-knows-this-one' });
      await expectRefused(request.id, /credential at .* is not the one that was approved/);
      expect(h.emulator.state.get(id).attributes[secretKey]).not.toBe('insider-knows-this-one');
    });
  });

  it('expires a request nobody approved in time, and refuses to approve it', async () => {
    const request = await proposePatch('too late');
    h.advance(8 * 24 * 3_600_000);
    await expect(approveRequest(request.id, 'bob', h.changeDeps)).rejects.toThrow(/expired at/);
    expect((await listRequests({ status: 'expired' }, h.changeDeps)).map((r) => r.id)).toEqual([request.id]);
  });

  it('rejects with a reason, and a rejected request is never applied', async () => {
    const request = await proposePatch('no');
    const rejected = await rejectRequest(request.id, 'bob', 'not this quarter', h.changeDeps);
    expect(rejected.history.at(-1)).toMatchObject({ to: 'rejected', by: 'bob', note: 'not this quarter' });
    await expect(approveRequest(request.id, 'carol', h.changeDeps)).rejects.toThrow(/is rejected, not pending/);
    expect(h.queue.depth).toBe(0);
  });

  it.each(['claimed', 'isc-called', 'recorded'] as const)(
    'ends in exactly one terminal state, applied once, when the apply stops after %s',
    async (step) => {
      const request = await proposePatch(`survives a crash after ${step}`);
      let crashes = 0;
      h.crashWhen((s) => {
        if (s !== step || crashes > 0) return false;
        crashes++;
        return true;
      });
      await approveRequest(request.id, 'bob', h.changeDeps);
      // A duplicate delivery of the same request, as SQS may make.
      h.queue.sendRaw(JSON.stringify({ requestId: request.id }), `acme/integration:${id}`);
      await h.drain();
      expect(crashes).toBe(1);
      const done = await h.requests.get(request.id);
      expect(done?.status).toBe('applied');
      expect(done?.history.filter((s) => s.to === 'applied')).toHaveLength(1);
      expect(h.writesTo(id)).toBe(1);
      expect(h.emulator.state.get(id).description).toBe(`survives a crash after ${step}`);
      expect(h.queue.deadLetters).toEqual([]);
    },
  );

  it('applies 200 approved changes across 20 integrations, with duplicates and crashes, each exactly once', async () => {
    const ids = h.emulator.state.ids().slice(0, 20);
    let random = 42;
    const chance = (p: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random / 2 ** 31 < p;
    };
    h.crashWhen(() => chance(0.15));
    const all: string[] = [];
    for (let round = 1; round <= 10; round++) {
      for (const integrationId of ids) {
        const request = await proposePatch(`round ${round}`, integrationId);
        all.push(request.id);
        await approveRequest(request.id, 'bob', h.changeDeps);
        if (chance(0.3)) h.queue.sendRaw(JSON.stringify({ requestId: request.id }), `acme/integration:${integrationId}`);
      }
      await h.drain();
    }
    const final = await Promise.all(all.map((requestId) => h.requests.get(requestId)));
    expect(final.map((r) => r?.status)).toEqual(all.map(() => 'applied'));
    for (const integrationId of ids) {
      expect(h.emulator.state.get(integrationId).description).toBe('round 10');
      expect(h.writesTo(integrationId)).toBe(10);
    }
    expect(h.queue.deadLetters).toEqual([]);
  }, 180_000);

  it('retries an outcome alert SNS could not take, sending it once the next delivery comes, never applying twice', async () => {
    const request = await proposePatch('alert me');
    await approveRequest(request.id, 'bob', h.changeDeps);
    h.notifier.failNext = 1;
    await h.drain();
    const done = await h.requests.get(request.id);
    expect(done).toMatchObject({ status: 'applied', alert: 'sent' });
    expect(h.notifier.events.filter((e) => e.type === 'Change Applied' && e.detail.requestId === request.id)).toHaveLength(1);
    expect(h.writesTo(id)).toBe(1);
  });

  it('re-queues an approval a crash kept from the queue, and expires overdue requests with their parked credentials', async () => {
    const stranded = await proposePatch('stranded');
    // The final approval is saved, then the queue send fails (a crash between the two).
    const broken = { ...h.changeDeps, queue: { enqueue: async () => Promise.reject(new Error('SQS unreachable')) } };
    await expect(approveRequest(stranded.id, 'bob', broken)).rejects.toThrow('SQS unreachable');
    expect((await h.requests.get(stranded.id))?.status).toBe('approved');
    const other = h.emulator.state.ids()[1] as string;
    const overdue = await propose(
      {
        kind: 'replace',
        integrationId: other,
        integration: {
          ...h.emulator.state.get(other),
          attributes: { ...h.emulator.state.get(other).attributes, password: 'parked-secret' },
        },
      },
      'alice',
      'r',
      h.tenantContext,
      { ...h.changeDeps, ttlMs: 1_000 },
    );
    expect(h.vault.values.has(overdue.id)).toBe(true);
    h.advance(2_000);
    expect(await sweepRequests(h.changeDeps, 1_000)).toEqual({ expired: 1, requeued: 1, resent: 0 });
    expect((await h.requests.get(overdue.id))?.status).toBe('expired');
    expect(h.vault.values.has(overdue.id)).toBe(false);
    await h.drain();
    expect((await h.requests.get(stranded.id))?.status).toBe('applied');
  });

  it('sends malformed messages to the DLQ with a reason and touches nothing', async () => {
    const before = h.emulator.requests.length;
    h.queue.sendRaw('not json', 'g1');
    h.queue.sendRaw(JSON.stringify({ requestId: 'no-such-request' }), 'g2');
    h.queue.sendRaw(JSON.stringify({ requestId: 42 }), 'g3');
    await h.drain();
    expect(h.queue.deadLetters.map((d) => d.reason)).toEqual([
      'the message body is not JSON',
      'no change request no-such-request',
      'the message has no valid requestId',
    ]);
    expect(h.emulator.requests.length).toBe(before);
  });

  it('reverts to a stored version, asking for the credentials history only holds as fingerprints', async () => {
    const secretKey = Object.keys(h.emulator.state.get(id).attributes).find((k) => /password|token|secret/i.test(k)) as string;
    const original = h.emulator.state.get(id).attributes[secretKey] as string;
    h.emulator.state.patch(id, [
      { op: 'replace', path: '/description', value: 'bad edit' },
      { op: 'replace', path: `/attributes/${secretKey}`, value: 'leaked-and-rotated' },
    ]);
    await h.snapshot();
    const revert = { kind: 'revert' as const, integrationId: id, version: 1 };
    await expect(propose(revert, 'alice', 'undo', h.tenantContext, h.changeDeps)).rejects.toThrow(
      new RegExp(
        `version 1 holds only the stored fingerprint of the credential\\(s\\) at /attributes/${secretKey}, not the credential: supply`,
      ),
    );
    // A value that is not the credential version 1 fingerprinted is refused, not applied silently.
    await expect(
      propose({ ...revert, secrets: { [`/attributes/${secretKey}`]: 'a-guess' } }, 'alice', 'undo', h.tenantContext, h.changeDeps),
    ).rejects.toThrow(`the value supplied for /attributes/${secretKey} is not the credential version 1 fingerprinted there`);
    const request = await propose(
      { ...revert, secrets: { [`/attributes/${secretKey}`]: original } },
      'alice',
      'undo',
      h.tenantContext,
      h.changeDeps,
    );
    expect(JSON.stringify(request)).not.toContain(original);
    await approveRequest(request.id, 'bob', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(request.id))?.status).toBe('applied');
    const live = h.emulator.state.get(id);
    expect(live.description).not.toBe('bad edit');
    expect(live.attributes[secretKey]).toBe(original);
    expect(h.vault.values.size).toBe(0);
  });

  it('refuses a stored fingerprint as a credential in a create, replace or patch unless the real value is supplied', async () => {
    const live = h.emulator.state.get(id);
    const secretKey = Object.keys(live.attributes).find((k) => /password|token|secret/i.test(k)) as string;
    const stored = (await h.store.getVersionContent('acme', `integration:${id}`, 1)) as { attributes: Record<string, unknown> };
    const placeholder = stored.attributes[secretKey];
    expect(placeholder).toEqual({ $secret: expect.stringMatching(/^hmac-sha256:/) });
    const withPlaceholder = { ...live, description: 'copied from history', attributes: { ...live.attributes, [secretKey]: placeholder } };
    const attempts = [
      { kind: 'replace' as const, integrationId: id, integration: withPlaceholder },
      { kind: 'create' as const, integration: { ...withPlaceholder, name: 'a copy' } },
      { kind: 'patch' as const, integrationId: id, patch: [{ op: 'replace', path: `/attributes/${secretKey}`, value: placeholder }] },
    ];
    for (const attempt of attempts) {
      await expect(propose(attempt, 'alice', 'r', h.tenantContext, h.changeDeps)).rejects.toThrow(
        /holds only the stored fingerprint of the credential/,
      );
      await expect(
        propose({ ...attempt, secrets: { [`/attributes/${secretKey}`]: 'wrong' } }, 'alice', 'r', h.tenantContext, h.changeDeps),
      ).rejects.toThrow(/is not the credential .* fingerprinted there/);
    }
    await expect(
      propose(
        { ...attempts[0], secrets: { [`/attributes/${secretKey}`]: live.attributes[secretKey], '/attributes/nothing': 'x' } } as never,
        'alice',
        'r',
        h.tenantContext,
        h.changeDeps,
      ),
    ).rejects.toThrow(/holds no credential fingerprint at \/attributes\/nothing/);
    const request = await propose(
      { ...attempts[0], secrets: { [`/attributes/${secretKey}`]: live.attributes[secretKey] } } as never,
      'alice',
      'r',
      h.tenantContext,
      h.changeDeps,
    );
    await approveRequest(request.id, 'bob', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(request.id))?.status).toBe('applied');
    expect(h.emulator.state.get(id).attributes[secretKey]).toBe(live.attributes[secretKey]);
    expect(h.emulator.state.get(id).description).toBe('copied from history');
  });

  it('creates an integration and deletes another, and the next snapshot calls both expected', async () => {
    const created = await propose(
      {
        kind: 'create',
        integration: {
          name: 'Approved new desk',
          description: 'd',
          type: 'Zendesk SDIM',
          attributes: { url: 'https://n.zendesk.com', apiToken: 't0k3n' },
        },
      },
      'alice',
      'new desk',
      h.tenantContext,
      h.changeDeps,
    );
    const victim = h.emulator.state.ids()[5] as string;
    const deleted = await propose({ kind: 'delete', integrationId: victim }, 'alice', 'retire', h.tenantContext, h.changeDeps);
    await approveRequest(created.id, 'bob', h.changeDeps);
    await approveRequest(deleted.id, 'bob', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(created.id))?.status).toBe('applied');
    expect((await h.requests.get(deleted.id))?.status).toBe('applied');
    const next = await h.snapshot();
    expect(next.changes.map((c) => [c.change, c.classification]).sort()).toEqual([
      ['added', 'expected'],
      ['removed', 'expected'],
    ]);
  });

  describe('bad proposals are refused up front with a clear error', () => {
    it.each([
      [{ kind: 'patch', integrationId: 'x', patch: [{ op: 'add', path: '/description', value: 'x' }] }, /ISC accepts only 'replace'/],
      [{ kind: 'patch', integrationId: 'x', patch: [] }, /non-empty JSON array/],
      [{ kind: 'patch', integrationId: 'x', patch: [{ op: 'replace', path: '/id', value: 'x' }] }, /read-only/],
      [{ kind: 'create', integration: { name: 'n' } }, /not valid for ISC: description: is required/],
      [
        { kind: 'status-check', config: { provisioningStatusCheckIntervalMinutes: 30, provisioningMaxStatusCheckDays: '2' } },
        /must be string/,
      ],
      [
        { kind: 'status-check', config: { provisioningStatusCheckIntervalMinutes: '0', provisioningMaxStatusCheckDays: '2' } },
        /positive whole number/,
      ],
    ])('%j', async (input, message) => {
      const error = await propose(input as never, 'alice', 'r', h.tenantContext, h.changeDeps).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RequestRefused);
      expect((error as Error).message).toMatch(message);
    });

    it('an unknown integration id', async () => {
      await expect(proposePatch('x', 'f'.repeat(32))).rejects.toThrow(/integration f{32} does not exist in ISC/);
    });

    it('a patch that would change nothing', async () => {
      await expect(proposePatch(h.emulator.state.get(id).description)).rejects.toThrow(/would leave the live object as it is/);
    });

    it('a create reusing an existing name', async () => {
      const existing = h.emulator.state.get(id);
      await expect(propose({ kind: 'create', integration: { ...existing } }, 'alice', 'r', h.tenantContext, h.changeDeps)).rejects.toThrow(
        /already exists/,
      );
    });
  });
});
