import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prestartStore } from '../../local/store-spawn';

// bin/sdim-guard.js starts the background store before the CLI's modules load, but only for a command that will open
// an existing local workspace; everything else is left to the command (no store started for nothing).

describe('starting the store early', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-prestart-'));
  const env = {};

  it.each([
    ['no command', []],
    ['a command without a store', ['emulator', '--port', '0']],
    ['the stack (it runs its own)', ['start', '--data-dir', dataDir]],
    ['help', ['history', '--tenant', 'a', '--data-dir', dataDir, '--help']],
    ['the deployed API', ['approve', 'id', '--api-url', 'https://x.example/prod/', '--data-dir', dataDir]],
    ['the deployed API, named with =', ['retry', 'id', '--api-url=https://x.example/prod/', '--data-dir', dataDir]],
    ['a folder that does not exist', ['history', '--tenant', 'a', '--data-dir', join(dataDir, 'nope')]],
    ['a file instead of a folder', ['history', '--tenant', 'a', '--data-dir', __filename]],
  ])('leaves it to the command: %s', (_why, argv) => {
    expect(prestartStore(argv, env)).toBe(false);
  });

  it('leaves it to the command when an endpoint, the deployed API or a bad idle time is configured', () => {
    const argv = ['history', '--tenant', 'a', '--data-dir', dataDir];
    expect(prestartStore(argv, { SDIM_GUARD_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' })).toBe(false);
    expect(prestartStore(argv, { SDIM_GUARD_API_URL: 'https://x.example/prod/' })).toBe(false);
    const saved = process.env.SDIM_GUARD_STORE_IDLE_SECONDS;
    process.env.SDIM_GUARD_STORE_IDLE_SECONDS = 'soon';
    try {
      expect(prestartStore(argv, env)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.SDIM_GUARD_STORE_IDLE_SECONDS;
      else process.env.SDIM_GUARD_STORE_IDLE_SECONDS = saved;
    }
  });
});
