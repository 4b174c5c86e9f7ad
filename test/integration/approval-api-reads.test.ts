import type { APIGatewayProxyEvent } from 'aws-lambda';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { DEFAULT_ACCESS } from '../../lambdas/domain/identity';
import { type ApprovalApiDeps, main } from '../../lambdas/handlers/approval-api';
import { propose } from '../../lambdas/use-cases/change-requests';
import { changeHarness } from '../support/change-harness';

// The read side of the approval API that the console and the CLI share: drift (and accepting it), history,
// versions, comparisons, verify, integrations and the side-by-side view of a request; each behind authorization.

type Harness = Awaited<ReturnType<typeof changeHarness>>;

/** A day within the 90-day acceptance cap. */
const SOON = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

const event = (method: string, path: string, caller: string | null, body?: unknown, query?: Record<string, string>): APIGatewayProxyEvent =>
  ({
    httpMethod: method,
    path,
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    queryStringParameters: query ?? null,
    requestContext: { identity: { userArn: caller } },
  }) as unknown as APIGatewayProxyEvent;

describe('the approval API read routes', () => {
  let h: Harness;
  let deps: ApprovalApiDeps;
  let ids: string[];
  const alice = 'arn:aws:iam::111122223333:user/alice';
  const bob = 'arn:aws:iam::111122223333:user/bob';
  const call = async (e: APIGatewayProxyEvent, extra: Partial<ApprovalApiDeps> = {}) => {
    const result = await main(e, { ...deps, ...extra });
    return { status: result.statusCode, body: JSON.parse(result.body) };
  };

  beforeAll(async () => {
    h = await changeHarness({ integrations: 4, seed: 73 });
    await h.snapshot();
    ids = h.emulator.state.ids();
    deps = {
      ...h.changeDeps,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v3' }]),
      history: h.store,
      tenantFor: async () => ({ isc: h.tenantContext.isc, normalise: h.tenantContext.normalise }),
    };
    h.emulator.state.patch(ids[1] as string, [{ op: 'replace', path: '/description', value: 'drifted one' }]);
    h.emulator.state.patch(ids[2] as string, [{ op: 'replace', path: '/description', value: 'drifted two' }]);
    await h.snapshot();
  });
  afterAll(() => h.close());

  it('lists drift, newest first, with credentials never shown', async () => {
    const drift = await call(event('GET', '/tenants/acme/drift', alice, undefined, { status: 'open' }));
    expect(drift.status).toBe(200);
    expect(drift.body.map((d: { key: string }) => d.key).sort()).toEqual([`integration:${ids[1]}`, `integration:${ids[2]}`].sort());
    expect(drift.body[0]).toMatchObject({ status: 'open', change: 'modified', severity: expect.any(String) });
    expect(drift.body[0]).not.toHaveProperty('alert');
    expect(JSON.stringify(drift.body)).not.toContain('hmac-sha256');
  });

  it('accepts drift in bulk only when every key names a drift: one unknown key and nothing is written', async () => {
    const body = { keys: [`integration:${ids[1]}`, 'integration:nope'], reason: 'CHG-1', until: SOON };
    const refused = await call(event('POST', '/tenants/acme/drift/accept', bob, body));
    expect(refused).toEqual({
      status: 404,
      body: { error: 'not-found', message: "no drift on integration:nope in tenant 'acme' to accept" },
    });
    expect((await h.store.loadState('acme')).drifts.every((d) => d.status === 'open')).toBe(true);

    const accepted = await call(
      event('POST', '/tenants/acme/drift/accept', bob, {
        keys: [`integration:${ids[1]}`, `integration:${ids[2]}`],
        reason: 'CHG-1',
        until: SOON,
      }),
    );
    expect(accepted.status).toBe(200);
    expect(accepted.body.map((d: { already: boolean }) => d.already)).toEqual([false, false]);
    const { drifts } = await h.store.loadState('acme');
    expect(drifts.map((d) => [d.status, d.acceptance?.by, d.acceptance?.reason, d.acceptance?.until])).toEqual([
      ['accepted', bob, 'CHG-1', `${SOON}T23:59:59.999Z`],
      ['accepted', bob, 'CHG-1', `${SOON}T23:59:59.999Z`],
    ]);
    // The same acceptance again is a no-op, not a new record.
    const again = await call(
      event('POST', '/tenants/acme/drift/accept', bob, { keys: [`integration:${ids[1]}`], reason: 'CHG-1', until: SOON }),
    );
    expect(again.body[0].already).toBe(true);
    expect(again.body[0].acceptance.at).toBe(drifts.find((d) => d.key === `integration:${ids[1]}`)?.acceptance?.at);
    expect((await call(event('GET', '/tenants/acme/drift', alice, undefined, { status: 'open' }))).body).toEqual([]);
  });

  it.each([
    ['an unknown tenant', event('GET', '/tenants/nowhere/drift', alice), 404, /unknown tenant 'nowhere'/],
    ['a bad drift status', event('GET', '/tenants/acme/drift', alice, undefined, { status: 'closed' }), 400, /open or accepted/],
    [
      'accept without keys',
      event('POST', '/tenants/acme/drift/accept', bob, { keys: 'all', reason: 'r', until: SOON }),
      400,
      /keys must be a list/,
    ],
    [
      'accept without a reason',
      event('POST', '/tenants/acme/drift/accept', bob, { keys: ['integration:x'], until: SOON }),
      400,
      /reason is required/,
    ],
    [
      'accept without until',
      event('POST', '/tenants/acme/drift/accept', bob, { keys: ['integration:x'], reason: 'r' }),
      400,
      /until is required/,
    ],
    [
      'accept until a non-date',
      event('POST', '/tenants/acme/drift/accept', bob, { keys: ['integration:x'], reason: 'r', until: 'soon' }),
      400,
      /must be a day/,
    ],
    [
      'accept until the past',
      event('POST', '/tenants/acme/drift/accept', bob, { keys: ['integration:x'], reason: 'r', until: '2001-01-01' }),
      400,
      /not in the future/,
    ],
    [
      'a key that is not a resource key',
      event('GET', '/tenants/acme/versions', alice, undefined, { key: 'user:1' }),
      400,
      /not a resource key/,
    ],
    ['no key', event('GET', '/tenants/acme/versions', alice), 400, /a resource key is required/],
    [
      'a resource without history',
      event('GET', '/tenants/acme/versions', alice, undefined, { key: 'integration:nope' }),
      404,
      /no history for integration:nope/,
    ],
    [
      'a version that is not a number',
      event('GET', '/tenants/acme/compare', alice, undefined, { key: 'status-check:tenant', from: 'x', to: '1' }),
      400,
      /from must be a whole number/,
    ],
    [
      'a version that does not exist',
      event('GET', '/tenants/acme/compare', alice, undefined, { key: 'status-check:tenant', from: '1', to: '9' }),
      404,
      /has no version 9 \(it has 1\)/,
    ],
    ['a badly encoded path', event('GET', '/tenants/%E0%A4%A/drift', alice), 400, /not correctly encoded/],
    ['an unknown request view', event('GET', '/requests/nope/view', alice), 404, /no change request nope/],
  ])('answers %s with a clear message', async (_name, e, status, message) => {
    const result = await call(e);
    expect(result.status).toBe(status);
    expect(result.body.message).toMatch(message);
  });

  it('caps an acceptance at the configured maxAcceptanceDays', async () => {
    const body = { keys: [`integration:${ids[1]}`], reason: 'r', until: SOON };
    const refused = await call(event('POST', '/tenants/acme/drift/accept', bob, body), { maxAcceptanceDays: 7 });
    expect(refused).toEqual({
      status: 400,
      body: { error: 'invalid', message: `until ${SOON} is more than 7 days away (maxAcceptanceDays); accept it again when it runs out` },
    });
  });

  it('gives the timeline newest first, versions, a comparison with credentials as unchanged, and a verify verdict', async () => {
    const timeline = await call(event('GET', '/tenants/acme/history', alice));
    expect(timeline.body.map((s: { seq: number }) => s.seq)).toEqual([2, 1]);
    expect(timeline.body[0].changes).toHaveLength(2);
    const key = `integration:${ids[1]}`;
    const versions = await call(event('GET', '/tenants/acme/versions', alice, undefined, { key }));
    expect(versions.body.map((v: { version: number; change: string }) => [v.version, v.change])).toEqual([
      [1, 'added'],
      [2, 'modified'],
    ]);
    const compared = await call(event('GET', '/tenants/acme/compare', alice, undefined, { key, from: '1', to: '2' }));
    expect(compared.body.after.description).toBe('drifted one');
    expect(JSON.stringify(compared.body)).not.toContain('hmac-sha256');
    expect(JSON.stringify(compared.body)).toContain('credential unchanged');
    const verdict = await call(event('GET', '/tenants/acme/verify', alice));
    expect(verdict.body).toMatchObject({ ok: true, snapshotsChecked: 2, checkedAt: expect.any(String) });
  });

  it('lists and searches integrations with their last change and drift state', async () => {
    const all = await call(event('GET', '/tenants/acme/integrations', alice));
    expect(all.body).toHaveLength(5); // four integrations and the status-check configuration
    const name = h.emulator.state.get(ids[1] as string).name;
    const found = await call(event('GET', '/tenants/acme/integrations', alice, undefined, { search: name.toUpperCase() }));
    expect(found.body).toEqual([
      expect.objectContaining({
        key: `integration:${ids[1]}`,
        version: 2,
        drift: 'accepted',
        lastChange: expect.objectContaining({ seq: 2, change: 'modified' }),
      }),
    ]);
  });

  it('views a request side by side against the live object and its base, and says when the live object moved', async () => {
    const target = ids[3] as string;
    const request = await propose(
      { kind: 'patch', integrationId: target, patch: [{ op: 'replace', path: '/description', value: 'proposed' }] },
      alice,
      'CHG-2',
      h.tenantContext,
      h.changeDeps,
    );
    const mine = await call(event('GET', `/requests/${request.id}/view`, alice));
    expect(mine.body.approval).toEqual({ allowed: false, reason: `${alice} proposed request ${request.id} and cannot approve it` });
    const view = await call(event('GET', `/requests/${request.id}/view`, bob));
    expect(view.body.approval).toEqual({ allowed: true });
    expect(view.body.live).toMatchObject({ matchesBase: true, after: expect.objectContaining({ description: 'proposed' }) });
    expect(view.body.base).toMatchObject({
      version: 1,
      matchesProposal: true,
      after: expect.objectContaining({ description: 'proposed' }),
    });
    expect(JSON.stringify(view.body)).not.toContain('hmac-sha256');

    h.emulator.state.patch(target, [{ op: 'replace', path: '/description', value: 'someone else was faster' }]);
    const moved = await call(event('GET', `/requests/${request.id}/view`, bob));
    expect(moved.body.live).toMatchObject({
      matchesBase: false,
      before: expect.objectContaining({ description: 'someone else was faster' }),
    });
    expect(moved.body.base.before.description).not.toBe('someone else was faster');

    h.emulator.state.delete(target);
    const gone = await call(event('GET', `/requests/${request.id}/view`, bob));
    expect(gone.body.live).toMatchObject({ before: null, matchesBase: false });
  });

  it('goes through the access configuration: reads need a proposer or approver, accepting drift needs an approver', async () => {
    const access = { ...DEFAULT_ACCESS, proposers: [alice], approvers: [bob] };
    const stranger = 'arn:aws:iam::999999999999:user/mallory';
    for (const path of [
      '/whoami',
      '/tenants',
      '/tenants/acme/drift',
      '/tenants/acme/history',
      '/tenants/acme/verify',
      '/tenants/acme/integrations',
    ]) {
      const refused = await call(event('GET', path, stranger), { access });
      expect([path, refused.status]).toEqual([path, 403]);
      expect(refused.body.message).toMatch(/may not read change requests/);
    }
    const proposerAccepts = await call(
      event('POST', '/tenants/acme/drift/accept', alice, { keys: [`integration:${ids[1]}`], reason: 'r', until: SOON }),
      { access },
    );
    expect(proposerAccepts.status).toBe(403);
    expect((await call(event('GET', '/whoami', alice), { access })).body).toEqual({ caller: alice });
    expect((await call(event('GET', '/tenants', bob), { access })).body).toEqual([{ name: 'acme' }]);
  });
});
