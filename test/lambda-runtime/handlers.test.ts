import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_KEY, ENV_SECRET } from '@aws-sdk/credential-provider-env';
import { DEPLOY_CONFIG_FILE, type DeployConfig } from '../../lambdas/deploy-config';
import type { IscEmulator } from '../../local/emulator/server';
import { AwsStandIn } from '../support/aws-stand-in';
import { BUNDLED_TABLE_ARN, type BuiltFunction, buildFunctions, type FunctionKind } from '../support/cdk-bundles';
import { freshTable } from '../support/dynamodb';
import { startEmulator, TEST_CLIENT } from '../support/emulator';
import { isAllowed } from '../support/iam-policy';
import { type InvocationResult, LambdaRuntimeApi } from '../support/lambda-runtime-api';
import { recordingProxy, type TableAccess } from '../support/table-recorder';

// The bundles exactly as CDK builds them for deployment, loaded by the real Lambda runtime interface client
// (aws-lambda-ric from npm, its native client included) on the Node.js 22 and 24 binaries from npm, with the JSON log
// format Lambda is configured with, invoked with the event shapes Lambda delivers. DynamoDB is DynamoDB Local, ISC
// the emulator, Secrets Manager/SNS/EventBridge/SQS a local stand-in. What it proves: every function starts and
// answers under the runtime, every metric line reaches the log as a top-level EMF document CloudWatch extracts, and
// every DynamoDB request a bundle sends is one its function's synthesized IAM policy allows.

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const ROOT = join(__dirname, '..', '..');
const RIC = join(ROOT, 'node_modules', 'aws-lambda-ric', 'index.mjs');
const TENANT_SECRET = 'sdim-guard/Bundled/tenants/acme/isc-credentials';
const FINGERPRINT_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sdim-guard-fingerprint-AbCdEf`;
const RAW_DIGEST_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sdim-guard-raw-digest-GhIjKl`;
const alice = `arn:aws:iam::${ACCOUNT}:user/alice`;
const bob = `arn:aws:sts::${ACCOUNT}:assumed-role/ChangeBoard/bob`;

function runtimeClient(): string {
  // npm ci builds its native Runtime API client (package.json allowScripts; needs cmake, make, g++ and python3).
  if (!existsSync(join(RIC, '..', 'rapid-client.node')))
    throw new Error(`aws-lambda-ric is not installed with its native client at ${RIC}: run npm ci`);
  return RIC;
}

function nodeBinary(major: number): string {
  const dir = join(ROOT, 'node_modules', `node${major}-linux-${process.arch}`, 'bin', 'node');
  if (!existsSync(dir)) throw new Error(`${dir} is missing: npm ci installs node${major}-linux-${process.arch} (optionalDependencies)`);
  return dir;
}

/** A function as Lambda runs it: one runtime client process per function, its log is its stdout and stderr. */
class LambdaSandbox {
  readonly lines: string[] = [];
  private child?: ChildProcess;
  private api?: LambdaRuntimeApi;

  constructor(
    readonly kind: FunctionKind,
    private readonly fn: BuiltFunction,
  ) {}

  async start(node: string, environment: Record<string, string>): Promise<void> {
    this.api = await new LambdaRuntimeApi(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:sdim-guard-${this.kind}`).start();
    this.child = spawn(node, [runtimeClient()], {
      cwd: this.fn.codeDir,
      env: {
        PATH: process.env.PATH,
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        AWS_LAMBDA_RUNTIME_API: this.api.address,
        _HANDLER: this.fn.handler,
        LAMBDA_TASK_ROOT: this.fn.codeDir,
        AWS_LAMBDA_LOG_FORMAT: 'JSON',
        AWS_LAMBDA_LOG_LEVEL: 'INFO',
        AWS_LAMBDA_FUNCTION_NAME: `sdim-guard-${this.kind}`,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/sdim-guard-${this.kind}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `2026/11/25/[$LATEST]${this.kind}`,
        AWS_EXECUTION_ENV: `AWS_Lambda_${this.fn.runtime}`,
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        [ENV_KEY]: 'local',
        [ENV_SECRET]: 'local',
        ...environment,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A runtime client that dies fails what is waiting for it at once, with its log, instead of timing out.
    this.child.once('exit', (code) => this.api?.abort(`the runtime client exited (${code}):\n${this.lines.join('\n')}`));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts.filter((line) => line.trim() !== ''));
      });
    }
  }

  async invoke(event: unknown): Promise<unknown> {
    const result: InvocationResult = await (this.api as LambdaRuntimeApi).invoke(event);
    if (!result.ok)
      throw new Error(`${this.kind} failed: ${result.error.errorType}: ${result.error.errorMessage}\n${this.lines.join('\n')}`);
    return result.response;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await this.api?.stop();
  }
}

/** Each log line is JSON: a runtime log record (the message inside) or an EMF document (metrics at the top). */
function metricDocuments(lines: readonly string[]): Array<Record<string, unknown>> {
  const documents: Array<Record<string, unknown>> = [];
  for (const line of lines) {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      throw new Error(`a log line is not JSON, which the JSON log format never produces: ${line}`);
    }
    if (!line.includes('_aws')) continue;
    // A metric wrapped into a log record's "message" is one CloudWatch does not extract.
    expect(record).not.toHaveProperty('message');
    const aws = record._aws as {
      Timestamp: number;
      CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }>;
    };
    expect(typeof aws.Timestamp).toBe('number');
    for (const directive of aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe('sdim-guard');
      for (const { Name } of directive.Metrics) expect(typeof record[Name]).toBe('number');
      for (const dimension of directive.Dimensions.flat()) expect(typeof record[dimension]).toBe('string');
    }
    documents.push(record);
  }
  return documents;
}

const bundles = buildFunctions({ tenants: [{ name: 'acme', url: 'https://acme.api.identitynow.com' }] });

describe.each([22, 24])('the deployed bundles on Node.js %i under aws-lambda-ric with JSON logs', (major) => {
  let emulator: IscEmulator;
  let table: Awaited<ReturnType<typeof freshTable>>;
  const aws = new AwsStandIn();
  const sandboxes = {} as Record<FunctionKind, LambdaSandbox>;
  // Every DynamoDB request each bundle sends, through a recording proxy of its own in front of DynamoDB Local.
  const tableAccess = { snapshot: [], apply: [], approval: [], sweeper: [] } as Record<FunctionKind, TableAccess[]>;
  const proxies: Array<{ close: () => Promise<void> }> = [];
  const queueUrl = (name: string) => `${aws.url}/${ACCOUNT}/${name}`;

  beforeAll(async () => {
    let url: string;
    ({ emulator, url } = await startEmulator({ integrations: 5, seed: 211 }));
    table = await freshTable();
    await aws.start();
    aws.secrets.set(TENANT_SECRET, JSON.stringify(TEST_CLIENT));
    aws.secrets.set(FINGERPRINT_SECRET, 'f'.repeat(64));
    aws.secrets.set(RAW_DIGEST_SECRET, 'd'.repeat(64));
    // What the template leaves to deploy time, resolved to the local stand-ins.
    const references: Record<string, string> = {
      TABLE_NAME: table.tableName,
      TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:sdim-guard-alerts`,
      EVENT_BUS_NAME: 'sdim-guard-bus',
      CHANGE_QUEUE_URL: queueUrl('changes.fifo'),
      DEAD_LETTER_QUEUE_URL: queueUrl('dead-letters.fifo'),
      FINGERPRINT_KEY_SECRET_ARN: FINGERPRINT_SECRET,
      RAW_DIGEST_KEY_SECRET_ARN: RAW_DIGEST_SECRET,
      REQUEST_SECRET_KMS_KEY: `arn:aws:kms:${REGION}:${ACCOUNT}:key/0000`,
      ANCHOR_BUCKET: 'sdim-guard-anchors',
    };
    for (const kind of Object.keys(bundles) as FunctionKind[]) {
      const fn = bundles[kind];
      const environment = Object.fromEntries(
        Object.entries(fn.environment).map(([name, value]) => {
          if (typeof value === 'string') return [name, value];
          const resolved = references[name];
          if (!resolved) throw new Error(`${kind}: the test does not know how to resolve ${name}`);
          return [name, resolved];
        }),
      );
      const configFile = join(fn.codeDir, DEPLOY_CONFIG_FILE);
      if (existsSync(configFile)) {
        // The registry CDK bundled, pointed at the emulator (the stack only accepts https:// tenant URLs).
        const config = JSON.parse(readFileSync(configFile, 'utf8')) as DeployConfig;
        writeFileSync(configFile, JSON.stringify({ ...config, tenants: config.tenants.map((t) => ({ ...t, url })) }));
      }
      sandboxes[kind] = new LambdaSandbox(kind, fn);
      const proxy = await recordingProxy(process.env.SDIM_GUARD_TEST_DYNAMODB as string, tableAccess[kind]);
      proxies.push(proxy);
      await sandboxes[kind].start(nodeBinary(major), {
        ...environment,
        ...aws.environment(),
        AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
      });
    }
  });

  afterAll(async () => {
    await Promise.all(Object.values(sandboxes).map((s) => s.stop()));
    await Promise.all(proxies.map((p) => p.close()));
    await aws.stop();
    await emulator.stop();
    await table.drop();
  });

  it('bundles the tenant registry CDK wrote, with the secret name of the created secret', () => {
    for (const kind of ['snapshot', 'apply', 'approval', 'sweeper'] as const) {
      const config = JSON.parse(readFileSync(join(bundles[kind].codeDir, DEPLOY_CONFIG_FILE), 'utf8')) as DeployConfig;
      expect(config.tenants.map((t) => [t.name, t.secretRef])).toEqual([['acme', TENANT_SECRET]]);
    }
  });

  it('bundles neither Ajv nor the SDK credential steps Lambda never uses (the flows below take their credentials from the environment, as in Lambda)', () => {
    // The SDK sends nothing without credentials, so the flows below passing shows the environment step answers.
    for (const kind of ['snapshot', 'apply', 'approval', 'sweeper'] as const) {
      const code = readFileSync(join(bundles[kind].codeDir, 'index.mjs'), 'utf8');
      expect([kind, code.includes('defaultProvider::fromSSO'), code.includes('credential-provider-ini')]).toEqual([kind, false, false]);
      expect([kind, code.includes('strictSchema'), code.includes('isc-sdim.openapi')]).toEqual([kind, false, false]);
    }
  });

  it('snapshots on a Scheduler event, alerts on drift, and records its metrics as EMF', async () => {
    await sandboxes.snapshot.invoke({ tenant: 'acme' });
    const id = emulator.state.ids()[0] as string;
    emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'edited in the console' }]);
    const result = (await sandboxes.snapshot.invoke({ tenant: 'acme' })) as { changes: unknown[] };
    expect(result.changes).toHaveLength(1);
    expect(aws.callsOf('events', 'PutEvents').map((c) => (c.input.Entries as Array<{ DetailType: string }>)[0]?.DetailType)).toContain(
      'Drift Detected',
    );
    expect(aws.callsOf('sns', 'Publish').length).toBeGreaterThanOrEqual(1);
    const metrics = metricDocuments(sandboxes.snapshot.lines);
    expect(metrics.filter((m) => m.Tenant === 'acme' && m.SnapshotSucceeded === 1)).toHaveLength(2);
    expect(metrics).toContainEqual(expect.objectContaining({ Changes: 1, UnexpectedChanges: 1 }));
    // Each committed head is anchored outside the table: one new object per snapshot, never an overwrite.
    const puts = aws.callsOf('s3', 'PutObject');
    expect(puts.map((c) => [c.input.Bucket, String(c.input.Key).slice(0, 24), c.input.IfNoneMatch])).toEqual([
      ['sdim-guard-anchors', 'anchors/acme/0000000001_', '*'],
      ['sdim-guard-anchors', 'anchors/acme/0000000002_', '*'],
    ]);
    const second = JSON.parse(aws.objects.get(`sdim-guard-anchors/${puts[1]?.input.Key}`) as string);
    expect(second).toMatchObject({ tenant: 'acme', seq: 2 });
    // The name holds what verify compares: the snapshot's hash and the journal head.
    expect(String(puts[1]?.input.Key)).toContain(`_${second.hash}_`);
    expect(metrics.filter((m) => m.AnchorFailed !== undefined)).toEqual([]);
    // The heads' raw-document digests are keyed by the snapshot function's own secret.
    expect(aws.callsOf('secretsmanager', 'GetSecretValue').map((c) => c.input.SecretId)).toContain(RAW_DIGEST_SECRET);
  });

  let queued: Record<string, unknown> | undefined;

  it('proposes and approves through API Gateway REST proxy events carrying IAM identities', async () => {
    const id = emulator.state.ids()[1] as string;
    const body = {
      tenant: 'acme',
      reason: 'CHG-1',
      operation: { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'approved change' }] },
    };
    const created = (await sandboxes.approval.invoke(apiEvent('POST', '/requests', alice, body))) as { statusCode: number; body: string };
    expect(created.statusCode).toBe(201);
    const request = JSON.parse(created.body) as { id: string };
    const approved = (await sandboxes.approval.invoke(apiEvent('POST', `/requests/${request.id}/approve`, bob))) as {
      statusCode: number;
      body: string;
    };
    expect(approved.statusCode).toBe(200);
    expect(JSON.parse(approved.body).status).toBe('queued');
    queued = aws.callsOf('sqs', 'SendMessage').at(-1)?.input;
    expect(queued).toMatchObject({ QueueUrl: queueUrl('changes.fifo'), MessageGroupId: expect.any(String) });
    expect(JSON.parse(String(queued?.MessageBody))).toEqual({ requestId: request.id });
    metricDocuments(sandboxes.approval.lines);
  });

  it('applies an SQS FIFO batch and records the outcome as EMF', async () => {
    const result = (await sandboxes.apply.invoke(sqsEvent(queued ?? {}, queueUrl('changes.fifo')))) as { batchItemFailures: unknown[] };
    expect(result).toEqual({ batchItemFailures: [] });
    expect(emulator.state.get(emulator.state.ids()[1] as string)?.description).toBe('approved change');
    expect(metricDocuments(sandboxes.apply.lines)).toContainEqual(expect.objectContaining({ Operation: 'apply', ChangeApplied: 1 }));
  });

  it('sweeps on a Scheduler event and records its counts as EMF', async () => {
    expect(await sandboxes.sweeper.invoke({})).toMatchObject({ expired: 0, requeued: 0 });
    expect(metricDocuments(sandboxes.sweeper.lines)).toContainEqual(expect.objectContaining({ RequestsExpired: 0, RequestsRequeued: 0 }));
  });

  it('sends DynamoDB only requests its function’s synthesized IAM policy allows (LeadingKeys), the snapshot none to a change request', () => {
    for (const kind of Object.keys(tableAccess) as FunctionKind[]) {
      expect([kind, tableAccess[kind].length > 0]).toEqual([kind, true]);
      const refused = tableAccess[kind].filter(
        (a) =>
          !isAllowed(bundles[kind].statements, {
            action: `dynamodb:${a.action}`,
            resource: a.index ? `${BUNDLED_TABLE_ARN}/index/${a.index}` : BUNDLED_TABLE_ARN,
            keys: { 'dynamodb:LeadingKeys': a.leadingKeys },
          }),
      );
      expect([kind, refused]).toEqual([kind, []]);
    }
    expect(tableAccess.snapshot.filter((a) => a.index || a.leadingKeys.some((k) => k === 'CR' || k.startsWith('CR#')))).toEqual([]);
  });

  it('writes the functions’ own log lines as JSON records of the runtime', () => {
    const records = Object.values(sandboxes)
      .flatMap((s) => s.lines)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => !('_aws' in r));
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(record).toMatchObject({ timestamp: expect.any(String), level: expect.any(String) });
  });
});

/** API Gateway REST API, Lambda proxy integration, IAM authorization: the identity block is what IAM verified. */
function apiEvent(method: string, path: string, caller: string, body?: unknown) {
  const now = Date.now();
  return {
    resource: path.replace(/\/requests\/[^/]+/, '/requests/{id}'),
    path,
    httpMethod: method,
    headers: { 'content-type': 'application/json', Host: 'abc123.execute-api.eu-west-1.amazonaws.com' },
    multiValueHeaders: { 'content-type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: path.split('/')[2] ? { id: path.split('/')[2] } : null,
    stageVariables: null,
    requestContext: {
      resourceId: 'abc123',
      resourcePath: path.replace(/\/requests\/[^/]+/, '/requests/{id}'),
      httpMethod: method,
      extendedRequestId: 'x',
      requestTime: new Date(now).toUTCString(),
      path: `/prod${path}`,
      accountId: ACCOUNT,
      protocol: 'HTTP/1.1',
      stage: 'prod',
      domainPrefix: 'abc123',
      requestTimeEpoch: now,
      requestId: `req-${now}`,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: ACCOUNT,
        cognitoIdentityId: null,
        caller: 'AIDAEXAMPLE',
        sourceIp: '203.0.113.7',
        principalOrgId: null,
        accessKey: 'ASIAEXAMPLE',
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: caller,
        userAgent: 'sdim-guard-cli',
        user: 'AIDAEXAMPLE',
      },
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      apiId: 'abc123',
    },
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** An SQS FIFO event source batch with the message the approval function sent. */
function sqsEvent(sent: Record<string, unknown>, queue: string) {
  const now = Date.now();
  return {
    Records: [
      {
        messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
        receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
        body: sent.MessageBody,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(now),
          SequenceNumber: '18849496460467696128',
          MessageGroupId: sent.MessageGroupId,
          SenderId: 'AROAEXAMPLE:sdim-guard-approval',
          MessageDeduplicationId: sent.MessageDeduplicationId,
          ApproximateFirstReceiveTimestamp: String(now),
        },
        messageAttributes: {},
        md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue.split('/').pop()}`,
        awsRegion: REGION,
      },
    ],
  };
}
