import { createServer } from 'node:http';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GSI1, TABLE_KEYS } from '../../lambdas/adapters/dynamodb/table';

/**
 * One access as IAM authorizes it: the action (a transaction's parts are checked as PutItem, UpdateItem, DeleteItem,
 * ConditionCheckItem, GetItem), the resource (the table, or an index by name) and the partition-key values
 * (`dynamodb:LeadingKeys`; for a Query on an index, the index's partition key in the request).
 */
export interface TableAccess {
  readonly action: string;
  readonly index?: string;
  readonly leadingKeys: readonly string[];
}

type AttributeValue = { S?: string; N?: string; B?: unknown };
type WireItem = Record<string, AttributeValue>;

const str = (value: AttributeValue | undefined, what: string): string => {
  if (typeof value?.S !== 'string') throw new Error(`the recorder cannot read ${what}: ${JSON.stringify(value)}`);
  return value.S;
};

/** The partition key a Query names in its KeyConditionExpression (`<pk> = :v`), through attribute names if used. */
function queriedPartition(body: {
  KeyConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: WireItem;
  IndexName?: string;
}): string {
  const partitionKey =
    body.IndexName === undefined ? TABLE_KEYS.partitionKey : body.IndexName === GSI1.name ? GSI1.partitionKey : undefined;
  if (!partitionKey) throw new Error(`the recorder does not know the index ${body.IndexName}`);
  for (const match of (body.KeyConditionExpression ?? '').matchAll(/(#?\w+)\s*=\s*(:\w+)/g)) {
    const name = match[1]?.startsWith('#') ? body.ExpressionAttributeNames?.[match[1]] : match[1];
    if (name === partitionKey) return str(body.ExpressionAttributeValues?.[match[2] as string], `${match[2]} of a Query`);
  }
  throw new Error(`the recorder found no partition key in the Query ${body.KeyConditionExpression}`);
}

/** What DynamoDB receives (the JSON protocol's X-Amz-Target and body) as the accesses IAM checks. */
export function accessesOf(target: string, body: Record<string, unknown>): TableAccess[] {
  const operation = target.replace(/^DynamoDB_\d+\./, '');
  const pk = (key: WireItem | undefined, what: string) => str(key?.[TABLE_KEYS.partitionKey], `the partition key of ${what}`);
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return [{ action: operation, leadingKeys: [pk(body.Key as WireItem, operation)] }];
    case 'PutItem':
      return [{ action: operation, leadingKeys: [pk(body.Item as WireItem, operation)] }];
    case 'Query':
      return [{ action: 'Query', ...(body.IndexName ? { index: body.IndexName as string } : {}), leadingKeys: [queriedPartition(body)] }];
    case 'BatchGetItem': {
      const tables = Object.values(body.RequestItems as Record<string, { Keys: WireItem[] }>);
      return [{ action: operation, leadingKeys: tables.flatMap((t) => t.Keys.map((k) => pk(k, operation))) }];
    }
    case 'BatchWriteItem': {
      const tables = Object.values(
        body.RequestItems as Record<string, Array<{ PutRequest?: { Item: WireItem }; DeleteRequest?: { Key: WireItem } }>>,
      );
      return [
        {
          action: operation,
          leadingKeys: tables.flat().map((r) => pk(r.PutRequest?.Item ?? r.DeleteRequest?.Key, operation)),
        },
      ];
    }
    case 'TransactWriteItems': {
      // IAM checks each part of a transaction with the action of its kind (DynamoDB Developer Guide, "Using IAM with
      // DynamoDB transactions").
      const parts = body.TransactItems as Array<Record<string, { Item?: WireItem; Key?: WireItem }>>;
      return parts.map((part) => {
        const [kind, input] = Object.entries(part)[0] as [string, { Item?: WireItem; Key?: WireItem }];
        const action = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' }[kind];
        if (!action) throw new Error(`the recorder does not know the transaction part ${kind}`);
        return { action, leadingKeys: [pk(input.Item ?? input.Key, `a transaction's ${kind}`)] };
      });
    }
    case 'TransactGetItems': {
      const parts = body.TransactItems as Array<{ Get: { Key: WireItem } }>;
      return parts.map((part) => ({ action: 'GetItem', leadingKeys: [pk(part.Get.Key, 'a transaction Get')] }));
    }
    default:
      // Scan and anything else: recorded as is, with no partition key (which no grant of ours should ever allow).
      return [{ action: operation, leadingKeys: [] }];
  }
}

/**
 * Records every request a document client sends, from the wire: the middleware runs at the build step, where the
 * request is the HTTP request DynamoDB will receive (its target header and its marshalled body), after every SDK
 * and document-client transformation.
 */
export function recordAccesses(db: DynamoDBDocumentClient, into: TableAccess[]): void {
  db.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const target = request.headers?.['x-amz-target'];
      const body = request.body instanceof Uint8Array ? Buffer.from(request.body).toString('utf8') : request.body;
      if (!target || typeof body !== 'string') throw new Error('the recorder cannot read a DynamoDB request');
      into.push(...accessesOf(target, JSON.parse(body)));
      return next(args);
    },
    { step: 'build', name: 'sdimGuardTableAccessRecorder' },
  );
}

/**
 * An HTTP proxy in front of DynamoDB (Local) that records every request it forwards, as IAM would check it: for
 * processes the test cannot reach into (the deployed bundles under the Lambda runtime), pointed at it with
 * AWS_ENDPOINT_URL_DYNAMODB.
 */
export async function recordingProxy(upstream: string, into: TableAccess[]): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = request.headers['x-amz-target'];
      if (typeof target === 'string') into.push(...accessesOf(target, JSON.parse(body.toString('utf8'))));
      // Hop-by-hop and length headers are the transport's own; DynamoDB Local does not check signatures.
      const skip = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive']);
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && !skip.has(e[0])),
      );
      fetch(`${upstream}${request.url ?? '/'}`, { method: request.method, headers, body: body.length > 0 ? body : undefined })
        .then(async (answer) => {
          const back = [...answer.headers.entries()].filter(([name]) => !skip.has(name) && name !== 'content-encoding');
          response.writeHead(answer.status, Object.fromEntries(back));
          response.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch((error: Error) => {
          response.writeHead(502);
          response.end(error.message);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
