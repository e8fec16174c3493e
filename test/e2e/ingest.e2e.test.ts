// Transcript ingestion against the REAL Claude Code CLI: Claude Code (offline, scripted by the
// model stand-in) runs with rbk's real hook bundle registered for every event; the real daemon
// follows the transcript the hooks name. Claude Code's own JSON result is the reference: its
// modelUsage (summed over models, subagents included) and total_cost_usd must equal what rbk
// derived from the transcript, token for token.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  HOOK_BUNDLE,
  assertBuilt,
  makeDataDir,
  queryAll,
  queryOne,
  runCli,
  startDaemon,
  status,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { dedupedTokens, parsedInteractionKeys, sessionTokens, showJson, storedInteractionKeys, type Tokens } from '../ingest-daemon/support.js';
import { findClaudeBinary, runClaude, type RunClaudeResult } from './support/claude.js';
import { shellQuote } from './support/hook-recorder.js';
import { sessionFiles } from './support/transcripts.js';

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
}, 600_000);

const daemons: DaemonProcess[] = [];
const dirs: TempRbk[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
  for (const t of dirs.splice(0)) t.cleanup();
});
afterAll(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
});

interface Box {
  t: TempRbk;
  d: DaemonProcess;
  home: string;
  project: string;
  /** runClaude strips RBK_* from the environment, so the hook gets them back through extraEnv. */
  extraEnv: Record<string, string>;
  hookCommand: string;
}

async function box(): Promise<Box> {
  const t = makeDataDir();
  dirs.push(t);
  const d = await startDaemon(t);
  daemons.push(d);
  return {
    t,
    d,
    home: path.join(t.root, 'home'),
    project: path.join(t.root, 'project'),
    extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
    hookCommand: `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`,
  };
}

async function claude(b: Box, scenario: string, resume?: string): Promise<RunClaudeResult> {
  const run = await runClaude({ scenario, home: b.home, project: b.project, hookCommand: b.hookCommand, extraEnv: b.extraEnv, ...(resume ? { resume } : {}) });
  expect(run.exitCode, `claude failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
  expect(run.result?.is_error).toBe(false);
  expect(run.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  return run;
}

/** Claude Code's own totals: modelUsage summed over every model it used. */
function modelUsageTokens(result: any): Tokens {
  const t: Tokens = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  for (const m of Object.values<any>(result.modelUsage ?? {})) {
    t.input += m.inputTokens ?? 0;
    t.output += m.outputTokens ?? 0;
    t.cacheCreation += m.cacheCreationInputTokens ?? 0;
    t.cacheRead += m.cacheReadInputTokens ?? 0;
  }
  return t;
}

const addTokens = (a: Tokens, b: Tokens): Tokens => ({
  input: a.input + b.input,
  output: a.output + b.output,
  cacheCreation: a.cacheCreation + b.cacheCreation,
  cacheRead: a.cacheRead + b.cacheRead,
});

/**
 * Waits until the daemon's session totals reach `expected` (the transcript is written
 * asynchronously and tailed after the hooks fire), then returns `rbk sessions show --json`.
 */
async function waitForTokens(b: Box, sessionId: string, expected: Tokens) {
  try {
    await waitFor(
      'session tokens to be ingested',
      () => {
        const got = sessionTokens(b.t, sessionId);
        return got !== undefined && JSON.stringify(got) === JSON.stringify(expected);
      },
      20_000,
    );
  } catch {
    /* fall through: the assertion below shows the difference */
  }
  const show = await showJson(b.t, sessionId);
  expect(show.session.tokens).toEqual(expected);
  return show;
}

/** Sanity: the independent count from the raw JSONL agrees with Claude Code (so the reference is not circular). */
function expectTranscriptAgrees(run: RunClaudeResult, expected: Tokens): void {
  const files = sessionFiles(run.transcriptPath!);
  const { messages: _m, ...raw } = dedupedTokens([files.main, ...files.subagents]);
  expect(raw).toEqual(expected);
}

describe('rbk ingests what real Claude Code writes', () => {
  for (const scenario of ['failing-build', 'failing-build-no-request-ids']) {
    it(`${scenario}: session tokens and cost equal Claude Code's own totals`, async () => {
      const b = await box();
      const run = await claude(b, scenario);
      const expected = modelUsageTokens(run.result);
      expect(expected.output).toBeGreaterThan(0);
      expectTranscriptAgrees(run, expected);

      const show = await waitForTokens(b, run.sessionId!, expected);
      expect(show.session.costUsd).not.toBeNull();
      expect(Math.abs(show.session.costUsd! - run.result.total_cost_usd)).toBeLessThan(1e-6);
      expect(show.session.transcriptPath).toBe(run.transcriptPath);
      // The usage report is exact too: its row for this session is Claude Code's own modelUsage.
      const report = await runCli(b.t, ['usage', 'session', '--json']);
      expect(report.code, report.stderr).toBe(0);
      const row = (
        JSON.parse(report.stdout) as {
          sessions: {
            sessionId: string;
            inputTokens: number;
            outputTokens: number;
            cacheCreationTokens: number;
            cacheReadTokens: number;
            totalCost: number | null;
          }[];
        }
      ).sessions.find((r) => r.sessionId === run.sessionId);
      expect(row).toMatchObject({
        inputTokens: expected.input,
        outputTokens: expected.output,
        cacheCreationTokens: expected.cacheCreation,
        cacheReadTokens: expected.cacheRead,
      });
      expect(Math.abs(row!.totalCost! - run.result.total_cost_usd)).toBeLessThan(1e-6);
      // The hooks arrived too, and the failed Bash call is marked in the timeline.
      expect(show.hookEvents.map((e) => e.eventName)).toContain('PostToolUseFailure');
      const tools = show.timeline.filter((e) => e.kind === 'tool');
      expect(tools.map((e) => [e.toolName, e.status])).toEqual([
        ['Bash', 'error'],
        ['Bash', 'ok'],
      ]);
      expect(tools[0]!.detail).toContain('generated/ directory is missing');
      expect(show.session.counts).toMatchObject({ prompts: 1, toolCalls: 2, toolFailures: 1 });

      // Stored interactions are exactly a one-shot parse of the final transcript, no more.
      const keys = parsedInteractionKeys(fs.readFileSync(run.transcriptPath!)).sort();
      await waitFor('interactions to match the transcript', () => JSON.stringify(storedInteractionKeys(b.t, run.sessionId!)) === JSON.stringify(keys));
      const usageRows = queryAll<{ request_id: string | null }>(b.t, 'SELECT request_id FROM message_usage WHERE session_id = ?', run.sessionId);
      const mainResponses = run.requests.filter((r) => r.kind === 'messages' && r.responseIndex !== null).length;
      expect(usageRows).toHaveLength(mainResponses);
      if (scenario.includes('no-request-ids')) expect(usageRows.every((r) => r.request_id === null)).toBe(true);
      else expect(usageRows.every((r) => typeof r.request_id === 'string')).toBe(true);
      expect((await status(b.t)).running).toBe(true);
    }, 180_000);
  }

  it('agent-investigation: the subagent is linked and its tokens are in the session totals', async () => {
    const b = await box();
    const run = await claude(b, 'agent-investigation');
    const expected = modelUsageTokens(run.result);
    expectTranscriptAgrees(run, expected);
    // modelUsage includes the subagent, result.usage does not: make sure the test can tell.
    expect(run.result.usage.output_tokens).toBeLessThan(expected.output);

    const show = await waitForTokens(b, run.sessionId!, expected);
    expect(Math.abs(show.session.costUsd! - run.result.total_cost_usd)).toBeLessThan(1e-6);
    const files = sessionFiles(run.transcriptPath!);
    expect(files.subagents).toHaveLength(1);
    const agentId = path.basename(files.subagents[0]!, '.jsonl').replace(/^agent-/, '');
    await waitFor('the subagent to be linked', () => showJson(b.t, run.sessionId!).then((s) => s.session.counts.subagents === 1));

    const again = await showJson(b.t, run.sessionId!);
    expect(again.session.counts.subagents).toBe(1);
    const agentToolUse = again.timeline.find((e) => e.kind === 'tool' && e.toolName === 'Agent');
    expect(agentToolUse).toBeDefined();
    const span = again.timeline.filter((e) => e.kind === 'subagent');
    expect(span).toHaveLength(1);
    expect(span[0]).toMatchObject({ agentId, toolUseId: agentToolUse!.toolUseId });
    expect(span[0]!.text).toContain('Find TODO comments');
    // The subagent's own Bash call is in the timeline, attributed to it.
    expect(again.timeline.some((e) => e.kind === 'tool' && e.toolName === 'Bash' && e.agentId === agentId && e.status === 'ok')).toBe(true);
    const row = queryOne<{ kind: string; tool_use_id: string; transcript_path: string }>(
      b.t,
      'SELECT kind, tool_use_id, transcript_path FROM subagents WHERE session_id = ?',
      run.sessionId,
    );
    expect(row).toEqual({ kind: 'conversation', tool_use_id: agentToolUse!.toolUseId, transcript_path: files.subagents[0] });
  }, 180_000);

  it('resume: the second run adds only its new interactions, and tokens are both runs summed', async () => {
    const b = await box();
    const first = await claude(b, 'resume');
    const firstTokens = modelUsageTokens(first.result);
    await waitForTokens(b, first.sessionId!, firstTokens);
    const sizeAfterFirst = fs.statSync(first.transcriptPath!).size;
    const keysFirst = parsedInteractionKeys(fs.readFileSync(first.transcriptPath!)).sort();
    await waitFor('first run interactions', () => JSON.stringify(storedInteractionKeys(b.t, first.sessionId!)) === JSON.stringify(keysFirst));

    const second = await claude(b, 'resume', first.sessionId!);
    expect(second.sessionId).toBe(first.sessionId);
    const total = addTokens(firstTokens, modelUsageTokens(second.result));
    await waitForTokens(b, first.sessionId!, total);

    // Claude Code 2.1.197 appends the resumed conversation to the same file.
    const all = fs.readFileSync(second.transcriptPath!);
    const keysAll = parsedInteractionKeys(all).sort();
    const newKeys = parsedInteractionKeys(all.subarray(sizeAfterFirst)).filter((k) => !keysFirst.includes(k));
    expect(newKeys.length).toBeGreaterThan(0);
    expect(keysAll.length).toBe(keysFirst.length + newKeys.length);
    await waitFor('resumed interactions', () => JSON.stringify(storedInteractionKeys(b.t, first.sessionId!)) === JSON.stringify(keysAll));
    const dup = queryOne<{ rows: number; distinctKeys: number }>(
      b.t,
      `SELECT count(*) AS rows, (SELECT count(*) FROM (SELECT DISTINCT uuid, block_index FROM interactions WHERE session_id = ?)) AS distinctKeys FROM interactions WHERE session_id = ?`,
      first.sessionId,
      first.sessionId,
    )!;
    expect(dup.rows).toBe(dup.distinctKeys);
    expect(dup.rows).toBe(keysFirst.length + newKeys.length);
    const show = await showJson(b.t, first.sessionId!);
    expect(show.session.counts.prompts).toBe(2);
    expect(Math.abs(show.session.costUsd! - (first.result.total_cost_usd + second.result.total_cost_usd))).toBeLessThan(1e-6);
  }, 240_000);

  it('resumed twice: tool calls and prompts are the distinct ones, tokens are what Claude Code reports', async () => {
    const b = await box();
    const first = await claude(b, 'resume');
    const second = await claude(b, 'resume', first.sessionId!);
    const third = await runClaude({
      scenario: 'resume',
      home: b.home,
      project: b.project,
      hookCommand: b.hookCommand,
      extraEnv: b.extraEnv,
      resume: first.sessionId!,
      prompt: 'Add the launch date 2027-01-15 to NOTES.md',
    });
    expect(third.exitCode, third.stderr).toBe(0);
    expect([second.sessionId, third.sessionId]).toEqual([first.sessionId, first.sessionId]);
    const total = [first, second, third].map((r) => modelUsageTokens(r.result)).reduce(addTokens);
    const show = await waitForTokens(b, first.sessionId!, total);
    // What the transcript holds, counted without rbk: distinct tool_use ids and typed prompts.
    const toolIds = new Set<string>();
    const prompts = new Set<string>();
    for (const line of fs.readFileSync(third.transcriptPath!, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const o = JSON.parse(line);
      const content = o.message?.content;
      if (o.type === 'assistant' && Array.isArray(content)) for (const c of content) if (c.type === 'tool_use') toolIds.add(c.id);
      if (o.type === 'user' && typeof content === 'string' && !o.isMeta && !content.startsWith('<')) prompts.add(content);
    }
    expect(toolIds.size).toBe(3);
    expect(prompts.size).toBe(3);
    await waitFor('the third run in the session', async () =>
      (await showJson(b.t, first.sessionId!)).session.counts.toolCalls === toolIds.size ? true : null,
    );
    const after = await showJson(b.t, first.sessionId!);
    expect(after.session.counts).toMatchObject({ toolCalls: toolIds.size, prompts: prompts.size, toolFailures: 0 });
    expect(show.session.tokens).toEqual(total);
  }, 300_000);
});
