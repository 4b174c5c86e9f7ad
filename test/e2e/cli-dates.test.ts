import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IscEmulator } from '../../local/emulator/server';
import { cliWorkspace } from '../support/cli';
import { startEmulator } from '../support/emulator';

// Dates are evidence: a day means the whole day, an impossible date is refused, an acceptance cannot last forever.

describe('dates on the command line', () => {
  let emulator: IscEmulator;
  let id: string;
  const { dataDir, cli, json, registerTenant } = cliWorkspace('dates');
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    let url: string;
    ({ emulator, url } = await startEmulator({ integrations: 3, seed: 5 }));
    await registerTenant(url);
    id = emulator.state.ids()[0] as string;
    emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'drifted' }]);
    await json('snapshot', '--tenant', 'acme');
  });
  afterAll(() => emulator.stop());

  it('export --from DAY --to DAY covers that whole day (UTC)', async () => {
    const evidence = await json<{ range: { from: string; to: string }; snapshots: unknown[] }>(
      'export',
      '--tenant',
      'acme',
      '--from',
      today,
      '--to',
      today,
    );
    expect(evidence.range).toEqual({ from: `${today}T00:00:00.000Z`, to: `${today}T23:59:59.999Z` });
    expect(evidence.snapshots).toHaveLength(2);
  });

  it('an explicit offset is honoured, and a time without one is UTC', async () => {
    const withOffset = await json<{ range: { from: string; to: string } }>(
      'export',
      '--tenant',
      'acme',
      '--from',
      '2026-01-01T02:00:00+02:00',
      '--to',
      '2026-01-01T10:30',
    );
    expect(withOffset.range).toEqual({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T10:30:00.000Z' });
  });

  it.each([
    ['2027-02-30', /--until 2027-02-30 is not a calendar date/],
    ['2026-13-01', /--until 2026-13-01 is not a calendar date/],
    ['2026-06-31T10:00:00Z', /not a calendar date/],
    ['2026-06-30T24:00:00Z', /not a calendar date/],
    ['next week', /--until must be a date \(2026-12-31\) or an ISO time/],
  ])('accept --until %s is refused', async (until, message) => {
    const result = await cli('accept', '--tenant', 'acme', '--integration', id, '--reason', 'r', '--until', until);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('caps an acceptance at 90 days by default, and at maxAcceptanceDays when configured', async () => {
    const far = await cli('accept', '--tenant', 'acme', '--integration', id, '--reason', 'r', '--until', '9999-12-31');
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/--until 9999-12-31 is more than 90 days away \(maxAcceptanceDays in .*settings\.json\)/);
    const in30 = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ maxAcceptanceDays: 7 }));
    const capped = await cli('accept', '--tenant', 'acme', '--integration', id, '--reason', 'r', '--until', in30);
    expect(capped.stderr).toMatch(/is more than 7 days away/);
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ maxAcceptanceDays: 60 }));
    const accepted = await json<{ acceptance: { until: string } }>(
      'accept',
      '--tenant',
      'acme',
      '--integration',
      id,
      '--reason',
      'r',
      '--until',
      in30,
    );
    // A date means the end of that day.
    expect(accepted.acceptance.until).toBe(`${in30}T23:59:59.999Z`);
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ maxAcceptanceDays: 0 }));
    const invalid = await cli('drift', '--tenant', 'acme');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/maxAcceptanceDays must be a whole number of days from 1 to 3650/);
    writeFileSync(join(dataDir, 'settings.json'), '{}');
  });
});
