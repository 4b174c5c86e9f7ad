export type Severity = 'low' | 'medium' | 'high';

export interface SeverityRule {
  /** Regular expression over the JSON Pointer of a changed field, e.g. "^/provisioningConfig/planInitializerScript". */
  readonly path: string;
  readonly severity: Severity;
  readonly why?: string;
}

/** Anything that runs code, moves trust or changes who is asked to act is high; cosmetic text is low. */
export const DEFAULT_SEVERITY_RULES: readonly SeverityRule[] = [
  { path: '^/provisioningConfig/planInitializerScript', severity: 'high', why: 'runs BeanShell on every provisioning plan' },
  { path: '^/beforeProvisioningRule', severity: 'high', why: 'runs a rule before provisioning' },
  { path: '^/provisioningConfig/managedResourceRefs', severity: 'high', why: 'changes which sources go to the service desk' },
  { path: '^/managedSources', severity: 'high', why: 'changes which sources go to the service desk' },
  { path: '^/provisioningConfig/(universalManager|noProvisioningRequests)', severity: 'high', why: 'changes what is provisioned' },
  { path: '^/ownerRef', severity: 'high', why: 'changes who owns the integration' },
  { path: '^/attributes/.*\\$secret$|^/attributes/[^/]*(pass|secret|token|key|credential)', severity: 'high', why: 'a credential changed' },
  { path: '^/attributes/url$', severity: 'high', why: 'points the integration at another service desk' },
  { path: '^/type$', severity: 'high' },
  { path: '^/clusterRef|^/cluster$', severity: 'medium' },
  { path: '^/provisioningStatusCheck|^/provisioningMaxStatusCheck', severity: 'medium', why: 'changes how long tickets are followed' },
  { path: '^/description$', severity: 'low' },
  { path: '^/name$', severity: 'low' },
];

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

export class SeverityRules {
  private readonly rules: Array<{ pattern: RegExp; severity: Severity }>;

  constructor(
    rules: readonly SeverityRule[] = DEFAULT_SEVERITY_RULES,
    private readonly fallback: Severity = 'medium',
  ) {
    this.rules = rules.map((r) => {
      if (!(r.severity in RANK)) throw new Error(`severity rule '${r.path}': severity must be low, medium or high`);
      try {
        return { pattern: new RegExp(r.path), severity: r.severity };
      } catch {
        throw new Error(`severity rule '${r.path}' is not a valid regular expression`);
      }
    });
  }

  /** The first rule matching a path decides; unmatched paths get the fallback. */
  forPath(path: string): Severity {
    return this.rules.find((r) => r.pattern.test(path))?.severity ?? this.fallback;
  }

  /** A change is as severe as its most severe field; adding or removing a whole integration is high. */
  forChange(change: 'added' | 'removed' | 'modified', paths: readonly string[]): Severity {
    if (change !== 'modified') return 'high';
    return paths.reduce<Severity>((worst, p) => (RANK[this.forPath(p)] > RANK[worst] ? this.forPath(p) : worst), 'low');
  }
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}
