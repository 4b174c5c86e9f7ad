import { readFileSync } from 'node:fs';
import { createOpenApiAjv, iscOpenApiDocument, VALIDATED_SCHEMAS } from '../../lambdas/isc/openapi/ajv';
import { GENERATED_VALIDATORS_FILE, validatorsSource } from '../../lambdas/isc/openapi/generate-validators';
import { describeErrors, schemaProblems } from '../../lambdas/isc/schemas';

// The Lambdas validate request bodies with code generated from the API description. If the description changes and
// the code is not regenerated, or the generated code judges differently from Ajv compiling the same schema, a body
// the description forbids could reach ISC: both are checked here.

describe('the generated request validators', () => {
  it('are what `npm run gen:validators` produces from the current API description', () => {
    expect(readFileSync(GENERATED_VALIDATORS_FILE, 'utf8')).toBe(validatorsSource());
  });

  const ajv = createOpenApiAjv(iscOpenApiDocument, 'isc-sdim');
  const compiled = Object.fromEntries(
    VALIDATED_SCHEMAS.map((name) => [name, ajv.compile({ $ref: `isc-sdim#/components/schemas/${name}` })]),
  );
  const runtimeProblems = (name: (typeof VALIDATED_SCHEMAS)[number], value: unknown) => {
    const validate = compiled[name] as (typeof compiled)[string] & object;
    return validate(value) ? null : describeErrors(validate.errors);
  };

  const integration = {
    id: '2c9180835d2e5168015d32f890ca1581',
    name: 'Service Now',
    description: 'ServiceNow SDIM',
    type: 'ServiceNowSDIM',
    created: '2026-11-25T10:00:00Z',
    ownerRef: { type: 'IDENTITY', id: '2c91808568c529c60168cca6f90c1313', name: 'Jane' },
    managedSources: ['2c9180835d191a86015d28455b4a2329'],
    provisioningConfig: { universalManager: true, managedResourceRefs: [{ type: 'SOURCE', id: 'a', name: 'b' }] },
    attributes: { url: 'https://example.service-now.com', username: 'svc' },
    beforeProvisioningRule: { type: 'RULE', id: 'r', name: 'rule' },
  };
  const cases: Array<[(typeof VALIDATED_SCHEMAS)[number], unknown]> = [
    ['ServiceDeskIntegrationDto', integration],
    ['ServiceDeskIntegrationDto', { ...integration, created: 'yesterday' }],
    ['ServiceDeskIntegrationDto', { ...integration, name: undefined, attributes: 'x' }],
    ['ServiceDeskIntegrationDto', { ...integration, provisioningConfig: { provisioningRequestExpiration: 2 ** 31 } }],
    ['ServiceDeskIntegrationDto', { ...integration, provisioningConfig: { provisioningRequestExpiration: 1.5 } }],
    ['ServiceDeskIntegrationDto', { ...integration, ownerRef: { type: 'GROUP' } }],
    ['ServiceDeskIntegrationDto', []],
    ['JsonPatchOperation', { op: 'replace', path: '/description', value: 'x' }],
    ['JsonPatchOperation', { op: 'move', path: '/a' }],
    ['JsonPatchOperation', { op: 'replace', path: 7 }],
    ['JsonPatchOperation', null],
    ['QueuedCheckConfigDetails', { provisioningStatusCheckIntervalMinutes: '30', provisioningMaxStatusCheckDays: '2' }],
    ['QueuedCheckConfigDetails', { provisioningStatusCheckIntervalMinutes: 30 }],
    ['QueuedCheckConfigDetails', {}],
  ];

  it.each(cases.map(([name, value], i) => [i, name, value] as const))('judge case %i (%s) as Ajv does', (_i, name, value) => {
    expect(schemaProblems(name, value)).toBe(runtimeProblems(name, value));
  });

  it('judge 3,000 generated bodies as Ajv does, for every schema', () => {
    // Mutations of valid bodies (a field dropped, retyped or replaced) reach deeper into the schemas than random JSON.
    let seed = 20261129;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const scalars = [null, true, 0, -1, 1.5, 2 ** 31, '', 'x', '2026-11-25T10:00:00Z', 'not-a-date', [], {}];
    const mutate = (value: unknown, depth: number): unknown => {
      if (depth > 3 || value === null || typeof value !== 'object' || random() < 0.3) return random() < 0.5 ? value : pick(scalars);
      if (Array.isArray(value)) return value.map((v) => mutate(v, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) if (random() > 0.15) out[k] = mutate(v, depth + 1);
      if (random() < 0.2) out[pick(['type', 'op', 'extra', 'value', 'from'])] = pick(scalars);
      return out;
    };
    const seeds: Record<(typeof VALIDATED_SCHEMAS)[number], unknown> = {
      ServiceDeskIntegrationDto: integration,
      JsonPatchOperation: { op: 'replace', path: '/attributes/url', value: 'https://x' },
      QueuedCheckConfigDetails: { provisioningStatusCheckIntervalMinutes: '30', provisioningMaxStatusCheckDays: '2' },
    };
    let refused = 0;
    for (let i = 0; i < 3_000; i++) {
      const name = pick(VALIDATED_SCHEMAS);
      const value = mutate(seeds[name], 0);
      const problems = schemaProblems(name, value);
      if (problems !== null) refused++;
      expect([name, value, problems]).toEqual([name, value, runtimeProblems(name, value)]);
    }
    // Both verdicts must occur, or agreement would prove nothing.
    expect(refused).toBeGreaterThan(300);
    expect(refused).toBeLessThan(2_700);
  });

  it('refuse a wrong body with a message naming the field', () => {
    expect(schemaProblems('ServiceDeskIntegrationDto', { ...integration, attributes: 'x' })).toBe('attributes: must be object');
  });
});
