// Backfill of the real Claude Code transcript fixtures through the real daemon and CLI
// (`rbk import PATH --json`), checked against what the test computes from the raw JSONL on its
// own: sessions, interactions, deduplicated token totals (subagent and compaction-summarizer
// usage in the parent's totals), hidden internal runs, subagent linking, inline sidechains,
// unknown line types, idempotence, and what `rbk sessions show` renders.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, queryAll, queryOne, runCli, startDaemon, status, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import {
  dedupedTokens,
  dedupedTokensBySession,
  importJson,
  jsonlFiles,
  parsedInteractionKeys,
  showJson,
  storedInteractionKeys,
  tableCounts,
  type ImportSummary,
  type Tokens,
} from './support.js';
import { unpackInteraction } from '../../daemon/store/line-codec.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/claude-code/transcripts', import.meta.url));
const S2139 = 'ae4a77f8-aedd-4bc1-888f-c94edc91af04';
const S10108 = '5c0375b4-57a5-4f26-b12d-d022ee4e51b7';
const MAIN_2139 = path.join(FIXTURES, 'spotter-v2.1.39-compaction', `${S2139}.jsonl`);
const SUB_2139 = path.join(FIXTURES, 'spotter-v2.1.39-compaction', S2139, 'subagents', 'agent-aac57f5.jsonl');
const COMPACT_2139 = path.join(FIXTURES, 'spotter-v2.1.39-compaction', S2139, 'subagents', 'agent-acompact-946d2b.jsonl');
const LEGACY_10108 = path.join(FIXTURES, 'claude-code-viewer-v1.0.108', `${S10108}.jsonl`);
/** The Task tool call that started subagent aac57f5 (its tool_result's toolUseResult.agentId). */
const TASK_TOOL_USE = 'toolu_01Hf8v1Za7y4af8VUwSR4CXU';

const files = jsonlFiles(FIXTURES);
const rawLines = (f: string): any[] =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

let t: TempRbk;
let d: DaemonProcess;
let first: ImportSummary;

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  d = await startDaemon(t);
  first = await importJson(t, [FIXTURES]);
});
afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('rbk import of the real fixtures', () => {
  it('reads every file and line, and creates exactly the sessions the lines name', () => {
    const lineCount = files.reduce((n, f) => n + rawLines(f).length, 0);
    expect(first).toMatchObject({ files: files.length, linesRead: lineCount, errors: [], skipped: {} });
    expect(first.bytes).toBe(files.reduce((n, f) => n + fs.statSync(f).size, 0));
    const named = new Set(
      files.flatMap((f) =>
        rawLines(f)
          .filter((l) => ['user', 'assistant'].includes(l.type))
          .map((l) => l.sessionId as string),
      ),
    );
    const stored = queryAll<{ id: string }>(t, 'SELECT id FROM sessions ORDER BY id').map((r) => r.id);
    expect(stored).toEqual([...named].sort());
    expect(first.sessions).toBe(named.size);
    // Every file's offset is at its end.
    for (const r of queryAll<{ path: string; byte_offset: number; lines: number }>(t, 'SELECT path, byte_offset, lines FROM transcripts')) {
      expect(r.byte_offset).toBe(fs.statSync(r.path).size);
      expect(r.lines).toBe(rawLines(r.path).length);
    }
  });

  it('stores exactly the interactions a one-shot parse yields, per session', () => {
    let total = 0;
    const bySession = new Map<string, string[]>();
    for (const f of files) {
      const data = fs.readFileSync(f);
      const hint = /^[0-9a-f-]{36}$/.test(path.basename(f, '.jsonl')) ? path.basename(f, '.jsonl') : null;
      for (const l of data.toString('utf8').split('\n')) {
        if (!l.trim()) continue;
        const sid = JSON.parse(l).sessionId ?? hint;
        const keys = parsedInteractionKeys(Buffer.from(`${l}\n`));
        (bySession.get(sid) ?? bySession.set(sid, []).get(sid)!).push(...keys);
        total += keys.length;
      }
    }
    expect(first.interactionsAdded).toBe(total);
    for (const [sid, keys] of bySession) expect(storedInteractionKeys(t, sid), sid).toEqual([...new Set(keys)].sort());
    expect(tableCounts(t).interactions).toBe(total);
  });

  it('session token totals equal the deduplicated totals of the raw JSONL, subagent and compaction included', async () => {
    const expected = dedupedTokensBySession(files);
    expect(expected.size).toBe(5);
    for (const [sid, tokens] of expected) {
      const show = await showJson(t, sid);
      expect(show.session.tokens, sid).toEqual(tokens);
      expect(show.session.costUsd, sid).toBeGreaterThan(0);
    }
    // The 2.1.39 total is main + subagent + compaction summarizer, and each part is real.
    const { messages: _a, ...all } = dedupedTokens([MAIN_2139, SUB_2139, COMPACT_2139]);
    expect(expected.get(S2139)).toEqual(all);
    const { messages: _b, ...mainOnly } = dedupedTokens([MAIN_2139]);
    const { messages: compactMessages, ...compactOnly } = dedupedTokens([COMPACT_2139]);
    expect(compactMessages).toBeGreaterThan(0);
    expect(all.output).toBeGreaterThan(mainOnly.output + compactOnly.output);
    // Usage is deduplicated: 408 assistant lines over 217 API responses in the main file.
    const usageRows = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM message_usage WHERE session_id = ?', S2139)!.n;
    expect(usageRows).toBe(dedupedTokens([MAIN_2139]).messages + dedupedTokens([SUB_2139]).messages + compactMessages);
  });

  it('links subagent aac57f5 to its Task call; the compaction summarizer counts but is hidden', async () => {
    const show = await showJson(t, S2139);
    expect(show.session.counts.subagents).toBe(1);
    const spans = show.timeline.filter((e) => e.kind === 'subagent');
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ agentId: 'aac57f5', toolUseId: TASK_TOOL_USE });
    expect(spans[0]!.text).toContain('Check OTEL hex package versions');
    expect(show.timeline.find((e) => e.kind === 'tool' && e.toolUseId === TASK_TOOL_USE)).toMatchObject({ toolName: 'Task', status: 'ok' });
    // The subagent's own work is in the timeline, attributed to it.
    expect(show.timeline.filter((e) => e.agentId === 'aac57f5' && e.kind === 'tool').length).toBe(12);

    expect(show.timeline.some((e) => e.agentId?.startsWith('acompact'))).toBe(false);
    const compaction = queryAll<{ hidden: number; n: number }>(
      t,
      `SELECT hidden, count(*) AS n FROM interactions WHERE agent_id = 'acompact-946d2b' GROUP BY hidden`,
    );
    expect(compaction).toEqual([{ hidden: 1, n: 2 }]);
    expect(queryAll(t, 'SELECT agent_id, kind FROM subagents WHERE session_id = ? ORDER BY agent_id', S2139)).toEqual([
      { agent_id: 'aac57f5', kind: 'conversation' },
      { agent_id: 'acompact-946d2b', kind: 'compaction' },
    ]);
    // One compaction: the boundary and the summary that follows it.
    expect(show.timeline.filter((e) => e.kind === 'compaction')).toHaveLength(2);
    // Counts: the fixture README's 242 main-session tool calls + the subagent's 12, and 12 errors.
    const toolUses = [MAIN_2139, SUB_2139]
      .flatMap(rawLines)
      .flatMap((l) => (l.type === 'assistant' ? l.message.content.filter((b: any) => b.type === 'tool_use') : []));
    const errors = [MAIN_2139, SUB_2139]
      .flatMap(rawLines)
      .flatMap((l) =>
        l.type === 'user' && Array.isArray(l.message.content) ? l.message.content.filter((b: any) => b.type === 'tool_result' && b.is_error) : [],
      );
    expect(show.session.counts).toMatchObject({ toolCalls: toolUses.length, toolFailures: errors.length });
    expect(show.timeline.filter((e) => e.kind === 'tool' && e.status === 'error')).toHaveLength(errors.length);
  });

  it('flags the 1.0.108 inline sidechain lines is_sidechain', () => {
    const sidechainUuids = new Set(
      rawLines(LEGACY_10108)
        .filter((l) => l.isSidechain === true)
        .map((l) => l.uuid as string),
    );
    expect(sidechainUuids.size).toBe(22);
    const stored = queryAll<{ uuid: string; is_sidechain: number }>(t, 'SELECT DISTINCT uuid, is_sidechain FROM interactions WHERE session_id = ?', S10108);
    for (const r of stored) expect(r.is_sidechain, r.uuid).toBe(sidechainUuids.has(r.uuid) ? 1 : 0);
    expect(stored.filter((r) => r.is_sidechain === 1).length).toBe(sidechainUuids.size);
  });

  it('a second import adds nothing', async () => {
    const before = tableCounts(t);
    const tokensBefore = queryAll(
      t,
      'SELECT id, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, t_prompts, t_tool_calls, t_tool_failures, t_subagents, interactions FROM sessions ORDER BY id',
    );
    const again = await importJson(t, [FIXTURES]);
    expect(again).toMatchObject({ files: files.length, interactionsAdded: 0, linesRead: 0, errors: [] });
    expect(tableCounts(t)).toEqual(before);
    expect(
      queryAll(
        t,
        'SELECT id, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, t_prompts, t_tool_calls, t_tool_failures, t_subagents, interactions FROM sessions ORDER BY id',
      ),
    ).toEqual(tokensBefore);
  });

  it('rbk sessions show <prefix> renders prompts, tool calls with status, subagent spans and compactions', async () => {
    const r = await runCli(t, ['sessions', 'show', S2139.slice(0, 8)]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`Session ${S2139}`);
    expect(out).toMatch(/^\d\d:\d\d:\d\d > Work on bead spotter-4te/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d ⎇ subagent aac57f5: .*Check OTEL hex package versions/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d ── conversation compacted/m);
    // Tool calls carry their status; failed ones are marked with "!" and followed by the error.
    const toolLines = out.split('\n').filter((l) => /^\d\d:\d\d:\d\d( \[\w+\])? [ !] \S+ .*\s(ok|error|pending)( \S+)?$/.test(l));
    expect(toolLines.length).toBe(254);
    const failed = toolLines.filter((l) => / ! /.test(l.slice(0, 30)));
    expect(failed.length).toBe(12);
    for (const l of failed) expect(l).toMatch(/\serror( \S+)?$/);
    expect(out).toMatch(/^\d\d:\d\d:\d\d \[aac57f5\] {3}\S+/m);

    const json = await showJson(t, S2139);
    const times = json.timeline.map((e) => Date.parse(e.at ?? ''));
    expect(times.every((x) => Number.isFinite(x))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(json.timeline.length).toBeGreaterThan(254 + 3);
  });
});

describe('rbk import of synthetic extras: warmups, unknown line types, .meta.json linking', () => {
  const line = (o: Record<string, unknown>) => `${JSON.stringify(o)}\n`;
  const base = (sessionId: string, i: number, extra: Record<string, unknown> = {}) => ({
    sessionId,
    cwd: '/home/dev/extras',
    version: '2.1.90',
    gitBranch: 'main',
    userType: 'external',
    timestamp: new Date(Date.UTC(2026, 1, 20, 10, 0, i)).toISOString(),
    ...extra,
  });
  const usage = (out: number) => ({ input_tokens: 3, output_tokens: out, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000 });
  let extras: string;

  beforeAll(() => {
    extras = path.join(t.root, 'extras', '-home-dev-extras');
    // A warmup run for the 2.1.39 session: its tokens count, it is not conversation.
    const warmDir = path.join(extras, S2139, 'subagents');
    fs.mkdirSync(warmDir, { recursive: true });
    fs.writeFileSync(
      path.join(warmDir, 'agent-awarm01.jsonl'),
      line({
        ...base(S2139, 1, { isSidechain: true, agentId: 'awarm01' }),
        parentUuid: null,
        type: 'user',
        uuid: 'e0000000-0000-4000-8000-000000000001',
        message: { role: 'user', content: 'Warmup' },
      }) +
        line({
          ...base(S2139, 2, { isSidechain: true, agentId: 'awarm01' }),
          parentUuid: 'e0000000-0000-4000-8000-000000000001',
          type: 'assistant',
          uuid: 'e0000000-0000-4000-8000-000000000002',
          requestId: 'req_warm_1',
          message: { id: 'msg_warm_1', model: 'claude-haiku-4-5-20251001', role: 'assistant', content: [{ type: 'text', text: 'Ready.' }], usage: usage(7) },
        }),
    );
    // Lines of types this rbk does not know, among ordinary ones.
    const u = 'e1000000-0000-4000-8000-000000000000';
    fs.writeFileSync(
      path.join(extras, `${u}.jsonl`),
      line({
        ...base(u, 1),
        type: 'user',
        uuid: 'e1000000-0000-4000-8000-000000000001',
        parentUuid: null,
        message: { role: 'user', content: 'hello from the future' },
      }) +
        line({ ...base(u, 2), type: 'future-widget', uuid: 'e1000000-0000-4000-8000-000000000002', widget: { size: 3 } }) +
        line({ type: 'another-new-thing', value: 1 }) +
        line({
          ...base(u, 3),
          type: 'assistant',
          uuid: 'e1000000-0000-4000-8000-000000000003',
          requestId: 'req_f_1',
          message: { id: 'msg_f_1', model: 'claude-sonnet-4-5-20250929', role: 'assistant', content: [{ type: 'text', text: 'hi' }], usage: usage(5) },
        }),
    );
    // A 2.1.x subagent whose parent tool_result does not name it: only .meta.json links them.
    const m = 'e2000000-0000-4000-8000-000000000000';
    fs.writeFileSync(
      path.join(extras, `${m}.jsonl`),
      line({ ...base(m, 1), type: 'user', uuid: 'e2000000-0000-4000-8000-000000000001', message: { role: 'user', content: 'look around' } }) +
        line({
          ...base(m, 2),
          type: 'assistant',
          uuid: 'e2000000-0000-4000-8000-000000000002',
          requestId: 'req_m_1',
          message: {
            id: 'msg_m_1',
            model: 'claude-sonnet-4-5-20250929',
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_meta_1', name: 'Agent', input: { description: 'd', prompt: 'p' } }],
            usage: usage(9),
          },
        }) +
        line({
          ...base(m, 9),
          type: 'user',
          uuid: 'e2000000-0000-4000-8000-000000000003',
          message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_meta_1', content: 'done' }] },
        }),
    );
    const metaDir = path.join(extras, m, 'subagents');
    fs.mkdirSync(metaDir, { recursive: true });
    fs.writeFileSync(
      path.join(metaDir, 'agent-ameta01.meta.json'),
      JSON.stringify({ agentType: 'Explore', description: 'Look around the repo', toolUseId: 'toolu_meta_1' }),
    );
    fs.writeFileSync(
      path.join(metaDir, 'agent-ameta01.jsonl'),
      line({
        ...base(m, 3, { isSidechain: true, agentId: 'ameta01' }),
        type: 'user',
        parentUuid: null,
        uuid: 'e2000000-0000-4000-8000-000000000004',
        message: { role: 'user', content: 'p' },
      }) +
        line({
          ...base(m, 4, { isSidechain: true, agentId: 'ameta01' }),
          type: 'assistant',
          uuid: 'e2000000-0000-4000-8000-000000000005',
          requestId: 'req_m_2',
          message: { id: 'msg_m_2', model: 'claude-sonnet-4-5-20250929', role: 'assistant', content: [{ type: 'text', text: 'seen it' }], usage: usage(11) },
        }),
    );
  });

  it('a warmup run adds its tokens to the session but nothing to the timeline or subagent count', async () => {
    const before = await showJson(t, S2139);
    const summary = await importJson(t, [path.join(t.root, 'extras')]);
    expect(summary).toMatchObject({ files: 4, errors: [], skipped: { 'unknown-type': 2 } });
    const after = await showJson(t, S2139);
    const add = (a: Tokens, b: Tokens): Tokens => ({
      input: a.input + b.input,
      output: a.output + b.output,
      cacheCreation: a.cacheCreation + b.cacheCreation,
      cacheRead: a.cacheRead + b.cacheRead,
    });
    expect(after.session.tokens).toEqual(add(before.session.tokens, { input: 3, output: 7, cacheCreation: 100, cacheRead: 1000 }));
    expect(after.session.counts.subagents).toBe(1);
    expect(after.timeline).toEqual(before.timeline);
    expect(queryOne(t, `SELECT kind FROM subagents WHERE agent_id = 'awarm01'`)).toEqual({ kind: 'warmup' });
    expect(queryAll(t, `SELECT DISTINCT hidden FROM interactions WHERE agent_id = 'awarm01'`)).toEqual([{ hidden: 1 }]);
  });

  it('unknown line types are counted and kept raw', async () => {
    const u = 'e1000000-0000-4000-8000-000000000000';
    const file = path.join(extras, `${u}.jsonl`);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    // The line is stored packed (store/line-codec.ts): unpacked, it is the line as read.
    const rows = queryAll<{ subtype: string; text: string; tool_input: string | null; tool_use_result: null; raw: Buffer | string; session_id: string }>(
      t,
      `SELECT subtype, rbk_text(text) AS text, tool_input, tool_use_result, raw, session_id FROM interactions WHERE kind = 'other' AND source_path = ? ORDER BY subtype`,
      file,
    ).map((r) => ({ subtype: r.subtype, raw: unpackInteraction(r).raw, session_id: r.session_id }));
    expect(rows).toEqual([
      { subtype: 'another-new-thing', raw: lines[2], session_id: u },
      { subtype: 'future-widget', raw: lines[1], session_id: u },
    ]);
    expect(queryOne(t, 'SELECT lines, skipped FROM transcripts WHERE path = ?', file)).toEqual({ lines: 4, skipped: 2 });
    const show = await showJson(t, u);
    expect(show.timeline.map((e) => [e.kind, e.text])).toEqual([
      ['prompt', 'hello from the future'],
      ['assistant', 'hi'],
    ]);
    // Re-reading stores them once.
    const again = await importJson(t, [path.join(t.root, 'extras')]);
    expect(again.interactionsAdded).toBe(0);
  });

  it('a subagent is linked to its tool call through .meta.json', async () => {
    const show = await showJson(t, 'e2000000-0000-4000-8000-000000000000');
    expect(show.session.counts.subagents).toBe(1);
    expect(show.timeline.filter((e) => e.kind === 'subagent')).toEqual([
      expect.objectContaining({ agentId: 'ameta01', toolUseId: 'toolu_meta_1', text: 'Explore: Look around the repo' }),
    ]);
    expect(show.session.tokens).toEqual({ input: 6, output: 20, cacheCreation: 200, cacheRead: 2000 });
    expect((await status(t)).running).toBe(true);
  });
});
