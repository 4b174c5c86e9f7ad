import { legacyUrl } from '../../lambdas/isc/client';
import { dailyWarnings } from '../../lambdas/use-cases/take-snapshot';

describe('the deprecated-version warning', () => {
  it('is given on the first snapshot of each UTC day of a tenant on v3 or v2024, with the sunset date', () => {
    expect(dailyWarnings('v3', undefined, '2026-11-24T10:00:00.000Z')).toEqual([
      expect.objectContaining({ code: 'legacy-api-version', apiVersion: 'v3', sunset: '2029-01-01' }),
    ]);
    expect(dailyWarnings('v2024', '2026-11-23T23:59:59.999Z', '2026-11-24T00:00:00.000Z')).toHaveLength(1);
    expect(dailyWarnings('v2024', '2026-11-24T00:00:00.000Z', '2026-11-24T23:59:59.999Z')).toEqual([]);
  });

  it('is never given to a tenant on the per-service v1 API', () => {
    expect(dailyWarnings('v1', undefined, '2026-11-24T10:00:00.000Z')).toEqual([]);
    expect(dailyWarnings('v1', '2026-11-20T10:00:00.000Z', '2026-11-24T10:00:00.000Z')).toEqual([]);
  });
});

describe('legacyUrl', () => {
  it.each([
    [
      'https://acme.api.identitynow.com/service-desk-integrations/v1',
      'v3',
      'https://acme.api.identitynow.com/v3/service-desk-integrations',
    ],
    ['http://127.0.0.1:9/service-desk-integrations/v1/abc?x=1', 'v2024', 'http://127.0.0.1:9/v2024/service-desk-integrations/abc?x=1'],
    ['http://h/service-desk-integrations/v1/templates/x', 'v3', 'http://h/v3/service-desk-integrations/templates/x'],
    ['http://h/search/v1?limit=5', 'v2024', 'http://h/v3/search?limit=5'],
  ] as const)('maps %s on %s to %s', (url, version, expected) => {
    expect(legacyUrl(url, version)).toBe(expected);
  });
});
