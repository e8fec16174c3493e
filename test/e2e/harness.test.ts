// End-to-end tests of the offline Claude Code harness itself (no rbk code): the real `claude`
// binary against the in-process model stand-in, with a recorder hook that logs every payload.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findClaudeBinary, loadScenario, runClaude, transcriptDirFor, type RunClaudeResult } from './support/claude.js';
import { createHookRecorder, type HookPayload, type HookRecorder } from './support/hook-recorder.js';
import { scenarioUsage, startModelStandIn, type Usage } from './support/model-stand-in.js';
import { modelUsageTotals, readJsonl, resultTotals, sessionFiles, usageTotals, type TokenTotals } from './support/transcripts.js';

let root: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-e2e-harness-'));
  await findClaudeBinary();
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

interface Sandbox {
  home: string;
  project: string;
  hooks: HookRecorder;
}

function sandbox(name: string): Sandbox {
  const dir = path.join(root, name);
  return { home: path.join(dir, 'home'), project: path.join(dir, 'project'), hooks: createHookRecorder(dir) };
}

const totals = (u: Usage): TokenTotals => ({
  input: u.input_tokens,
  output: u.output_tokens,
  cacheCreation: u.cache_creation_input_tokens,
  cacheRead: u.cache_read_input_tokens,
});

function expectSuccess(run: RunClaudeResult): void {
  expect(run.exitCode, `claude failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
  expect(run.result?.is_error).toBe(false);
  expect(run.result?.session_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(run.sessionId).toBe(run.result.session_id);
  expect(run.transcriptPath).toBeDefined();
  expect(fs.existsSync(run.transcriptPath!)).toBe(true);
}

const events = (payloads: HookPayload[]): string[] => payloads.map((p) => p.hook_event_name);

describe('model stand-in (no Claude Code)', () => {
  it('streams scripted replies, answers non-streaming and count_tokens, and falls back', async () => {
    const scenario = loadScenario('failing-build');
    const standIn = await startModelStandIn(scenario);
    try {
      const post = (url: string, body: unknown): Promise<Response> =>
        fetch(`${standIn.url}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const tools = [{ name: 'Bash' }];

      const streamed = await post('/v1/messages?beta=true', {
        model: 'm',
        stream: true,
        tools,
        messages: [{ role: 'user', content: 'The build is failing, please fix it' }],
      });
      expect(streamed.headers.get('request-id')).toBe('req_e2e_failing_build_0001');
      const frames = (await streamed.text())
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as { type: string; message?: { id: string }; usage?: Record<string, number>; delta?: { partial_json?: string } });
      expect(frames[0]?.type).toBe('message_start');
      expect(frames[0]?.message?.id).toBe('msg_e2e_failing_build_0001');
      expect(frames.at(-1)?.type).toBe('message_stop');
      const input = frames.flatMap((f) => (f.delta?.partial_json !== undefined ? [f.delta.partial_json] : [])).join('');
      expect(JSON.parse(input)).toEqual(scenario.responses[0]?.blocks[1]?.type === 'tool_use' ? scenario.responses[0].blocks[1].input : undefined);
      expect(frames.find((f) => f.type === 'message_delta')?.usage).toMatchObject({ output_tokens: 96, input_tokens: 4 });

      const plain = await post('/v1/messages', {
        model: 'm',
        tools,
        messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'generated/ directory is missing' }] }],
      });
      const body = (await plain.json()) as { id: string; stop_reason: string; usage: Record<string, number> };
      expect(body).toMatchObject({ id: 'msg_e2e_failing_build_0002', stop_reason: 'tool_use', usage: { cache_creation_input_tokens: 412 } });

      const counted = (await (await post('/v1/messages/count_tokens', { messages: [] })).json()) as { input_tokens: number };
      expect(counted.input_tokens).toBe(1024);

      const fallback = (await (await post('/v1/messages', { model: 'm', messages: [{ role: 'user', content: 'Write a title' }] })).json()) as {
        content: Array<{ text: string }>;
      };
      expect(fallback.content[0]?.text).toBe('OK.');
      expect(standIn.requests.map((r) => r.responseIndex)).toEqual([0, 1, null, null]);
      expect(standIn.unusedResponses()).toEqual([2]);
    } finally {
      await standIn.close();
    }
  });

  it('sends no request-id header when requestIds is false', async () => {
    const standIn = await startModelStandIn(loadScenario('failing-build-no-request-ids'));
    try {
      const res = await fetch(`${standIn.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
      expect(res.headers.get('request-id')).toBeNull();
      expect(standIn.requests[0]?.requestId).toBeUndefined();
    } finally {
      await standIn.close();
    }
  });
});

describe('real Claude Code, offline', () => {
  it('failing-build: fires the hooks, writes the transcript, reports deterministic usage', async () => {
    const box = sandbox('failing-build');
    const scenario = loadScenario('failing-build');
    const run = await runClaude({ scenario, home: box.home, project: box.project, hookCommand: box.hooks.command });
    expectSuccess(run);
    expect(run.transcriptPath!.startsWith(transcriptDirFor(box.home, box.project) + path.sep)).toBe(true);

    const payloads = box.hooks.read();
    expect(events(payloads)).toEqual([
      'SessionStart',
      'UserPromptSubmit',
      'PreToolUse',
      'PostToolUseFailure',
      'PreToolUse',
      'PostToolUse',
      'Stop',
      'SessionEnd',
    ]);
    for (const p of payloads) {
      expect(p.session_id).toBe(run.sessionId);
      expect(p.transcript_path).toBe(run.transcriptPath);
    }
    const [pre1, failure, pre2, post] = payloads.filter((p) => p.hook_event_name.includes('ToolUse'));
    expect(failure).toMatchObject({ tool_name: 'Bash', tool_use_id: pre1?.tool_use_id, is_interrupt: false });
    expect(String(failure?.error)).toContain('generated/ directory is missing');
    // The fake secrets reach hook payloads (and the transcript) unredacted.
    expect(String(failure?.error)).toContain('mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU');
    expect(post).toMatchObject({ tool_name: 'Bash', tool_use_id: pre2?.tool_use_id, tool_response: { stdout: 'build ok: 3 modules compiled' } });
    expect(typeof post?.duration_ms).toBe('number');
    expect(fs.readFileSync(run.transcriptPath!, 'utf8')).toContain('postgres://admin:hunter2@db.internal:5432/app');

    // Exact token accounting: Claude Code's own totals == the scenario's == the deduped transcript.
    const expected = totals(scenarioUsage(scenario));
    expect(resultTotals(run.result.usage)).toEqual(expected);
    expect(modelUsageTotals(run.result.modelUsage)).toEqual(expected);
    const lines = readJsonl(run.transcriptPath!);
    expect(usageTotals(lines)).toEqual(expected);
    expect(usageTotals(lines, 'naive').cacheRead).toBeGreaterThan(expected.cacheRead);
    expect(lines.filter((l) => l.type === 'assistant').every((l) => typeof l.requestId === 'string')).toBe(true);
    expect(run.requests.filter((r) => r.kind === 'messages').map((r) => r.responseIndex)).toEqual([0, 1, 2]);
  });

  it('failing-build-no-request-ids: the transcript has no requestId', async () => {
    const box = sandbox('no-request-ids');
    const scenario = loadScenario('failing-build-no-request-ids');
    const run = await runClaude({ scenario, home: box.home, project: box.project });
    expectSuccess(run);
    const assistant = readJsonl(run.transcriptPath!).filter((l) => l.type === 'assistant');
    expect(assistant.length).toBeGreaterThanOrEqual(3);
    for (const l of assistant) expect(l).not.toHaveProperty('requestId');
    expect(usageTotals(readJsonl(run.transcriptPath!))).toEqual(totals(scenarioUsage(scenario)));
  });

  it('agent-investigation: writes a subagent transcript and fires SubagentStart/SubagentStop', async () => {
    const box = sandbox('agent-investigation');
    const scenario = loadScenario('agent-investigation');
    const run = await runClaude({ scenario, home: box.home, project: box.project, hookCommand: box.hooks.command });
    expectSuccess(run);

    const files = sessionFiles(run.transcriptPath!);
    expect(files.subagents).toHaveLength(1);
    expect(files.metas).toHaveLength(1);
    const agentId = path.basename(files.subagents[0]!, '.jsonl').replace(/^agent-/, '');
    const meta = JSON.parse(fs.readFileSync(files.metas[0]!, 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ agentType: 'general-purpose', description: 'Find TODO comments' });

    const payloads = box.hooks.read();
    expect(events(payloads)).toEqual([
      'SessionStart',
      'UserPromptSubmit',
      'PreToolUse',
      'SubagentStart',
      'PreToolUse',
      'PostToolUse',
      'SubagentStop',
      'PostToolUse',
      'Stop',
      'SessionEnd',
    ]);
    const start = payloads.find((p) => p.hook_event_name === 'SubagentStart');
    const stop = payloads.find((p) => p.hook_event_name === 'SubagentStop');
    expect(start).toMatchObject({ agent_id: agentId, agent_type: 'general-purpose' });
    expect(stop).toMatchObject({ agent_id: agentId, agent_transcript_path: files.subagents[0] });
    const subBash = payloads.find((p) => p.hook_event_name === 'PostToolUse' && p.tool_name === 'Bash');
    expect(subBash).toMatchObject({ agent_id: agentId, session_id: run.sessionId });
    expect(JSON.stringify(subBash?.tool_response)).toContain('src/cache.ts:3');

    const sub = readJsonl(files.subagents[0]!);
    expect(sub.every((l) => l.isSidechain === true && l.agentId === agentId && l.sessionId === run.sessionId)).toBe(true);
    // result.usage covers the main thread only; modelUsage (and cost) include the subagent.
    expect(resultTotals(run.result.usage)).toEqual(totals(scenarioUsage(scenario, [0, 3])));
    expect(modelUsageTotals(run.result.modelUsage)).toEqual(totals(scenarioUsage(scenario)));
    expect(usageTotals(sub)).toEqual(totals(scenarioUsage(scenario, [1, 2])));
  });

  it('resume: a second prompt continues the same session file', async () => {
    const box = sandbox('resume');
    const scenario = loadScenario('resume');
    const first = await runClaude({ scenario, home: box.home, project: box.project, hookCommand: box.hooks.command });
    expectSuccess(first);
    const second = await runClaude({ scenario, home: box.home, project: box.project, hookCommand: box.hooks.command, resume: first.sessionId! });
    expectSuccess(second);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.transcriptPath).toBe(first.transcriptPath);
    expect(second.result.result).toContain('bluebird');
    expect(second.requests.filter((r) => r.kind === 'messages').map((r) => r.responseIndex)).toEqual([2, 3]);
    expect(resultTotals(second.result.usage)).toEqual(totals(scenarioUsage(scenario, [2, 3])));
    // Responses 4 and 5 belong to a second --resume (test/e2e/ingest.e2e.test.ts), not run here.
    expect(usageTotals(readJsonl(second.transcriptPath!))).toEqual(totals(scenarioUsage(scenario, [0, 1, 2, 3])));

    const starts = box.hooks.read().filter((p) => p.hook_event_name === 'SessionStart');
    expect(starts.map((p) => p.source)).toEqual(['startup', 'resume']);
  });
});
