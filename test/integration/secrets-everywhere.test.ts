import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { approveRequest, propose } from '../../lambdas/use-cases/change-requests';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { changeHarness } from '../support/change-harness';
import { corpusIntegrations, leakedIn } from '../support/secret-corpus';

type Harness = Awaited<ReturnType<typeof changeHarness>>;

/**
 * The corpus of SDIM definitions (every documented type, credentials in every form) through the whole product:
 * snapshots, drift, alerts, change requests and their patches, the apply, exports and verify. Not one credential byte
 * may reach DynamoDB, a request record, an alert or an export; changed credentials must still be seen as changed.
 */
describe('credentials never stored, whatever their form', () => {
  let h: Harness;
  let ids: string[];
  const rotated = {
    password: 'Rotated-Snow-pw-2468',
    url: 'https://svc_corpus:Rotated-url-pw-1357@corpus.service-now.com/api',
    header: 'Bearer rotatedBearerTok3n-99aa88bb77',
    patchPassword: 'Patch-Pass-Value-8642',
  };
  const allNeedles = (text: string) => [
    ...leakedIn(text),
    ...Object.values(rotated).filter((v) =>
      text.includes(
        v
          .replace(/^Bearer /, '')
          .replace(/^https:\/\/svc_corpus:/, '')
          .replace(/@.*$/, ''),
      ),
    ),
  ];

  beforeAll(async () => {
    h = await changeHarness({ integrations: 0 });
    ids = corpusIntegrations().map((body) => h.emulator.state.create(body).id as string);
    await h.snapshot();
    const snow = h.emulator.state.get(ids[0] as string);
    h.emulator.state.replace(ids[0] as string, {
      ...snow,
      attributes: { ...snow.attributes, password: rotated.password, instanceUrl: rotated.url },
    });
    const generic = h.emulator.state.get(ids[5] as string);
    h.emulator.state.replace(ids[5] as string, {
      ...generic,
      attributes: { ...generic.attributes, customHeaders: `Authorization: ${rotated.header}`, tokenUrl: 'https://other.example/token' },
    });
    h.advance(60_000);
    await h.snapshot();
  }, 120_000);
  afterAll(() => h.close());

  it('detects the rotated credentials as changes and shows the tokenUrl edit, without the values', async () => {
    const { drifts } = await h.store.loadState('acme');
    const byKey = new Map(drifts.map((d) => [d.key, d]));
    const snowPaths = byKey.get(`integration:${ids[0]}`)?.patch.map((p) => p.path);
    expect(snowPaths).toEqual(expect.arrayContaining(['/attributes/password/$secret', '/attributes/instanceUrl']));
    const genericPatch = byKey.get(`integration:${ids[5]}`)?.patch ?? [];
    expect(genericPatch).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/attributes/tokenUrl', value: 'https://other.example/token' })]),
    );
    expect(genericPatch.map((p) => p.path)).toContain('/attributes/customHeaders');
  });

  it('leaves no credential byte in any DynamoDB item', async () => {
    expect(allNeedles(await h.storedText())).toEqual([]);
  });

  it('leaves no credential byte in the alerts (the SNS and EventBridge payload)', () => {
    expect(h.notifier.events.length).toBeGreaterThan(0);
    expect(allNeedles(JSON.stringify(h.notifier.events))).toEqual([]);
  });

  it('leaves no credential byte in the export (snapshots and verdict)', async () => {
    const exported = JSON.stringify({ snapshots: await h.store.listSnapshots('acme'), chain: await verifyHistory(h.store, 'acme') });
    expect(allNeedles(exported)).toEqual([]);
  });

  it('sends a patched password to the vault, not the request record, and applies it', async () => {
    const request = await propose(
      {
        kind: 'patch',
        integrationId: ids[1] as string,
        patch: [{ op: 'replace', path: '/attributes/apiToken', value: rotated.patchPassword }],
      },
      'alice',
      'rotate the Jira token',
      h.tenantContext,
      h.changeDeps,
    );
    expect(JSON.stringify(request)).not.toContain(rotated.patchPassword);
    expect(request.secretPaths).toEqual(['/patch/0/value']);
    const { Items = [] } = await h.table.db.send(new ScanCommand({ TableName: h.table.tableName }));
    expect(JSON.stringify(Items)).not.toContain(rotated.patchPassword);
    await approveRequest(request.id, 'bob', h.changeDeps);
    await h.drain();
    expect((await h.requests.get(request.id))?.status).toBe('applied');
    expect(h.emulator.state.get(ids[1] as string).attributes?.apiToken).toBe(rotated.patchPassword);
    expect(allNeedles(await h.storedText())).toEqual([]);
    expect(await h.storedText()).not.toContain(rotated.patchPassword);
  });
});
