import { ENV_KEY, ENV_SECRET } from '@aws-sdk/credential-provider-env';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { main } from '../../lambdas/handlers/approval-api';
import { changeHarness } from '../support/change-harness';
import { runCli } from '../support/cli';
import { startSigV4Gateway } from '../support/sigv4-gateway';

// Against a deployed stack the CLI signs with the caller's AWS credentials; the API takes identities from IAM.

const USERS = {
  AKIDALICE: { secretAccessKey: 'alice-secret-key', arn: 'arn:aws:iam::111122223333:user/alice' },
  AKIDBOB: { secretAccessKey: 'bob-secret-key', arn: 'arn:aws:iam::111122223333:user/bob' },
};
// The variables the SDK's environment credential provider reads, named by the SDK itself.
const as = (key: keyof typeof USERS) => ({
  [ENV_KEY]: key,
  [ENV_SECRET]: USERS[key].secretAccessKey,
  AWS_REGION: 'us-east-1',
  AWS_PROFILE: '',
});

describe('sdim-guard write commands against the deployed approval API (SigV4)', () => {
  let h: Awaited<ReturnType<typeof changeHarness>>;
  let gateway: Awaited<ReturnType<typeof startSigV4Gateway>>;

  beforeAll(async () => {
    h = await changeHarness({ integrations: 3, seed: 81 });
    await h.snapshot();
    const deps = {
      ...h.changeDeps,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v3' }]),
      history: h.store,
      tenantFor: async () => ({ isc: h.tenantContext.isc, normalise: h.tenantContext.normalise }),
    };
    gateway = await startSigV4Gateway(USERS, (event) => main(event, deps));
  });
  afterAll(async () => {
    await gateway.stop();
    await h.close();
  });

  it('proposes as the signed-in identity, refuses self-approval, approves as another, lists and shows', async () => {
    const id = h.emulator.state.ids()[0] as string;
    const proposed = await runCli(
      [
        'propose',
        '--api-url',
        gateway.url,
        '--tenant',
        'acme',
        '--integration',
        id,
        '--patch',
        '[{"op":"replace","path":"/description","value":"signed"}]',
        '--reason',
        'CHG-5',
        '--json',
      ],
      { env: as('AKIDALICE') },
    );
    expect(proposed.code).toBe(0);
    const request = JSON.parse(proposed.stdout) as { id: string; requester: string; status: string };
    expect(request).toMatchObject({ requester: USERS.AKIDALICE.arn, status: 'pending' });

    const self = await runCli(['approve', request.id, '--api-url', gateway.url], { env: as('AKIDALICE') });
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/refused it \(403\): .*cannot approve it/);

    const approved = await runCli(['approve', request.id, '--api-url', gateway.url, '--json'], { env: as('AKIDBOB') });
    expect(JSON.parse(approved.stdout)).toMatchObject({ status: 'queued', approvals: [{ by: USERS.AKIDBOB.arn }] });

    const listed = await runCli(['requests', '--api-url', gateway.url, '--status', 'queued', '--json'], { env: as('AKIDBOB') });
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((r) => r.id)).toEqual([request.id]);
    const shown = await runCli(['show', request.id, '--api-url', gateway.url], { env: as('AKIDBOB') });
    expect(shown.stdout).toMatch(/approved +by arn:aws:iam::111122223333:user\/bob/);
  });

  it('retries a request that ended in conflict: a new request as the signed-in identity, linked both ways, applied once approved', async () => {
    // Prepare: a request approved and then overtaken by a change in ISC, so its apply ends in conflict
    const id = h.emulator.state.ids()[1] as string;
    const patch = '[{"op":"replace","path":"/description","value":"wanted"}]';
    const proposed = await runCli(
      ['propose', '--api-url', gateway.url, '--tenant', 'acme', '--integration', id, '--patch', patch, '--reason', 'CHG-6', '--json'],
      { env: as('AKIDALICE') },
    );
    const first = JSON.parse(proposed.stdout) as { id: string };
    expect((await runCli(['approve', first.id, '--api-url', gateway.url], { env: as('AKIDBOB') })).code).toBe(0);
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), description: 'someone got there first' });
    await h.drain();
    const ended = await runCli(['show', first.id, '--api-url', gateway.url, '--json'], { env: as('AKIDBOB') });
    expect(JSON.parse(ended.stdout)).toMatchObject({ status: 'conflict' });
    // Act
    const retried = await runCli(['retry', first.id, '--api-url', gateway.url, '--json'], { env: as('AKIDBOB') });
    // Assess: a new pending request, proposed by the caller's IAM identity, naming the one it retries
    expect(retried.code).toBe(0);
    const retry = JSON.parse(retried.stdout) as { id: string };
    expect(retry).toMatchObject({
      status: 'pending',
      retryOf: first.id,
      requester: USERS.AKIDBOB.arn,
      reason: `retry of ${first.id}: CHG-6`,
      resourceKey: `integration:${id}`,
    });
    expect(retry.id).not.toBe(first.id);
    const human = await runCli(['show', retry.id, '--api-url', gateway.url], { env: as('AKIDALICE') });
    expect(human.stdout).toContain(`retry of ${first.id}`);
    const old = await runCli(['show', first.id, '--api-url', gateway.url, '--json'], { env: as('AKIDALICE') });
    expect(JSON.parse(old.stdout)).toMatchObject({ status: 'conflict', retriedBy: [retry.id] });
    // The retry needs its own approval, and not from its proposer
    const self = await runCli(['approve', retry.id, '--api-url', gateway.url], { env: as('AKIDBOB') });
    expect(self.code).toBe(1);
    expect((await runCli(['approve', retry.id, '--api-url', gateway.url], { env: as('AKIDALICE') })).code).toBe(0);
    await h.drain();
    const applied = await runCli(['show', retry.id, '--api-url', gateway.url, '--json'], { env: as('AKIDALICE') });
    expect(JSON.parse(applied.stdout)).toMatchObject({ status: 'applied' });
    expect(h.emulator.state.get(id).description).toBe('wanted');
  });

  it('refuses to retry a request that did not end badly, one that does not exist, and --as', async () => {
    const id = h.emulator.state.ids()[2] as string;
    const proposed = await runCli(
      [
        'propose',
        '--api-url',
        gateway.url,
        '--tenant',
        'acme',
        '--integration',
        id,
        '--patch',
        '[{"op":"replace","path":"/description","value":"later"}]',
        '--reason',
        'CHG-8',
        '--json',
      ],
      { env: as('AKIDALICE') },
    );
    const open = JSON.parse(proposed.stdout) as { id: string };
    const count = async () =>
      (JSON.parse((await runCli(['requests', '--api-url', gateway.url, '--json'], { env: as('AKIDBOB') })).stdout) as unknown[]).length;
    const before = await count();
    const pending = await runCli(['retry', open.id, '--api-url', gateway.url], { env: as('AKIDBOB') });
    expect(pending.code).toBe(1);
    expect(pending.stderr).toMatch(new RegExp(`request ${open.id} is pending; only failed, conflict or expired requests can be retried`));
    const missing = await runCli(['retry', 'no-such-request', '--api-url', gateway.url], { env: as('AKIDBOB') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/refused it \(404\)/);
    const claimed = await runCli(['retry', open.id, '--api-url', gateway.url, '--as', 'bob'], { env: as('AKIDBOB') });
    expect(claimed.code).toBe(2);
    expect(claimed.stderr).toMatch(/--as is not accepted by the deployed API/);
    // None of them proposed anything
    expect(await count()).toBe(before);
  });

  it('refuses --as against the deployed API, and a request signed with a wrong key', async () => {
    const claimed = await runCli(['approve', 'x', '--api-url', gateway.url, '--as', 'bob'], { env: as('AKIDALICE') });
    expect(claimed.code).toBe(2);
    expect(claimed.stderr).toMatch(/--as is not accepted by the deployed API: the caller is your AWS identity/);
    const forged = await runCli(['requests', '--api-url', gateway.url], { env: { ...as('AKIDALICE'), [ENV_SECRET]: 'guessed' } });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/refused it \(403\): The request signature we calculated does not match/);
  });
});
