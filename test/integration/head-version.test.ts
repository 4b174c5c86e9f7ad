import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { snapshotHarness } from '../support/snapshot-harness';

// A head (H#) names the resource's content hash and the version holding its content. The snapshot checks the hashes
// against the chain (checked-heads.ts); this is the other field: a head whose hash is right but whose version points
// at an older version of the same resource. The change is still detected (by hash), but its patch and severity are
// computed against that older content, so an edit back to an old value would be described without that value.

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

describe('a head whose version was rolled back (its hash left right)', () => {
  let h: Harness;
  let id: string;
  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 4, seed: 31 });
    id = h.emulator.state.ids()[1] as string;
  });
  afterEach(() => h.close());

  it('describes the change against the content the hash names, so an owner put back to an old value is still high', async () => {
    const owner = (name: string) => ({ type: 'IDENTITY', id: `${name}-0000000000000000000000000000`.slice(0, 32), name });
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), ownerRef: owner('eve') });
    await h.snapshot();
    h.advance(60_000);
    // An approved change of owner would do the same; here it is drift, alerted.
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), ownerRef: owner('bob') });
    expect((await h.snapshot()).changes.map((c) => c.severity)).toEqual(['high']);

    const key = { pk: 'T#acme', sk: `H#integration:${id}` };
    const head = (await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: key }))).Item as Record<string, unknown>;
    expect(head.version).toBe(2);
    await h.table.db.send(new PutCommand({ TableName: h.table.tableName, Item: { ...head, version: 1 } }));

    // eve is owner again, with a cosmetic edit alongside.
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), ownerRef: owner('eve'), description: 'tidied up' });
    h.advance(60_000);
    const run = await h.snapshot();
    expect(run.changes).toHaveLength(1);
    const [change] = run.changes;
    expect(change?.severity).toBe('high');
    expect(((change?.patch ?? []) as Array<{ path: string }>).map((p) => p.path).sort()).toEqual(
      expect.arrayContaining(['/description', expect.stringMatching(/^\/ownerRef/)]),
    );
    expect(run.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'heads-disagree' })]));
  });

  it('a version item whose content was replaced (the head untouched): the change is reported high, with no patch, and warned', async () => {
    const owner = (name: string) => ({ type: 'IDENTITY', id: `${name}-0000000000000000000000000000`.slice(0, 32), name });
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), ownerRef: owner('eve') });
    await h.snapshot();
    h.advance(60_000);
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), ownerRef: owner('bob') });
    await h.snapshot();
    // The stored content of version 2 rewritten to say eve (what the edit below will put back).
    const vKey = { pk: `R#acme#integration:${id}`, sk: `V#${String(2).padStart(10, '0')}` };
    const version = (await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: vKey }))).Item as Record<string, unknown>;
    const content = JSON.parse(gunzipSync(version.doc as Uint8Array).toString('utf8'));
    const forged = { ...content, ownerRef: owner('eve') };
    await h.table.db.send(new PutCommand({ TableName: h.table.tableName, Item: { ...version, doc: gzipSync(JSON.stringify(forged)) } }));

    h.emulator.state.replace(id, { ...h.emulator.state.get(id), ownerRef: owner('eve'), description: 'tidied up' });
    h.advance(60_000);
    const run = await h.snapshot();
    expect(run.changes).toEqual([expect.objectContaining({ severity: 'high', patch: [], classification: 'unexpected' })]);
    expect(run.warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'heads-disagree', message: expect.stringContaining('no stored version matches') }),
      ]),
    );
  });
});
