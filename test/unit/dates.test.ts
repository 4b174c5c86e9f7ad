import { parseWhen } from '../../bin/commands/dates';

describe('parseWhen', () => {
  it.each([
    ['2026-11-25', {}, '2026-11-25T00:00:00.000Z'],
    ['2026-11-25', { endOfDay: true }, '2026-11-25T23:59:59.999Z'],
    ['2024-02-29', { endOfDay: true }, '2024-02-29T23:59:59.999Z'],
    ['2026-11-25T10:00', { endOfDay: true }, '2026-11-25T10:00:00.000Z'],
    ['2026-11-25T10:00:05.5Z', {}, '2026-11-25T10:00:05.500Z'],
    ['2026-11-25T01:00:00+02:00', {}, '2026-11-24T23:00:00.000Z'],
    ['2026-11-25T23:30:00-01:30', {}, '2026-11-26T01:00:00.000Z'],
    ['2026-11-25 08:15', {}, '2026-11-25T08:15:00.000Z'],
  ])('%s %j is %s', (raw, options, expected) => {
    expect(parseWhen(raw, '--to', options)).toBe(expected);
  });

  it.each(['2027-02-30', '2025-02-29', '2026-00-10', '2026-04-31', '2026-01-01T24:00', '2026-01-01T10:60', '2026-01-01T10:00:00+25:00'])(
    '%s is not a calendar date',
    (raw) => {
      expect(() => parseWhen(raw, '--until')).toThrow(`--until ${raw} is not a calendar date`);
    },
  );

  it.each(['tomorrow', '2026-1-1', '20261231', '2026-12-31T5pm', ''])('%j is not a date at all', (raw) => {
    expect(() => parseWhen(raw, '--from')).toThrow(/--from must be a date \(2026-12-31\) or an ISO time/);
  });
});
