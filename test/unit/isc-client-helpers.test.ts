import { consistencyProblem, normaliseTenantUrl } from '../../lambdas/isc/client';
import { retryAfterMs } from '../../lambdas/isc/transport';
import type { IntegrationPage } from '../../lambdas/ports/isc-client';

const page = (ids: string[], total?: number): IntegrationPage => ({
  items: ids.map((id) => ({ id, name: id, description: '', type: 't', attributes: {} })),
  total,
});
const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => `id${from + i}`);

describe('consistencyProblem', () => {
  it('accepts pages that agree', () => {
    expect(consistencyProblem([page(ids(0, 250), 260), page(ids(250, 10), 260)], 260)).toBeUndefined();
  });
  it('sees the total move while paging', () => {
    expect(consistencyProblem([page(ids(0, 250), 260), page(ids(250, 11), 261)], 260)).toMatch(/moved from 260 to 261/);
  });
  it('sees an item listed twice', () => {
    expect(consistencyProblem([page(ids(0, 250), 260), page([...ids(249, 10)], 260)], 260)).toMatch(/id249 appeared twice/);
  });
  it('sees a short page before the last', () => {
    expect(consistencyProblem([page(ids(0, 249), 260), page(ids(250, 11), 260)], 260)).toMatch(/page 1 held 249 of 250/);
  });
  it('sees fewer items than the total', () => {
    expect(consistencyProblem([page(ids(0, 250), 260), page(ids(250, 9), 260)], 260)).toMatch(/got 259 integrations but the total is 260/);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('normaliseTenantUrl', () => {
  it('drops a trailing slash and a pasted version segment', () => {
    expect(normaliseTenantUrl('https://acme.api.identitynow.com/')).toBe('https://acme.api.identitynow.com');
    expect(normaliseTenantUrl('https://acme.api.identitynow.com/v3/')).toBe('https://acme.api.identitynow.com');
  });
  it.each([
    ['acme', /is not a URL/],
    ['ftp://acme', /must be http\(s\)/],
    ['https://user:pw@acme.example', /must not carry credentials/],
  ])('refuses %s', (raw, message) => {
    expect(() => normaliseTenantUrl(raw)).toThrow(message);
  });
});
