// The real Claude Code CLI with its own telemetry on, set up by nothing but `rbk install` in a
// temp HOME (the settings' env block), against the model stand-in: every api_request it exports is
// stored once, their cost_usd adds up to Claude Code's own total_cost_usd, the session title
// request (which no transcript has) is counted as auxiliary, and tool durations and permission
// decisions show in `sessions show --json`. Then the daemon is killed with SIGKILL while Claude
// Code runs: nothing it stored is lost or doubled, and what Claude Code does about the exports
// that failed meanwhile is written down from what happens.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../ops/support.js';
import { assertBuilt, makeDataDir, queryAll, runCli, sleep, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { findClaudeBinary, runClaude } from './support/claude.js';

let t: TempRbk;
let d: DaemonProcess | undefined;
let home: string;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  const port = await freePort();
  t = makeDataDir({ config: `metrics: { enabled: false }\nui: { enabled: false }\notel: { listen: "127.0.0.1:${port}" }\n` });
  home = path.join(t.root, 'home');
  fs.mkdirSync(home, { recursive: true });
  // rbk install is the only thing that tells Claude Code about rbk: hooks and telemetry.
  const install = await runCli(t, ['install', '--no-service', '--no-path', '--json'], { env: { HOME: home } });
  expect(install.code, install.stderr).toBe(0);
  const settings = JSON.parse(fs.readFileSync(path.join(home, '.claude', 'settings.json'), 'utf8')) as { env: Record<string, string> };
  expect(settings.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT).toBe(`http://127.0.0.1:${port}/v1/logs`);
  d = await startDaemon(t, { env: { HOME: home } });
}, 600_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

interface ApiRequestRow {
  seq: number;
  cost_usd: number;
  query_source: string;
  input_tokens: number;
  session_id: string;
}
const apiRequests = (session: string) =>
  queryAll<ApiRequestRow>(
    t,
    `SELECT seq, cost_usd, query_source, input_tokens, session_id FROM telemetry_events WHERE name = 'api_request' AND session_id = ? ORDER BY seq`,
    session,
  );

// Claude Code batches its events and sends them every OTEL_LOGS_EXPORT_INTERVAL ms (5 s by default).
const claudeEnv = { OTEL_LOGS_EXPORT_INTERVAL: '500', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: undefined };

describe("Claude Code's own telemetry, through rbk install", () => {
  it('stores every api_request once, sums to total_cost_usd, counts the title request as auxiliary, and adds tool durations and permissions', async () => {
    const project = path.join(t.root, 'project-a');
    // Claude Code 2.1.197 in -p mode skips its session-title request when a SessionStart hook is
    // registered (checked event by event), so this project turns hooks off, as some do
    // ("disableAllHooks", which rbk doctor warns about): the title request is the auxiliary one,
    // and every tool duration and permission below can only have come from telemetry.
    fs.mkdirSync(path.join(project, '.claude'), { recursive: true });
    fs.writeFileSync(path.join(project, '.claude', 'settings.local.json'), '{ "disableAllHooks": true }\n');
    const run = await runClaude({ scenario: 'failing-build', home, project, extraEnv: claudeEnv });
    expect(run.exitCode, run.stderr).toBe(0);
    const session = run.sessionId as string;
    const messages = run.requests.filter((r) => r.kind === 'messages');
    // The conversation's three turns, and the session title (nonessential traffic is on here).
    expect(messages.length).toBe(4);
    const rows = await waitFor('every api_request stored', () => {
      const r = apiRequests(session);
      return r.length >= messages.length ? r : null;
    });
    expect(rows).toHaveLength(messages.length);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(rows.length);
    const billed = rows.reduce((a, r) => a + r.cost_usd, 0);
    expect(billed).toBeCloseTo(run.result.total_cost_usd as number, 9);

    // No hook announced the session: the transcript comes in by import (or the sweep, later).
    expect(queryAll(t, 'SELECT 1 FROM hook_events WHERE session_id = ?', session)).toEqual([]);
    const imp = await runCli(t, ['import', path.join(home, '.claude', 'projects'), '--json'], { env: { HOME: home } });
    expect(imp.code, imp.stderr).toBe(0);
    // The transcript's three responses are matched; the title request is not in it.
    const usage = JSON.parse((await runCli(t, ['usage', 'daily', '--project', 'project-a', '--json'])).stdout) as {
      totals: { totalCost: number };
      billed: { requests: number; costUsd: number; auxiliaryRequests: number; auxiliaryCostUsd: number; auxiliaryBySource: { source: string }[] };
    };
    expect(usage.billed.requests).toBe(4);
    expect(usage.billed.costUsd).toBeCloseTo(run.result.total_cost_usd as number, 9);
    expect(usage.billed.auxiliaryRequests).toBe(1);
    const title = messages.find((m) => m.toolNames.length === 0 && /title/i.test(m.system));
    expect(title, 'the stand-in saw a title request').toBeDefined();
    expect(usage.billed.auxiliaryCostUsd).toBeGreaterThan(0);
    expect(usage.billed.auxiliaryCostUsd).toBeCloseTo(usage.billed.costUsd - usage.totals.totalCost, 9);

    const show = JSON.parse((await runCli(t, ['sessions', 'show', session, '--json'])).stdout) as {
      timeline: { kind: string; toolUseId: string | null; durationMs: number | null; permission: string | null }[];
    };
    const tools = show.timeline.filter((e) => e.kind === 'tool');
    expect(tools).toHaveLength(2);
    for (const e of tools) {
      expect(e.permission).toBe('accept (config)');
      expect(e.durationMs).toBeGreaterThan(0);
    }
    const durations = queryAll<{ tool_use_id: string; duration_ms: number }>(
      t,
      `SELECT tool_use_id, duration_ms FROM telemetry_events WHERE name = 'tool_result' AND session_id = ?`,
      session,
    );
    expect(durations.map((r) => r.tool_use_id).sort()).toEqual(tools.map((e) => e.toolUseId).sort());

    // doctor: the receiver answers as rbk's, and the settings point at it.
    const doctor = await runCli(t, ['doctor', '--json'], { env: { HOME: home } });
    const check = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks.find((c) => c.id === 'telemetry');
    expect(check).toMatchObject({ status: 'pass' });
    expect(check!.summary).toContain('Claude Code sends its events there');
  }, 180_000);

  it('kill -9 of the daemon mid-session loses nothing it acknowledged and doubles nothing', async () => {
    const project = path.join(t.root, 'project-b');
    // Three model turns around two slow commands: the daemon dies after the first turn's request
    // is stored, is down while the second is exported, and is back for the third.
    const scenario = {
      name: 'kill9-telemetry',
      requestIds: true,
      prompt: 'Run the slow checks',
      responses: [
        { when: 'slow checks', blocks: [{ type: 'tool_use' as const, name: 'Bash', input: { command: 'sleep 1; echo first-check-done' } }] },
        { when: 'first-check-done', blocks: [{ type: 'tool_use' as const, name: 'Bash', input: { command: 'sleep 5; echo second-check-done' } }] },
        { when: 'second-check-done', blocks: [{ type: 'text' as const, text: 'Both checks passed.' }] },
      ],
    };
    const claude = runClaude({ scenario, home, project, extraEnv: claudeEnv, timeoutMs: 150_000 });
    const first = await waitFor(
      "the session's first api_request stored",
      () => {
        const r = queryAll<{ session_id: string }>(
          t,
          `SELECT session_id FROM telemetry_events WHERE name = 'api_request' AND session_id IN (SELECT id FROM sessions WHERE cwd LIKE ?)`,
          '%project-b%',
        );
        return r[0] ?? null;
      },
      60_000,
      20,
    );
    const storedBefore = queryAll<{ event_key: Buffer }>(t, 'SELECT event_key FROM telemetry_events WHERE session_id = ?', first.session_id).map((r) =>
      r.event_key.toString('hex'),
    );
    await d!.kill9();
    await sleep(1500);
    d = await startDaemon(t, { env: { HOME: home } });
    const run = await claude;
    expect(run.exitCode, run.stderr).toBe(0);
    await sleep(2000);
    const after = queryAll<{ event_key: Buffer; name: string }>(t, 'SELECT event_key, name FROM telemetry_events WHERE session_id = ?', first.session_id);
    const afterKeys = new Set(after.map((r) => r.event_key.toString('hex')));
    // Everything stored (and so acknowledged) before the kill is still there, once.
    for (const k of storedBefore) expect(afterKeys.has(k)).toBe(true);
    expect(afterKeys.size).toBe(after.length);
    // No api_request twice: each of Claude Code's sequence numbers once at most.
    const requests = apiRequests(first.session_id);
    expect(new Set(requests.map((r) => r.seq)).size).toBe(requests.length);
    const sent = run.requests.filter((r) => r.kind === 'messages').length;
    expect(requests.length).toBeLessThanOrEqual(sent);
    // Back up in time for the last turn: its request is stored.
    expect(requests.at(-1)!.seq).toBeGreaterThan(requests[0]!.seq);
    // What Claude Code did with the exports that failed while rbkd was down (docs/telemetry.md).
    const outcome = { sentRequests: sent, storedRequests: requests.length, storedBeforeKill: storedBefore.length, storedAfter: after.length };
    fs.writeFileSync(path.join(os.tmpdir(), 'rbk-telemetry-kill9.json'), `${JSON.stringify(outcome)}\n`);
    console.log('kill -9 mid-session:', outcome);
  }, 240_000);
});
