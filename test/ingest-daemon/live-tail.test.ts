// Live tailing through the real daemon: a SessionStart hook (the real hook bundle) names a
// transcript that does not exist yet; the test then writes the real 2.1.39 session (main file,
// subagent and compaction-summarizer files) in random chunk sizes, cutting lines anywhere, while
// the daemon tails. At the end the stored interactions and tokens must equal a one-shot parse of
// the final files, and the append → queryable lag is measured (loosely bounded here; the
// benchmark reports its percentiles).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  hookPayload,
  makeDataDir,
  queryAll,
  queryOne,
  runHook,
  sleep,
  startDaemon,
  status,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { dedupedTokens, parsedInteractionKeys, sessionTokens, showJson, storedInteractionKeys } from './support.js';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/claude-code/transcripts/spotter-v2.1.39-compaction', import.meta.url));
const SID = 'ae4a77f8-aedd-4bc1-888f-c94edc91af04';
const SOURCES = [`${SID}.jsonl`, `${SID}/subagents/agent-aac57f5.jsonl`, `${SID}/subagents/agent-acompact-946d2b.jsonl`];

let t: TempRbk;
let d: DaemonProcess;
beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  d = await startDaemon(t);
});
afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

/** mulberry32 */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('live tailing', () => {
  it('appends in random chunks (partial lines included) end up exactly as a one-shot parse of the final files', async () => {
    const project = path.join(t.root, 'projects', '-home-USER-projects-spotter');
    fs.mkdirSync(project, { recursive: true });
    const targets = SOURCES.map((rel) => ({ data: fs.readFileSync(path.join(FIXTURE_DIR, rel)), file: path.join(project, rel), written: 0 }));
    const main = targets[0]!;

    // Claude Code fires SessionStart before it writes the transcript.
    const hook = await runHook(t, hookPayload('SessionStart', SID, { transcript_path: main.file, source: 'startup' }));
    expect(hook.code, hook.stderr).toBe(0);
    await waitFor('the transcript to be registered', () => queryOne(t, 'SELECT 1 AS ok FROM transcripts WHERE path = ?', main.file));

    // Lag probe: each append that completes at least one line of the main file waits for the
    // daemon's offset to pass that line's end.
    const db = new Database(t.db, { readonly: true, fileMustExist: true });
    const offsetOf = db.prepare('SELECT byte_offset FROM transcripts WHERE path = ?').pluck();
    const waiting: { end: number; at: number }[] = [];
    const lags: number[] = [];
    const probe = setInterval(() => {
      const off = (offsetOf.get(main.file) as number | undefined) ?? 0;
      const now = performance.now();
      while (waiting.length > 0 && waiting[0]!.end <= off) lags.push(now - waiting.shift()!.at);
    }, 5);

    const rand = prng(0x5eed);
    try {
      // Mostly the main file; the subagent starts a third of the way in, the summarizer late.
      while (targets.some((x) => x.written < x.data.length)) {
        const progress = main.written / main.data.length;
        const open = targets.filter(
          (x, i) => x.written < x.data.length && (i === 0 || (i === 1 && progress > 0.33) || (i === 2 && progress > 0.8) || main.written === main.data.length),
        );
        const target = open[Math.floor(rand() * open.length)]!;
        const r = rand();
        const size = r < 0.3 ? 1 + Math.floor(rand() * 200) : r < 0.9 ? 200 + Math.floor(rand() * 20_000) : 20_000 + Math.floor(rand() * 200_000);
        const chunk = target.data.subarray(target.written, Math.min(target.data.length, target.written + size));
        fs.mkdirSync(path.dirname(target.file), { recursive: true });
        fs.appendFileSync(target.file, chunk);
        target.written += chunk.length;
        if (target === main) {
          const lastNl = main.data.lastIndexOf(0x0a, main.written - 1);
          if (lastNl >= 0 && (waiting.length === 0 || waiting.at(-1)!.end < lastNl + 1)) waiting.push({ end: lastNl + 1, at: performance.now() });
        }
        await sleep(Math.floor(rand() * 25));
      }
      await waitFor('every file read to its end', () => targets.every((x) => (offsetOf.get(x.file) as number | undefined) === x.data.length), 30_000).catch(
        (err) => {
          throw new Error(
            `${(err as Error).message}\n${JSON.stringify(queryAll(t, 'SELECT path, byte_offset, size, last_error FROM transcripts'), null, 1)}\n${d.log().slice(-3000)}`,
          );
        },
      );
      await waitFor('the lag probe to drain', () => waiting.length === 0, 5_000);
    } finally {
      clearInterval(probe);
      db.close();
    }

    // Interactions: exactly a one-shot parse of the three final files, each once.
    const expected = targets.flatMap((x) => parsedInteractionKeys(fs.readFileSync(x.file), { sessionIdHint: SID }));
    expect(new Set(expected).size).toBe(expected.length);
    expect(storedInteractionKeys(t, SID)).toEqual([...expected].sort());
    const { messages: _m, ...tokens } = dedupedTokens(targets.map((x) => x.file));
    expect(sessionTokens(t, SID)).toEqual(tokens);
    const show = await showJson(t, SID);
    expect(show.session.counts.subagents).toBe(1);
    expect(show.timeline.filter((e) => e.kind === 'compaction')).toHaveLength(2);
    expect((await status(t)).running).toBe(true);

    // Lag: loose bounds only (the machine is shared); bench/import.mjs measures p50/p95.
    lags.sort((a, b) => a - b);
    const p50 = lags[Math.floor(lags.length / 2)]!;
    expect(lags.length).toBeGreaterThan(50);
    expect(p50).toBeLessThan(1_000);
    expect(lags.at(-1)!).toBeLessThan(10_000);
    console.log(
      `live tail: ${lags.length} appends, lag p50 ${p50.toFixed(0)} ms, p90 ${lags[Math.floor(lags.length * 0.9)]!.toFixed(0)} ms, max ${lags.at(-1)!.toFixed(0)} ms`,
    );
  }, 120_000);
});
