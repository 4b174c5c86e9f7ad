import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ENV_KEY, ENV_SECRET } from '@aws-sdk/credential-provider-env';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DEPLOY_CONFIG_FILE, type DeployConfig } from '../../lambdas/deploy-config';
import type { IscEmulator } from '../../local/emulator/server';
import { freshTable } from '../support/dynamodb';
import { startEmulator, TEST_CLIENT } from '../support/emulator';

// The deployed handler, wired from its environment: DynamoDB is DynamoDB Local; Secrets Manager, SNS and EventBridge
// have no local emulator here, so they are mocked and matched on the commands they receive.

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
const s3 = mockClient(S3Client);
const ANCHOR_BUCKET = 'sdim-guard-anchors';
const FINGERPRINT_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sdim-guard/fingerprint-key';
const TENANT_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sdim-guard/tenant/acme';

describe('the snapshot Lambda handler', () => {
  let emulator: IscEmulator;
  let table: Awaited<ReturnType<typeof freshTable>>;
  let handler: (
    event: unknown,
    context: Context,
  ) => Promise<{ seq: number; changes: Array<{ classification: string }>; warnings?: Array<Record<string, unknown>> }>;

  beforeAll(async () => {
    let url: string;
    ({ emulator, url } = await startEmulator({ integrations: 8, seed: 41 }));
    table = await freshTable();
    process.env.TABLE_NAME = table.tableName;
    process.env.AWS_REGION = 'us-east-1';
    // Tenants come from the file CDK bundles next to the handler (lib/guard-function.ts), as in Lambda.
    process.env.LAMBDA_TASK_ROOT = mkdtempSync(join(tmpdir(), 'sdim-guard-task-'));
    const config: DeployConfig = { tenants: [{ name: 'acme', url, apiVersion: 'v3', secretRef: TENANT_SECRET }] };
    writeFileSync(join(process.env.LAMBDA_TASK_ROOT, DEPLOY_CONFIG_FILE), JSON.stringify(config));
    process.env.FINGERPRINT_KEY_SECRET_ARN = FINGERPRINT_SECRET;
    process.env.EVENT_BUS_NAME = 'sdim-guard-bus';
    process.env.TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:sdim-guard-alerts';
    process.env.ANCHOR_BUCKET = ANCHOR_BUCKET;
    // The handler builds its DynamoDB client from the environment; point the SDK at DynamoDB Local.
    process.env.AWS_ENDPOINT_URL_DYNAMODB = process.env.SDIM_GUARD_TEST_DYNAMODB;
    // DynamoDB Local accepts any credentials; these are placeholders in the variables the SDK reads.
    process.env[ENV_KEY] = 'local';
    process.env[ENV_SECRET] = 'local';
    handler = (await import('../../lambdas/handlers/snapshot')).handler as unknown as typeof handler;
  });

  let logged: string[];
  /** The EMF documents among the captured lines (jest may route its own console output through stdout too). */
  const emfLines = () => logged.filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line) as Record<string, unknown>);
  beforeEach(() => {
    // The handler writes its metrics as EMF lines straight to stdout; capture them (and keep the test output clean).
    logged = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((line: unknown) => {
      logged.push(String(line).trimEnd());
      return true;
    });
    secretsManager.reset();
    sns.reset();
    eventBridge.reset();
    s3.reset();
    s3.on(PutObjectCommand).resolves({});
    secretsManager.on(GetSecretValueCommand, { SecretId: TENANT_SECRET }).resolves({ SecretString: JSON.stringify(TEST_CLIENT) });
    secretsManager.on(GetSecretValueCommand, { SecretId: FINGERPRINT_SECRET }).resolves({ SecretString: 'k'.repeat(64) });
    sns.on(PublishCommand).resolves({ MessageId: 'm1' });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await emulator.stop();
    await table.drop();
  });

  it('snapshots the tenant named in the event and alerts on drift through EventBridge and SNS', async () => {
    // Prepare
    const baseline = await handler({ tenant: 'acme' }, {} as Context);
    expect(baseline.seq).toBe(1);
    // The tenant is still on the deprecated v3: its first snapshot of the day says so in the result, as a Snapshot
    // Warning event and as a metric; the later ones that day do not repeat it.
    expect(baseline.warnings).toEqual([expect.objectContaining({ code: 'legacy-api-version', apiVersion: 'v3', sunset: '2029-01-01' })]);
    const warned = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.[0]);
    expect(warned).toEqual([expect.objectContaining({ DetailType: 'Snapshot Warning' })]);
    expect(JSON.parse(warned[0]?.Detail ?? '{}')).toMatchObject({ apiVersion: 'v3', message: expect.stringMatching(/Q1 2029/) });
    expect(logged.map((line) => JSON.parse(line))).toEqual(expect.arrayContaining([expect.objectContaining({ LegacyApiVersion: 1 })]));
    eventBridge.resetHistory();
    sns.resetHistory();
    logged.length = 0;
    const id = emulator.state.ids()[1] as string;
    emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'edited' }]);
    // Act
    const result = await handler({ tenant: 'acme' }, {} as Context);
    // Assess
    expect(result.changes.map((c) => c.classification)).toEqual(['unexpected']);
    expect(result.warnings).toBeUndefined();
    const put = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(put).toMatchObject({ Source: 'sdim-guard', DetailType: 'Drift Detected', EventBusName: 'sdim-guard-bus' });
    expect(JSON.parse(put?.Detail ?? '{}')).toMatchObject({ tenant: 'acme', resource: { id }, severity: 'low' });
    const published = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(published?.Subject).toMatch(/^\[sdim-guard\] Drift Detected: acme \//);
    expect(JSON.stringify([put, published])).not.toContain(TEST_CLIENT.clientSecret);
    const metrics = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Tenant: 'acme', SnapshotSucceeded: 1 }),
        expect.objectContaining({ Changes: 1, UnexpectedChanges: 1 }),
      ]),
    );
    const emf = metrics[0]?._aws as { CloudWatchMetrics?: Array<{ Namespace: string }> } | undefined;
    expect(emf?.CloudWatchMetrics?.[0]?.Namespace).toBe('sdim-guard');
  });

  it('anchors each committed head in the anchor bucket, and a failed anchor write loses no snapshot', async () => {
    // Prepare: S3 refuses the write
    s3.on(PutObjectCommand).rejects(new Error('Access Denied'));
    // Act
    const unanchored = (await handler({ tenant: 'acme' }, {} as Context)) as unknown as { seq: number; anchor: Record<string, unknown> };
    // Assess: committed, reported in the result, as a Snapshot Warning event and as the alarmed metric
    expect(unanchored.anchor).toEqual({
      status: 'failed',
      seq: unanchored.seq,
      error: 'Error: Access Denied',
      source: `s3://${ANCHOR_BUCKET}/anchors/`,
    });
    const warning = eventBridge
      .commandCalls(PutEventsCommand)
      .map((c) => c.args[0].input.Entries?.[0])
      .find((e) => e?.DetailType === 'Snapshot Warning');
    expect(JSON.parse(warning?.Detail ?? '{}')).toMatchObject({ code: 'anchor-failed', seq: unanchored.seq });
    expect(emfLines()).toEqual(expect.arrayContaining([expect.objectContaining({ AnchorFailed: 1 })]));
    // The next snapshot anchors its head: one new object under anchors/acme/, never an overwrite
    s3.on(PutObjectCommand).resolves({});
    logged.length = 0;
    const next = (await handler({ tenant: 'acme' }, {} as Context)) as unknown as { seq: number; anchor: Record<string, unknown> };
    expect(next.anchor).toMatchObject({ status: 'written', seq: unanchored.seq + 1 });
    expect(s3.commandCalls(PutObjectCommand).at(-1)?.args[0].input).toMatchObject({
      Bucket: ANCHOR_BUCKET,
      Key: expect.stringMatching(
        new RegExp(
          `^anchors/acme/${String(unanchored.seq + 1).padStart(10, '0')}_\\d{8}T\\d{6}\\.\\d{3}Z_[0-9a-f]{64}_\\d{10}_[0-9a-f]{64}\\.json$`,
        ),
      ),
      IfNoneMatch: '*',
    });
    expect(emfLines().filter((m) => m.AnchorFailed !== undefined)).toEqual([]);
  });

  it('keeps an alert pending when SNS is down, and delivers it on the next run', async () => {
    const id = emulator.state.ids()[2] as string;
    emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'edited while SNS was down' }]);
    sns.on(PublishCommand).rejects(new Error('SNS unavailable'));
    const failed = (await handler({ tenant: 'acme' }, {} as Context)) as unknown as { alerts: { sent: number; pending: number } };
    expect(failed.alerts).toEqual({ sent: 0, pending: 1 });
    sns.on(PublishCommand).resolves({ MessageId: 'm2' });
    const next = (await handler({ tenant: 'acme' }, {} as Context)) as unknown as {
      alerts: { sent: number; pending: number };
      changes: unknown[];
    };
    expect(next.changes).toEqual([]);
    expect(next.alerts).toEqual({ sent: 1, pending: 0 });
  });

  it('reports a failed snapshot as an event, records nothing, and rethrows', async () => {
    // ISC goes away (this is the last test that needs it).
    await emulator.stop();
    const before = (await import('../../lambdas/adapters/dynamodb/snapshot-store')).DynamoSnapshotStore;
    const store = new before(table.db, table.tableName);
    const seqBefore = (await store.listSnapshots('acme')).length;
    await expect(handler({ tenant: 'acme' }, {} as Context)).rejects.toThrow(/ECONNREFUSED/);
    const failure = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(failure).toMatchObject({ DetailType: 'Snapshot Failed' });
    expect(JSON.parse(failure?.Detail ?? '{}')).toMatchObject({ errorType: 'IscUnavailableError' });
    expect(logged.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ SnapshotFailed: 1 })]);
    expect(await store.listSnapshots('acme')).toHaveLength(seqBefore);
  });

  it.each([
    [{}, /needs \{"tenant": "<name>"\}/],
    [{ tenant: 'globex' }, /unknown tenant 'globex'/],
    [null, /needs \{"tenant"/],
  ])('refuses the event %j', async (event, message) => {
    await expect(handler(event, {} as Context)).rejects.toThrow(message);
  });
});
