import { HttpIscClient } from '../../lambdas/isc/client';
import { exitOf, runCli, startCli } from '../support/cli';

describe('sdim-guard emulator', () => {
  it('serves a seeded tenant with the credentials it prints, and stops cleanly on Ctrl-C', async () => {
    // Prepare
    const { child, line } = await startCli(
      [
        'emulator',
        '--port',
        '0',
        '--integrations',
        '300',
        '--seed',
        '9',
        '--client-id',
        'cli-id',
        '--client-secret',
        'cli-secret',
        '--json',
      ],
      /^\{/,
    );
    try {
      const printed = JSON.parse(line) as { url: string; clientId: string; clientSecret: string };
      expect(printed).toMatchObject({
        clientId: 'cli-id',
        clientSecret: 'cli-secret',
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      });
      // Act
      const client = new HttpIscClient({ tenantUrl: printed.url, credentials: printed, rateLimit: false });
      const listing = await client.listAllIntegrations();
      // Assess
      expect(listing.total).toBe(300);
      expect(new Set(listing.items.map((i) => i.type)).size).toBe(7);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exitOf(child)).toBe(0);
  });

  it('prints a readable banner with the URL and credentials by default', async () => {
    const { child, output } = await startCli(['emulator', '--integrations', '3'], /Ctrl-C to stop/);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
    expect(output()).toMatch(/ISC emulator listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(output()).toMatch(/client id:\s+emu-[0-9a-f]{12}/);
    expect(output()).toMatch(/client secret:\s+[0-9a-f]{40}/);
  });

  it.each([
    [['emulator', '--port', 'abc'], /option '--port <port>' argument 'abc' is invalid\. expected a whole number/],
    [['emulator', '--port', '70000'], /must be between 0 and 65535/],
    [['emulator', '--fault-rate', '2'], /expected a number from 0 to 1, got '2'/],
    [['emulator', '--client-id', 'only-id'], /--client-id and --client-secret go together/],
    [['emulator', '--bogus'], /unknown option '--bogus'/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ])('refuses %j with a clear message and exit code 2', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('says when the port is taken, with exit code 1', async () => {
    const { child, line } = await startCli(['emulator', '--json'], /^\{/);
    try {
      const port = new URL((JSON.parse(line) as { url: string }).url).port;
      const result = await runCli(['emulator', '--port', port]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    } finally {
      child.kill('SIGINT');
      await exitOf(child);
    }
  });

  it('documents every option in --help', async () => {
    const result = await runCli(['emulator', '--help']);
    expect(result.code).toBe(0);
    for (const option of ['--port', '--integrations', '--seed', '--latency-ms', '--fault-rate', '--client-id', '--client-secret']) {
      expect(result.stdout).toContain(option);
    }
  });
});
