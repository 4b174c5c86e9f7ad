import type { components } from '../../lambdas/isc/openapi/isc-sdim';
import { INTEGRATION_KINDS } from './catalog';
import { hexId, pick, seededRandom } from './prng';

type Integration = components['schemas']['ServiceDeskIntegrationDto'];

const TEAMS = ['Finance', 'HR', 'Engineering', 'Sales', 'Support', 'Legal', 'Operations', 'Security', 'Marketing', 'IT'];
const REGIONS = ['EMEA', 'AMER', 'APAC', 'Global'];
const OWNERS = ['Angelo Medici', 'Grace Hopper', 'Ada Lovelace', 'Alan Turing', 'Katherine Johnson', 'Linus Pauling'];
const SOURCES = ['Active Directory', 'Workday', 'SAP ECC', 'Salesforce', 'Okta', 'Oracle EBS', 'GitHub', 'AWS IAM'];
const CLUSTERS = ['VA Cluster Frankfurt', 'VA Cluster Virginia', 'VA Cluster Sydney'];

/** A BeanShell plan initializer like those admins paste into SDIMs: exactly the kind of content worth guarding. */
function planInitializer(team: string): string {
  return [
    "<?xml version='1.0' encoding='UTF-8'?>",
    '<!DOCTYPE Rule PUBLIC "sailpoint.dtd" "sailpoint.dtd">',
    `<Rule name="${team} Plan Initializer" type="BeforeProvisioning">`,
    '  <Description>Turns disables and enables into modifies for the service desk.</Description>',
    '  <Source><![CDATA[',
    'import sailpoint.object.ProvisioningPlan;',
    'import sailpoint.object.ProvisioningPlan.AccountRequest;',
    'for (AccountRequest accountRequest : plan.getAccountRequests()) {',
    '  if (accountRequest.getOp().equals(ProvisioningPlan.ObjectOperation.Disable)) {',
    '    accountRequest.setOp(ProvisioningPlan.ObjectOperation.Modify);',
    '  }',
    '}',
    ']]></Source>',
    '</Rule>',
  ].join('\r\n');
}

/** Deterministic, realistic integrations of every documented type; `count` of them, the same for the same seed. */
export function seedIntegrations(count: number, seed: number, baseTime = Date.UTC(2025, 0, 6, 9, 0, 0)): Integration[] {
  const random = seededRandom(seed);
  const out: Integration[] = [];
  for (let i = 0; i < count; i++) {
    const kind = INTEGRATION_KINDS[i % INTEGRATION_KINDS.length] ?? INTEGRATION_KINDS[0];
    if (!kind) throw new Error('no integration kinds');
    const team = pick(random, TEAMS);
    const region = pick(random, REGIONS);
    const host = `${team.toLowerCase()}-${region.toLowerCase()}-${i}`;
    const attributes: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(kind.attributes)) {
      const sample = spec.sample(host);
      // Every credential differs per integration, so a fingerprint collision would be a real finding.
      attributes[name] = spec.secret ? `${String(sample)}-${hexId(random, 8)}` : sample;
    }
    const sourceCount = Math.floor(random() * 3);
    const managedResourceRefs = Array.from({ length: sourceCount }, () => ({
      type: 'SOURCE' as const,
      id: hexId(random),
      name: pick(random, SOURCES),
    }));
    const created = new Date(baseTime + i * 3_600_000).toISOString();
    const modified = new Date(baseTime + i * 3_600_000 + Math.floor(random() * 86_400_000)).toISOString();
    const clusterId = hexId(random);
    const integration: Integration = {
      id: hexId(random),
      name: `${kind.name} - ${team} ${region} ${String(i + 1).padStart(4, '0')}`,
      description: `${kind.name} for ${team} (${region}) access requests`,
      type: kind.type,
      created,
      modified,
      ownerRef: { type: 'IDENTITY', id: hexId(random), name: pick(random, OWNERS) },
      clusterRef: { type: 'CLUSTER', id: clusterId, name: pick(random, CLUSTERS) },
      cluster: clusterId,
      managedSources: managedResourceRefs.map((r) => r.id as string),
      provisioningConfig: {
        universalManager: false,
        managedResourceRefs,
        planInitializerScript: random() < 0.4 ? { source: planInitializer(team) } : null,
        noProvisioningRequests: random() < 0.1,
        provisioningRequestExpiration: pick(random, [24, 48, 72, 168]),
      },
      attributes,
    };
    if (random() < 0.3) {
      integration.beforeProvisioningRule = { type: 'RULE', id: hexId(random), name: `${team} Before Provisioning` };
    }
    out.push(integration);
  }
  return out;
}
