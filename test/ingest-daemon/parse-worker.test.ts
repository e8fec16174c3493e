// The import parse worker (daemon/ingest/parse-worker.ts and parse-worker-client.ts), built, in a
// real worker thread. Scans are posted as soon as they are started and prepared in that order, so
// the next file is read while this one commits; batches not yet acknowledged are bounded across
// all scans. These tests hold that read-ahead, and the contract the importer relies on: each scan
// yields exactly what an in-thread read of its file yields, whatever the interleaving of
// consumers; a consumer that stops early gives its credit back, so later scans still run; a
// worker that dies fails every scan it held, and the next scan gets a new worker.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { prepareBatches, type PreparedBatch } from '../../daemon/ingest/transcript-batches.js';
import type { ParseWorker as ParseWorkerType } from '../../daemon/ingest/parse-worker-client.js';
import { assertBuilt, makeDataDir, type TempRbk } from '../support/rbk.js';
import { uuidFor } from './support.js';

const quiet = { info() {}, warn() {}, debug() {}, error() {} } as never;
const noRedaction = (): void => {};
let ParseWorker: typeof ParseWorkerType;
let t: TempRbk;
const files: string[] = [];

/** A transcript of `n` lines of about 2 KB each, so that it spans several 1 MiB batches when long. */
function writeTranscript(dir: string, index: number, n: number): string {
  const session = uuidFor(0x7a0000 + index, 0xffff);
  const file = path.join(dir, `${session}.jsonl`);
  const out: string[] = [];
  let parent: string | null = null;
  for (let i = 0; i < n; i++) {
    const uuid = uuidFor(0x7a0000 + index, i);
    const common = {
      parentUuid: parent,
      isSidechain: false,
      sessionId: session,
      uuid,
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      cwd: '/home/dev/app',
      version: '2.1.39',
    };
    parent = uuid;
    out.push(JSON.stringify({ ...common, type: 'user', message: { role: 'user', content: `file ${index} line ${i} ${'filler text '.repeat(170)}` } }));
  }
  fs.writeFileSync(file, `${out.join('\n')}\n`);
  return file;
}

/** What a scan yields, reduced to what the ingester commits: line uuids, counts and offsets. */
function summary(batches: PreparedBatch[]): { uuids: string[]; count: number; end: number; batches: number } {
  return {
    uuids: batches.flatMap((b) => b.lines.flatMap((l) => l.interactions.map((i) => `${i.uuid}:${i.blockIndex}`))),
    count: batches.reduce((a, b) => a + b.count, 0),
    end: batches.at(-1)?.end ?? -1,
    batches: batches.length,
  };
}

async function collect(it: AsyncIterable<PreparedBatch>): Promise<PreparedBatch[]> {
  const out: PreparedBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

async function inThread(file: string): Promise<ReturnType<typeof summary>> {
  const size = fs.statSync(file).size;
  return summary(await collect(prepareBatches(file, 0, { untilOffset: size, sessionIdHint: null, agentIdHint: null, redact: null })));
}

const opts = (file: string) => ({ untilOffset: fs.statSync(file).size, sessionIdHint: null, agentIdHint: null });

beforeAll(async () => {
  assertBuilt();
  // The built module: only dist/ has the worker script (parse-worker.js) beside it.
  const built = new URL('../../dist/daemon/ingest/parse-worker-client.js', import.meta.url).href;
  ({ ParseWorker } = (await import(/* @vite-ignore */ built)) as { ParseWorker: typeof ParseWorkerType });
  t = makeDataDir();
  const dir = path.join(t.root, 'projects', '-home-dev-app');
  fs.mkdirSync(dir, { recursive: true });
  // One file of several batches between small ones: the shape that made reading and writing take turns.
  for (const [i, n] of [
    [0, 40],
    [1, 1600],
    [2, 3],
    [3, 700],
    [4, 1],
  ] as const)
    files.push(writeTranscript(dir, i, n));
});
afterAll(() => t?.cleanup());

function newWorker(): ParseWorkerType {
  const w = ParseWorker.create(null, false, quiet);
  if (!w) throw new Error('the built parse worker script is missing (npm run build)');
  return w;
}

describe('import parse worker', () => {
  it('scans started together each yield exactly an in-thread read of their file, consumed one after another', async () => {
    const worker = newWorker();
    try {
      const scans = files.map((f) => worker.scan(f, 0, opts(f), noRedaction));
      const big = await inThread(files[1]!);
      expect(big.batches).toBeGreaterThan(2);
      for (let i = 0; i < files.length; i++) {
        expect(summary(await collect(scans[i]!))).toEqual(await inThread(files[i]!));
      }
    } finally {
      await worker.close();
    }
  });

  it('reads ahead: the next scan is read while this one is consumed, before its consumer asks', async () => {
    const worker = newWorker();
    try {
      const dir = path.join(t.root, 'read-ahead', '-home-dev-app');
      fs.mkdirSync(dir, { recursive: true });
      const second = writeTranscript(dir, 9, 50);
      const expected = await inThread(second);
      const first = worker.scan(files[1]!, 0, opts(files[1]!), noRedaction);
      const ahead = worker.scan(second, 0, opts(second), noRedaction);
      await collect(first);
      // Nobody has asked `ahead` for anything yet; its batch still arrives.
      const open = (worker as unknown as { scans: Map<number, { pending: unknown[] }> }).scans;
      await vi.waitFor(() => expect([...open.values()].some((s) => s.pending.length > 0)).toBe(true), { timeout: 5000, interval: 10 });
      // The file is gone before the consumer starts: only a read that already happened can yield it.
      fs.rmSync(second);
      expect(summary(await collect(ahead))).toEqual(expected);
    } finally {
      await worker.close();
    }
  });

  it('scans consumed concurrently, later ones first, still each get their own batches', async () => {
    const worker = newWorker();
    try {
      const scans = files.map((f) => worker.scan(f, 0, opts(f), noRedaction));
      // The consumers start in reverse order: each waits for its own messages, which the worker
      // prepares in the order the scans were started.
      const results = await Promise.all([...scans].reverse().map((s) => collect(s)));
      results.reverse();
      for (let i = 0; i < files.length; i++) expect(summary(results[i]!)).toEqual(await inThread(files[i]!));
    } finally {
      await worker.close();
    }
  });

  it('a consumer that stops after one batch gives its credit back: the scans behind it complete', async () => {
    const worker = newWorker();
    try {
      const stopped = worker.scan(files[1]!, 0, opts(files[1]!), noRedaction);
      const behind = [files[2]!, files[3]!].map((f) => worker.scan(f, 0, opts(f), noRedaction));
      let seen = 0;
      for await (const b of stopped) {
        seen += b.count;
        break;
      }
      expect(seen).toBeGreaterThan(0);
      expect(seen).toBeLessThan(1600);
      expect(summary(await collect(behind[0]!))).toEqual(await inThread(files[2]!));
      expect(summary(await collect(behind[1]!))).toEqual(await inThread(files[3]!));
      // And the worker still serves new scans afterwards.
      expect(summary(await collect(worker.scan(files[0]!, 0, opts(files[0]!), noRedaction)))).toEqual(await inThread(files[0]!));
    } finally {
      await worker.close();
    }
  });

  it('a scan resumes from its offset, and a missing file fails only its own scan', async () => {
    const worker = newWorker();
    try {
      const whole = await collect(prepareBatches(files[3]!, 0, { ...opts(files[3]!), redact: null }));
      const from = whole[0]!.end;
      const missing = worker.scan(
        path.join(path.dirname(files[0]!), 'gone.jsonl'),
        0,
        { untilOffset: 10, sessionIdHint: null, agentIdHint: null },
        noRedaction,
      );
      const resumed = worker.scan(files[3]!, from, opts(files[3]!), noRedaction);
      await expect(collect(missing)).rejects.toThrow(/ENOENT|no such file/);
      const r = summary(await collect(resumed));
      expect(r.uuids).toEqual(summary(whole.slice(1)).uuids);
      expect(r.end).toBe(fs.statSync(files[3]!).size);
    } finally {
      await worker.close();
    }
  });

  it('a worker that dies fails every scan it held; the next scan starts a new worker', async () => {
    const worker = newWorker();
    try {
      const held = files.slice(0, 3).map((f) => worker.scan(f, 0, opts(f), noRedaction));
      // Kill the thread under the scans (what a crash in native code or an OOM would do).
      await (worker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      for (const s of held) await expect(collect(s)).rejects.toThrow(/worker/);
      expect(summary(await collect(worker.scan(files[4]!, 0, opts(files[4]!), noRedaction)))).toEqual(await inThread(files[4]!));
    } finally {
      await worker.close();
    }
  });
});
