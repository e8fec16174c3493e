// Backfill survives kill -9: a ~50 MB generated corpus (bench/corpus.mjs: realistic 2.1.x lines,
// split assistant responses with repeated usage, large tool results, subagents, one 20 MB
// session) is imported into one daemon cleanly, and into another that is killed twice in the
// middle of the import and restarted. After a final import the second database must hold
// exactly what the first does: same rows, same keys, same per-session counts and tokens.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus, type CorpusManifest } from '../../bench/corpus.mjs';
import { assertBuilt, makeDataDir, queryAll, queryOne, runCli, sleep, startDaemon, status, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { importJson, tableCounts, type ImportSummary } from './support.js';

const dirs: TempRbk[] = [];
const daemons: DaemonProcess[] = [];
let corpus: string;
let manifest: CorpusManifest;

beforeAll(() => {
  assertBuilt();
  const t = makeDataDir();
  dirs.push(t);
  corpus = path.join(t.root, 'corpus');
  manifest = generateCorpus(corpus, { seed: 424242, totalBytes: 50 * 1024 * 1024, bigFileBytes: 20 * 1024 * 1024, taskChance: 0.05 });
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill9()));
  for (const t of dirs) t.cleanup();
});

async function daemonFor(t: TempRbk): Promise<DaemonProcess> {
  const d = await startDaemon(t);
  daemons.push(d);
  return d;
}

/** Everything that must come out the same, as comparable JSON. */
function snapshot(t: TempRbk) {
  return {
    counts: tableCounts(t),
    sessions: queryAll(
      t,
      `SELECT id, t_prompts, t_tool_calls, t_tool_failures, t_subagents, interactions, input_tokens, output_tokens,
              cache_creation_tokens, cache_read_tokens, round(cost_usd, 9) AS cost, started_at, last_activity_at, cwd, model, title
       FROM sessions ORDER BY id`,
    ),
    keyList: queryAll<{ k: string }>(
      t,
      `SELECT uuid || '#' || block_index || '#' || coalesce(session_id, '') || '#' || hidden AS k FROM interactions ORDER BY k`,
    ).map((r) => r.k),
    usage: queryAll(
      t,
      'SELECT usage_key, session_id, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens FROM message_usage ORDER BY usage_key',
    ),
    subagents: queryAll(t, 'SELECT session_id, agent_id, kind, tool_use_id FROM subagents ORDER BY session_id, agent_id'),
    offsets: queryAll(t, 'SELECT path, byte_offset, lines, skipped FROM transcripts ORDER BY path'),
  };
}

describe('import resumes after kill -9', () => {
  it('two kills mid-import, restart, import again: the database equals a clean single import', async () => {
    expect(manifest.bytes).toBeGreaterThan(50 * 1024 * 1024);
    expect(manifest.list.some((f) => f.kind === 'subagent')).toBe(true);

    // Clean reference.
    const clean = makeDataDir();
    dirs.push(clean);
    const dc = await daemonFor(clean);
    const started = Date.now();
    const ref: ImportSummary = await importJson(clean, [corpus]);
    const cleanMs = Date.now() - started;
    expect(ref.errors).toEqual([]);
    expect(ref.files).toBe(manifest.files);
    expect(ref.bytes).toBe(manifest.bytes);
    const want = snapshot(clean);
    expect(want.counts.interactions).toBe(ref.interactionsAdded);
    await dc.stop();

    // Killed twice, at about a quarter and about two thirds of the way through.
    const t = makeDataDir();
    dirs.push(t);
    const progressAtKill: number[] = [];
    for (const fraction of [0.25, 0.66]) {
      const d = await daemonFor(t);
      const before = tableCounts(t).interactions;
      const cli = runCli(t, ['import', corpus, '--json'], { timeoutMs: 120_000 });
      // Wait until the import is visibly under way past the target, then pull the plug.
      const deadline = Date.now() + Math.max(cleanMs * 3, 30_000);
      for (;;) {
        const n = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')?.n ?? 0;
        if (n >= want.counts.interactions * fraction && n > before) break;
        if (Date.now() > deadline) throw new Error(`import did not reach ${fraction} in time (${n} rows); log:\n${d.log()}`);
        await sleep(10);
      }
      const exit = await d.kill9();
      expect(exit.signal).toBe('SIGKILL');
      const r = await cli;
      expect(r.code, 'the CLI must fail when the daemon dies under it').not.toBe(0);
      progressAtKill.push(tableCounts(t).interactions);
    }
    // The kills really interrupted it.
    expect(progressAtKill[0]!).toBeLessThan(want.counts.interactions);
    expect(progressAtKill[1]!).toBeLessThan(want.counts.interactions);
    expect(progressAtKill[1]!).toBeGreaterThanOrEqual(progressAtKill[0]!);

    const d = await daemonFor(t);
    const resumed = await importJson(t, [corpus]);
    expect(resumed.errors).toEqual([]);
    // Only what was not committed before the kills is read again.
    expect(resumed.interactionsAdded).toBe(want.counts.interactions - progressAtKill[1]!);
    expect(resumed.bytes).toBe(manifest.bytes);
    const got = snapshot(t);
    expect(got.counts).toEqual(want.counts);
    expect(got.keyList).toEqual(want.keyList);
    expect(got.usage).toEqual(want.usage);
    expect(got.subagents).toEqual(want.subagents);
    expect(got.sessions).toEqual(want.sessions);
    expect(got.offsets.map((o) => ({ ...(o as object), path: path.relative(corpus, (o as { path: string }).path) }))).toEqual(
      want.offsets.map((o) => ({ ...(o as object), path: path.relative(corpus, (o as { path: string }).path) })),
    );
    // And every file was read to its end.
    for (const o of got.offsets as { path: string; byte_offset: number }[]) expect(o.byte_offset).toBe(fs.statSync(o.path).size);
    expect((await status(t)).running).toBe(true);

    // One more import is a no-op.
    const again = await importJson(t, [corpus]);
    expect(again).toMatchObject({ interactionsAdded: 0, linesRead: 0 });
    await d.stop();
  }, 180_000);
});
