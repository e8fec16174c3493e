// Shared helpers for the central-copy tests (sync, pull, S3 compaction, S3 retention):
// - a real S3 wire protocol: s3rver on loopback, started and stopped (and restarted on the same
//   port and directory) by the test;
// - a loopback fault proxy between the SDK and s3rver that counts requests and injects 503
//   SlowDown / 500 InternalError / latency / dropped connections;
// - reading every object of a bucket (or a local base dir), gunzipped and parsed;
// - config text for a daemon that syncs to s3rver, and the env that gives the SDK its (dummy)
//   credentials through the default chain;
// - synthetic transcripts, so a test can make as many sessions as it needs.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** The AWS default chain reads these: a test daemon needs nothing else to reach s3rver. */
export const S3_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  // Keep the developer's own config files and any instance role out of the chain.
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  // The SDK warns about Node 20 on stderr; the daemon log stays JSON lines without it.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

// This process talks to s3rver too (readAllObjects); the SDK's Node 20 notice is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** Where s3rver keeps the objects (survives stop/start). */
  dir: string;
  running(): boolean;
  /** Stops accepting and drops every open connection, like a store going down. */
  stop(): Promise<void>;
  /** Starts again on the same port and directory. */
  start(): Promise<void>;
  /** stop() and remove the directory. */
  dispose(): Promise<void>;
}

export async function startS3rver(opts: { bucket?: string; port?: number; dir?: string } = {}): Promise<S3Server> {
  const bucket = opts.bucket ?? 'rbk-central';
  if (bucket.length < 3) throw new Error('S3 bucket names have at least 3 characters');
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-s3rver-'));
  let port = opts.port ?? 0;
  let server: S3rver | undefined;
  let sockets = new Set<Socket>();
  const start = async () => {
    const s = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
    const addr = (await s.run()) as AddressInfo;
    port = addr.port;
    const httpServer = (s as unknown as { httpServer: http.Server }).httpServer;
    sockets = new Set();
    httpServer.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const httpServer = (s as unknown as { httpServer: http.Server }).httpServer;
    const closed = s.close();
    for (const sock of sockets) sock.destroy();
    httpServer.closeAllConnections?.();
    await closed;
  };
  await start();
  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    bucket,
    dir,
    running: () => server !== undefined,
    stop,
    start,
    dispose: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Config lines that leave uploads to `rbk sync` only (no timers, no cron during the test). */
export const MANUAL_ONLY = ['sync:', '  automatic: false', 'jobs:', '  sync: "0 0 1 1 *"'].join('\n');

/** YAML for a test daemon that syncs to `s3` (metrics off: their port is shared). */
export function s3ConfigYaml(
  s3: { endpoint: string; bucket: string },
  opts: { prefix?: string; mirrorLocal?: boolean; extra?: string; sse?: string } = {},
): string {
  return [
    'metrics: { enabled: false }',
    'integrations:',
    '  claude:',
    '    sessionStorage:',
    '      backend: s3',
    `      mirrorLocal: ${opts.mirrorLocal ? 'true' : 'false'}`,
    '      s3:',
    `        bucket: ${s3.bucket}`,
    `        prefix: ${opts.prefix ?? 'rbk'}`,
    `        endpoint: ${s3.endpoint}`,
    '        region: us-east-1',
    '        forcePathStyle: true',
    ...(opts.sse ? [`        sse: ${opts.sse}`] : []),
    opts.extra ?? '',
  ].join('\n');
}

export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

/** Every object under `prefix` in the bucket: key (relative to prefix) → bytes. */
export async function readAllObjects(endpoint: string, bucket: string, prefix = ''): Promise<Map<string, Buffer>> {
  const client = testS3Client(endpoint);
  try {
    const out = new Map<string, Buffer>();
    let token: string | undefined;
    do {
      const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
        out.set(o.Key!.slice(prefix.length), Buffer.from(await got.Body!.transformToByteArray()));
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  } finally {
    client.destroy();
  }
}

/** Deletes every object in the bucket (between tests sharing one s3rver). */
export async function emptyBucket(endpoint: string, bucket: string): Promise<void> {
  const client = testS3Client(endpoint);
  try {
    const objects = await readAllObjects(endpoint, bucket);
    const keys = [...objects.keys()];
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
    }
  } finally {
    client.destroy();
  }
}

/** Every file under a local base dir: key → bytes (temp files of an interrupted put excluded). */
export function readLocalObjects(baseDir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), key);
      else if (e.isFile() && !e.name.includes('.tmp-')) out.set(key, fs.readFileSync(path.join(dir, e.name)));
    }
  };
  walk(baseDir, '');
  return out;
}

/** Writes objects (as read by readAllObjects) under a directory, e.g. for DuckDB. */
export function writeObjects(objects: Map<string, Buffer>, dir: string): void {
  for (const [key, body] of objects) {
    const file = path.join(dir, ...key.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
  }
}

/** The records of a gzip NDJSON part. */
export function ndjsonRecords(body: Buffer): Record<string, unknown>[] {
  const text = zlib.gunzipSync(body).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every object's bytes, gunzipped when it is a .gz part. */
export function plainBytes(key: string, body: Buffer): Buffer {
  return key.endsWith('.gz') ? zlib.gunzipSync(body) : body;
}

// ---------------------------------------------------------------------------------------------
// Fault proxy
// ---------------------------------------------------------------------------------------------

export interface ProxyRequest {
  method: string;
  path: string;
  status: number;
  injected: boolean;
  headers: http.IncomingHttpHeaders;
}

export interface FaultProxy {
  endpoint: string;
  /** Every request seen, in order. */
  requests: ProxyRequest[];
  /** Requests forwarded to the store (not answered by an injected fault). */
  forwarded(method?: string): ProxyRequest[];
  /**
   * Faults, decided per request: return a status (503 SlowDown, 500 InternalError), 'drop' to
   * destroy the connection, latency before forwarding ({ delayMs }), response headers to replace
   * ({ rewriteHeaders }, e.g. a wrong ETag: a store that corrupted the object), or null.
   */
  setFault(fn: ((req: { method: string; path: string; index: number }) => FaultDecision) | null): void;
  close(): Promise<void>;
}

export type FaultDecision = null | 'drop' | 503 | 500 | { delayMs: number } | { rewriteHeaders: Record<string, string> };

const S3_ERRORS: Record<number, [string, string]> = {
  503: ['SlowDown', 'Please reduce your request rate.'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
};

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  let fault: ((req: { method: string; path: string; index: number }) => FaultDecision) | null = null;
  const requests: ProxyRequest[] = [];
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const index = requests.length;
    const entry: ProxyRequest = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0, injected: false, headers: req.headers };
    requests.push(entry);
    const decision = fault ? fault({ method: entry.method, path: entry.path, index }) : null;
    const forward = (rewrite: Record<string, string> = {}) => {
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
        entry.status = upRes.statusCode ?? 0;
        res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, ...rewrite });
        upRes.pipe(res);
      });
      up.on('error', () => {
        entry.status = 502;
        res.destroy();
      });
      req.pipe(up);
    };
    if (decision === null) return forward();
    if (decision === 'drop') {
      entry.injected = true;
      req.socket.destroy();
      return;
    }
    if (typeof decision === 'object' && 'rewriteHeaders' in decision) {
      forward(decision.rewriteHeaders);
      return;
    }
    if (typeof decision === 'object') {
      setTimeout(() => forward(), decision.delayMs);
      return;
    }
    entry.injected = true;
    entry.status = decision;
    // Drain the body first: the SDK is still sending it.
    req.resume();
    req.on('end', () => {
      const [code, message] = S3_ERRORS[decision]!;
      res
        .writeHead(decision, { 'content-type': 'application/xml' })
        .end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>rbk-fault</RequestId></Error>`);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    forwarded: (method) => requests.filter((r) => !r.injected && (!method || r.method === method)),
    setFault: (fn) => {
      fault = fn;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Synthetic transcripts
// ---------------------------------------------------------------------------------------------

export interface SyntheticSession {
  sessionId: string;
  file: string;
  /** Assistant messages (each with usage), i.e. billed responses. */
  turns: number;
}

/**
 * A Claude Code-shaped transcript: `turns` prompt/answer pairs, each answer with its own message
 * id, request id and usage. `extraText` goes into every prompt (e.g. a planted secret).
 */
export function writeSyntheticTranscript(
  dir: string,
  sessionId: string,
  turns: number,
  opts: { startMs?: number; extraText?: string; model?: string } = {},
): SyntheticSession {
  const projectDir = path.join(dir, '-synthetic-project');
  fs.mkdirSync(projectDir, { recursive: true });
  const file = path.join(projectDir, `${sessionId}.jsonl`);
  const start = opts.startMs ?? Date.parse('2026-03-02T10:00:00Z');
  const lines: string[] = [];
  let parent: string | null = null;
  for (let i = 0; i < turns; i++) {
    const u = `${sessionId.slice(0, 8)}-0000-4000-8000-${String(i * 2).padStart(12, '0')}`;
    const a = `${sessionId.slice(0, 8)}-0000-4000-8000-${String(i * 2 + 1).padStart(12, '0')}`;
    const base = { sessionId, cwd: '/synthetic/project', version: '2.1.197', gitBranch: 'main', userType: 'external', isSidechain: false };
    lines.push(
      JSON.stringify({
        ...base,
        type: 'user',
        uuid: u,
        parentUuid: parent,
        timestamp: new Date(start + i * 60_000).toISOString(),
        message: { role: 'user', content: `prompt ${i} of ${sessionId}${opts.extraText ? ` ${opts.extraText}` : ''}` },
      }),
    );
    lines.push(
      JSON.stringify({
        ...base,
        type: 'assistant',
        uuid: a,
        parentUuid: u,
        requestId: `req_${sessionId.slice(0, 8)}_${i}`,
        timestamp: new Date(start + i * 60_000 + 5000).toISOString(),
        message: {
          id: `msg_${sessionId.slice(0, 8)}_${i}`,
          type: 'message',
          role: 'assistant',
          model: opts.model ?? 'claude-sonnet-4-5-20250929',
          content: [{ type: 'text', text: `answer ${i}` }],
          usage: { input_tokens: 10 + i, output_tokens: 20 + i, cache_creation_input_tokens: 100 * (i + 1), cache_read_input_tokens: 1000 + i },
        },
      }),
    );
    parent = a;
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { sessionId, file, turns };
}

/** A session id like Claude Code's (a UUID), numbered for readable failures. */
export function sessionIdFor(n: number): string {
  return `5e55${String(n).padStart(4, '0')}-aaaa-4bbb-8ccc-${String(n).padStart(12, '0')}`;
}

/**
 * s3rver in a child process started with --openssl-legacy-provider, for listings longer than one
 * page: s3rver 3.7 encrypts its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (the
 * test runner's Node) offers only through its legacy provider, so in-process any truncated listing
 * fails with InternalError. Real S3 is what the flag stands in for; nothing of rbk runs in it.
 */
export async function startS3rverProcess(opts: { bucket: string }): Promise<{ endpoint: string; bucket: string; dispose(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-s3rver-legacy-'));
  const script = `
    const S3rver = require('s3rver');
    const s = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[1], configureBuckets: [{ name: process.argv[2], configs: [] }] });
    s.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'));
    process.stdin.on('end', () => s.close().then(() => process.exit(0)));
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script, dir, opts.bucket], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`s3rver child exited early (code ${code})`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: opts.bucket,
    dispose: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
