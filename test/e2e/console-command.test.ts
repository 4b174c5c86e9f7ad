import { spawn } from 'node:child_process';
import { CLI, cliWorkspace, exitOf } from '../support/cli';

// `npx sdim-guard console` as a user runs it: a process on 127.0.0.1 that serves the app and stops on Ctrl-C.

describe('sdim-guard console (the command)', () => {
  const { dataDir, env, cli } = cliWorkspace('console-command');

  it('refuses to start without knowing who you are, or with --as against the deployed API', async () => {
    const none = await cli('console');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--as <user> is required locally/);
    const both = await cli('console', '--as', 'bob', '--api-url', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--as is not accepted with --api-url/);
  }, 120_000);

  it('serves the app on 127.0.0.1 with a strict content security policy, and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [CLI, 'console', '--as', 'bob', '--data-dir', dataDir], {
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no console address in time: ${out}`)), 60_000);
      const take = (d: Buffer) => {
        out += d.toString();
        const found = /sdim-guard console on (http:\/\/127\.0\.0\.1:\d+)\/ \(local, as bob\)/.exec(out)?.[1];
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
    });
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toMatch(/<meta name="csrf-token" content="[A-Za-z0-9_-]{43}"/);
    expect(html).not.toMatch(/https?:\/\//); // nothing loaded from anywhere else
    const token = /name="csrf-token" content="([^"]+)"/.exec(html)?.[1] as string;
    const who = await fetch(`${url}/api/whoami`, { headers: { 'x-csrf-token': token } });
    expect(await who.json()).toEqual({ caller: 'bob' });
    expect((await fetch(`${url}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${url}/../package.json`)).status).toBe(404);
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(0);
  }, 120_000);
});
