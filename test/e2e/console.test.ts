import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from 'playwright-core';
import { awsBackend, localBackend } from '../../console/backends';
import { buildConsole } from '../../console/build';
import { type RunningConsole, startConsole } from '../../console/server';
import type { ChangeRequest } from '../../lambdas/domain/change-request';
import { main as approvalMain } from '../../lambdas/handlers/approval-api';
import { localApprovalDeps, storeOutbox } from '../../local/runtime/change-runtime';
import { type LocalStack, startLocalStack } from '../../local/runtime/local-stack';
import { launchBrowser } from '../support/browser';
import { cliWorkspace } from '../support/cli';
import { startSigV4Gateway } from '../support/sigv4-gateway';

jest.setTimeout(120_000);

// The console end to end: the local stack (DynamoDB Local, the emulator, the approval handler), the CLI in child
// processes, the console server, and Debian's headless Chromium clicking through it as two people.

// SDIM_GUARD_SCREENSHOTS=docs/img refreshes the README's pictures; otherwise they go to a temporary directory.
const shotsDir = () => process.env.SDIM_GUARD_SCREENSHOTS ?? join(tmpdir(), 'sdim-guard-console-shots');

describe('sdim-guard console in a browser', () => {
  const ws = cliWorkspace('console');
  let stack: LocalStack;
  let assets: string;
  let bob: RunningConsole;
  let alice: RunningConsole;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let target: string;
  let requestId: string;
  const saved = { ...process.env };

  const shot = async (name: string) => {
    mkdirSync(shotsDir(), { recursive: true });
    await page.screenshot({ path: join(shotsDir(), `console-${name}.png`) });
  };
  const request = async (id: string) => (await stack.workspace.requests.get(id)) as ChangeRequest;

  beforeAll(async () => {
    Object.assign(process.env, ws.env);
    assets = await buildConsole(mkdtempSync(join(tmpdir(), 'sdim-guard-console-')));
    stack = await startLocalStack({ dataDir: ws.dataDir, intervalMs: 3_600_000, emulator: { integrations: 6, seed: 5 }, log: () => {} });
    expect((await stack.tickOnce()).size).toBe(0);
    bob = await startConsole({ backend: localBackend(stack.workspace, 'bob'), assetsDir: assets });
    alice = await startConsole({ backend: localBackend(stack.workspace, 'alice'), assetsDir: assets });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    target = stack.emulator.state.ids()[0] as string;
  });
  afterAll(async () => {
    await browser?.close();
    await bob?.stop();
    await alice?.stop();
    await stack?.stop();
    process.env = saved;
  });

  it('shows a request proposed from the CLI with the right side-by-side diff, credentials only as unchanged', async () => {
    const before = stack.emulator.state.get(target);
    const proposed = await ws.json<ChangeRequest>(
      'propose',
      '--tenant',
      'demo',
      '--integration',
      target,
      '--patch',
      '[{"op":"replace","path":"/description","value":"Approved by the change board"}]',
      '--as',
      'alice',
      '--reason',
      'CHG-4242 new queue',
    );
    requestId = proposed.id;

    await page.goto(`${bob.url}/#/requests`);
    await page.getByTestId('caller').getByText('bob', { exact: true }).waitFor();
    const row = page.getByRole('link', { name: `patch integration:${target}` });
    await row.waitFor();
    await expect(page.locator('table.list tbody tr').first().textContent()).resolves.toMatch(/alice.*CHG-4242 new queue.*0\/1/);
    await row.click();
    const live = page.locator('table.diff').first();
    await live.waitFor();
    await expect(live.locator('caption').textContent()).resolves.toMatch(/against the live object.*1 changed line/);
    await expect(live.locator('td.removed').textContent()).resolves.toContain(`"description": ${JSON.stringify(before.description)}`);
    await expect(live.locator('td.added').textContent()).resolves.toContain('"description": "Approved by the change board"');
    const base = page.locator('table.diff').nth(1);
    await expect(base.locator('caption').textContent()).resolves.toMatch(/against the base it was proposed on \(stored version 1/);
    await expect(base.locator('td.added').textContent()).resolves.toContain('Approved by the change board');
    // Credentials appear only as "unchanged": never their value, never their fingerprint.
    await live.getByRole('button', { name: 'Show every line' }).click();
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('credential unchanged');
    expect(text).not.toContain('hmac-sha256');
    for (const value of Object.values(before.attributes ?? {}))
      if (typeof value === 'string' && /-[0-9a-f]{8}$/.test(value)) expect(text).not.toContain(value);
    await live.getByRole('button', { name: 'Fold unchanged lines' }).click();
    await shot('requests');
  });

  it('refuses self-approval: the button is disabled and says why, and a forced call changes nothing', async () => {
    const mine = await browser.context.newPage();
    await mine.goto(`${alice.url}/#/requests?id=${requestId}`);
    const approve = mine.getByRole('button', { name: 'Approve' });
    await approve.waitFor();
    expect(await approve.isDisabled()).toBe(true);
    await expect(mine.locator('#approve-why').textContent()).resolves.toBe(
      `You cannot approve this: alice proposed request ${requestId} and cannot approve it`,
    );
    // The page's own token, a same-origin call: the approval handler itself refuses.
    const forced = await mine.evaluate(`(async () => {
      const token = document.querySelector('meta[name="csrf-token"]').content;
      const r = await fetch('/api/requests/${requestId}/approve', { method: 'POST', headers: { 'x-csrf-token': token } });
      return { status: r.status, body: await r.json() };
    })()`);
    await approve.scrollIntoViewIfNeeded();
    await mine.screenshot({ path: join(shotsDir(), 'console-self-approval.png') });
    expect(forced).toEqual({
      status: 403,
      body: { error: 'forbidden', message: `alice proposed request ${requestId} and cannot approve it` },
    });
    expect(await request(requestId)).toMatchObject({ status: 'pending', approvals: [], revision: 1 });
    await mine.close();
  });

  it('refuses forged cross-site calls, oversized bodies and unknown ids with clear messages, changing nothing', async () => {
    // A page on another origin (alice's console is one) posting to bob's console, as a malicious site would.
    const evil = await browser.context.newPage();
    await evil.goto(`${alice.url}/`);
    const forged = await evil.evaluate(
      async ([url, id]) => {
        const r = await fetch(`${url}/api/requests/${id}/approve`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: '{}',
        }).catch(() => undefined);
        return r?.status ?? 'blocked';
      },
      [bob.url, requestId],
    );
    expect(forged).toBe('blocked'); // the browser would not even let the page read it; the server refused it anyway
    await evil.close();
    const post = (path: string, headers: Record<string, string>, body = '{}') =>
      fetch(`${bob.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const token = /name="csrf-token" content="([^"]+)"/.exec(await (await fetch(`${bob.url}/`)).text())?.[1] as string;
    const cases: Array<[Response, number, RegExp]> = [
      [await post(`/api/requests/${requestId}/approve`, {}), 403, /console token is missing or wrong/],
      [await post(`/api/requests/${requestId}/approve`, { 'x-csrf-token': 'guess' }), 403, /console token is missing or wrong/],
      [
        await post(`/api/requests/${requestId}/approve`, { 'x-csrf-token': token, origin: 'https://evil.example' }),
        403,
        /came from https:\/\/evil.example/,
      ],
      [await post(`/api/requests/${requestId}/approve`, { 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' }), 403, /cross-site/],
      [
        await post(`/api/requests/${requestId}/reject`, { 'x-csrf-token': token }, JSON.stringify({ reason: 'x'.repeat(70_000) })),
        413,
        /over 65536 bytes/,
      ],
      [
        await fetch(`${bob.url}/api/requests/${requestId}/reject`, {
          method: 'POST',
          headers: { 'x-csrf-token': token, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'reason=x',
        }),
        415,
        /application\/json/,
      ],
      [await post('/api/requests/no-such-request/approve', { 'x-csrf-token': token }), 404, /no change request no-such-request/],
      [
        await post(
          '/api/tenants/nowhere/drift/accept',
          { 'x-csrf-token': token },
          '{"keys":["integration:x"],"reason":"r","until":"2026-01-01"}',
        ),
        404,
        /unknown tenant 'nowhere'/,
      ],
      [
        await post('/api/tenants/demo/drift/accept', { 'x-csrf-token': token }, '{"keys":["nonsense"],"reason":"r","until":"2026-01-01"}'),
        400,
        /not a resource key/,
      ],
      [await post(`/api/requests/${requestId}/reject`, { 'x-csrf-token': token }, 'not json'), 400, /not valid JSON/],
    ];
    for (const [response, status, message] of cases) {
      expect(response.status).toBe(status);
      expect(((await response.json()) as { message: string }).message).toMatch(message);
    }
    // DNS rebinding: a foreign Host name is refused before anything else.
    const rebound = await new Promise<number>((resolve, reject) => {
      const { request: httpRequest } = require('node:http') as typeof import('node:http');
      const url = new URL(bob.url);
      httpRequest({ host: url.hostname, port: url.port, path: '/api/whoami', headers: { host: 'evil.example' } }, (res) =>
        resolve(res.statusCode ?? 0),
      )
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(421);
    expect(await request(requestId)).toMatchObject({ status: 'pending', approvals: [], revision: 1 });

    // An unknown request id in the page reads as a clear message.
    await page.goto(`${bob.url}/#/requests?id=no-such-request`);
    await page.reload();
    await expect(page.getByRole('alert').first().textContent()).resolves.toContain('no change request no-such-request');
  });

  it('another user approves in the console; the board sees it applied live; the next snapshot calls it expected', async () => {
    await page.goto(`${bob.url}/#/requests?id=${requestId}`);
    await page.reload();
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.waitFor();
    expect(await approve.isDisabled()).toBe(false);
    await approve.click();
    await page.getByText('Approved: the request is now queued.').waitFor();
    expect(await request(requestId)).toMatchObject({ status: 'queued', approvals: [{ by: 'bob' }] });
    // The local runtime applies the queue; the open page follows without a reload.
    await stack.changes.drain();
    expect(stack.emulator.state.get(target).description).toBe('Approved by the change board');
    await page.locator('#detail-title .status-applied').waitFor({ timeout: 15_000 });
    const result = await stack.tickOnce();
    expect(result.size).toBe(0);
    const [latest] = (await stack.workspace.store.listSnapshots('demo')).slice(-1);
    expect(latest?.changes).toEqual([expect.objectContaining({ key: `integration:${target}`, classification: 'expected', requestId })]);
  });

  it('shows drift with its severity and accepts it with a reason and expiry, in bulk', async () => {
    const [, first, second] = stack.emulator.state.ids() as [string, string, string];
    stack.emulator.state.patch(first, [{ op: 'replace', path: '/description', value: 'edited behind our back' }]);
    stack.emulator.state.patch(second, [{ op: 'replace', path: '/description', value: 'also edited' }]);
    await stack.tickOnce();
    await page.goto(`${bob.url}/#/drift`);
    await page.reload();
    const rows = page.locator('table.list tbody tr');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    await expect(rows.first().textContent()).resolves.toMatch(/modified.*(low|medium|high).*unknown \([^)]+\).*open/);
    await shot('drift');
    await page.getByLabel('Select all open drift').check();
    await page.getByLabel('Reason').fill('CHG-77 agreed with the service desk team');
    const soon = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Until').fill(soon);
    await page.getByRole('button', { name: 'Accept 2 drifts' }).click();
    await page.getByText(`Accepted 2 drifts until ${soon}.`).waitFor();
    await page.getByText('No open drift').waitFor();
    const { drifts } = await stack.workspace.store.loadState('demo');
    expect(drifts.map((d) => [d.key, d.status, d.acceptance?.by, d.acceptance?.until])).toEqual(
      expect.arrayContaining([
        [`integration:${first}`, 'accepted', 'bob', `${soon}T23:59:59.999Z`],
        [`integration:${second}`, 'accepted', 'bob', `${soon}T23:59:59.999Z`],
      ]),
    );
    // Accepting in the past is refused with the reason, and nothing is written.
    const token = /name="csrf-token" content="([^"]+)"/.exec(await (await fetch(`${bob.url}/`)).text())?.[1] as string;
    const past = await fetch(`${bob.url}/api/tenants/demo/drift/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: JSON.stringify({ keys: [`integration:${first}`], reason: 'r', until: '2001-01-01' }),
    });
    expect(past.status).toBe(400);
    expect(((await past.json()) as { message: string }).message).toMatch(/not in the future/);
  });

  it('shows the timeline per tenant and per integration, diffs two versions, verifies and finds the first broken link', async () => {
    await page.goto(`${bob.url}/#/history`);
    await page.reload();
    await page.locator('ol.timeline > li').nth(2).waitFor();
    await expect(page.locator('ol.timeline > li').first().textContent()).resolves.toMatch(/#3 .*2 changes/);
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByText(/Verified at .*: 3 snapshots and \d+ versions, every hash recomputed, no broken link/).waitFor();
    await page.getByLabel('Integration').selectOption(`integration:${target}`);
    const diff = page.locator('table.diff');
    await diff.waitFor();
    await expect(diff.locator('caption').textContent()).resolves.toMatch(/Version 1 against version 2 \(1 changed line\)/);
    await expect(diff.locator('td.added').textContent()).resolves.toContain('Approved by the change board');
    await expect(page.locator('ol.timeline').textContent()).resolves.toMatch(/modified .* \(version 2\).*expected/);
    await shot('history');

    // Someone with table write access edits snapshot #2's time: verify names that link (then it is put back).
    const takenAt = (await stack.workspace.store.getSnapshot('demo', 2))?.takenAt;
    const table = process.env.SDIM_GUARD_TABLE as string;
    await stack.workspace.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: 'T#demo', sk: `S#${'2'.padStart(10, '0')}` },
        UpdateExpression: 'SET takenAt = :t',
        ExpressionAttributeValues: { ':t': '2020-01-01T00:00:00.000Z' },
      }),
    );
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByText(/Broken at snapshot #2: the snapshot record was altered/).waitFor();
    await stack.workspace.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: 'T#demo', sk: `S#${'2'.padStart(10, '0')}` },
        UpdateExpression: 'SET takenAt = :t',
        ExpressionAttributeValues: { ':t': takenAt },
      }),
    );
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByText(/no broken link/).waitFor();
    await page.getByText(/Anchors: 3 in .*demo\.jsonl, the last at snapshot #3 and journal entry #\d+\./).waitFor();

    // A journal entry edited (an approver renamed): the message names the journal entry, not a snapshot.
    const entry = { pk: 'T#demo', sk: `J#${'1'.padStart(10, '0')}` };
    const by = (await stack.workspace.db.send(new GetCommand({ TableName: table, Key: entry }))).Item?.by;
    expect(typeof by).toBe('string');
    await stack.workspace.db.send(
      new UpdateCommand({
        TableName: table,
        Key: entry,
        UpdateExpression: 'SET #by = :b',
        ExpressionAttributeNames: { '#by': 'by' },
        ExpressionAttributeValues: { ':b': 'mallory' },
      }),
    );
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByText(/Broken at journal entry #1: journal entry #1 was altered: its hash does not match its content/).waitFor();
    await stack.workspace.db.send(
      new UpdateCommand({
        TableName: table,
        Key: entry,
        UpdateExpression: 'SET #by = :b',
        ExpressionAttributeNames: { '#by': 'by' },
        ExpressionAttributeValues: { ':b': by },
      }),
    );
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByText(/no broken link/).waitFor();
  });

  it('lists and searches integrations with their last change', async () => {
    await page.goto(`${bob.url}/#/integrations`);
    await page.reload();
    const rows = page.locator('table.list tbody tr');
    await rows.nth(6).waitFor();
    expect(await rows.count()).toBe(7); // six integrations and the status-check configuration
    const name = stack.emulator.state.get(target).name;
    await shot('integrations');
    await page.getByLabel('Search').fill(target);
    await rows.nth(1).waitFor({ state: 'detached' });
    await expect(rows.first().textContent()).resolves.toMatch(
      new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*modified in #2.*expected`),
    );
  });

  it('works from the keyboard and labels every control, on every page', async () => {
    await page.goto(`${bob.url}/#/requests`);
    await page.reload();
    await page.getByTestId('caller').getByText('bob', { exact: true }).waitFor();
    await page.keyboard.press('Tab');
    await expect(
      page.evaluate(
        () => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent,
      ),
    ).resolves.toBe('Skip to content');
    for (const name of ['Requests', 'Drift', 'History', 'Integrations']) {
      await page.getByRole('link', { name, exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.locator('main h1').waitFor();
      await expect(page.getByRole('link', { name, exact: true }).getAttribute('aria-current')).resolves.toBe('page');
      // Every form control has an accessible name: a <label>, aria-label, or (buttons) its text.
      const unnamed = await page.locator('input, select, button, a[href]').evaluateAll((elements) =>
        (
          elements as unknown as Array<{
            outerHTML: string;
            labels?: { length: number } | null;
            getAttribute(n: string): string | null;
            textContent: string | null;
            tagName: string;
          }>
        )
          .filter(
            (e) =>
              !(
                (e.labels?.length ?? 0) > 0 ||
                e.getAttribute('aria-label') ||
                ((e.tagName === 'BUTTON' || e.tagName === 'A') && e.textContent?.trim())
              ),
          )
          .map((e) => e.outerHTML.slice(0, 120)),
      );
      expect([name, unnamed]).toEqual([name, []]);
    }
  });

  it('has a dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${bob.url}/#/requests`);
    await page.reload();
    await page.getByLabel('Status').selectOption('applied');
    await page.getByRole('link', { name: `patch integration:${target}` }).click();
    await page.locator('table.diff').first().waitFor();
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(13, 17, 23)');
    await shot('dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('against the deployed API signs with the operator AWS credentials, and says so when the session expired', async () => {
    const users = {
      AKIDCAROL: { secretAccessKey: 'carol-secret', arn: 'arn:aws:iam::111122223333:user/carol' },
      AKIDOLD: { secretAccessKey: 'old-secret', arn: 'arn:aws:iam::111122223333:user/old', expired: true },
    };
    const deps = localApprovalDeps(stack.workspace, storeOutbox);
    const gateway = await startSigV4Gateway(users, (event) => approvalMain(event, deps));
    process.env.AWS_REGION = 'us-east-1';
    const signedAs = (key: keyof typeof users) => async () => ({ accessKeyId: key, secretAccessKey: users[key].secretAccessKey });
    const carol = await startConsole({ backend: awsBackend(gateway.url, signedAs('AKIDCAROL')), assetsDir: assets });
    const old = await startConsole({ backend: awsBackend(gateway.url, signedAs('AKIDOLD')), assetsDir: assets });
    try {
      const tab = await browser.context.newPage();
      await tab.goto(`${carol.url}/#/requests`);
      await tab.getByTestId('caller').getByText('arn:aws:iam::111122223333:user/carol', { exact: true }).waitFor();
      await tab.getByRole('link', { name: `patch integration:${target}` }).waitFor({ state: 'detached' }); // applied, not pending
      await tab.getByText('No change requests with status pending.').waitFor();
      await tab.goto(`${old.url}/#/requests`);
      const alert = tab.getByRole('alert').first();
      await alert.waitFor();
      await expect(alert.textContent()).resolves.toMatch(
        /AWS sign-in needed: your AWS session has expired .*Sign in again.*nothing was changed/,
      );
      await tab.close();
    } finally {
      await carol.stop();
      await old.stop();
      await gateway.stop();
    }
  });
});
