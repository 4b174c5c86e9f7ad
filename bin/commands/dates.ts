import { UsageError } from './options';

const DATE_OR_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * A point in time from the command line: `2026-12-31` (a day in UTC) or an ISO time `2026-12-31T17:00[:00[.000]]`
 * with `Z` or an offset like `+02:00`; a time without either is UTC. Every field is checked against the calendar (no
 * 30 February rolling over into March). A bare day is its first millisecond, or with `endOfDay` its last one, so
 * `--from D --to D` covers all of D.
 */
export function parseWhen(raw: string, option: string, { endOfDay = false } = {}): string {
  const match = DATE_OR_TIME.exec(raw.trim());
  if (!match) throw new UsageError(`${option} must be a date (2026-12-31) or an ISO time (2026-12-31T17:00:00Z), not '${raw}'`);
  const [, y, mo, d, h, mi, s, ms, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  const [offsetHours, offsetMinutes] = zone && zone.toUpperCase() !== 'Z' ? zone.slice(1).split(':').map(Number) : [0, 0];
  if (
    day < 1 ||
    day > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    (offsetHours as number) > 23 ||
    (offsetMinutes as number) > 59
  ) {
    throw new UsageError(`${option} ${raw} is not a calendar date`);
  }
  const millis = ms === undefined ? 0 : Number(ms.padEnd(3, '0'));
  const bareDay = h === undefined;
  const offset = (zone?.startsWith('-') ? -1 : 1) * ((offsetHours as number) * 60 + (offsetMinutes as number)) * 60_000;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset + (bareDay && endOfDay ? 86_400_000 - 1 : 0);
  return new Date(utc).toISOString();
}
