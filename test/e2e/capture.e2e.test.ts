// The whole capture path with the REAL Claude Code CLI: Claude Code (offline, against the model
// stand-in) runs the real bundled hook on every event, the hook talks to a real rbkd, and the CLI
// shows what was captured.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HOOK_BUNDLE,
  assertBuilt,
  makeDataDir,
  queryAll,
  runCli,
  spoolFiles,
  startDaemon,
  status,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { REPO_ROOT, findClaudeBinary, runClaude, type RunClaudeResult } from './support/claude.js';
import { shellQuote } from './support/hook-recorder.js';

interface SessionJson {
  id: string;
  cwd: string | null;
  project: string | null;
  transcriptPath: string | null;
  status: string;
  endReason: string | null;
  startedAt: string | null;
  endedAt: string | null;
  counts: { prompts: number; toolCalls: number; toolFailures: number; subagents: number; hookEvents: number; interactions: number };
  tokens: { input: number; output: number; cacheCreation: number; cacheRead: number };
}
interface HookEventJson {
  eventId: string;
  eventName: string;
  toolName: string | null;
  toolUseId: string | null;
  agentId: string | null;
  via: string;
  problem: string | null;
  payloadBytes: number;
}

/** What a plain recorder hook saw when this scenario was captured (test/fixtures/.../hooks/NN-<Event>.json). */
function recordedEvents(scenario: string): string[] {
  const dir = path.join(REPO_ROOT, 'test', 'fixtures', 'claude-code', 'e2e-captured', scenario, 'hooks');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => f.replace(/^\d+-/, '').replace(/\.json$/, ''));
}

let t: TempRbk;
let d: DaemonProcess;
let sandboxes: string;
const hookCommand = `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  t = makeDataDir();
  sandboxes = path.join(t.root, 'claude');
  d = await startDaemon(t);
});

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

async function runScenario(scenario: string): Promise<{ run: RunClaudeResult; project: string; session: SessionJson; hookEvents: HookEventJson[] }> {
  const home = path.join(sandboxes, scenario, 'home');
  const project = path.join(sandboxes, scenario, 'project');
  const run = await runClaude({
    scenario,
    home,
    project,
    hookCommand,
    // runClaude drops inherited RBK_* variables; hand the test daemon's paths over explicitly.
    extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
  });
  expect(run.exitCode, `claude failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
  expect(run.result?.is_error).toBe(false);
  const sessionId = run.result.session_id as string;
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

  // SessionEnd may still be on its way when claude exits.
  const expected = recordedEvents(scenario).length;
  await waitFor(`${expected} hook events of ${sessionId}`, () => {
    const n = queryAll<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events WHERE session_id = ?', sessionId)[0]!.n;
    return n >= expected;
  });

  const list = await runCli(t, ['sessions', '--json']);
  expect(list.code, list.stderr).toBe(0);
  const listed = (JSON.parse(list.stdout) as SessionJson[]).find((s) => s.id === sessionId);
  expect(listed, `session ${sessionId} in rbk sessions --json`).toBeDefined();

  const show = await runCli(t, ['sessions', 'show', sessionId.slice(0, 8), '--json']);
  expect(show.code, show.stderr).toBe(0);
  const shown = JSON.parse(show.stdout) as { session: SessionJson; hookEvents: HookEventJson[] };
  expect(shown.session.id).toBe(sessionId);
  expect(shown.session.counts).toEqual(listed!.counts);
  return { run, project, session: shown.session, hookEvents: shown.hookEvents };
}

describe('capture with the real Claude Code CLI', () => {
  it('failing-build: the session, its counts and every hook event Claude Code fired', async () => {
    const { run, project, session, hookEvents } = await runScenario('failing-build');
    const sessionId = run.result.session_id as string;

    const names = hookEvents.map((e) => e.eventName);
    expect(names).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUseFailure', 'PreToolUse', 'PostToolUse', 'Stop', 'SessionEnd']);
    expect(names).toEqual(recordedEvents('failing-build'));
    expect(new Set(hookEvents.map((e) => e.eventId)).size).toBe(hookEvents.length);
    for (const e of hookEvents) {
      expect(e.via, e.eventName).toBe('direct');
      expect(e.problem, e.eventName).toBeNull();
      expect(e.payloadBytes).toBeGreaterThan(0);
    }
    const tools = hookEvents.filter((e) => e.eventName.includes('ToolUse'));
    expect(tools.every((e) => e.toolName === 'Bash')).toBe(true);
    expect(tools[0]!.toolUseId).toBe(tools[1]!.toolUseId);
    expect(tools[2]!.toolUseId).toBe(tools[3]!.toolUseId);
    expect(tools[0]!.toolUseId).not.toBe(tools[2]!.toolUseId);

    expect(session).toMatchObject({
      id: sessionId,
      status: 'ended',
      cwd: fs.realpathSync(project),
      project: 'project',
      transcriptPath: run.transcriptPath,
      counts: { prompts: 1, toolCalls: 2, toolFailures: 1, subagents: 0, hookEvents: 8 },
    });
    expect(session.endReason).toBeTruthy();
    expect(Date.parse(session.startedAt!)).toBeLessThanOrEqual(Date.parse(session.endedAt!));

    // The transcript Claude Code wrote is registered for ingestion.
    expect(fs.existsSync(run.transcriptPath!)).toBe(true);
    expect(queryAll(t, 'SELECT path, session_id FROM transcripts WHERE session_id = ?', sessionId)).toEqual([
      { path: run.transcriptPath, session_id: sessionId },
    ]);
    expect(spoolFiles(t)).toEqual([]);
  });

  it('agent-investigation: the subagent is counted once, its transcript registered', async () => {
    const { run, session, hookEvents } = await runScenario('agent-investigation');
    const sessionId = run.result.session_id as string;

    expect(hookEvents.map((e) => e.eventName)).toEqual(recordedEvents('agent-investigation'));
    const agentIds = new Set(hookEvents.filter((e) => e.agentId).map((e) => e.agentId));
    expect(agentIds.size).toBe(1);
    const [agentId] = [...agentIds] as string[];
    expect(hookEvents.filter((e) => e.eventName.startsWith('Subagent')).every((e) => e.agentId === agentId)).toBe(true);

    expect(session).toMatchObject({
      id: sessionId,
      status: 'ended',
      transcriptPath: run.transcriptPath,
      counts: { prompts: 1, toolCalls: 2, toolFailures: 0, subagents: 1, hookEvents: 10 },
    });
    const transcripts = queryAll<{ path: string; agent_id: string | null }>(
      t,
      'SELECT path, agent_id FROM transcripts WHERE session_id = ? ORDER BY path',
      sessionId,
    );
    expect(transcripts).toEqual([
      { path: run.transcriptPath, agent_id: null },
      { path: path.join(path.dirname(run.transcriptPath!), sessionId, 'subagents', `agent-${agentId}.jsonl`), agent_id: agentId },
    ]);
    for (const tr of transcripts) expect(fs.existsSync(tr.path), tr.path).toBe(true);

    const s = await status(t);
    expect(s.counts).toMatchObject({ sessions: 2, hookEvents: 18, spoolBacklog: 0 });
    expect(s.counts.transcripts).toBeGreaterThanOrEqual(3);
    expect(d.isRunning()).toBe(true);
    expect(d.log()).not.toMatch(/"level":"error"/);
  });
});
