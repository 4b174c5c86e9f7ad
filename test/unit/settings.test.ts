import { DEFAULT_SETTINGS, parseSettings, toPolicies } from '../../lambdas/settings';

const parse = (value: unknown, warn: (m: string) => void = () => undefined) => parseSettings(JSON.stringify(value), 'settings.json', warn);

describe('settings can only add protection', () => {
  it('adds patterns to the built-in ones', () => {
    const { secretPolicy } = toPolicies(parse({ secretKeyPatterns: ['^otp$'] }));
    expect(secretPolicy.isSecretKey('otp')).toBe(true);
    expect(secretPolicy.isSecretKey('password')).toBe(true);
  });

  it.each([
    [{ secretKeyPatterns: [] }, /settings\.json: secretKeyPatterns is an empty list/],
    [{ secretKeyPatterns: ['(unclosed'] }, /secretKeyPatterns holds '\(unclosed', which is not a valid regular expression/],
    [{ secretKeyPatterns: 'token' }, /secretKeyPatterns must be a list/],
    [{ secretKeyPatterns: [''] }, /secretKeyPatterns must be a list of non-empty/],
    [{ secretKeyPaterns: ['x'] }, /unknown setting\(s\) secretKeyPaterns/],
    [{ removeBuiltInSecretKeyPatterns: ['tokenish'] }, /removeBuiltInSecretKeyPatterns holds 'tokenish', which is not a built-in/],
    [{ removeBuiltInSecretKeyPatterns: [] }, /removeBuiltInSecretKeyPatterns is an empty list/],
    [{ severityRules: [] }, /severityRules must be a non-empty list/],
    [{ severityRules: [{ path: '(', severity: 'high' }] }, /severityRules\[0\]\.path '\(' is not a valid regular expression/],
    [{ severityRules: [{ path: 'x', severity: 'urgent' }] }, /severityRules\[0\]\.severity must be low, medium or high/],
    [{ severityRules: [{ path: 'x', severity: 'high', level: 1 }] }, /severityRules\[0\] has unknown key\(s\) level/],
    [{ defaultSeverity: 'none' }, /defaultSeverity must be low, medium or high/],
    [{ ignoreReferenceNames: 'yes' }, /ignoreReferenceNames must be true or false/],
  ])('refuses %j naming the key', (value, message) => {
    expect(() => parse(value)).toThrow(message);
  });

  it('refuses text that is not a JSON object', () => {
    expect(() => parseSettings('{', 's')).toThrow(/not valid JSON/);
    expect(() => parseSettings('[]', 's')).toThrow(/must be a JSON object/);
    expect(parseSettings('  ', 's')).toBe(DEFAULT_SETTINGS);
  });

  it('removes a built-in only when named, and logs the override every time', () => {
    const warnings: string[] = [];
    const settings = parse({ removeBuiltInSecretKeyPatterns: ['^pin$'] }, (m) => warnings.push(m));
    expect(toPolicies(settings).secretPolicy.isSecretKey('pin')).toBe(false);
    expect(warnings).toEqual([
      expect.stringMatching(/OVERRIDE removeBuiltInSecretKeyPatterns switches off the built-in secret pattern '\^pin\$'/),
    ]);
  });
});
