import { ENV_KEY, ENV_SECRET } from '@aws-sdk/credential-provider-env';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { parseAccessConfig } from '../../lambdas/domain/identity';
import { main } from '../../lambdas/handlers/approval-api';
import { SdimGuardStack } from '../../lib/sdim-guard-stack';
import { changeHarness } from '../support/change-harness';
import { runCli } from '../support/cli';
import { apiResourcePolicy } from '../support/iam-policy';
import { startSigV4Gateway } from '../support/sigv4-gateway';

// One access configuration, two gates: the resource policy the stack synthesizes from it refuses a caller before the
// function runs (API Gateway's own 403), and the function enforces the same lists (and four eyes) behind it. The CLI
// says which gate refused, with the reason.

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const USERS = {
  AKIDALICE: { secretAccessKey: 'alice-secret-key', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  AKIDBOB: { secretAccessKey: 'bob-secret-key', arn: `arn:aws:iam::${ACCOUNT}:user/bob` },
  AKIDMALLORY: { secretAccessKey: 'mallory-secret-key', arn: `arn:aws:iam::${ACCOUNT}:user/mallory` },
};
const ACCESS = { proposers: [USERS.AKIDALICE.arn], approvers: [USERS.AKIDBOB.arn] };
const as = (key: keyof typeof USERS) => ({ [ENV_KEY]: key, [ENV_SECRET]: USERS[key].secretAccessKey, AWS_REGION: REGION, AWS_PROFILE: '' });

describe('the approval API behind the resource policy the stack derives from the access configuration', () => {
  let h: Awaited<ReturnType<typeof changeHarness>>;
  let gateway: Awaited<ReturnType<typeof startSigV4Gateway>>;
  const reached: string[] = [];

  beforeAll(async () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SdimGuardStack(app, 'Gates', {
      tenants: [{ name: 'acme', url: 'https://acme.api.identitynow.com' }],
      apiGatewayLogsRole: 'existing',
      access: ACCESS,
    });
    const statements = apiResourcePolicy(Template.fromStack(stack), { account: ACCOUNT, region: REGION, apiId: 'api1234' });
    h = await changeHarness({ integrations: 3, seed: 82 });
    await h.snapshot();
    const deps = {
      ...h.changeDeps,
      access: parseAccessConfig(JSON.stringify(ACCESS), 'access'),
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v3' }]),
      history: h.store,
      tenantFor: async () => ({ isc: h.tenantContext.isc, normalise: h.tenantContext.normalise }),
    };
    gateway = await startSigV4Gateway(
      USERS,
      (event: APIGatewayProxyEvent) => {
        reached.push(`${event.requestContext.identity.userArn} ${event.httpMethod} ${event.path}`);
        return main(event, deps);
      },
      REGION,
      { statements, apiArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:api1234/` },
    );
  });
  afterAll(async () => {
    await gateway.stop();
    await h.close();
  });

  it('refuses outsiders and the wrong list at IAM, before the function, and lets the listed callers through', async () => {
    const id = h.emulator.state.ids()[0] as string;
    const propose = (who: keyof typeof USERS) =>
      runCli(
        [
          'propose',
          '--api-url',
          gateway.url,
          '--tenant',
          'acme',
          '--integration',
          id,
          '--patch',
          '[{"op":"replace","path":"/description","value":"through both gates"}]',
          '--reason',
          'CHG-9',
          '--json',
        ],
        { env: as(who) },
      );

    // Act and assess: mallory is in no list; IAM refuses the proposal and the function never sees it.
    const outsider = await propose('AKIDMALLORY');
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toMatch(
      /the approval API refused it \(403\): User: arn:aws:iam::111122223333:user\/mallory is not authorized to perform: execute-api:Invoke on resource: .*\/POST\/requests with an explicit deny/,
    );
    expect(reached).toEqual([]);

    const proposed = await propose('AKIDALICE');
    expect(proposed.code).toBe(0);
    const request = JSON.parse(proposed.stdout) as { id: string };

    // alice proposes but does not approve: IAM refuses her approval before four eyes are even asked.
    const self = await runCli(['approve', request.id, '--api-url', gateway.url], { env: as('AKIDALICE') });
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/refused it \(403\): User: arn:aws:iam::111122223333:user\/alice .*\/approve with an explicit deny/);

    const approved = await runCli(['approve', request.id, '--api-url', gateway.url, '--json'], { env: as('AKIDBOB') });
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ status: 'queued', approvals: [{ by: USERS.AKIDBOB.arn }] });

    // Reads: both lists may, an outsider may not.
    const listed = await runCli(['requests', '--api-url', gateway.url, '--json'], { env: as('AKIDALICE') });
    expect(listed.code).toBe(0);
    const snooping = await runCli(['requests', '--api-url', gateway.url, '--json'], { env: as('AKIDMALLORY') });
    expect(snooping.stderr).toMatch(
      /refused it \(403\): User: arn:aws:iam::111122223333:user\/mallory .*\/GET\/requests with an explicit deny/,
    );

    // Only the calls both gates allow reached the function.
    expect(reached).toEqual([
      `${USERS.AKIDALICE.arn} POST /requests`,
      `${USERS.AKIDBOB.arn} POST /requests/${request.id}/approve`,
      `${USERS.AKIDALICE.arn} GET /requests`,
    ]);
  });
});
