import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `<data-dir>/runtime.json`: tells other CLI processes that a local stack owns this data directory, and where. */
export interface RuntimeInfo {
  readonly pid: number;
  readonly dynamodbEndpoint: string;
  readonly emulatorUrl?: string;
  readonly approvalApiUrl?: string;
  readonly startedAt: string;
}

const fileOf = (dataDir: string) => join(dataDir, 'runtime.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running stack on this data directory, if any; a file left by a dead process is ignored. */
export function readRuntime(dataDir: string): RuntimeInfo | undefined {
  const file = fileOf(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
    return typeof info.pid === 'number' && info.pid !== process.pid && alive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

export function writeRuntime(dataDir: string, info: RuntimeInfo): void {
  writeFileSync(fileOf(dataDir), `${JSON.stringify(info, null, 2)}\n`);
}

export function removeRuntime(dataDir: string): void {
  rmSync(fileOf(dataDir), { force: true });
}
