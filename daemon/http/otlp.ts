// The OTLP/HTTP receiver (docs/telemetry.md): POST /v1/logs, /v1/traces and /v1/metrics, in
// application/x-protobuf or application/json, optionally gzip. Started and stopped with the
// daemon; a taken port is logged, not fatal (capture through hooks and transcripts goes on).
//
// The gate, in order:
//   1. the Host header must be this server's loopback address (DNS rebinding: a web page's
//      requests carry its own name) → 421;
//   2. Authorization: Bearer <the per-install token in <data dir>/otlp-token> → 401;
//   3. POST to one of the three paths → 405 / 404; a Content-Type of one of the two encodings →
//      415; a body within otel.maxBodyBytes, before and after gzip → 413 (a gzip bomb stops at the
//      bound, it is never inflated whole).
// Then the receiver (ingest/otlp/receiver.ts) stores the export and only then is it acknowledged.
// Errors map through the one ERROR_KINDS table; OTLP exporters retry 503 (a store that takes no
// writes right now) and drop 4xx.
//
// Forwarding (otel.forward): each stored export is also POSTed, as received, to the user's own
// collectors, after the answer, with a bound on what is in flight; failures are counted and logged.
import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { loadOrCreateSecret } from '../../common/secret-file.js';
import type { RbkConfig } from '../config/schema.js';
import { ERROR_KINDS } from '../errors.js';
import { encodingOf, type OtlpSignal } from '../ingest/otlp/decode.js';
import type { OtlpReceiver } from '../ingest/otlp/receiver.js';
import { closeNow, hostForUrl, listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { classifyError } from '../rpc/errors.js';

const SIGNALS: Record<string, OtlpSignal> = { '/v1/logs': 'logs', '/v1/traces': 'traces', '/v1/metrics': 'metrics' };
const MAX_FORWARDS_IN_FLIGHT = 32;
const REFUSED_BODY_GRACE_MS = 2000;

export interface OtlpStatus {
  enabled: boolean;
  url?: string;
  error?: string;
  exports: number;
  stored: number;
  duplicates: number;
  skipped: number;
  refused: number;
  forwardFailures: number;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class OtlpServer {
  private server: http.Server | null = null;
  private boundUrl: string | null = null;
  private failure: string | null = null;
  private allowedHosts = new Set<string>();
  private token: Buffer | null = null;
  private forwardsInFlight = 0;
  private forwardFailures = 0;
  private refusedAtGate = 0;

  constructor(
    private readonly config: RbkConfig['otel'],
    private readonly tokenFile: string,
    readonly receiver: OtlpReceiver,
    private readonly log: Logger,
  ) {}

  status(): OtlpStatus {
    const t = this.receiver.totals;
    return {
      enabled: this.config.enabled,
      url: this.boundUrl ?? undefined,
      error: this.failure ?? undefined,
      exports: t.exports,
      stored: t.stored,
      duplicates: t.duplicates,
      skipped: t.skipped,
      refused: t.refused + this.refusedAtGate,
      forwardFailures: this.forwardFailures,
    };
  }

  async start(): Promise<void> {
    if (!this.config.enabled) return;
    try {
      this.token = Buffer.from(loadOrCreateSecret(this.tokenFile, 'OTLP token (rbk install writes it into Claude Code settings)'), 'utf8');
    } catch (err) {
      this.failure = (err as Error).message;
      this.log.warn('OTLP receiver not started; the daemon runs without it', { error: err });
      return;
    }
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error('OTLP request failed', { error: err, url: req.url?.split('?')[0] });
        if (!res.headersSent) this.send(res, 500, { code: 13, message: 'internal error; see the daemon log' });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    try {
      const addr = await listenOn(server, this.config.listen);
      this.server = server;
      const host = hostForUrl(addr);
      this.boundUrl = `http://${host}:${addr.port}`;
      this.allowedHosts = new Set([`${host}:${addr.port}`, `localhost:${addr.port}`, `127.0.0.1:${addr.port}`, `[::1]:${addr.port}`]);
      this.log.info('OTLP receiver listening', { url: this.boundUrl });
    } catch (err) {
      this.failure = `cannot listen on ${this.config.listen}: ${(err as Error).message}; set otel.listen to a free port`;
      this.log.warn('OTLP receiver not started; the daemon runs without it', { error: err, listen: this.config.listen });
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.boundUrl = null;
    if (!server) return;
    await closeNow(server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let signal: OtlpSignal;
    let body: Buffer;
    let encoding: 'json' | 'protobuf';
    let raw: Buffer;
    try {
      const host = (req.headers.host ?? '').toLowerCase();
      if (!this.allowedHosts.has(host)) {
        throw new HttpRefusal(421, `this receiver answers only to ${this.boundUrl ?? 'its loopback address'}, not ${host.slice(0, 100) || '(no Host header)'}`);
      }
      if (!this.tokenOk(req.headers.authorization)) {
        throw new HttpRefusal(
          401,
          'missing or wrong token: send Authorization: Bearer <the token in the data dir file otlp-token> (rbk install sets it for Claude Code; `rbk otel env` prints it for other agents)',
        );
      }
      const pathname = (req.url ?? '/').split('?')[0] ?? '/';
      const known = SIGNALS[pathname];
      if (!known) throw new HttpRefusal(404, `no such OTLP path ${pathname.slice(0, 100)}; use /v1/logs, /v1/traces or /v1/metrics`);
      signal = known;
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpRefusal(405, `${signal} are sent with POST`);
      }
      const enc = encodingOf(req.headers['content-type']);
      if (!enc) {
        throw new HttpRefusal(
          415,
          `content type ${String(req.headers['content-type'] ?? '(none)').slice(0, 100)} is not OTLP: use application/x-protobuf or application/json`,
        );
      }
      encoding = enc;
      raw = await this.readBody(req);
      body = await this.inflate(raw, req.headers['content-encoding']);
    } catch (err) {
      if (err instanceof HttpRefusal) {
        this.refusedAtGate++;
        // Answer now and discard the rest of the body rather than reset the connection: a client
        // still writing would see the reset (EPIPE) instead of the answer. A sender that keeps
        // going regardless is cut off after a short grace.
        req.resume();
        this.send(res, err.status, { code: err.status === 413 ? 8 : 3, message: err.message });
        setTimeout(() => {
          if (!req.complete) req.socket.destroy();
        }, REFUSED_BODY_GRACE_MS).unref();
        return;
      }
      throw err;
    }
    let result: ReturnType<OtlpReceiver['export']>;
    try {
      result = this.receiver.export(signal, encoding, body);
    } catch (err) {
      const { kind, message } = classifyError(err);
      const status = kind === 'internal' ? 500 : ERROR_KINDS[kind].http;
      if (kind === 'internal') this.log.error('OTLP export failed', { error: err, signal });
      if (status === 503) res.setHeader('retry-after', '5');
      this.send(res, status, { code: kind === 'invalid' ? 3 : 14, message });
      return;
    }
    const rejected = Object.values(result.skipped).reduce((a, n) => a + (n ?? 0), 0);
    const reasons = Object.entries(result.skipped)
      .map(([k, n]) => `${n} ${k.replaceAll('_', ' ')}`)
      .join(', ');
    const rejectedField = signal === 'logs' ? 'rejectedLogRecords' : signal === 'traces' ? 'rejectedSpans' : 'rejectedDataPoints';
    const answer = rejected > 0 ? { partialSuccess: { [rejectedField]: String(rejected), errorMessage: `not stored by rbk: ${reasons}` } } : {};
    if (encoding === 'json') this.send(res, 200, answer);
    else res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
    if (this.config.forward.length > 0) this.forward(signal, req, raw);
  }

  private tokenOk(header: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m || !this.token) return false;
    const given = Buffer.from(m[1] ?? '', 'utf8');
    return given.length === this.token.length && crypto.timingSafeEqual(given, this.token);
  }

  private readBody(req: http.IncomingMessage): Promise<Buffer> {
    const limit = this.config.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limit) {
      return Promise.reject(new HttpRefusal(413, `body of ${declared} bytes is over otel.maxBodyBytes (${limit}); export smaller batches`));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          req.removeAllListeners('data');
          reject(new HttpRefusal(413, `body is over otel.maxBodyBytes (${limit}); export smaller batches`));
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  private inflate(raw: Buffer, encoding: string | string[] | undefined): Promise<Buffer> {
    const enc = String(encoding ?? 'identity').toLowerCase();
    if (enc === 'identity' || enc === '') return Promise.resolve(raw);
    if (enc !== 'gzip') return Promise.reject(new HttpRefusal(415, `content encoding ${enc.slice(0, 40)} is not supported: use gzip or none`));
    const limit = this.config.maxBodyBytes;
    return new Promise((resolve, reject) => {
      zlib.gunzip(raw, { maxOutputLength: limit }, (err, out) => {
        if (!err) return resolve(out);
        if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          reject(new HttpRefusal(413, `gzip body inflates to more than otel.maxBodyBytes (${limit}); export smaller batches`));
        } else {
          reject(new HttpRefusal(400, `gzip body is not valid: ${err.message}`));
        }
      });
    });
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' }).end(text);
  }

  private forward(signal: OtlpSignal, req: http.IncomingMessage, raw: Buffer): void {
    for (const target of this.config.forward) {
      if (this.forwardsInFlight >= MAX_FORWARDS_IN_FLIGHT) {
        this.forwardFailures++;
        continue;
      }
      const headers: Record<string, string> = { 'content-type': String(req.headers['content-type']) };
      if (req.headers['content-encoding']) headers['content-encoding'] = String(req.headers['content-encoding']);
      for (const [k, v] of parseHeaders(target.headersEnv ? process.env[target.headersEnv] : undefined)) headers[k] = v;
      this.forwardsInFlight++;
      fetch(`${target.url.replace(/\/+$/, '')}/v1/${signal}`, { method: 'POST', headers, body: new Uint8Array(raw), signal: AbortSignal.timeout(10_000) })
        .then((r) => {
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
          return r.arrayBuffer();
        })
        .catch((err: unknown) => {
          this.forwardFailures++;
          this.log.warn('forwarding telemetry failed', { url: target.url, error: (err as Error).message });
        })
        .finally(() => {
          this.forwardsInFlight--;
        });
    }
  }
}

/** OTEL_EXPORTER_OTLP_HEADERS syntax: `k=v,k2=v2`, values percent-encoded. */
function parseHeaders(text: string | undefined): [string, string][] {
  if (!text) return [];
  const out: [string, string][] = [];
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out.push([part.slice(0, i).trim().toLowerCase(), decodeURIComponent(part.slice(i + 1).trim())]);
    } catch {
      /* a malformed escape: skip the header */
    }
  }
  return out;
}
