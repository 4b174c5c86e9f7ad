import type { AxiosResponse } from 'axios';
import { Configuration, ServiceDeskIntegrationApi, ServiceDeskIntegrationV2024Api } from 'sailpoint-api-client';
import type { IscEmulator } from '../../local/emulator/server';
import { startEmulator, TEST_CLIENT } from '../support/emulator';
import { conformance, officialValidators, projectValidator } from '../support/openapi-validator';

// The official SDK is the referee: if it can drive every operation against the emulator and every answer matches
// both the project's OpenAPI document and SailPoint's own excerpts, the emulator is faithful where it matters.
// The newest sailpoint-api-client on npm (1.4.15) calls only the deprecated v3/beta/v2024 paths; SDK 2.x, which calls
// /service-desk-integrations/v1, is not published there. The v1 paths are driven by the project's client instead
// (test/integration/emulator-v1-conformance.test.ts), checked against the official v1 excerpt.

const conforms = conformance([projectValidator(), ...officialValidators().map((v) => v.validator)]);

function expectConforms(method: string, path: string, response: Pick<AxiosResponse, 'status' | 'data' | 'headers'>) {
  for (const result of conforms(method, path, response.status, response.data)) expect(result).toEqual({ ...result, problems: [] });
  expect({ path, deprecated: response.headers['x-deprecated'] }).toEqual({ path, deprecated: 'true' });
}

async function expectError(promise: Promise<unknown>): Promise<AxiosResponse> {
  try {
    await promise;
  } catch (error) {
    const response = (error as { response?: AxiosResponse }).response;
    if (response) return response;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe.each(['v3', 'v2024'] as const)('the emulator, driven by the official sailpoint-api-client SDK (%s)', (version) => {
  const at = (path: string) => `/${version}${path}`;
  let emulator: IscEmulator;
  let api: ServiceDeskIntegrationApi | ServiceDeskIntegrationV2024Api;
  // The v2024 SDK suffixes its body parameter names; these keep the tests one text for both versions.
  const body = (name: string, value: unknown) => ({ [version === 'v3' ? name : `${name}V2024`]: value }) as never;
  const patchBody = (operations: unknown[]) => body('patchServiceDeskIntegrationRequest', { operations });

  beforeAll(async () => {
    const started = await startEmulator({ integrations: 12, seed: 7 });
    emulator = started.emulator;
    const configuration = new Configuration({
      baseurl: started.url,
      clientId: TEST_CLIENT.clientId,
      clientSecret: TEST_CLIENT.clientSecret,
      tokenUrl: `${started.url}/oauth/token`,
    });
    api = version === 'v3' ? new ServiceDeskIntegrationApi(configuration) : new ServiceDeskIntegrationV2024Api(configuration);
  });

  afterAll(async () => {
    await emulator.stop();
  });

  it('lists integrations with paging, the total count header, filters and sorters', async () => {
    const page = await api.getServiceDeskIntegrations({ offset: 5, limit: 4, count: true, sorters: '-name' });
    expect(page.status).toBe(200);
    expect(page.data).toHaveLength(4);
    expect(page.headers['x-total-count']).toBe('12');
    const names = page.data.map((i) => i.name);
    expect(names).toEqual([...names].sort((a, b) => b.localeCompare(a, 'en', { sensitivity: 'base' })));
    expectConforms('GET', at('/service-desk-integrations'), page);

    const filtered = await api.getServiceDeskIntegrations({ filters: 'type in ("ServiceNowSDIM","Zendesk SDIM") and not name eq "nope"' });
    expect(filtered.data.length).toBeGreaterThan(0);
    expect(filtered.data.every((i) => i.type === 'ServiceNowSDIM' || i.type === 'Zendesk SDIM')).toBe(true);
  });

  it('creates, reads, replaces, patches and deletes an integration', async () => {
    const created = await api.createServiceDeskIntegration(
      body('serviceDeskIntegrationDto', {
        name: `Conformance ${version}`,
        description: 'created by the SDK',
        type: 'ServiceNowSDIM',
        attributes: { url: 'https://example.service-now.com', password: 'p' },
        ownerRef: { type: 'IDENTITY', id: '2c9180867d05b227017d09921a205b4d', name: 'Angelo Medici' },
      }),
    );
    expect(created.status).toBe(200);
    expect(created.data.id).toMatch(/^[0-9a-f]{32}$/);
    expectConforms('POST', at('/service-desk-integrations'), created);
    const id = created.data.id as string;

    const read = await api.getServiceDeskIntegration({ id });
    expect(read.data).toEqual(created.data);
    expectConforms('GET', at(`/service-desk-integrations/${id}`), read);

    const replaced = await api.putServiceDeskIntegration({
      id,
      ...(body('serviceDeskIntegrationDto', { ...read.data, description: 'replaced by PUT' }) as object),
    } as never);
    expect(replaced.data.description).toBe('replaced by PUT');
    expect(replaced.data.created).toBe(created.data.created);
    expect(Date.parse(replaced.data.modified as string)).toBeGreaterThan(Date.parse(created.data.modified as string));
    expectConforms('PUT', at(`/service-desk-integrations/${id}`), replaced);

    const patched = await api.patchServiceDeskIntegration({
      id,
      ...(patchBody([{ op: 'replace', path: '/description', value: 'patched' }]) as object),
    } as never);
    expect(patched.data.description).toBe('patched');
    expectConforms('PATCH', at(`/service-desk-integrations/${id}`), patched);

    const deleted = await api.deleteServiceDeskIntegration({ id });
    expect(deleted.status).toBe(204);
    expect(deleted.data).toBe('');

    const gone = await expectError(api.getServiceDeskIntegration({ id }));
    expect(gone.status).toBe(404);
    expect(gone.data.detailCode).toBe('404 Not found');
    expectConforms('GET', at(`/service-desk-integrations/${id}`), gone);
  });

  it('refuses a PATCH operation other than replace with 403', async () => {
    const [first] = (await api.getServiceDeskIntegrations({ limit: 1 })).data;
    const refused = await expectError(
      api.patchServiceDeskIntegration({
        id: first?.id as string,
        ...(patchBody([{ op: 'add', path: '/description', value: 'x' }]) as object),
      } as never),
    );
    expect(refused.status).toBe(403);
    expect(refused.data.detailCode).toBe('403 Forbidden');
    expectConforms('PATCH', at(`/service-desk-integrations/${first?.id}`), refused);
  });

  it('serves integration types and a template for every type', async () => {
    const types = await api.getServiceDeskIntegrationTypes();
    expect(types.data.length).toBeGreaterThanOrEqual(7);
    expectConforms('GET', at('/service-desk-integrations/types'), types);
    for (const type of types.data) {
      const template = await api.getServiceDeskIntegrationTemplate({ scriptName: type.scriptName });
      expect(template.data.type).toBe(type.type);
      expectConforms('GET', at(`/service-desk-integrations/templates/${type.scriptName}`), template);
    }
    const unknown = await expectError(api.getServiceDeskIntegrationTemplate({ scriptName: 'no-such-script' }));
    expect(unknown.status).toBe(404);
  });

  it('reads and updates the status-check configuration, fields as strings', async () => {
    const before = await api.getStatusCheckDetails();
    expect(typeof before.data.provisioningStatusCheckIntervalMinutes).toBe('string');
    expectConforms('GET', at('/service-desk-integrations/status-check-configuration'), before);
    const config = { provisioningStatusCheckIntervalMinutes: '45', provisioningMaxStatusCheckDays: '3' };
    const updated = await api.updateStatusCheckDetails(body('queuedCheckConfigDetails', config));
    expect(updated.data).toEqual(config);
    expectConforms('PUT', at('/service-desk-integrations/status-check-configuration'), updated);
    expect((await api.getStatusCheckDetails()).data).toEqual(config);
  });
});
