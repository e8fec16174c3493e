// Codex rollouts through the transcript scanner: the token traps of both formats, on rollouts
// written the way Codex writes them (0.169's per-response token_usage_record; older versions'
// token_count only, re-emitted, and forks that replay their parent's history).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyTranscriptPath } from '../../daemon/ingest/transcripts/layout.js';
import { ScanStats, scanTranscript } from '../../daemon/ingest/transcripts/scan.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-codex-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const A = '01a23af4-5f69-70a2-a517-87e805dcf131';
const B = '01a23af4-7992-7f30-9519-3eb921c53435';
const at = (s: number) => new Date(Date.parse('2026-12-03T08:00:00Z') + s * 1000).toISOString();
const usage = (input: number, cached: number, output: number) => ({
  input_tokens: input,
  cached_input_tokens: cached,
  cache_write_input_tokens: 0,
  output_tokens: output,
  reasoning_output_tokens: 10,
  total_tokens: input + output,
});
const tokenCount = (s: number, total: ReturnType<typeof usage>, last: ReturnType<typeof usage>) => ({
  timestamp: at(s),
  type: 'event_msg',
  payload: { type: 'token_count', info: { total_token_usage: total, last_token_usage: last, model_context_window: 258400 } },
});

function write(name: string, lines: object[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return file;
}

async function scan(files: string[]): Promise<ScanStats> {
  const stats = new ScanStats();
  for (const f of files) {
    const layout = classifyTranscriptPath(f);
    for await (const s of scanTranscript(f, 0, { format: 'codex', sessionIdHint: layout.sessionId })) stats.add(s);
  }
  return stats;
}

const meta = (id: string, forkedFrom: string | null = null) => ({
  timestamp: at(0),
  type: 'session_meta',
  payload: { id, session_id: id, forked_from_id: forkedFrom, cwd: '/work/app', cli_version: '0.120.0', originator: 'codex_exec' },
});
const turn = (s: number) => ({ timestamp: at(s), type: 'turn_context', payload: { cwd: '/work/app', model: 'gpt-5-codex' } });

describe('Codex rollouts', () => {
  it('reads a rollout name as a Codex session', () => {
    expect(classifyTranscriptPath(`/home/me/.codex/sessions/2026/12/03/rollout-2026-12-03T08-10-23-${A}.jsonl`)).toMatchObject({
      role: 'session',
      layout: 'codex',
      sessionId: A,
    });
  });

  it('0.169: one usage row per response_id, never the token_count copies of it', async () => {
    const r1 = usage(1001, 200, 50);
    const r2 = usage(1052, 300, 60);
    const sum = usage(2053, 500, 110);
    const file = write(`rollout-2026-12-03T08-10-23-${A}.jsonl`, [
      { ...meta(A), ordinal: 0 },
      { ...turn(1), ordinal: 1 },
      { timestamp: at(2), ordinal: 2, type: 'token_usage_record', payload: { session_id: A, response_id: 'resp_1', usage: r1 } },
      { ...tokenCount(2, r1, r1), ordinal: 3 },
      { timestamp: at(3), ordinal: 4, type: 'token_usage_record', payload: { session_id: A, response_id: 'resp_2', usage: r2 } },
      { ...tokenCount(3, sum, r2), ordinal: 5 },
      // A re-emitted count: the same totals again.
      { ...tokenCount(4, sum, r2), ordinal: 6 },
    ]);
    const totals = (await scan([file])).totals();
    expect(totals).toMatchObject({ messages: 2, inputTokens: 2053 - 500, cacheReadTokens: 500, outputTokens: 110 });
  });

  it('older rollouts: token_count once per response, a re-emission and a fork replaying its parent counted once', async () => {
    const r1 = usage(1000, 100, 40);
    const r2 = usage(1100, 200, 50);
    const t1 = r1;
    const t2 = usage(2100, 300, 90);
    const parent = write(`rollout-2026-11-01T10-00-00-${A.replace('01a2', '0b00')}.jsonl`, [
      meta(A.replace('01a2', '0b00')),
      turn(1),
      tokenCount(2, t1, r1),
      tokenCount(2, t1, r1), // re-emitted
      tokenCount(3, t2, r2),
    ]);
    const r3 = usage(1200, 250, 30);
    const t3 = usage(3300, 550, 120);
    const fork = write(`rollout-2026-11-01T11-00-00-${B.replace('01a2', '0b00')}.jsonl`, [
      meta(B.replace('01a2', '0b00'), A.replace('01a2', '0b00')),
      turn(1),
      // The parent's history, replayed.
      tokenCount(2, t1, r1),
      tokenCount(3, t2, r2),
      // The fork's own turn.
      turn(5),
      tokenCount(6, t3, r3),
    ]);
    const totals = (await scan([parent, fork])).totals();
    expect(totals).toMatchObject({ messages: 3, inputTokens: 3300 - 550, cacheReadTokens: 550, outputTokens: 120 });
  });

  it('prompts, context, reasoning, tool calls and their outcome', async () => {
    const file = write(`rollout-2026-12-03T09-00-00-${B}.jsonl`, [
      { ...meta(B), ordinal: 0 },
      { ...turn(1), ordinal: 1 },
      {
        timestamp: at(1),
        ordinal: 2,
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>\n<cwd>/work/app</cwd>' }] },
      },
      {
        timestamp: at(2),
        ordinal: 3,
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'fix the build' }] },
      },
      { timestamp: at(3), ordinal: 4, type: 'response_item', payload: { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Looking at build.sh' }] } },
      {
        timestamp: at(4),
        ordinal: 5,
        type: 'response_item',
        payload: { type: 'function_call', name: 'exec_command', call_id: 'call_1', arguments: '{"cmd":"sh build.sh"}' },
      },
      {
        timestamp: at(5),
        ordinal: 6,
        type: 'response_item',
        payload: { type: 'function_call_output', call_id: 'call_1', output: 'Chunk ID: 1\nProcess exited with code 2\nOutput:\nbuild error' },
      },
      { timestamp: at(6), ordinal: 7, type: 'event_msg', payload: { type: 'user_message', message: 'fix the build' } },
    ]);
    const kinds: [string, string, boolean | null][] = [];
    for await (const s of scanTranscript(file, 0, { format: 'codex', sessionIdHint: B })) {
      if (s.parsed.ok) for (const i of s.parsed.interactions) kinds.push([i.kind, i.text || i.toolInput || '', i.isError]);
    }
    expect(kinds).toEqual([
      ['meta', '<environment_context>\n<cwd>/work/app</cwd>', null],
      ['user_prompt', 'fix the build', null],
      ['thinking', 'Looking at build.sh', null],
      ['tool_use', '{"cmd":"sh build.sh"}', null],
      ['tool_result', 'Chunk ID: 1\nProcess exited with code 2\nOutput:\nbuild error', true],
    ]);
  });
});
