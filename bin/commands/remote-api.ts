import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { Refusal, UsageError } from './options';

/** The deployed approval API, called with the caller's own AWS credentials (SigV4), as IAM authorization requires. */
export class RemoteApprovalApi {
  private readonly url: URL;
  private readonly signer: SignatureV4;

  constructor(
    apiUrl: string,
    region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    credentials: AwsCredentialIdentityProvider = defaultProvider(),
  ) {
    try {
      this.url = new URL(apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    } catch {
      throw new UsageError(`--api-url '${apiUrl}' is not a URL`);
    }
    // https://{id}.execute-api.{region}.amazonaws.com/{stage}/ names its region; otherwise AWS_REGION must.
    const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(this.url.hostname)?.[1];
    const signingRegion = fromHost ?? region;
    if (!signingRegion) throw new UsageError('cannot tell the API region: set AWS_REGION');
    this.signer = new SignatureV4({ credentials, region: signingRegion, service: 'execute-api', sha256: Sha256 });
  }

  /** Signs and sends one call; resolves with the status and parsed body whatever the status (the console relays it). */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    query: Record<string, string | undefined> = {},
  ): Promise<{ status: number; body: unknown }> {
    const target = new URL(path.replace(/^\//, ''), this.url);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) target.searchParams.set(k, v);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signed = await this.signer.sign({
      method,
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port ? Number(target.port) : undefined,
      path: target.pathname,
      query: Object.fromEntries(target.searchParams),
      headers: {
        host: target.host,
        'content-type': 'application/json',
        ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
      },
      body: payload,
    });
    let response: Response;
    try {
      response = await fetch(target, { method, headers: signed.headers as Record<string, string>, body: payload });
    } catch (error) {
      throw new Error(
        `cannot reach the approval API at ${this.url.origin}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    return { status: response.status, body: parsed };
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown, query: Record<string, string | undefined> = {}): Promise<unknown> {
    const { status, body: parsed } = await this.send(method, path, body, query);
    if (status >= 200 && status < 300) return parsed;
    // The function answers {message}; API Gateway refuses an IAM-level deny (the resource policy) with {Message}.
    const { message: lower, Message: upper } = (parsed ?? {}) as { message?: string; Message?: string };
    const message = lower ?? upper ?? `HTTP ${status}`;
    // 400: the request is malformed (exit 2); other 4xx: refused (exit 1); 5xx: the service failed (exit 1).
    if (status === 400) throw new UsageError(`the approval API refused it (${status}): ${message}`);
    if (status > 400 && status < 500) throw new Refusal(`the approval API refused it (${status}): ${message}`);
    throw new Error(`the approval API failed (${status}): ${message}`);
  }
}
