// Shared plumbing for the fault suite (test/faults): a seeded random source (the seed is printed so
// a failing run can be replayed with RBK_FAULT_SEED), the hook-client driver, and database checks.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { loadServices } from '../../../common/protos.js';
import { cleanEnv, REPO_ROOT, type TempRbk } from '../../support/rbk.js';

export const HOOK_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'hook-client.mjs');

/** mulberry32, seeded from RBK_FAULT_SEED or the clock; the seed is logged for replay. */
export function seededRandom(label: string): { seed: number; next: () => number; int: (lo: number, hi: number) => number } {
  const seed = Number(process.env.RBK_FAULT_SEED) || Date.now() % 2 ** 31;
  console.log(`${label}: RBK_FAULT_SEED=${seed}`);
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

export interface HookClientReport {
  client: number;
  ids: string[];
  outcomes: { direct: number; spooled: number; lost: number };
  slowestMs: number;
  lostReasons: string[];
  spoolReasons: Record<string, number>;
}

/** Runs test/faults/support/hook-client.mjs: `events` deliveries through the real hook code. */
export function runHookClient(t: TempRbk, client: number, events: number, pauseMs: number, env: Record<string, string> = {}): Promise<HookClientReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOOK_CLIENT, String(client), String(events), String(pauseMs)], {
      cwd: REPO_ROOT,
      env: cleanEnv({ ...t.env, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`hook client ${client} exited ${code} (${signal}): ${err}`));
      try {
        resolve(JSON.parse(out) as HookClientReport);
      } catch (e) {
        reject(new Error(`hook client ${client} printed no report (${(e as Error).message}): ${out.slice(0, 500)} ${err}`));
      }
    });
  });
}

/** PRAGMA integrity_check on a read-write handle (it also replays the WAL), "ok" when sound. */
export function integrityCheck(dbFile: string): string {
  const db = new Database(dbFile, { fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** Event ids that occur more than once in `ids`. */
export function duplicates(ids: Iterable<string>): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}

/**
 * One unary call on the daemon's socket with @grpc/grpc-js and rbk's own protos; rejects with the
 * ServiceError (code, details). `channelOptions` can lift the client's own limits, e.g. to send a
 * message the server must refuse.
 */
export function rpc<Res = Record<string, unknown>>(
  socket: string,
  service: 'Ingest' | 'Query' | 'Admin' | 'Jobs',
  method: string,
  request: Record<string, unknown>,
  opts: { timeoutMs?: number; channelOptions?: grpc.ChannelOptions } = {},
): Promise<Res> {
  const Ctor = loadServices()[service];
  const client = new Ctor(`unix:${socket}`, grpc.credentials.createInsecure(), opts.channelOptions ?? {}) as unknown as Record<
    string,
    (req: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => void
  > &
    grpc.Client;
  return new Promise<Res>((resolve, reject) => {
    client[method]!.call(client, request, new grpc.Metadata(), { deadline: Date.now() + (opts.timeoutMs ?? 10_000) }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  }).finally(() => client.close());
}
