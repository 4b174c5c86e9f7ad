import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretValues } from '../lambdas/domain/payload-secrets';
import type { IscCredentials } from '../lambdas/isc/token-provider';
import type { RequestSecretVault } from '../lambdas/ports/change-requests';
import type { SecretsPort } from '../lambdas/ports/secrets';
import type { TenantConfig } from '../lambdas/ports/tenants';

interface SecretsDocument {
  version: 1;
  /** base64 of 32 random bytes. */
  fingerprintKey: string;
  tenants: Record<string, IscCredentials>;
  /** Credentials from change requests, kept until the request is applied, rejected or expired. */
  requests?: Record<string, SecretValues>;
}

/** A corrupt or unreadable secrets file: the message says which file and what is wrong, never what it holds. */
export class SecretsFileError extends Error {}

/**
 * The local stand-in for Secrets Manager: `<data-dir>/secrets.json`, readable by its owner only. It holds tenant
 * credentials and the fingerprint key. It is never regenerated over a damaged file: a new key would make every
 * stored fingerprint look changed.
 */
export class LocalSecretsFile implements SecretsPort, RequestSecretVault {
  private document: SecretsDocument;
  /** What the file looked like when last read: another process (a CLI naming a tenant) may replace it any time. */
  private seen = '';

  constructor(readonly path: string) {
    this.document = existsSync(path) ? parse(path) : { version: 1, fingerprintKey: randomBytes(32).toString('base64'), tenants: {} };
    if (!existsSync(path)) this.save();
    this.seen = signature(path);
  }

  async tenantCredentials(tenant: TenantConfig): Promise<IscCredentials> {
    // Re-read when the file changed: writers replace it by rename, so what is read is always a whole document.
    if (signature(this.path) !== this.seen) this.reload();
    const credentials = this.document.tenants[tenant.name];
    if (!credentials) {
      throw new SecretsFileError(`no credentials for tenant '${tenant.name}' in ${this.path}: give --client-id and --client-secret once`);
    }
    return credentials;
  }

  has(tenant: string): boolean {
    if (signature(this.path) !== this.seen) this.reload();
    return tenant in this.document.tenants;
  }

  async fingerprintKey(): Promise<Buffer> {
    return Buffer.from(this.document.fingerprintKey, 'base64');
  }

  setTenantCredentials(tenant: string, credentials: IscCredentials): void {
    this.reload();
    this.document = {
      ...this.document,
      tenants: { ...this.document.tenants, [tenant]: { clientId: credentials.clientId, clientSecret: credentials.clientSecret } },
    };
    this.save();
  }

  async stash(requestId: string, values: SecretValues): Promise<void> {
    this.reload();
    this.document = { ...this.document, requests: { ...this.document.requests, [requestId]: values } };
    this.save();
  }

  async load(requestId: string): Promise<SecretValues> {
    this.reload();
    const values = this.document.requests?.[requestId];
    if (!values) throw new SecretsFileError(`the credentials of change request ${requestId} are no longer in ${this.path}`);
    return values;
  }

  async discard(requestId: string): Promise<void> {
    this.reload();
    if (!this.document.requests?.[requestId]) return;
    const { [requestId]: _gone, ...rest } = this.document.requests;
    this.document = { ...this.document, requests: rest };
    this.save();
  }

  /** Another CLI process (propose) may have written since this one started. */
  private reload(): void {
    if (!existsSync(this.path)) return;
    const seen = signature(this.path);
    this.document = parse(this.path);
    this.seen = seen;
  }

  /** Written to a temporary file and renamed, so a crash never leaves half a secrets file. */
  private save(): void {
    if (!existsSync(dirname(this.path))) mkdirSync(dirname(this.path));
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.document, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
    chmodSync(this.path, 0o600);
    this.seen = signature(this.path);
  }
}

/** Inode, size and modification time: a rename-replaced or edited file has a different one. */
export function signature(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

function parse(path: string): SecretsDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason =
      error instanceof SyntaxError ? 'it is not valid JSON' : `it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new SecretsFileError(
      `the local secrets file ${path} is corrupt: ${reason}. Restore it from a backup; deleting it forgets every tenant's credentials and changes every fingerprint.`,
    );
  }
  const problem = problemWith(raw);
  if (problem) {
    throw new SecretsFileError(
      `the local secrets file ${path} is corrupt: ${problem}. Restore it from a backup; deleting it forgets every tenant's credentials and changes every fingerprint.`,
    );
  }
  return raw as SecretsDocument;
}

function problemWith(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'it is not a JSON object';
  const doc = raw as Partial<SecretsDocument>;
  if (doc.version !== 1) return `unknown version ${JSON.stringify(doc.version)}`;
  if (typeof doc.fingerprintKey !== 'string' || Buffer.from(doc.fingerprintKey, 'base64').length !== 32)
    return 'fingerprintKey must be 32 bytes in base64';
  if (typeof doc.tenants !== 'object' || doc.tenants === null || Array.isArray(doc.tenants)) return 'tenants must be an object';
  for (const [name, credentials] of Object.entries(doc.tenants)) {
    if (typeof credentials?.clientId !== 'string' || typeof credentials?.clientSecret !== 'string')
      return `tenant '${name}' needs clientId and clientSecret strings`;
  }
  return undefined;
}
