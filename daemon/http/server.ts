// The web console's HTTP server (docs/console.md): the single-page app from dist/ui and the JSON
// API under /api/v1, with the live stream as server-sent events. Started and stopped with the
// daemon; a taken port is logged, not fatal (capture matters more than the console).
//
// Every request passes the same gate, in this order:
//   1. the Host header must name this server (127.0.0.1, localhost or [::1] on its port, or a
//      name in ui.allowedHosts): a page on another site that rebinds its DNS name to 127.0.0.1
//      is refused, since its requests carry its own name;
//   2. /api needs the login cookie (unless ui.auth is false, which only loopback allows);
//   3. a request that changes anything also needs the CSRF token in X-RBK-CSRF, and, when the
//      browser sends them, an Origin of this server and Sec-Fetch-Site same-origin.
// No response carries CORS headers, and every one carries a Content-Security-Policy that allows
// only this origin's script and style: session text is rendered as text by the app, and even if
// it were not, no inline script could run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { packageRoot } from '../../common/root.js';
import { RBK_VERSION } from '../../common/version.js';
import { isLoopbackListen, type RbkConfig } from '../config/schema.js';
import type { DaemonContext } from '../context.js';
import { ERROR_KINDS } from '../errors.js';
import { closeNow, hostForUrl, listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { classifyError } from '../rpc/errors.js';
import { liveEventToProto } from '../rpc/query.js';
import { apiRoutes, type Route } from './api.js';
import { SESSION_COOKIE, sessionCookie, UiAuth } from './auth.js';

/** A POST body larger than this is refused (the API takes small JSON objects only). */
const MAX_BODY_BYTES = 64 * 1024;
/** Keeps idle live streams open through proxies and lets a dead client be noticed. */
const SSE_HEARTBEAT_MS = 15_000;
/** Live events a new stream starts with. */
const SSE_BACKLOG = 50;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

export interface UiStatus {
  enabled: boolean;
  url?: string;
  error?: string;
  auth: boolean;
}

export class UiServer {
  private server: http.Server | null = null;
  private auth: UiAuth | null = null;
  private routes: { route: Route; pattern: RegExp; keys: string[] }[] = [];
  private assets = new Map<string, Asset>();
  private allowedHosts = new Set<string>();
  private readonly streams = new Set<http.ServerResponse>();
  private boundUrl: string | null = null;
  private failure: string | null = null;

  constructor(
    private readonly config: RbkConfig['ui'],
    private readonly secretFile: string,
    private readonly log: Logger,
    private readonly assetsDir: string = path.join(packageRoot(), 'dist', 'ui'),
  ) {}

  status(): UiStatus {
    return { enabled: this.config.enabled, url: this.boundUrl ?? undefined, error: this.failure ?? undefined, auth: this.config.auth };
  }

  /** The console's address, and a login URL that works once. */
  login(next = ''): { url: string; loginUrl: string } {
    if (!this.boundUrl || !this.auth) throw new Error(this.failure ?? 'the console is not serving');
    const q = new URLSearchParams({ token: this.auth.mintLogin(), next: consolePath(next) });
    return { url: this.boundUrl, loginUrl: `${this.boundUrl}login?${q}` };
  }

  async start(ctx: DaemonContext): Promise<void> {
    if (!this.config.enabled) return;
    const listen = this.config.listen;
    try {
      this.auth = new UiAuth(this.secretFile, this.config.loginDays * 86_400_000);
      this.loadAssets();
    } catch (err) {
      this.failure = (err as Error).message;
      this.log.warn('web console not started; the daemon runs without it', { error: err });
      return;
    }
    this.routes = apiRoutes(ctx).map((route) => {
      const keys: string[] = [];
      const source = route.path.replace(/:([a-z]+)/g, (_m, k: string) => {
        keys.push(k);
        return '([^/]+)';
      });
      return { route, keys, pattern: new RegExp(`^/api/v1${source}$`) };
    });
    const server = http.createServer((req, res) => {
      this.handle(ctx, req, res).catch((err: unknown) => {
        this.log.error('console request failed', { error: err, url: req.url?.split('?')[0] });
        if (!res.headersSent) this.sendError(res, 500, 'internal', 'internal error; see the daemon log');
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    let addr: AddressInfo;
    try {
      addr = await listenOn(server, listen);
    } catch (err) {
      this.failure = `cannot listen on ${listen}: ${(err as Error).message}`;
      this.log.warn('web console not started; the daemon runs without it', {
        listen,
        error: err,
        fix: 'set ui.listen to a free host:port, or ui.enabled: false',
      });
      return;
    }
    this.server = server;
    const hostPart = hostForUrl(addr);
    // A wildcard listen (auth on) is still reached from this machine through loopback.
    this.boundUrl = `http://${addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : hostPart}:${addr.port}/`;
    this.allowedHosts = new Set([
      `127.0.0.1:${addr.port}`,
      `localhost:${addr.port}`,
      `[::1]:${addr.port}`,
      `${hostPart}:${addr.port}`.toLowerCase(),
      ...this.config.allowedHosts.map((h) => (h.includes(':') ? h : `${h}:${addr.port}`).toLowerCase()),
    ]);
    if (!isLoopbackListen(listen)) this.log.warn('the web console listens beyond loopback; every request needs the login cookie', { listen });
    if (!this.config.auth) this.log.warn('the web console has ui.auth: false: every local user can read your sessions through it', { listen });
    this.log.info('web console listening', { url: this.boundUrl });
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    this.server = null;
    this.boundUrl = null;
    if (!server) return;
    await closeNow(server);
  }

  /** Reads the built app once: a fixed set of files, so no request path ever reaches the filesystem. */
  private loadAssets(): void {
    const index = path.join(this.assetsDir, 'index.html');
    if (!fs.existsSync(index)) throw new Error(`the console's files are not built (${index} is missing); run: npm run build`);
    for (const name of fs.readdirSync(this.assetsDir)) {
      const type = CONTENT_TYPES[path.extname(name)];
      const file = path.join(this.assetsDir, name);
      if (!type || !fs.statSync(file).isFile()) continue;
      const body = fs.readFileSync(file);
      this.assets.set(`/${name}`, {
        body,
        gzip: zlib.gzipSync(body, { level: 9 }),
        type,
        etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      });
    }
  }

  private async handle(ctx: DaemonContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts.has(host)) {
      this.sendError(
        res,
        421,
        'host',
        `this server answers only to ${[...this.allowedHosts][0]}; add the name to ui.allowedHosts if you meant to reach it as ${host.slice(0, 100) || '(no Host header)'}`,
      );
      return;
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    const pathname = url.pathname;
    if (pathname === '/login') return this.handleLogin(url, req, res);
    if (pathname.startsWith('/api/')) return this.handleApi(ctx, req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    // The app's own files, and index.html for every page path (the app routes on the client).
    const asset = this.assets.get(pathname) ?? (pathname.startsWith('/assets/') || path.extname(pathname) ? undefined : this.assets.get('/index.html'));
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const headers: Record<string, string> = { 'content-type': asset.type, etag: asset.etag, vary: 'accept-encoding', 'cache-control': 'no-cache' };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    if (gzip) headers['content-encoding'] = 'gzip';
    const body = gzip ? asset.gzip : asset.body;
    res.writeHead(200, { ...headers, 'content-length': String(body.length) }).end(req.method === 'HEAD' ? undefined : body);
  }

  private handleLogin(url: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const auth = this.auth as UiAuth;
    if (!auth.redeemLogin(url.searchParams.get('token') ?? '')) {
      res
        .writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        .end('This login link was already used, has expired, or is not from this rbk. Run `rbk ui` for a new one.\n');
      return;
    }
    const location = consolePath(url.searchParams.get('next') ?? '/');
    res
      .writeHead(303, {
        'set-cookie': `${SESSION_COOKIE}=${auth.issueSession()}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${this.config.loginDays * 86_400}`,
        location,
        'cache-control': 'no-store',
      })
      .end();
  }

  private authorized(req: http.IncomingMessage): string | null {
    const cookie = sessionCookie(req.headers.cookie);
    if (!this.config.auth) return cookie ?? '';
    return this.auth?.checkSession(cookie) ? (cookie as string) : null;
  }

  private async handleApi(ctx: DaemonContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    const session = this.authorized(req);
    if (session === null) {
      this.sendError(res, 401, 'unauthenticated', 'not logged in to the rbk console: run `rbk ui` to open it logged in');
      return;
    }
    if (url.pathname === '/api/v1/me' && req.method === 'GET') {
      // What the app needs to start: who it talks to, and the CSRF token for this login.
      const me = { version: RBK_VERSION, auth: this.config.auth, csrfToken: this.config.auth ? (this.auth as UiAuth).csrfFor(session) : '' };
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(me));
      return;
    }
    if (url.pathname === '/api/v1/live') {
      if (req.method !== 'GET') return this.sendError(res, 405, 'method', 'the live stream is GET only');
      return this.handleLive(ctx, req, res, url);
    }
    let match: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.route.method !== req.method) continue;
      const params: Record<string, string> = {};
      try {
        r.keys.forEach((k, i) => {
          params[k] = decodeURIComponent(m[i + 1] ?? '');
        });
      } catch {
        return this.sendError(res, 400, 'invalid', 'the path has a malformed %-escape');
      }
      match = { route: r.route, params };
      break;
    }
    if (!match) {
      this.sendError(
        res,
        pathMatched ? 405 : 404,
        pathMatched ? 'method' : 'not-found',
        pathMatched ? `${req.method} is not allowed here` : `no API at ${url.pathname}; see docs/api.md`,
      );
      return;
    }
    if (match.route.mutates || req.method !== 'GET') {
      const refusal = this.checkMutation(req, session);
      if (refusal) return this.sendError(res, 403, 'csrf', refusal);
    }
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readJsonBody(req);
      if ('error' in read) return this.sendError(res, read.status, 'invalid', read.error);
      body = read.value;
    }
    try {
      const value = await match.route.handle({ method: req.method ?? 'GET', params: match.params, query: url.searchParams, body });
      const json = JSON.stringify(value);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(json);
    } catch (err) {
      const { kind, message } = classifyError(err);
      if (kind === 'internal') this.log.error('console API request failed', { error: err, path: url.pathname });
      this.sendError(res, kind === 'internal' ? 500 : ERROR_KINDS[kind].http, kind, message);
    }
  }

  /** Why a state-changing request is refused, or null. */
  private checkMutation(req: http.IncomingMessage, session: string): string | null {
    const auth = this.auth as UiAuth;
    const host = (req.headers.host ?? '').toLowerCase();
    const origin = req.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) return `cross-origin request from ${origin.slice(0, 100)} refused`;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return `a ${site} request may not change anything here`;
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return 'send JSON (content-type: application/json)';
    const token = req.headers['x-rbk-csrf'];
    if (this.config.auth ? !auth.checkCsrf(session, typeof token === 'string' ? token : undefined) : token === undefined) {
      return 'missing or wrong CSRF token (X-RBK-CSRF); reload the console page';
    }
    return null;
  }

  private handleLive(ctx: DaemonContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const sessionId = url.searchParams.get('session');
    let filter: { sessionId?: string; includeHidden: boolean };
    try {
      filter = { sessionId: sessionId ? ctx.sessions.resolveId(sessionId) : undefined, includeHidden: false };
    } catch (err) {
      const { kind, message } = classifyError(err);
      this.sendError(res, kind === 'internal' ? 500 : ERROR_KINDS[kind].http, kind, message);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': rbk live\n\n');
    const send = (e: Parameters<typeof liveEventToProto>[0]) => {
      res.write(`event: ${e.source}\ndata: ${JSON.stringify(liveEventToProto(e))}\n\n`);
    };
    // Subscribe and read the backlog in one turn of the event loop: nothing lost, nothing twice.
    const unsubscribe = ctx.live.subscribe(filter, send);
    for (const e of ctx.live.recent(SSE_BACKLOG, filter)) send(e);
    res.write('event: ready\ndata: {}\n\n');
    const heartbeat = setInterval(() => res.write(': ping\n\n'), SSE_HEARTBEAT_MS);
    heartbeat.unref();
    this.streams.add(res);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.streams.delete(res);
    };
    req.on('close', close);
    res.on('error', close);
  }

  private sendError(res: http.ServerResponse, status: number, kind: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify({ error: { kind, message } }));
  }
}

/** Where a login may send the browser: a path of this console, never another site ("//x", "/\\x"). */
function consolePath(next: string): string {
  return /^\/(?!\/)[A-Za-z0-9/_.~%?=&:-]*$/.test(next) ? next : '/';
}

async function readJsonBody(req: http.IncomingMessage): Promise<{ value: unknown } | { error: string; status: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { error: `the request body is over ${MAX_BODY_BYTES} bytes`, status: 413 };
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { value: {} };
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { error: 'the request body is not JSON', status: 400 };
  }
}
