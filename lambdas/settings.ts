import { DEFAULT_SECRET_KEY_PATTERNS, SecretPolicy } from './domain/secrets';
import { DEFAULT_SEVERITY_RULES, type Severity, type SeverityRule, SeverityRules } from './domain/severity';

/** What an operator may tune: which attribute names are credentials, how changes are rated, what is noise. */
export interface GuardSettings {
  readonly secretKeyPatterns: readonly string[];
  readonly severityRules: readonly SeverityRule[];
  readonly defaultSeverity: Severity;
  readonly ignoreReferenceNames: boolean;
  /** The longest an acceptance of drift may last, in days. */
  readonly maxAcceptanceDays: number;
}

export const DEFAULT_SETTINGS: GuardSettings = {
  secretKeyPatterns: DEFAULT_SECRET_KEY_PATTERNS,
  severityRules: DEFAULT_SEVERITY_RULES,
  defaultSeverity: 'medium',
  ignoreReferenceNames: true,
  maxAcceptanceDays: 90,
};

/** Parses settings JSON (a file locally, an environment variable in Lambda); every problem is named. */
export function parseSettings(json: string | undefined, source: string): GuardSettings {
  if (json === undefined || json.trim() === '') return DEFAULT_SETTINGS;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${source}: settings are not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source}: settings must be a JSON object`);
  const value = raw as Record<string, unknown>;
  const known = new Set(['secretKeyPatterns', 'severityRules', 'defaultSeverity', 'ignoreReferenceNames', 'maxAcceptanceDays']);
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new Error(`${source}: unknown setting(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  const settings: GuardSettings = {
    secretKeyPatterns: (value.secretKeyPatterns as string[] | undefined) ?? DEFAULT_SETTINGS.secretKeyPatterns,
    severityRules: (value.severityRules as SeverityRule[] | undefined) ?? DEFAULT_SETTINGS.severityRules,
    defaultSeverity: (value.defaultSeverity as Severity | undefined) ?? DEFAULT_SETTINGS.defaultSeverity,
    ignoreReferenceNames: (value.ignoreReferenceNames as boolean | undefined) ?? DEFAULT_SETTINGS.ignoreReferenceNames,
    maxAcceptanceDays: (value.maxAcceptanceDays as number | undefined) ?? DEFAULT_SETTINGS.maxAcceptanceDays,
  };
  if (!Array.isArray(settings.secretKeyPatterns) || settings.secretKeyPatterns.some((p) => typeof p !== 'string')) {
    throw new Error(`${source}: secretKeyPatterns must be a list of regular expressions`);
  }
  if (!Array.isArray(settings.severityRules) || settings.severityRules.some((r) => typeof r?.path !== 'string')) {
    throw new Error(`${source}: severityRules must be a list of {path, severity}`);
  }
  if (typeof settings.ignoreReferenceNames !== 'boolean') throw new Error(`${source}: ignoreReferenceNames must be true or false`);
  const days = settings.maxAcceptanceDays;
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(`${source}: maxAcceptanceDays must be a whole number of days from 1 to 3650, not ${JSON.stringify(days)}`);
  }
  try {
    toPolicies(settings);
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
  return settings;
}

export function toPolicies(settings: GuardSettings): { secretPolicy: SecretPolicy; severityRules: SeverityRules } {
  return {
    secretPolicy: new SecretPolicy(settings.secretKeyPatterns),
    severityRules: new SeverityRules(settings.severityRules, settings.defaultSeverity),
  };
}
