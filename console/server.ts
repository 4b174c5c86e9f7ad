import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

/** One call to the approval API as the console relays it: what the handler answered, status and JSON body. */
export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Where the console's calls go: the local stack's approval handler in-process (caller = the --as name), or the
 * deployed approval API signed with the operator's own AWS credentials. Both run the same handler code.
 */
export interface ConsoleBackend {
  /** Shown in the page header: who the API will take the caller to be, and where. */
  readonly describe: { readonly mode: 'local' | 'aws'; readonly target: string; readonly user?: string };
  call(method: 'GET' | 'POST', path: string, query: Record<string, string>, body: string | undefined): Promise<ApiReply>;
  close?(): Promise<void>;
}

export interface ConsoleOptions {
  readonly backend: ConsoleBackend;
  /** The built web app (index.html, app.js, app.css). */
  readonly assetsDir: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Largest request body accepted, in bytes. @default 64 KiB */
  readonly maxBodyBytes?: number;
}

export interface RunningConsole {
  readonly url: string;
  readonly server: Server;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/**
 * Nothing but this origin: no third-party script, style, font or frame, no inline script, and the page cannot be
 * framed (clickjacking an Approve button).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export const CSRF_HEADER = 'x-csrf-token';

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new HttpProblem(413, 'too-large', `the request body is over ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit && !failed) {
        failed = true;
        reject(new HttpProblem(413, 'too-large', `the request body is over ${limit} bytes`));
        req.resume();
        return;
      }
      if (!failed) chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sameToken(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== 'string' || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/**
 * The console: the web app and `/api/*`, relayed to the backend. Bound to 127.0.0.1 only. Every API call must come
 * from this origin (Host, Origin and Sec-Fetch-Site checked, which also defeats DNS rebinding) and carry the token
 * that only this origin's page can read; bodies are JSON and bounded.
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const token = randomBytes(32).toString('base64url');
  const limit = options.maxBodyBytes ?? 64 * 1024;
  const root = normalize(options.assetsDir);
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) throw new Error(`the console web app is not built in ${root}: run npm run build:console (npm ci does it)`);
  let origin = '';
  let hosts = new Set<string>();
  let origins = new Set<string>();

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const method = req.method === 'POST' ? 'POST' : req.method === 'GET' ? 'GET' : undefined;
    if (!method) throw new HttpProblem(405, 'method', `${req.method} is not allowed`);
    const fetchSite = req.headers['sec-fetch-site'];
    if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none')
      throw new HttpProblem(403, 'cross-site', 'refused: the call did not come from the console page (cross-site request)');
    const from = req.headers.origin;
    if (from !== undefined && !origins.has(from))
      throw new HttpProblem(403, 'cross-site', `refused: the call came from ${from}, not from the console at ${origin}`);
    if (!sameToken(req.headers[CSRF_HEADER], token))
      throw new HttpProblem(403, 'csrf', 'refused: the console token is missing or wrong (reload the console page)');
    let body: string | undefined;
    if (method === 'POST') {
      body = await readBody(req, limit);
      const type = String(req.headers['content-type'] ?? '');
      if (body && !/^application\/json\b/i.test(type)) throw new HttpProblem(415, 'content-type', 'the body must be application/json');
    }
    const path = url.pathname.slice('/api'.length) || '/';
    const reply = await options.backend.call(method, path, Object.fromEntries(url.searchParams), body);
    send(res, reply.status, reply.body);
  };

  const serveAsset = (res: ServerResponse, pathname: string) => {
    if (pathname === '/' || pathname === '/index.html') {
      const { mode, target } = options.backend.describe;
      const html = readFileSync(indexFile, 'utf8')
        .replace('__CSRF_TOKEN__', token)
        .replace('__CONSOLE_MODE__', mode)
        .replace('__CONSOLE_TARGET__', escapeHtml(target));
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES['.html'] as string, 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    const file = normalize(join(root, decodeURIComponent(pathname)));
    const type = TYPES[extname(file)];
    if (!file.startsWith(root + sep) || !type || !existsSync(file)) {
      send(res, 404, { error: 'not-found', message: `no such page: ${pathname}` });
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache' });
    res.end(readFileSync(file));
  };

  const server = createServer(async (req, res) => {
    try {
      if (!hosts.has(String(req.headers.host ?? '').toLowerCase()))
        throw new HttpProblem(421, 'host', 'refused: the console answers only on its own address (127.0.0.1 or localhost)');
      const url = new URL(req.url ?? '/', origin);
      if (url.pathname === '/api' || url.pathname.startsWith('/api/')) await handleApi(req, res, url);
      else if (req.method === 'GET' || req.method === 'HEAD') serveAsset(res, url.pathname);
      else throw new HttpProblem(405, 'method', `${req.method} is not allowed here`);
    } catch (error) {
      if (error instanceof HttpProblem) send(res, error.status, { error: error.code, message: error.message });
      else {
        console.error('console failure', error);
        send(res, 500, { error: 'internal', message: 'internal error in the console server; see its output' });
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([...hosts].map((h) => `http://${h}`));
  return {
    url: origin,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
