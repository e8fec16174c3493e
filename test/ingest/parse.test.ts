import { describe, expect, it } from 'vitest';
import { boundedJson, JSON_LIMIT, KNOWN_LINE_TYPES, parseTranscriptLine, syntheticLineKey, TEXT_LIMIT } from '../../daemon/ingest/transcripts/parse.js';
import { mergeUsage, usageKey, addUsage, sumUsage } from '../../daemon/ingest/transcripts/usage.js';
import { linkToolResults } from '../../daemon/ingest/transcripts/links.js';
import type { Interaction, ParsedEntry, ParsedLine, UsageRecord } from '../../daemon/ingest/transcripts/types.js';

const SID = 'ae4a77f8-aedd-4bc1-888f-c94edc91af04';
const ctx = { file: '/tmp/x.jsonl' };

function parse(obj: unknown, c: Parameters<typeof parseTranscriptLine>[1] = ctx): ParsedLine {
  return parseTranscriptLine(Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)), c);
}

function ok(obj: unknown, c?: Parameters<typeof parseTranscriptLine>[1]): ParsedEntry {
  const p = parse(obj, c);
  if (!p.ok) throw new Error(`expected ok, got ${p.reason}`);
  return p;
}

const env = (extra: Record<string, unknown>) => ({
  parentUuid: 'p-1',
  isSidechain: false,
  userType: 'external',
  cwd: '/home/u/proj',
  sessionId: SID,
  version: '2.1.39',
  gitBranch: 'main',
  timestamp: '2026-02-12T14:00:00.000Z',
  uuid: 'line-1',
  ...extra,
});

const user = (content: unknown, extra: Record<string, unknown> = {}) => env({ type: 'user', message: { role: 'user', content }, ...extra });

const assistant = (content: unknown[], extra: Record<string, unknown> = {}, usage: Record<string, unknown> = { input_tokens: 3, output_tokens: 9 }) =>
  env({
    type: 'assistant',
    requestId: 'req_1',
    message: { model: 'claude-opus-4-6', id: 'msg_1', type: 'message', role: 'assistant', content, usage },
    ...extra,
  });

const kinds = (p: ParsedEntry) => p.interactions.map((i) => (i.subtype ? `${i.kind}/${i.subtype}` : i.kind));

describe('user lines', () => {
  it('classifies prompts, meta, commands, output, interrupts and compact summaries', () => {
    expect(kinds(ok(user('fix the bug')))).toEqual(['user_prompt']);
    expect(kinds(ok(user('skill body', { isMeta: true })))).toEqual(['meta']);
    expect(kinds(ok(user('<local-command-caveat>Caveat: …</local-command-caveat>', { isMeta: true })))).toEqual(['meta/local_command_caveat']);
    expect(kinds(ok(user('<command-name>/compact</command-name>\n<command-message>compact</command-message>')))).toEqual(['command/slash_command']);
    expect(kinds(ok(user('<command-message>orchestrator is running…</command-message>\n<command-name>/orchestrator</command-name>')))).toEqual([
      'command/slash_command',
    ]);
    expect(kinds(ok(user('<local-command-stdout>Compacted</local-command-stdout>')))).toEqual(['command_output/local_command']);
    expect(kinds(ok(user('<bash-input>ls</bash-input>')))).toEqual(['command/bash']);
    expect(kinds(ok(user([{ type: 'text', text: '[Request interrupted by user for tool use]' }])))).toEqual(['interrupt']);
    // IDE and system context are not prompts; a block with a prompt after the context is one.
    const ideOnly = ok(
      user([
        { type: 'text', text: '<ide_opened_file>The user opened the file /src/app.ts in the IDE. This may or may not be related.</ide_opened_file>' },
        { type: 'text', text: '<ide_selection>The user selected the lines 3 to 4 from /src/app.ts:\nconst a = 1;\n</ide_selection>' },
      ]),
    );
    expect(kinds(ideOnly)).toEqual(['meta/ide_context', 'meta/ide_context']);
    expect(
      kinds(
        ok(
          user([
            { type: 'text', text: '<ide_opened_file>x</ide_opened_file>' },
            { type: 'text', text: 'why does this fail?' },
          ]),
        ),
      ),
    ).toEqual(['meta/ide_context', 'user_prompt']);
    expect(kinds(ok(user('<system-reminder>\nThe todo list is empty.\n</system-reminder>')))).toEqual(['meta/system_reminder']);
    expect(kinds(ok(user('<ide_opened_file>x</ide_opened_file>\nand fix it')))).toEqual(['user_prompt']);
    expect(kinds(ok(user('<ide_selection>never closed')))).toEqual(['user_prompt']);
    const summary = ok(user('This session is being continued…', { isCompactSummary: true, isVisibleInTranscriptOnly: true }));
    expect(kinds(summary)).toEqual(['compact_summary']);
    expect(summary.interactions[0]!.isCompactSummary).toBe(true);
  });

  it('carries envelope fields onto each interaction', () => {
    const p = ok(user('hello', { promptId: 'pr-1', permissionMode: 'bypassPermissions', slug: 'lexical-painting' }));
    expect(p.interactions[0]).toMatchObject({
      uuid: 'line-1',
      blockIndex: 0,
      sessionId: SID,
      timestamp: Date.parse('2026-02-12T14:00:00.000Z'),
      parentUuid: 'p-1',
      isSidechain: false,
      agentId: null,
      cwd: '/home/u/proj',
      gitBranch: 'main',
      version: '2.1.39',
      promptId: 'pr-1',
      text: 'hello',
      textLength: 5,
    });
    expect(p.sessionMeta).toMatchObject({ sessionId: SID, cwd: '/home/u/proj', permissionMode: 'bypassPermissions', slug: 'lexical-painting' });
  });

  it('turns tool_result blocks into tool_result interactions with the structured result', () => {
    const p = ok(
      user(
        [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_1',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
              { type: 'image', source: {} },
            ],
            is_error: true,
          },
        ],
        {
          toolUseResult: { status: 'completed', agentId: 'aac57f5', totalTokens: 19831 },
        },
      ),
    );
    const it0 = p.interactions[0]!;
    expect(it0).toMatchObject({ kind: 'tool_result', toolUseId: 'toolu_1', isError: true, text: 'a\nb\n[image]', spawnedAgentId: 'aac57f5' });
    expect(JSON.parse(it0.toolUseResult!)).toEqual({ status: 'completed', agentId: 'aac57f5', totalTokens: 19831 });
    const plain = ok(user([{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'done' }], { toolUseResult: 'User rejected tool use' }));
    expect(plain.interactions[0]).toMatchObject({ isError: false, text: 'done', toolUseResult: '"User rejected tool use"', spawnedAgentId: null });
  });

  it('bounds huge text and huge structured results', () => {
    const big = 'y'.repeat(3 * TEXT_LIMIT);
    const p = ok(
      user([{ type: 'tool_result', tool_use_id: 't', content: big }], { toolUseResult: { file: { content: 'z'.repeat(4 * JSON_LIMIT) }, type: 'text' } }),
    );
    const it0 = p.interactions[0]!;
    expect(it0.textLength).toBe(big.length);
    expect(it0.text.length).toBeLessThan(TEXT_LIMIT + 100);
    expect(it0.text).toMatch(/truncated/);
    expect(it0.toolUseResult!.length).toBeLessThanOrEqual(JSON_LIMIT);
    const tur = JSON.parse(it0.toolUseResult!) as { type: string; file: { content: string } };
    expect(tur.type).toBe('text');
    expect(tur.file.content).toMatch(/truncated: 1048576 characters/);
  });
});

describe('assistant lines', () => {
  it('emits one interaction per block, with tool details', () => {
    const p = ok(
      assistant([
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_9', name: 'Bash', input: { command: 'ls -la', timeout: 5 } },
        { type: 'redacted_thinking', data: 'xx' },
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'otel' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'u' }] },
        { type: 'future_block', text: 'new' },
      ]),
    );
    expect(kinds(p)).toEqual([
      'thinking',
      'assistant_text',
      'tool_use',
      'thinking/redacted',
      'tool_use/server',
      'tool_result/web_search_tool_result',
      'other/future_block',
    ]);
    expect(p.interactions.map((i) => i.blockIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(p.interactions[2]).toMatchObject({
      toolName: 'Bash',
      toolUseId: 'toolu_9',
      text: 'ls -la',
      messageId: 'msg_1',
      requestId: 'req_1',
      model: 'claude-opus-4-6',
    });
    expect(JSON.parse(p.interactions[2]!.toolInput!)).toEqual({ command: 'ls -la', timeout: 5 });
    expect(p.sessionMeta.model).toBe('claude-opus-4-6');
  });

  it('reads usage, treating a missing TTL split as 5-minute writes', () => {
    const withSplit = ok(
      assistant(
        [{ type: 'text', text: 'x' }],
        {},
        {
          input_tokens: 3,
          cache_creation_input_tokens: 8165,
          cache_read_input_tokens: 17842,
          cache_creation: { ephemeral_5m_input_tokens: 8000, ephemeral_1h_input_tokens: 165 },
          output_tokens: 209,
        },
      ),
    ).usage!;
    expect(withSplit).toMatchObject({
      messageId: 'msg_1',
      requestId: 'req_1',
      model: 'claude-opus-4-6',
      inputTokens: 3,
      outputTokens: 209,
      cacheCreationTokens: 8165,
      cacheCreation5mTokens: 8000,
      cacheCreation1hTokens: 165,
      cacheReadTokens: 17842,
      sessionId: SID,
      agentId: null,
      isSidechain: false,
    });
    const noSplit = ok(assistant([{ type: 'text', text: 'x' }], {}, { input_tokens: 4, cache_creation_input_tokens: 14363, output_tokens: 3 })).usage!;
    expect(noSplit).toMatchObject({ cacheCreation5mTokens: 14363, cacheCreation1hTokens: 0, cacheReadTokens: 0 });
  });

  it('counts synthetic messages as zero and flags API error messages', () => {
    const p = ok(
      env({
        type: 'assistant',
        isApiErrorMessage: true,
        message: {
          id: 'x1',
          model: '<synthetic>',
          role: 'assistant',
          content: [{ type: 'text', text: 'API Error: overloaded' }],
          usage: { input_tokens: 99, output_tokens: 99 },
        },
      }),
    );
    expect(p.usage).toMatchObject({ model: '<synthetic>', inputTokens: 0, outputTokens: 0, requestId: null });
    expect(kinds(p)).toEqual(['assistant_text/api_error']);
    expect(p.sessionMeta.model).toBeUndefined();
  });
});

describe('usage dedupe', () => {
  const rec = (o: Partial<UsageRecord>): UsageRecord => ({
    messageId: 'msg_1',
    requestId: 'req_1',
    model: 'claude-opus-4-6',
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheCreation5mTokens: 0,
    cacheCreation1hTokens: 0,
    cacheReadTokens: 0,
    timestamp: null,
    sessionId: null,
    agentId: null,
    isSidechain: false,
    ...o,
  });

  it('keys on message id and request id', () => {
    expect(usageKey(rec({}))).toBe('msg_1:req_1');
    expect(usageKey(rec({ requestId: null }))).toBe('msg_1');
  });

  it('keeps the per-field maximum and the earliest timestamp', () => {
    const placeholder = rec({ inputTokens: 3, outputTokens: 9, cacheReadTokens: 100, timestamp: 2000 });
    const final = rec({ inputTokens: 3, outputTokens: 209, cacheReadTokens: 100, timestamp: 3000 });
    expect(mergeUsage(placeholder, final)).toMatchObject({ inputTokens: 3, outputTokens: 209, cacheReadTokens: 100, timestamp: 2000 });
    expect(mergeUsage(final, placeholder)).toEqual(mergeUsage(placeholder, final));
    const m = new Map<string, UsageRecord>();
    for (const r of [placeholder, placeholder, final, rec({ messageId: 'msg_2', outputTokens: 5 })]) addUsage(m, r);
    expect(sumUsage(m.values())).toMatchObject({ messages: 2, outputTokens: 214, inputTokens: 3 });
  });
});

describe('system, attachment and progress lines', () => {
  it('recognises a compaction boundary', () => {
    const p = ok(
      env({
        type: 'system',
        subtype: 'compact_boundary',
        parentUuid: null,
        logicalParentUuid: 'lp-1',
        content: 'Conversation compacted',
        isMeta: false,
        level: 'info',
        compactMetadata: { trigger: 'manual', preTokens: 142431 },
      }),
    );
    expect(p.subtype).toBe('compact_boundary');
    expect(p.compaction).toEqual({ trigger: 'manual', preTokens: 142431, postTokens: null, logicalParentUuid: 'lp-1' });
    expect(p.interactions[0]).toMatchObject({
      kind: 'system_event',
      subtype: 'compact_boundary',
      parentUuid: null,
      logicalParentUuid: 'lp-1',
      text: 'Conversation compacted',
    });
    expect(JSON.parse(p.interactions[0]!.data!)).toMatchObject({ compactMetadata: { trigger: 'manual' }, level: 'info' });
  });

  it('handles api_error, turn_duration, local_command, informational and unknown subtypes', () => {
    const apiErr = ok(
      env({ type: 'system', subtype: 'api_error', level: 'error', error: { status: 529, message: 'overloaded' }, retryAttempt: 1, maxRetries: 10 }),
    );
    expect(apiErr.interactions[0]).toMatchObject({ kind: 'system_event', subtype: 'api_error', text: '529: overloaded (retry 1 of 10)' });
    expect(JSON.parse(apiErr.interactions[0]!.data!)).toMatchObject({ retryAttempt: 1, maxRetries: 10 });
    // No answer at all: the transport's cause and the retry are the detail (Claude Code 2.x shape).
    const socket = ok(
      env({
        type: 'system',
        subtype: 'api_error',
        level: 'error',
        cause: { code: 'FailedToOpenSocket', path: 'https://api.anthropic.com/v1/messages?beta=true', errno: 0 },
        error: { cause: { code: 'FailedToOpenSocket', path: 'https://api.anthropic.com/v1/messages?beta=true', errno: 0 } },
        retryInMs: 1184.5,
        retryAttempt: 3,
        maxRetries: 10,
      }),
    ).interactions[0]!;
    expect(socket.text).toBe('FailedToOpenSocket (retry 3 of 10 in 1.2 s)');
    expect(JSON.parse(socket.data!).apiError).toEqual({
      status: null,
      type: null,
      message: null,
      cause: 'FailedToOpenSocket',
      retryAttempt: 3,
      maxRetries: 10,
      retryInMs: 1184.5,
    });
    // The API answered with an error body.
    const overloaded = ok(
      env({
        type: 'system',
        subtype: 'api_error',
        error: { status: 529, error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
        retryAttempt: 2,
        maxRetries: 10,
      }),
    ).interactions[0]!;
    expect(overloaded.text).toBe('529 overloaded_error: Overloaded (retry 2 of 10)');
    // The assistant line Claude Code writes when it gives up keeps its kind of failure as a field.
    const gaveUp = ok(
      assistant([{ type: 'text', text: 'API Error: Unable to connect to API (FailedToOpenSocket)' }], { isApiErrorMessage: true, error: 'server_error' }),
    ).interactions[0]!;
    expect(gaveUp).toMatchObject({ kind: 'assistant_text', subtype: 'api_error' });
    expect(JSON.parse(gaveUp.data!).apiError).toMatchObject({ type: 'server_error' });
    expect(ok(env({ type: 'system', subtype: 'turn_duration', durationMs: 1341830 })).interactions[0]!.text).toBe('turn took 1341830 ms');
    expect(kinds(ok(env({ type: 'system', subtype: 'local_command', content: '<command-name>/model</command-name>' })))).toEqual(['command/local_command']);
    expect(kinds(ok(env({ type: 'system', subtype: 'local_command', content: '<local-command-stdout>Kept model</local-command-stdout>' })))).toEqual([
      'command_output/local_command',
    ]);
    expect(kinds(ok(env({ type: 'system', subtype: 'informational', content: 'note' })))).toEqual(['system_event/informational']);
    expect(kinds(ok(env({ type: 'system', subtype: 'brand_new_subtype' })))).toEqual(['system_event/brand_new_subtype']);
  });

  it('treats a queued_command attachment as a prompt and others as attachments', () => {
    const queued = ok(env({ type: 'attachment', attachment: { type: 'queued_command', prompt: 'and centre it', commandMode: 'prompt' } }));
    expect(kinds(queued)).toEqual(['user_prompt/queued_command']);
    expect(queued.interactions[0]!.text).toBe('and centre it');
    const hook = ok(env({ type: 'attachment', attachment: { type: 'hook_success', hookName: 'SessionStart:startup', output: 'ok' } }));
    expect(kinds(hook)).toEqual(['attachment/hook_success']);
    expect(JSON.parse(hook.interactions[0]!.data!)).toMatchObject({ hookName: 'SessionStart:startup' });
  });

  it('reports progress lines without making interactions', () => {
    const p = ok(
      env({
        type: 'progress',
        data: { type: 'hook_progress', hookEvent: 'PreToolUse', hookName: 'PreToolUse:Bash', command: 'x' },
        toolUseID: 'toolu_1',
        parentToolUseID: 'toolu_1',
      }),
    );
    expect(p.interactions).toEqual([]);
    expect(p.subtype).toBe('hook_progress');
    expect(p.progress).toEqual({
      dataType: 'hook_progress',
      toolUseId: 'toolu_1',
      parentToolUseId: 'toolu_1',
      hookEvent: 'PreToolUse',
      hookName: 'PreToolUse:Bash',
      agentId: null,
    });
  });
});

describe('metadata and unknown lines', () => {
  it('maps uuid-less metadata lines to sessionMeta and no interactions', () => {
    const cases: [unknown, Record<string, unknown>][] = [
      [
        { type: 'summary', summary: 'AI Music Generation', leafUuid: 'leaf-1' },
        { summary: 'AI Music Generation', leafUuid: 'leaf-1' },
      ],
      [
        { type: 'custom-title', customTitle: 'my title', sessionId: SID },
        { customTitle: 'my title', sessionId: SID },
      ],
      [{ type: 'ai-title', aiTitle: 'AI title', sessionId: SID }, { aiTitle: 'AI title' }],
      [{ type: 'agent-name', agentName: 'helper', sessionId: SID }, { agentName: 'helper' }],
      [
        { type: 'last-prompt', lastPrompt: 'ship it', leafUuid: 'leaf-2', sessionId: SID },
        { lastPrompt: 'ship it', leafUuid: 'leaf-2' },
      ],
      [{ type: 'mode', mode: 'normal', sessionId: SID }, { mode: 'normal' }],
      [{ type: 'permission-mode', permissionMode: 'acceptEdits', sessionId: SID }, { permissionMode: 'acceptEdits' }],
      [
        { type: 'pr-link', sessionId: SID, prNumber: 55, prUrl: 'https://github.com/o/r/pull/55', prRepository: 'o/r', timestamp: '2026-09-13T00:00:00Z' },
        { prLink: { number: 55, url: 'https://github.com/o/r/pull/55', repository: 'o/r' } },
      ],
    ];
    for (const [line, meta] of cases) {
      const p = ok(line);
      expect(p.known).toBe(true);
      expect(p.interactions).toEqual([]);
      expect(p.uuid).toBeNull();
      expect(p.sessionMeta).toMatchObject(meta);
    }
  });

  it('dates file-history-snapshots and names queue operations', () => {
    const snap = ok({
      type: 'file-history-snapshot',
      messageId: 'm',
      snapshot: { messageId: 'm', trackedFileBackups: {}, timestamp: '2026-02-12T14:11:57.624Z' },
      isSnapshotUpdate: false,
    });
    expect(snap.timestamp).toBe(Date.parse('2026-02-12T14:11:57.624Z'));
    expect(snap.interactions).toEqual([]);
    const q = ok({ type: 'queue-operation', operation: 'enqueue', timestamp: '2026-02-10T22:57:58.381Z', sessionId: SID, content: '/mcp' });
    expect(q.subtype).toBe('enqueue');
    expect(q.interactions).toEqual([]);
  });

  it('keeps unknown types raw and never fails on them', () => {
    const line = { type: 'brand-new-type', uuid: 'n-1', payload: { a: [1, 2] } };
    const p = ok(line);
    expect(p.known).toBe(false);
    expect(p.type).toBe('brand-new-type');
    expect(p.interactions).toEqual([]);
    expect(p.entry).toEqual(line);
    const untyped = ok({ content: 'x', sessionId: SID });
    expect(untyped).toMatchObject({ type: '', known: false, problems: ['missing-type'] });
    expect(KNOWN_LINE_TYPES.has('user')).toBe(true);
  });

  it('fails cleanly on empty, whitespace, non-object and broken lines, and accepts a BOM', () => {
    expect(parseTranscriptLine(Buffer.alloc(0), ctx)).toMatchObject({ ok: false, reason: 'empty' });
    expect(parse('   ')).toMatchObject({ ok: false, reason: 'empty' });
    expect(parse('null')).toMatchObject({ ok: false, reason: 'not-object' });
    expect(parse('"str"')).toMatchObject({ ok: false, reason: 'not-object' });
    const broken = parse('{"type":"user",');
    expect(broken).toMatchObject({ ok: false, reason: 'invalid-json', bytes: 15 });
    expect(broken.ok === false && broken.error).toBeTruthy();
    expect(parse('\uFEFF{"type":"summary","summary":"s"}')).toMatchObject({ ok: true, type: 'summary' });
  });
});

describe('identifiers', () => {
  it('drops unsafe ids, flags them, and falls back to the path hints', () => {
    const p = ok(user('hi', { sessionId: '../../etc/passwd', agentId: 'a/b' }), { file: 'f', sessionIdHint: SID, agentIdHint: 'aac57f5' });
    expect(p.problems).toEqual(expect.arrayContaining(['unsafe-session-id', 'unsafe-agent-id']));
    expect(p.sessionId).toBe(SID);
    expect(p.agentId).toBe('aac57f5');
    const bad = ok(user('hi', { sessionId: 'x'.repeat(200) }));
    expect(bad.sessionId).toBeNull();
    const hintBad = ok(user('hi', { sessionId: undefined }), { file: 'f', sessionIdHint: '..' });
    expect(hintBad.sessionId).toBeNull();
  });

  it('gives conversation lines without a uuid a stable content-derived key', () => {
    const line = JSON.stringify(user('no uuid here', { uuid: undefined }));
    const a = ok(line);
    const b = ok(line);
    expect(a.problems).toContain('missing-uuid');
    expect(a.uuid).toMatch(/^syn-[0-9a-f]{32}$/);
    expect(a.uuid).toBe(b.uuid);
    expect(a.uuid).toBe(syntheticLineKey(Buffer.from(line)));
    expect(a.interactions[0]!.uuid).toBe(a.uuid);
    expect(ok(JSON.stringify(user('other text', { uuid: undefined }))).uuid).not.toBe(a.uuid);
    const unsafe = ok(user('x', { uuid: '../../x' }));
    expect(unsafe.problems).toContain('unsafe-uuid');
    expect(unsafe.uuid).toMatch(/^syn-/);
  });

  it('decodes timestamps exactly like Date.parse', () => {
    for (const t of [
      '2026-02-12T14:00:00.000Z',
      '2025-06-10T12:36:23.208Z',
      '1999-12-31T23:59:59.999Z',
      '2026-02-30T00:00:00.000Z',
      '2026-02-12T14:00:00Z',
      '2026-02-12T14:00:00.123+02:00',
      '2026-02-12 14:00:00.000Z',
    ]) {
      expect([t, ok(user('x', { timestamp: t })).timestamp]).toEqual([t, Date.parse(t)]);
    }
    expect(ok(user('x', { timestamp: '2026-13-12T14:00:00.000Z' })).timestamp).toBeNull();
  });

  it('flags unparseable timestamps', () => {
    const p = ok(user('x', { timestamp: 'yesterday' }));
    expect(p.timestamp).toBeNull();
    expect(p.problems).toContain('bad-timestamp');
  });
});

describe('linkToolResults', () => {
  it('links results to uses and reports pending uses and orphan results', () => {
    const a = ok(assistant([{ type: 'tool_use', id: 't1', name: 'Read', input: { file_path: '/a' } }], { uuid: 'a1' }));
    const a2 = ok(assistant([{ type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'x' } }], { uuid: 'a2' }));
    const r = ok(user([{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }], { uuid: 'r1' }));
    const orphan = ok(user([{ type: 'tool_result', tool_use_id: 't9', content: 'late' }], { uuid: 'r9' }));
    const all: Interaction[] = [...a.interactions, ...a.interactions, ...a2.interactions, ...r.interactions, ...orphan.interactions];
    const links = linkToolResults(all);
    expect(links.links.map((l) => [l.toolUseId, l.use.uuid, l.result.uuid])).toEqual([['t1', 'a1', 'r1']]);
    expect(links.pendingUses.map((u) => u.toolUseId)).toEqual(['t2']);
    expect(links.orphanResults.map((u) => u.toolUseId)).toEqual(['t9']);
  });
});

describe('boundedJson', () => {
  it('returns valid JSON within the limit', () => {
    expect(boundedJson(undefined)).toBeNull();
    expect(boundedJson({ a: 1 })).toBe('{"a":1}');
    const many = Array.from({ length: 5000 }, (_, i) => `item-${i}-${'q'.repeat(100)}`);
    const s = boundedJson(many, 10_000)!;
    expect(s.length).toBeLessThanOrEqual(10_000 + 100);
    expect(JSON.parse(s)).toMatchObject({ $truncated: true });
  });
});
