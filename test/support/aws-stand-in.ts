import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the stand-in answered: the service, the operation and its input as the SDK sent it. */
export interface StandInCall {
  readonly service: 'secretsmanager' | 'sns' | 'events' | 'sqs' | 's3';
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A local stand-in for the four AWS services the functions call besides DynamoDB, speaking their wire protocols as
 * the bundled SDK clients send them: Secrets Manager and EventBridge (JSON 1.1), SQS (JSON 1.0) and SNS (query,
 * XML answers). It keeps secrets and records every call; it is no emulator of their semantics beyond that.
 */
export class AwsStandIn {
  readonly calls: StandInCall[] = [];
  readonly secrets = new Map<string, string>();
  /** S3 objects by `bucket/key` (PutObject only: the one S3 call a function makes in the tests). */
  readonly objects = new Map<string, string>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The variables that point the SDK clients of a function at this stand-in. */
  environment(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.url,
      AWS_ENDPOINT_URL_SNS: this.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: this.url,
      AWS_ENDPOINT_URL_SQS: this.url,
      // An IP endpoint makes the S3 client use path-style requests: /<bucket>/<key>.
      AWS_ENDPOINT_URL_S3: this.url,
    };
  }

  callsOf(service: StandInCall['service'], operation: string): StandInCall[] {
    return this.calls.filter((c) => c.service === service && c.operation === operation);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method === 'PUT') {
      const path = decodeURIComponent(new URL(req.url ?? '/', this.url).pathname).slice(1);
      const [Bucket = '', ...rest] = path.split('/');
      const Key = rest.join('/');
      this.calls.push({
        service: 's3',
        operation: 'PutObject',
        input: { Bucket, Key, Body: body, IfNoneMatch: req.headers['if-none-match'] },
      });
      if (req.headers['if-none-match'] === '*' && this.objects.has(path)) {
        res.statusCode = 412;
        res.setHeader('content-type', 'application/xml');
        res.end(
          '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
        );
        return;
      }
      this.objects.set(path, body);
      res.setHeader('ETag', `"${createHash('md5').update(body).digest('hex')}"`);
      res.end();
      return;
    }
    try {
      if (target) {
        const [prefix, operation = ''] = target.split('.');
        const services: Record<string, StandInCall['service']> = {
          secretsmanager: 'secretsmanager',
          AWSEvents: 'events',
          AmazonSQS: 'sqs',
        };
        const service = services[prefix ?? ''];
        if (!service) throw new AwsError('UnknownOperationException', `unknown target ${target}`);
        const input = JSON.parse(body || '{}') as Record<string, unknown>;
        this.calls.push({ service, operation, input });
        const output = this.answer(service, operation, input);
        res.setHeader('content-type', service === 'sqs' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1');
        res.end(JSON.stringify(output));
        return;
      }
      const form = Object.fromEntries(new URLSearchParams(body));
      this.calls.push({ service: 'sns', operation: form.Action ?? '', input: form });
      if (form.Action !== 'Publish') throw new AwsError('InvalidAction', `unknown SNS action ${form.Action}`);
      res.setHeader('content-type', 'text/xml');
      res.end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    } catch (error) {
      const e = error instanceof AwsError ? error : new AwsError('InternalFailure', String(error));
      res.statusCode = 400;
      res.setHeader('x-amzn-errortype', e.type);
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify({ __type: e.type, message: e.message }));
    }
  }

  private answer(service: StandInCall['service'], operation: string, input: Record<string, unknown>): unknown {
    const key = `${service}.${operation}`;
    if (key === 'secretsmanager.GetSecretValue') {
      const id = String(input.SecretId);
      const value = this.secrets.get(id);
      if (value === undefined) throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret ${id}`);
      return { ARN: id, Name: id, SecretString: value, VersionId: randomUUID() };
    }
    if (key === 'secretsmanager.CreateSecret') {
      const name = String(input.Name);
      if (this.secrets.has(name)) throw new AwsError('ResourceExistsException', `the secret ${name} already exists`);
      this.secrets.set(name, String(input.SecretString));
      return { ARN: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:${name}-AbCdEf`, Name: name, VersionId: randomUUID() };
    }
    if (key === 'secretsmanager.DeleteSecret') {
      this.secrets.delete(String(input.SecretId));
      return { ARN: input.SecretId, Name: input.SecretId, DeletionDate: Date.now() / 1000 };
    }
    if (key === 'events.PutEvents') {
      const entries = input.Entries as unknown[];
      return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) };
    }
    if (key === 'sqs.SendMessage') {
      const md5 = createHash('md5').update(String(input.MessageBody)).digest('hex');
      return { MessageId: randomUUID(), MD5OfMessageBody: md5, SequenceNumber: String(Date.now()) };
    }
    throw new AwsError('UnknownOperationException', `the stand-in does not answer ${key}`);
  }
}
