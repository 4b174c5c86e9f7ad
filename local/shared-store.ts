import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { answers, type DynamoDbLocal, listening, startDynamoDbLocal } from './dynamodb-local';
import {
  alive,
  claimStore,
  type Lease,
  readStore,
  releaseStore,
  type StoreRecord,
  storeLog,
  takeLease,
  takeOverDead,
  updateStore,
} from './store-file';
import { spawnStoreDaemon, storeIdleSeconds } from './store-spawn';
import { mark } from './timeline';

export interface SharedStore {
  readonly endpoint: string;
  /** Who serves it: a running stack, a background store that was already up, or one this command started. */
  readonly source: 'stack' | 'background' | 'started';
  release(): void;
}

/**
 * The DynamoDB Local of `dataDir` for one command: a running stack's, or the background store, started here (detached,
 * in its own session) when there is none. The command holds a lease until `release()`; the store outlives it by its
 * idle time, so the next command finds Java already warm.
 */
export async function attachStore(
  dataDir: string,
  options: { idleSeconds?: number; status?: (line: string) => void; timeoutMs?: number } = {},
): Promise<SharedStore> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let spawned = false;
  let daemonFailed = false;
  let lease: Lease | undefined;
  try {
    while (Date.now() < deadline) {
      const record = readStore(dataDir);
      if (!record) {
        if (!spawned) {
          spawnStoreDaemon(dataDir, options.idleSeconds ?? storeIdleSeconds()).once('exit', (code) => {
            daemonFailed = code !== 0;
          });
          spawned = true;
          options.status?.('starting DynamoDB Local');
        }
        if (daemonFailed) throw startFailure(dataDir);
        await sleep(25);
        continue;
      }
      if (!alive(record.pid)) {
        if (spawned && record.owner === 'background' && !record.endpoint) throw startFailure(dataDir);
        await takeOverDead(dataDir, record);
        await sleep(25);
        continue;
      }
      if (!record.endpoint || record.stopping) {
        // Started by this command's prestart (bin/sdim-guard.js) or another command: still starting.
        if (!record.endpoint && record.owner === 'background') options.status?.('starting DynamoDB Local');
        await sleep(25);
        continue;
      }
      lease ??= takeLease(dataDir);
      const again = readStore(dataDir);
      if (!again || again.pid !== record.pid || again.stopping) continue;
      const starting = record.owner === 'background' ? () => options.status?.('starting DynamoDB Local') : () => undefined;
      if (await readyOrGone(dataDir, { ...record, endpoint: record.endpoint }, deadline, starting)) {
        const taken = lease;
        lease = undefined;
        return {
          endpoint: record.endpoint,
          source: record.owner === 'stack' ? 'stack' : spawned ? 'started' : 'background',
          release: () => taken.release(),
        };
      }
      if (spawned && !alive(record.pid)) throw startFailure(dataDir);
    }
    throw new Error(`DynamoDB Local for ${dataDir} did not answer within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s`);
  } finally {
    lease?.release();
  }
}

/** Polls the endpoint until it answers (true) or its owner is gone or stopping (false). */
async function readyOrGone(
  dataDir: string,
  record: StoreRecord & { endpoint: string },
  deadline: number,
  /** Called when the first probe finds the store not answering yet (its JVM is still starting). */
  onWait: () => void = () => undefined,
): Promise<boolean> {
  mark('store-wait');
  let waited = false;
  while (Date.now() < deadline) {
    // A starting JVM binds its port last: a connect is refused until then (cheap to repeat), then one request.
    if ((await listening(record.endpoint)) && (await answers(record.endpoint))) {
      mark('store-answers');
      return true;
    }
    const now = readStore(dataDir);
    if (!alive(record.pid) || !now || now.pid !== record.pid || now.stopping) return false;
    if (!waited) onWait();
    waited = true;
    await sleep(10);
  }
  return false;
}

function startFailure(dataDir: string): Error {
  const log = existsSync(storeLog(dataDir)) ? readFileSync(storeLog(dataDir), 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  const needsJava = /needs Java/.exec(log);
  return new Error(
    needsJava ? log.slice(log.indexOf('DynamoDB Local needs Java')) : `cannot start DynamoDB Local${log ? `:\n${log}` : ''}`,
  );
}

/**
 * A running stack's own DynamoDB Local, in this process: it claims the data directory's record (asking an idle
 * background store to stop first), so no other process starts Java on the same files while it runs.
 */
export async function startOwnStore(dataDir: string): Promise<DynamoDbLocal> {
  const dbPath = join(dataDir, 'dynamodb');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const record = readStore(dataDir);
    if (record && !alive(record.pid)) {
      await takeOverDead(dataDir, record);
    } else if (record?.owner === 'stack' && record.pid !== process.pid) {
      throw new Error(`a local sdim-guard stack already runs on ${dataDir} (pid ${record.pid}); stop it first`);
    } else if (record?.owner === 'background') {
      // Commands still using it finish against the stack's store on their next command; an idle one simply goes.
      if (record.endpoint && !record.stopping) process.kill(record.pid, 'SIGTERM');
    } else if (!record) {
      const base: StoreRecord = { pid: process.pid, owner: 'stack', dbPath, startedAt: new Date().toISOString() };
      if (claimStore(dataDir, base)) {
        let ddb: DynamoDbLocal;
        try {
          ddb = await startDynamoDbLocal({ dataDir: dbPath });
        } catch (error) {
          releaseStore(dataDir, process.pid);
          throw error;
        }
        updateStore(dataDir, { ...base, endpoint: ddb.endpoint, ...(ddb.pid ? { javaPid: ddb.pid } : {}) });
        return {
          ...ddb,
          stop: async () => {
            await ddb.stop();
            releaseStore(dataDir, process.pid);
          },
        };
      }
    }
    await sleep(100);
  }
  throw new Error(`could not take over the DynamoDB Local of ${dataDir} within 120 s`);
}
