import { type ClassifiedChange, restoring } from '../../lambdas/domain/classify';

const change = (classification: ClassifiedChange['classification'], toHash: string | null): ClassifiedChange => ({
  key: 'integration:a',
  resource: { kind: 'integration', id: 'a', name: 'A' },
  change: 'modified',
  fromHash: 'drifted',
  toHash,
  patch: [],
  severity: 'low',
  classification,
});

describe('restoring', () => {
  it('calls an unexpected change back to the state before a standing drift restored', () => {
    expect(restoring(change('unexpected', 'known'), { fromHash: 'known' }).classification).toBe('restored');
  });

  it.each([
    ['another unexpected state', change('unexpected', 'other'), { fromHash: 'known' }, 'unexpected'],
    ['no standing drift', change('unexpected', 'known'), undefined, 'unexpected'],
    ['an applied change', change('expected', 'known'), { fromHash: 'known' }, 'expected'],
    ['an accepted state', change('accepted', 'known'), { fromHash: 'known' }, 'accepted'],
  ] as const)('leaves %s alone', (_label, input, drift, expected) => {
    expect(restoring(input, drift).classification).toBe(expected);
  });
});
