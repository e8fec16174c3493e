// Transcript fidelity (issue 19), through the real daemon and CLI, on fixtures that copy the shapes
// of real archives with our own text:
// - a resume across Claude Code versions that wrote earlier lines again under new uuids;
// - Windows, UNC and worktree working directories;
// - user lines that hold only IDE or system context;
// - API errors with a transport cause and retries.
// Then the repair: a store written by the previous rules (duplicates stored, context counted as
// prompts, projects by last path segment) gets, at the next start, what a fresh import gives.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, queryAll, queryOne, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { legacyAgentId } from '../../daemon/ingest/legacy-sidechains.js';
import { dedupeLines, importJson, showJson, type ShowJson, uuidFor } from './support.js';
import { registerFunctions } from '../../daemon/store/db.js';

const RESUMED = uuidFor(0x19, 1);
const WINDOWS = uuidFor(0x19, 2);
const UNC = uuidFor(0x19, 3);
const WORKTREE = uuidFor(0x19, 4);
const IDE = uuidFor(0x19, 5);
const OFFLINE = uuidFor(0x19, 6);
const SEARCH = uuidFor(0x19, 7);
const LEGACY = uuidFor(0x19, 8);

const at = (i: number) => new Date(Date.UTC(2026, 0, 20, 9, 0, 0) + i * 1000).toISOString();

function base(sessionId: string, uuid: string, i: number, extra: Record<string, unknown> = {}) {
  return {
    parentUuid: null,
    isSidechain: false,
    userType: 'external',
    cwd: '/home/dev/shop',
    sessionId,
    version: '2.1.11',
    gitBranch: 'main',
    uuid,
    timestamp: at(i),
    ...extra,
  };
}
const usage = { input_tokens: 4, output_tokens: 120, cache_creation_input_tokens: 300, cache_read_input_tokens: 9000 };
const prompt = (s: string, uuid: string, i: number, content: unknown, extra = {}) => ({
  ...base(s, uuid, i, extra),
  type: 'user',
  message: { role: 'user', content },
});
const assistant = (s: string, uuid: string, i: number, msg: string, block: unknown, extra = {}) => ({
  ...base(s, uuid, i, extra),
  type: 'assistant',
  requestId: `req_${msg}`,
  message: { id: msg, model: 'claude-sonnet-4-5-20250929', role: 'assistant', type: 'message', content: [block], usage },
});
const bash = (id: string, command: string) => ({ type: 'tool_use', id, name: 'Bash', input: { command } });
const result = (s: string, uuid: string, i: number, toolUseId: string, output: string, isError = false, extra = {}) => ({
  ...base(s, uuid, i, extra),
  type: 'user',
  message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUseId, content: output, ...(isError ? { is_error: true } : {}) }] },
  toolUseResult: { stdout: isError ? '' : output, stderr: isError ? output : '', interrupted: false, isImage: false },
});

/** The first run (2.1.11), then a resume by 2.1.14 that writes the first run's lines again under new uuids, then new work. */
function resumedSession(): object[] {
  const s = RESUMED;
  const first = [
    prompt(s, 'a0000000-0000-4000-8000-000000000001', 0, 'the checkout test fails, fix it'),
    assistant(s, 'a0000000-0000-4000-8000-000000000002', 1, 'msg_r1', { type: 'thinking', thinking: 'Run the test first.', signature: 'sig' }),
    assistant(s, 'a0000000-0000-4000-8000-000000000003', 2, 'msg_r1', bash('toolu_r1', 'npm test -- checkout')),
    result(s, 'a0000000-0000-4000-8000-000000000004', 3, 'toolu_r1', 'FAIL checkout.test.js: expected 3 items, got 2', true),
    assistant(s, 'a0000000-0000-4000-8000-000000000005', 4, 'msg_r2', bash('toolu_r2', "sed -i 's/slice(1)/slice(0)/' cart.js")),
    result(s, 'a0000000-0000-4000-8000-000000000006', 5, 'toolu_r2', ''),
    assistant(s, 'a0000000-0000-4000-8000-000000000007', 6, 'msg_r3', { type: 'text', text: 'Fixed the off-by-one in cart.js.' }),
  ];
  // The resume rewrote every earlier line with a new uuid (same content, same timestamps).
  const replay = first.map((l) => ({ ...(l as Record<string, unknown>), uuid: `b${(l as { uuid: string }).uuid.slice(1)}`, version: '2.1.14' }));
  const v = { version: '2.1.14' };
  const after = [
    prompt(s, 'c0000000-0000-4000-8000-000000000001', 100, 'now run the whole suite', v),
    assistant(s, 'c0000000-0000-4000-8000-000000000002', 101, 'msg_r4', bash('toolu_r3', 'npm test'), v),
    result(s, 'c0000000-0000-4000-8000-000000000003', 102, 'toolu_r3', 'Tests: 41 passed', false, v),
    assistant(s, 'c0000000-0000-4000-8000-000000000004', 103, 'msg_r5', { type: 'text', text: 'All 41 tests pass.' }, v),
  ];
  return [...first, ...replay, ...after];
}

function simpleSession(s: string, cwd: string, n: number): object[] {
  return [
    prompt(s, uuidFor(0x1900 + n, 1), 0, `hello from ${cwd}`, { cwd }),
    assistant(s, uuidFor(0x1900 + n, 2), 1, `msg_p${n}`, { type: 'text', text: 'Hello.' }, { cwd }),
  ];
}

function ideSession(): object[] {
  const s = IDE;
  const opened = {
    type: 'text',
    text: '<ide_opened_file>The user opened the file /home/dev/shop/cart.js in the IDE. This may or may not be related to the current task.</ide_opened_file>',
  };
  const selection = {
    type: 'text',
    text: '<ide_selection>The user selected the lines 10 to 12 from /home/dev/shop/cart.js:\nreturn items.slice(1);\n</ide_selection>',
  };
  return [
    prompt(s, uuidFor(0x1950, 1), 0, [opened]),
    prompt(s, uuidFor(0x1950, 2), 1, [opened, { type: 'text', text: 'why does this drop the first item?' }]),
    assistant(s, uuidFor(0x1950, 3), 2, 'msg_i1', { type: 'text', text: 'slice(1) skips index 0.' }),
    prompt(s, uuidFor(0x1950, 4), 3, [selection]),
    prompt(s, uuidFor(0x1950, 5), 4, '<system-reminder>\nThe user changed cart.js.\n</system-reminder>'),
    prompt(s, uuidFor(0x1950, 6), 5, 'fix it then'),
  ];
}

function offlineSession(): object[] {
  const s = OFFLINE;
  const socket = { code: 'FailedToOpenSocket', path: 'https://api.anthropic.com/v1/messages?beta=true', errno: 0 };
  return [
    prompt(s, uuidFor(0x1960, 1), 0, 'deploy it'),
    {
      ...base(s, uuidFor(0x1960, 2), 1),
      type: 'system',
      subtype: 'api_error',
      level: 'error',
      cause: socket,
      error: { cause: socket },
      retryInMs: 2400,
      retryAttempt: 3,
      maxRetries: 10,
    },
    {
      ...base(s, uuidFor(0x1960, 3), 2),
      type: 'system',
      subtype: 'api_error',
      level: 'error',
      error: { status: 529, error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
      retryInMs: 5100,
      retryAttempt: 4,
      maxRetries: 10,
    },
    {
      ...base(s, uuidFor(0x1960, 4), 3),
      type: 'assistant',
      isApiErrorMessage: true,
      error: 'server_error',
      message: {
        id: 'msg_o1',
        model: '<synthetic>',
        role: 'assistant',
        type: 'message',
        content: [{ type: 'text', text: 'API Error: Unable to connect to API (FailedToOpenSocket)' }],
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    },
  ];
}

/** Web searches three ways: results with server tool ids (older), searchCount (recent), a response's own count. */
function searchSession(): object[] {
  const s = SEARCH;
  const search = (id: string, query: string) => ({ type: 'tool_use', id, name: 'WebSearch', input: { query } });
  const noSearches = { ...usage, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 } };
  const withUsage = (line: any, u: object) => ({ ...line, message: { ...line.message, usage: u } });
  return [
    prompt(s, uuidFor(0x1970, 1), 0, 'what changed in node 24 streams?'),
    withUsage(assistant(s, uuidFor(0x1970, 2), 1, 'msg_w1', search('toolu_w1', 'node 24 streams changes')), noSearches),
    {
      ...result(s, uuidFor(0x1970, 3), 2, 'toolu_w1', 'Web search results for query: "node 24 streams changes"'),
      toolUseResult: {
        query: 'node 24 streams changes',
        results: [
          { tool_use_id: 'srvtoolu_01', content: [{ title: 'Node.js 24 release notes', url: 'https://nodejs.org/en/blog/release/v24.0.0' }] },
          'Node 24 changed the default highWaterMark.',
          { tool_use_id: 'srvtoolu_02', content: [{ title: 'Streams API', url: 'https://nodejs.org/api/stream.html' }] },
        ],
        durationSeconds: 3.1,
      },
    },
    withUsage(assistant(s, uuidFor(0x1970, 4), 3, 'msg_w2', search('toolu_w2', 'highWaterMark default node 24')), noSearches),
    {
      ...result(s, uuidFor(0x1970, 5), 4, 'toolu_w2', 'Web search results for query: "highWaterMark default node 24"'),
      toolUseResult: { query: 'highWaterMark default node 24', results: [], durationSeconds: 5.2, searchCount: 3 },
    },
    withUsage(assistant(s, uuidFor(0x1970, 6), 5, 'msg_w3', { type: 'text', text: 'It is 64 KiB now.' }), {
      ...usage,
      server_tool_use: { web_search_requests: 2 },
    }),
  ];
}

/**
 * Claude Code 1.0.98: subagents inline, isSidechain lines with no agentId. One Task, then two in
 * parallel (one response, interleaved sidechains), then a sidechain nothing spawned.
 */
function legacySession(): object[] {
  const s = LEGACY;
  const v = { version: '1.0.98' };
  const side = (uuid: string, parentUuid: string | null) => ({ ...v, isSidechain: true, parentUuid, uuid });
  const task = (id: string, description: string, taskPrompt: string) => ({
    type: 'tool_use',
    id,
    name: 'Task',
    input: { description, prompt: taskPrompt, subagent_type: 'general-purpose' },
  });
  const tool = (id: string, name: string, input: object) => ({ type: 'tool_use', id, name, input });
  const u = (n: number) => uuidFor(0x1980, n);
  return [
    prompt(s, u(1), 0, 'audit the repo', v),
    assistant(s, u(2), 1, 'msg_l1', task('toolu_t1', 'Find TODOs', 'List every TODO in src/'), v),
    // Not the Task's prompt word for word: attached by timing (the one Task running then).
    prompt(s, u(3), 2, 'List every TODO in src/, with its line', side(u(3), null)),
    assistant(s, u(4), 3, 'msg_s1', tool('toolu_g1', 'Grep', { pattern: 'TODO' }), side(u(4), u(3))),
    result(s, u(5), 4, 'toolu_g1', 'src/a.js:3: TODO', false, side(u(5), u(4))),
    assistant(s, u(6), 5, 'msg_s2', { type: 'text', text: 'One TODO, in src/a.js.' }, side(u(6), u(5))),
    result(s, u(7), 6, 'toolu_t1', 'One TODO, in src/a.js.', false, v),
    assistant(s, u(8), 7, 'msg_l2', task('toolu_t2', 'Check tests', 'Run the test suite and report failures'), v),
    assistant(s, u(9), 7, 'msg_l2', task('toolu_t3', 'Check docs', 'Read the README and list stale sections'), v),
    prompt(s, u(10), 8, 'Run the test suite and report failures', side(u(10), null)),
    prompt(s, u(11), 8, 'Read the README and list stale sections', side(u(11), null)),
    assistant(s, u(12), 9, 'msg_s3', tool('toolu_b1', 'Bash', { command: 'npm test' }), side(u(12), u(10))),
    assistant(s, u(13), 9, 'msg_s4', tool('toolu_r1', 'Read', { file_path: '/home/dev/shop/README.md' }), side(u(13), u(11))),
    result(s, u(14), 10, 'toolu_b1', '12 passed', false, side(u(14), u(12))),
    result(s, u(15), 10, 'toolu_r1', '# shop', false, side(u(15), u(13))),
    result(s, u(16), 11, 'toolu_t2', 'All 12 tests pass.', false, v),
    result(s, u(17), 11, 'toolu_t3', 'The install section is stale.', false, v),
    // No Task asked for this one, and none was running: it stays unattributed.
    prompt(s, u(18), 20, 'Summarize the audit', side(u(18), null)),
    assistant(s, u(19), 21, 'msg_s5', tool('toolu_x1', 'Bash', { command: 'git log -1' }), side(u(19), u(18))),
    result(s, u(20), 22, 'toolu_x1', 'abc123 fix', false, side(u(20), u(19))),
  ];
}

const FILES: Record<string, object[]> = {
  [`-home-dev-shop/${RESUMED}.jsonl`]: resumedSession(),
  [`C--Users-dev-proj/${WINDOWS}.jsonl`]: simpleSession(WINDOWS, 'C:\\Users\\dev\\proj', 1),
  [`--fs01-share-team-api/${UNC}.jsonl`]: simpleSession(UNC, '\\\\fs01\\share\\team\\api', 2),
  [`C--Users-dev--claude-worktrees-shop-brave-fox/${WORKTREE}.jsonl`]: simpleSession(WORKTREE, 'C:\\Users\\dev\\.claude-worktrees\\shop\\brave-fox', 3),
  [`-home-dev-shop/${IDE}.jsonl`]: ideSession(),
  [`-home-dev-shop/${OFFLINE}.jsonl`]: offlineSession(),
  [`-home-dev-shop/${SEARCH}.jsonl`]: searchSession(),
  [`-home-dev-shop/${LEGACY}.jsonl`]: legacySession(),
};

let t: TempRbk;
let d: DaemonProcess;
let root: string;
let importSkipped: Record<string, number>;
const fresh = new Map<string, ShowJson>();

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  root = path.join(t.root, 'projects');
  for (const [rel, lines] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  }
  d = await startDaemon(t);
  const summary = await importJson(t, [root]);
  if (summary.errors.length) console.error(JSON.stringify(summary.errors));
  importSkipped = summary.skipped;
  for (const id of [RESUMED, WINDOWS, UNC, WORKTREE, IDE, OFFLINE, SEARCH, LEGACY]) fresh.set(id, await showJson(t, id));
}, 120_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('a resume that wrote earlier history again', () => {
  it('counts each tool call, failure and prompt once; tokens are unchanged', () => {
    const s = fresh.get(RESUMED)!.session;
    const lines = resumedSession();
    const toolIds = new Set(
      lines.flatMap((l: any) => (l.type === 'assistant' ? l.message.content : []).filter((b: any) => b.type === 'tool_use').map((b: any) => b.id)),
    );
    expect(toolIds.size).toBe(3);
    expect(s.counts.toolCalls).toBe(toolIds.size);
    expect(s.counts.toolFailures).toBe(1);
    expect(s.counts.prompts).toBe(2);
    const hand = dedupeLines(lines.map((l) => JSON.stringify(l)));
    expect(s.tokens).toEqual({ input: hand.input, output: hand.output, cacheCreation: hand.cacheCreation, cacheRead: hand.cacheRead });
    // Stored once: one row per distinct piece of content, plus the resume marker.
    const rows = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions WHERE session_id = ?', RESUMED)!.n;
    expect(rows).toBe(7 + 4 + 1);
  });

  it('counts the replayed lines as skipped, and shows where the resume happened', () => {
    expect(importSkipped.replayed).toBe(7);
    const timeline = fresh.get(RESUMED)!.timeline;
    const marker = timeline.findIndex((e) => e.kind === 'system' && e.text.startsWith('resumed'));
    expect(marker).toBeGreaterThan(0);
    // After the first run's last entry, before the resumed run's prompt.
    expect(timeline[marker - 1]!.text).toBe('Fixed the off-by-one in cart.js.');
    expect(timeline[marker + 1]).toMatchObject({ kind: 'prompt', text: 'now run the whole suite' });
    expect(timeline.filter((e) => e.kind === 'tool').map((e) => e.toolUseId)).toEqual(['toolu_r1', 'toolu_r2', 'toolu_r3']);
  });

  it('a re-import adds nothing', async () => {
    const before = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n;
    const again = await runCli(t, ['import', root, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).interactionsAdded).toBe(0);
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBe(before);
  });
});

describe('project names from any OS', () => {
  it('names Windows, UNC and worktree directories by the folder people know', () => {
    expect(fresh.get(WINDOWS)!.session.project).toBe('proj');
    expect(fresh.get(UNC)!.session.project).toBe('api');
    expect(fresh.get(WORKTREE)!.session.project).toBe('shop');
    expect(fresh.get(RESUMED)!.session.project).toBe('shop');
  });
});

describe('IDE and system context', () => {
  it('is not a prompt: counted out, shown as context', () => {
    const ide = fresh.get(IDE)!;
    expect(ide.session.counts.prompts).toBe(2);
    expect(ide.timeline.filter((e) => e.kind === 'prompt').map((e) => e.text)).toEqual(['why does this drop the first item?', 'fix it then']);
    expect(ide.timeline.filter((e) => e.kind === 'context')).toHaveLength(4);
  });
});

describe('API errors', () => {
  it('keep their cause, status and retries, in the timeline and as fields', () => {
    const errors = fresh
      .get(OFFLINE)!
      .timeline.filter((e) => e.kind === 'error')
      .map((e) => e.text);
    expect(errors).toEqual([
      'FailedToOpenSocket (retry 3 of 10 in 2.4 s)',
      '529 overloaded_error: Overloaded (retry 4 of 10 in 5.1 s)',
      'API Error: Unable to connect to API (FailedToOpenSocket)',
    ]);
    const data = queryAll<{ data: string }>(t, `SELECT data FROM interactions WHERE session_id = ? AND subtype = 'api_error' ORDER BY ts`, OFFLINE).map(
      (r) => JSON.parse(r.data).apiError,
    );
    expect(data[0]).toMatchObject({ cause: 'FailedToOpenSocket', retryAttempt: 3, maxRetries: 10, retryInMs: 2400 });
    expect(data[1]).toMatchObject({ status: 529, type: 'overloaded_error', message: 'Overloaded' });
    expect(data[2]).toMatchObject({ type: 'server_error' });
  });
});

describe('inline subagents of Claude Code 1.0.x', () => {
  it('are attached to the Task calls that spawned them: by prompt (in parallel too) or by timing', () => {
    const show = fresh.get(LEGACY)!;
    expect(show.session.counts.subagents).toBe(3);
    expect(show.session.counts.toolCalls).toBe(7);
    const agentOfTool = Object.fromEntries(show.timeline.filter((e) => e.kind === 'tool').map((e) => [e.toolUseId, e.agentId]));
    expect(agentOfTool).toEqual({
      toolu_t1: null,
      toolu_g1: legacyAgentId('toolu_t1'),
      toolu_t2: null,
      toolu_t3: null,
      toolu_b1: legacyAgentId('toolu_t2'),
      toolu_r1: legacyAgentId('toolu_t3'),
      toolu_x1: null,
    });
    const rows = queryAll<{ agent_id: string; agent_type: string; description: string; tool_use_id: string }>(
      t,
      'SELECT agent_id, agent_type, description, tool_use_id FROM subagents WHERE session_id = ? ORDER BY tool_use_id',
      LEGACY,
    );
    expect(rows).toEqual([
      { agent_id: legacyAgentId('toolu_t1'), agent_type: 'general-purpose', description: 'Find TODOs', tool_use_id: 'toolu_t1' },
      { agent_id: legacyAgentId('toolu_t2'), agent_type: 'general-purpose', description: 'Check tests', tool_use_id: 'toolu_t2' },
      { agent_id: legacyAgentId('toolu_t3'), agent_type: 'general-purpose', description: 'Check docs', tool_use_id: 'toolu_t3' },
    ]);
    // The Task prompts are the subagents', not the user's.
    expect(show.session.counts.prompts).toBe(1);
  });

  it('a sidechain nothing spawned stays unattributed, and is counted', async () => {
    const r = await runCli(t, ['stats', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).health.unattributedSidechainLines).toBe(3);
  });
});

describe('web search', () => {
  // One response's tokens at Sonnet 4.5 prices: 4 in, 120 out, 300 cache writes (5 min), 9,000 cache reads.
  const tokenCost = (4 * 3 + 120 * 15 + 300 * 3.75 + 9000 * 0.3) / 1e6;

  it('counts the searches each response ran, and prices them per request', () => {
    const s = fresh.get(SEARCH)!.session;
    expect(s.webSearchRequests).toBe(2 + 3 + 2);
    expect(s.costUsd).toBeCloseTo(3 * tokenCost + 7 * 0.01, 9);
  });

  it('is a column of rbk usage, and in its --json', async () => {
    const json = await runCli(t, ['usage', 'session', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout).sessions as { sessionId: string; webSearchRequests: number; totalCost: number }[];
    const row = rows.find((r) => r.sessionId === SEARCH)!;
    expect(row.webSearchRequests).toBe(7);
    expect(row.totalCost).toBeCloseTo(3 * tokenCost + 0.07, 9);
    expect(JSON.parse(json.stdout).totals.webSearchRequests).toBe(7);
    const text = await runCli(t, ['usage', 'daily']);
    expect(text.stdout).toMatch(/SEARCHES/);
  });
});

describe('a store written by the previous rules', () => {
  it('is repaired at the next start to what a fresh import gives', async () => {
    await d.stop();
    // What the previous version stored: the replayed lines as rows of their own (their counts
    // included), no content keys, context blocks as prompts, projects by last path segment.
    const db = new Database(t.db);
    registerFunctions(db);
    db.exec('DROP INDEX interactions_content');
    db.exec(`UPDATE interactions SET content_key = NULL`);
    const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('interactions') as string[]).filter((c) => c !== 'id' && c !== 'uuid');
    db.prepare(
      `INSERT INTO interactions (uuid, ${cols.join(', ')}) SELECT 'b' || substr(uuid, 2), ${cols.join(', ')}
       FROM interactions WHERE session_id = ? AND uuid LIKE 'a0000000-%'`,
    ).run(RESUMED);
    db.prepare(
      `UPDATE sessions SET interactions = interactions + 7, t_prompts = t_prompts + 1, t_tool_calls = t_tool_calls + 2, t_tool_failures = t_tool_failures + 1 WHERE id = ?`,
    ).run(RESUMED);
    const ctx = db
      .prepare(`UPDATE interactions SET kind = 'user_prompt', subtype = NULL WHERE session_id = ? AND subtype IN ('ide_context', 'system_reminder')`)
      .run(IDE);
    expect(ctx.changes).toBe(4);
    db.prepare('UPDATE sessions SET t_prompts = t_prompts + 4 WHERE id = ?').run(IDE);
    db.prepare(`UPDATE sessions SET project = ? WHERE id = ?`).run('C:\\Users\\dev\\proj', WINDOWS);
    db.prepare(`UPDATE sessions SET project = ? WHERE id = ?`).run('brave-fox', WORKTREE);
    // Web searches were not counted: no counts on the results, none linked to the responses.
    db.prepare('UPDATE message_usage SET cost_usd = cost_usd - web_search_linked * 0.01, web_search_linked = 0 WHERE session_id = ?').run(SEARCH);
    db.prepare('UPDATE interactions SET web_searches = NULL WHERE session_id = ?').run(SEARCH);
    db.prepare('UPDATE sessions SET web_search_requests = 0, cost_usd = cost_usd - 0.05 WHERE id = ?').run(SEARCH);
    // Inline subagents were not attached.
    const legacyAgents = JSON.stringify(['toolu_t1', 'toolu_t2', 'toolu_t3'].map(legacyAgentId));
    db.prepare('UPDATE interactions SET agent_id = NULL WHERE session_id = ? AND agent_id IN (SELECT value FROM json_each(?))').run(LEGACY, legacyAgents);
    db.prepare('UPDATE message_usage SET agent_id = NULL WHERE session_id = ? AND agent_id IN (SELECT value FROM json_each(?))').run(LEGACY, legacyAgents);
    db.prepare('DELETE FROM subagents WHERE session_id = ?').run(LEGACY);
    db.prepare('UPDATE sessions SET t_subagents = 0 WHERE id = ?').run(LEGACY);
    db.exec('CREATE UNIQUE INDEX interactions_content ON interactions (session_id, content_key) WHERE content_key IS NOT NULL');
    db.exec('DELETE FROM derivations');
    db.close();

    d = await startDaemon(t);
    for (const [id, want] of fresh) {
      const got = await showJson(t, id);
      const facts = (x: ShowJson) => ({
        id,
        counts: x.session.counts,
        tokens: x.session.tokens,
        project: x.session.project,
        webSearchRequests: x.session.webSearchRequests,
        costUsd: x.session.costUsd === null ? null : Math.round(x.session.costUsd * 1e9),
      });
      expect(facts(got)).toEqual(facts(want));
      // The timeline too, but for the resume marker (the old store never had one).
      const kinds = (s: ShowJson) =>
        s.timeline.filter((e) => !e.text.startsWith('resumed')).map((e) => `${e.kind}:${e.toolUseId ?? ''}:${e.agentId ?? ''}:${e.text}`);
      expect(kinds(got)).toEqual(kinds(want));
    }
    const runs = queryAll<{ name: string; counts: string }>(t, 'SELECT name, counts FROM derivations ORDER BY name');
    expect(Object.fromEntries(runs.map((r) => [r.name, JSON.parse(r.counts)]))).toMatchObject({
      project: { changed: 2 },
      prompt_context: { interactions: 4, sessions: 1 },
      replay_identity: { replaysRemoved: 7, sessionsChanged: 1 },
      web_search: { searches: 5, responsesLinked: 2, sessions: 1 },
      legacy_sidechains: { sessions: 1, attributed: 10, unattributed: 3, agents: 3 },
    });
    const usage = await runCli(t, ['usage', 'session', '--json']);
    expect(JSON.parse(usage.stdout).totals.webSearchRequests).toBe(7);
  }, 120_000);
});
