import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoDbLocalHome, javaLaunch, manifestClassPath, storeEnv, withoutClassPath } from '../../local/java-launch';

// CDS refuses a class path with a non-empty folder, and DynamoDBLocal.jar's manifest puts its own folder (`.`) on it:
// the cached copy must lose exactly that attribute and keep every other entry of the jar.

describe('the DynamoDB Local jar prepared for class-data sharing', () => {
  const jar = readFileSync(join(dynamoDbLocalHome(), 'DynamoDBLocal.jar'));

  it('names its libraries in the manifest, the folder itself among them', () => {
    const entries = manifestClassPath(withoutClassPath(jar).manifest);
    expect(entries).toContain('.');
    expect(entries.filter((e) => e.endsWith('.jar')).length).toBeGreaterThan(40);
    expect(entries).toContain('DynamoDBLocal_lib/sqlite4java.jar');
  });

  it('rewrites the manifest without Class-Path and keeps every other attribute and entry', () => {
    const original = withoutClassPath(jar);
    const rewritten = withoutClassPath(original.rewrite());
    expect(manifestClassPath(rewritten.manifest)).toEqual([]);
    expect(rewritten.manifest).toMatch(/^Manifest-Version: 1\.0\r\n/);
    expect(rewritten.manifest).toMatch(/Main-Class: software\.amazon\.dynamodb\.services\.local\.main\.ServerRunner\r\n/);
    expect(rewritten.manifest).toMatch(/Bundle-License: .*\r\n t\)\r\n/);
    expect(rewritten.manifest.endsWith('\r\n\r\n')).toBe(true);
    expect(entryNames(original.rewrite())).toEqual(entryNames(jar));
  });

  it('refuses something that is not a zip file', () => {
    expect(() => withoutClassPath(Buffer.from('not a jar at all, just text'))).toThrow(/not a zip file/);
  });
});

describe('how DynamoDB Local is started', () => {
  const cache = mkdtempSync(join(tmpdir(), 'sdim-guard-launch-'));
  const saved = { cache: process.env.SDIM_GUARD_CACHE_DIR, cds: process.env.SDIM_GUARD_JAVA_CDS };
  beforeEach(() => {
    process.env.SDIM_GUARD_CACHE_DIR = cache;
    delete process.env.SDIM_GUARD_JAVA_CDS;
  });
  afterAll(() => {
    for (const [name, value] of [
      ['SDIM_GUARD_CACHE_DIR', saved.cache],
      ['SDIM_GUARD_JAVA_CDS', saved.cds],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(cache, { recursive: true, force: true });
  });

  // DynamoDB Local sends usage telemetry to AWS unless told not to; whatever way it is started, it is told.
  it.each([
    ['a background store that records the class-data archive', { port: 1, dbPath: '/tmp/x', mayTrain: true, quickStart: true }],
    ['a stack or a test, in memory', { port: 1 }],
  ])('never sends telemetry: %s', (_why, options) => {
    const launch = javaLaunch(options);
    expect(launch.args).toContain('-disableTelemetry');
    expect(launch.args.indexOf('-disableTelemetry')).toBeGreaterThan(launch.args.indexOf('-port'));
    process.env.SDIM_GUARD_JAVA_CDS = '0';
    expect(javaLaunch(options).args).toContain('-disableTelemetry');
  });

  it('keeps the class path of the prepared jar, so a later start need not read the jar again', () => {
    const first = javaLaunch({ port: 1 });
    const [dir] = readdirSync(cache);
    expect(readdirSync(join(cache, dir as string)).sort()).toEqual(['DynamoDBLocal.jar', 'class-path.json']);
    const classPath = (launch: typeof first) => launch.args[launch.args.indexOf('-cp') + 1];
    expect(classPath(javaLaunch({ port: 2 }))).toBe(classPath(first));
    expect(classPath(first)?.split(':')).toContain(join(dynamoDbLocalHome(), 'DynamoDBLocal_lib', 'sqlite4java.jar'));
  });

  it('gives the store only what Java and Node.js need from the environment: no credentials of any kind', () => {
    const secret = `not-a-real-secret-${Date.now()}`;
    const env = storeEnv({
      PATH: '/usr/bin:/bin',
      HOME: '/home/someone',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TMPDIR: '/var/tmp',
      AWS_ACCESS_KEY_ID: secret,
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_SESSION_TOKEN: secret,
      AWS_PROFILE: 'prod',
      SDIM_GUARD_API_URL: 'https://x.example/prod/',
      ISC_CLIENT_SECRET: secret,
      NODE_OPTIONS: '--require /tmp/anything.js',
    });
    expect(env).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/someone', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMPDIR: '/var/tmp' });
  });
});

/** The names in a zip's central directory, in order. */
function entryNames(zip: Buffer): string[] {
  let eocd = zip.length - 22;
  while (zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const names: string[] = [];
  for (let p = zip.readUInt32LE(eocd + 16), n = 0; n < zip.readUInt16LE(eocd + 10); n++) {
    const length = zip.readUInt16LE(p + 28);
    names.push(zip.toString('utf8', p + 46, p + 46 + length));
    p += 46 + length + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return names;
}
