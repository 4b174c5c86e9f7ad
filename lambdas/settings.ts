import { DEFAULT_SECRET_KEY_PATTERNS, SecretPolicy } from './domain/secrets';
import { DEFAULT_SEVERITY_RULES, type Severity, type SeverityRule, SeverityRules } from './domain/severity';

/**
 * What an operator may tune: which more attribute names are credentials, how changes are rated, what is noise.
 * Settings can only ADD protection: `secretKeyPatterns` are added to the built-in ones; a built-in is switched off
 * only by naming it in `removeBuiltInSecretKeyPatterns`, an override that is logged every time settings are read.
 */
export interface GuardSettings {
  /** Patterns added to DEFAULT_SECRET_KEY_PATTERNS. */
  readonly secretKeyPatterns: readonly string[];
  /** Built-in patterns deliberately switched off (logged). */
  readonly removeBuiltInSecretKeyPatterns: readonly string[];
  readonly severityRules: readonly SeverityRule[];
  readonly defaultSeverity: Severity;
  readonly ignoreReferenceNames: boolean;
  /** The longest an acceptance of drift may last, in days. */
  readonly maxAcceptanceDays: number;
}

export const DEFAULT_SETTINGS: GuardSettings = {
  secretKeyPatterns: [],
  removeBuiltInSecretKeyPatterns: [],
  severityRules: DEFAULT_SEVERITY_RULES,
  defaultSeverity: 'medium',
  ignoreReferenceNames: true,
  maxAcceptanceDays: 90,
};

const KNOWN = [
  'secretKeyPatterns',
  'removeBuiltInSecretKeyPatterns',
  'severityRules',
  'defaultSeverity',
  'ignoreReferenceNames',
  'maxAcceptanceDays',
];
const SEVERITIES = ['low', 'medium', 'high'];

/**
 * Parses settings JSON (a file locally, an environment variable in Lambda). Anything wrong — unknown keys, an empty
 * list, an invalid regular expression, a wrong type — is refused with a message naming the key, before anything is
 * fetched or stored. `warn` receives the overrides that weaken the built-in secret policy.
 */
export function parseSettings(
  json: string | undefined,
  source: string,
  warn: (message: string) => void = (m) => console.warn(m),
): GuardSettings {
  if (json === undefined || json.trim() === '') return DEFAULT_SETTINGS;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${source}: settings are not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source}: settings must be a JSON object`);
  const value = raw as Record<string, unknown>;
  const fail = (key: string, why: string): never => {
    throw new Error(`${source}: ${key} ${why}`);
  };
  const unknown = Object.keys(value).filter((k) => !KNOWN.includes(k));
  if (unknown.length > 0) throw new Error(`${source}: unknown setting(s) ${unknown.join(', ')}; known: ${KNOWN.join(', ')}`);

  const patternList = (key: string): string[] | undefined => {
    const list = value[key];
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.trim() === ''))
      fail(key, 'must be a list of non-empty regular expressions (strings)');
    if ((list as string[]).length === 0)
      fail(key, 'is an empty list: leave the key out (the built-in secret patterns always apply; settings can only add to them)');
    return list as string[];
  };
  const secretKeyPatterns = patternList('secretKeyPatterns') ?? [];
  for (const p of secretKeyPatterns) {
    try {
      new RegExp(p, 'i');
    } catch {
      fail('secretKeyPatterns', `holds '${p}', which is not a valid regular expression`);
    }
  }
  const removeBuiltIns = patternList('removeBuiltInSecretKeyPatterns') ?? [];
  for (const p of removeBuiltIns) {
    if (!DEFAULT_SECRET_KEY_PATTERNS.includes(p))
      fail(
        'removeBuiltInSecretKeyPatterns',
        `holds '${p}', which is not a built-in pattern (built-ins: ${DEFAULT_SECRET_KEY_PATTERNS.join(', ')})`,
      );
  }

  let severityRules = DEFAULT_SETTINGS.severityRules;
  if (value.severityRules !== undefined) {
    const rules = value.severityRules;
    if (!Array.isArray(rules) || rules.length === 0) fail('severityRules', 'must be a non-empty list of {path, severity, why?}');
    for (const [i, rule] of (rules as unknown[]).entries()) {
      const at = `severityRules[${i}]`;
      if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) fail(at, 'must be an object {path, severity, why?}');
      const r = rule as Record<string, unknown>;
      const extra = Object.keys(r).filter((k) => !['path', 'severity', 'why'].includes(k));
      if (extra.length > 0) fail(at, `has unknown key(s) ${extra.join(', ')}; known: path, severity, why`);
      if (typeof r.path !== 'string' || r.path === '') fail(`${at}.path`, 'must be a non-empty regular expression');
      try {
        new RegExp(r.path as string);
      } catch {
        fail(`${at}.path`, `'${r.path}' is not a valid regular expression`);
      }
      if (!SEVERITIES.includes(r.severity as string)) fail(`${at}.severity`, 'must be low, medium or high');
      if (r.why !== undefined && typeof r.why !== 'string') fail(`${at}.why`, 'must be text');
    }
    severityRules = rules as SeverityRule[];
  }
  const defaultSeverity = (value.defaultSeverity ?? DEFAULT_SETTINGS.defaultSeverity) as Severity;
  if (!SEVERITIES.includes(defaultSeverity)) fail('defaultSeverity', 'must be low, medium or high');
  const ignoreReferenceNames = value.ignoreReferenceNames ?? DEFAULT_SETTINGS.ignoreReferenceNames;
  if (typeof ignoreReferenceNames !== 'boolean') fail('ignoreReferenceNames', 'must be true or false');

  const days = value.maxAcceptanceDays ?? DEFAULT_SETTINGS.maxAcceptanceDays;
  if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > 3650)
    fail('maxAcceptanceDays', `must be a whole number of days from 1 to 3650, not ${JSON.stringify(days)}`);

  const settings: GuardSettings = {
    secretKeyPatterns,
    removeBuiltInSecretKeyPatterns: removeBuiltIns,
    severityRules,
    defaultSeverity,
    ignoreReferenceNames: ignoreReferenceNames as boolean,
    maxAcceptanceDays: days as number,
  };
  for (const p of removeBuiltIns) {
    warn(
      `${source}: OVERRIDE removeBuiltInSecretKeyPatterns switches off the built-in secret pattern '${p}'; values under such names are no longer fingerprinted by name`,
    );
  }
  return settings;
}

export function toPolicies(settings: GuardSettings): { secretPolicy: SecretPolicy; severityRules: SeverityRules } {
  return {
    secretPolicy: new SecretPolicy({ extraPatterns: settings.secretKeyPatterns, removedBuiltIns: settings.removeBuiltInSecretKeyPatterns }),
    severityRules: new SeverityRules(settings.severityRules, settings.defaultSeverity),
  };
}
