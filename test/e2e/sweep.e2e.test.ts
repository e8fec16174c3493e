// The sweep with the real Claude Code CLI (offline, against the model stand-in): a session run with
// no hooks registered reaches rbk within one sweep interval, with Claude Code's own token totals;
// a session whose hooks were on is read once, through its hooks, and is not counted as one the
// hooks missed.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_BUNDLE, assertBuilt, makeDataDir, queryAll, queryOne, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { findClaudeBinary, runClaude } from './support/claude.js';
import { shellQuote } from './support/hook-recorder.js';

/** Every 2 s (node-cron's six-field form), so that "one sweep interval" is short enough to wait for. */
const SWEEP_EVERY = '*/2 * * * * *';

let t: TempRbk;
let d: DaemonProcess;
let home: string;

function modelUsageTokens(result: any): { input: number; output: number } {
  let input = 0;
  let output = 0;
  for (const m of Object.values<any>(result.modelUsage ?? {})) {
    input += m.inputTokens ?? 0;
    output += m.outputTokens ?? 0;
  }
  return { input, output };
}

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  t = makeDataDir({ config: `metrics: { enabled: false }\njobs:\n  sweep: "${SWEEP_EVERY}"\n` });
  home = path.join(t.root, 'home');
  // The daemon's ~/.claude/projects is the one Claude Code writes to.
  d = await startDaemon(t, { env: { HOME: home } });
});

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('sweep with the real Claude Code CLI', () => {
  it('a session run with no hooks registered is in rbk within one sweep interval', async () => {
    const run = await runClaude({ scenario: 'failing-build', home, project: path.join(t.root, 'no-hooks') });
    expect(run.exitCode, run.stderr).toBe(0);
    const id = run.sessionId!;
    const expected = modelUsageTokens(run.result);
    // A sweep may run while Claude Code is still writing, and read part of the transcript; the next
    // one reads the rest. So wait for the whole session; on a timeout, say what was last seen.
    let last: { input_tokens: number; output_tokens: number; t_tool_calls: number } | undefined;
    const session = await waitFor(
      'the sweep to read the whole session',
      () => {
        last = queryOne<{ input_tokens: number; output_tokens: number; t_tool_calls: number }>(
          t,
          'SELECT input_tokens, output_tokens, t_tool_calls FROM sessions WHERE id = ?',
          id,
        );
        return last && last.output_tokens >= expected.output && last.input_tokens >= expected.input ? last : null;
      },
      10_000,
    ).catch((err) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`);
    });
    expect({ input: session.input_tokens, output: session.output_tokens }).toEqual(expected);
    expect(session.t_tool_calls).toBe(2);
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events WHERE session_id = ?', id)!.n).toBe(0);
    expect(queryOne<{ source: string }>(t, 'SELECT source FROM transcripts WHERE session_id = ?', id)!.source).toBe('sweep');
    const unannounced = await waitFor('a sweep run that counts it', () =>
      queryAll<{ counts: string }>(t, `SELECT counts FROM job_runs WHERE job = 'sweep' AND status = 'ok'`).find((r) => JSON.parse(r.counts).unannounced === 1),
    );
    expect(JSON.parse(unannounced.counts).newFiles).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('a session whose hooks were on is read once and is not counted as missed', async () => {
    const hookCommand = `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`;
    // Another scenario: the stand-in's message ids are per scenario, and usage is keyed on them.
    const run = await runClaude({
      scenario: 'failing-build-no-request-ids',
      home,
      project: path.join(t.root, 'with-hooks'),
      hookCommand,
      extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const id = run.sessionId!;
    await waitFor('its hook events', () =>
      queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events WHERE session_id = ?', id)!.n >= 8 ? true : null,
    );
    // Let a few sweeps pass over the finished transcript.
    const after = Date.now();
    await waitFor(
      'two more sweeps',
      () =>
        queryOne<{ n: number }>(t, `SELECT count(*) AS n FROM job_runs WHERE job = 'sweep' AND status = 'ok' AND started_at > ?`, after)!.n >= 2 ? true : null,
      15_000,
    );
    const s = queryOne<{ input_tokens: number; output_tokens: number; interactions: number }>(
      t,
      'SELECT input_tokens, output_tokens, interactions FROM sessions WHERE id = ?',
      id,
    )!;
    expect({ input: s.input_tokens, output: s.output_tokens }).toEqual(modelUsageTokens(run.result));
    // Stored once: as many rows as distinct (uuid, block) in the store, and the session's own count agrees.
    const rows = queryOne<{ n: number; distinct: number }>(
      t,
      'SELECT count(*) AS n, count(DISTINCT uuid || \':\' || block_index) AS "distinct" FROM interactions WHERE session_id = ?',
      id,
    )!;
    expect(rows.n).toBe(rows.distinct);
    expect(queryOne<{ source: string }>(t, 'SELECT source FROM transcripts WHERE session_id = ?', id)!.source).toBe('hook');
    const missed = queryAll<{ id: string }>(
      t,
      `SELECT s.id FROM sessions s WHERE EXISTS (SELECT 1 FROM transcripts x WHERE x.session_id = s.id AND x.source = 'sweep') AND NOT EXISTS (SELECT 1 FROM hook_events h WHERE h.session_id = s.id)`,
    );
    expect(missed.map((m) => m.id)).not.toContain(id);
    expect(missed).toHaveLength(1);
  }, 120_000);
});
