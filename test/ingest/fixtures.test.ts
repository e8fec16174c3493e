// Runs the parser over the real Claude Code transcripts in test/fixtures (provenance in its
// README.txt) and checks what we extract against facts computed independently from the raw JSON.
import { readFileSync, writeFileSync, copyFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanTranscript, ScanStats } from '../../daemon/ingest/transcripts/scan.js';
import { linkToolResults } from '../../daemon/ingest/transcripts/links.js';
import { classifyTranscriptPath, classifySidechain, isWarmupOrCompaction } from '../../daemon/ingest/transcripts/layout.js';
import { costOf } from '../../daemon/pricing/pricing.js';
import type { Interaction, ParsedEntry } from '../../daemon/ingest/transcripts/types.js';
import { ALL_FIXTURES, COMPACT_2139, LEGACY_10108, MAIN_2139, OLDEST_1017, SHORT_2138, SUBAGENT_2139, TOOL_HEAVY_2138, tempDir } from './helpers.js';

interface Scan {
  stats: ScanStats;
  entries: ParsedEntry[];
  interactions: Interaction[];
}

async function scan(file: string): Promise<Scan> {
  const layout = classifyTranscriptPath(file);
  const stats = new ScanStats();
  const entries: ParsedEntry[] = [];
  const interactions: Interaction[] = [];
  for await (const s of scanTranscript(file, 0, { sessionIdHint: layout.sessionId, agentIdHint: layout.agentId })) {
    stats.add(s);
    if (s.parsed.ok) {
      entries.push(s.parsed);
      interactions.push(...s.parsed.interactions);
    }
  }
  return { stats, entries, interactions };
}

type Raw = Record<string, any>;
const rawLines = (file: string): Raw[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Raw);

const TOKEN_FIELDS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/** The rule, written from scratch: per message.id + requestId keep each field's maximum. */
function independentTotals(file: string): { deduped: Record<string, number>; naive: Record<string, number>; messages: number } {
  const perKey = new Map<string, Record<string, number>>();
  const naive: Record<string, number> = Object.fromEntries(TOKEN_FIELDS.map((f) => [f, 0]));
  for (const o of rawLines(file)) {
    if (o.type !== 'assistant' || !o.message?.usage) continue;
    const key = `${o.message.id}:${o.requestId ?? ''}`;
    const u = o.message.usage;
    const cur = perKey.get(key) ?? Object.fromEntries(TOKEN_FIELDS.map((f) => [f, 0]));
    for (const f of TOKEN_FIELDS) {
      const v = o.message.model === '<synthetic>' ? 0 : (u[f] ?? 0);
      cur[f] = Math.max(cur[f]!, v);
      naive[f]! += v;
    }
    perKey.set(key, cur);
  }
  const deduped: Record<string, number> = Object.fromEntries(TOKEN_FIELDS.map((f) => [f, 0]));
  for (const rec of perKey.values()) for (const f of TOKEN_FIELDS) deduped[f]! += rec[f]!;
  return { deduped, naive, messages: perKey.size };
}

const EXPECTED_TYPES: Record<string, Record<string, number>> = {
  [MAIN_2139]: { assistant: 408, user: 249, progress: 1697, 'file-history-snapshot': 26, system: 5 },
  [SUBAGENT_2139]: { assistant: 15, user: 13, progress: 12 },
  [COMPACT_2139]: { assistant: 1, user: 1 },
  [LEGACY_10108]: { assistant: 28, user: 25 },
  [OLDEST_1017]: { assistant: 10, user: 10, summary: 1 },
  [SHORT_2138]: { assistant: 5, user: 4, progress: 3, 'file-history-snapshot': 1, system: 2 },
  [TOOL_HEAVY_2138]: { assistant: 9, user: 13, progress: 10, 'file-history-snapshot': 3, 'queue-operation': 2, system: 2 },
};

describe.each(ALL_FIXTURES.map((f) => [path.relative(path.dirname(path.dirname(f)), f), f]))('fixture %s', (_name, file) => {
  it('parses every line, with the expected counts by type and no unknown types', async () => {
    const { stats } = await scan(file);
    const raw = rawLines(file);
    expect(stats.lines).toBe(raw.length);
    expect(Object.fromEntries(stats.byType)).toEqual(EXPECTED_TYPES[file]);
    expect(stats.failures.size).toBe(0);
    expect(stats.unknownTypes.size).toBe(0);
    expect(stats.problems.size).toBe(0);
    expect(stats.invalidUtf8).toBe(0);
    expect(stats.lastEnd).toBe(readFileSync(file).length);
  });

  it('dedupes usage to the independent per-(message.id, requestId) maximum, and naive sums overcount', async () => {
    const { stats } = await scan(file);
    const { deduped, naive, messages } = independentTotals(file);
    const t = stats.totals();
    expect(t.messages).toBe(messages);
    expect(t.inputTokens).toBe(deduped.input_tokens);
    expect(t.outputTokens).toBe(deduped.output_tokens);
    expect(t.cacheCreationTokens).toBe(deduped.cache_creation_input_tokens);
    expect(t.cacheReadTokens).toBe(deduped.cache_read_input_tokens);
    expect(t.cacheCreation5mTokens + t.cacheCreation1hTokens).toBe(t.cacheCreationTokens);
    if (stats.usageLines > messages) {
      const naiveTotal = TOKEN_FIELDS.reduce((s, f) => s + naive[f]!, 0);
      const dedupedTotal = TOKEN_FIELDS.reduce((s, f) => s + deduped[f]!, 0);
      expect(naiveTotal).toBeGreaterThan(dedupedTotal);
    }
    for (const u of stats.usage.values()) expect(costOf(u)).not.toBeNull();
  });

  it('links every tool_result to its tool_use', async () => {
    const { interactions } = await scan(file);
    const links = linkToolResults(interactions);
    expect(links.orphanResults).toEqual([]);
    expect(links.pendingUses).toEqual([]);
    // Both sides agree on the tool's id, so a join on toolUseId is complete too.
    for (const l of links.links) expect(l.use.toolName).toBeTruthy();
  });

  it('keys interactions uniquely on (uuid, blockIndex) and re-reads give the same keys', async () => {
    const a = await scan(file);
    const b = await scan(file);
    const keys = a.interactions.map((i) => `${i.uuid}#${i.blockIndex}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(b.interactions.map((i) => `${i.uuid}#${i.blockIndex}`)).toEqual(keys);
  });
});

describe('Claude Code 2.1.39 session with compaction', () => {
  it('has 242 tool calls, 12 tool errors, and 217 distinct API messages over 408 assistant lines', async () => {
    const { interactions, stats } = await scan(MAIN_2139);
    const links = linkToolResults(interactions);
    expect(interactions.filter((i) => i.kind === 'tool_use')).toHaveLength(242);
    expect(links.links).toHaveLength(242);
    expect(links.links.filter((l) => l.result.isError)).toHaveLength(12);
    expect(stats.usageLines).toBe(408);
    expect(stats.totals()).toEqual({
      messages: 217,
      inputTokens: 242,
      outputTokens: 49467,
      cacheCreationTokens: 237121,
      cacheCreation5mTokens: 237121,
      cacheCreation1hTokens: 0,
      cacheReadTokens: 16553628,
    });
    // Per-line summing would report 29,979,352 cache-read tokens instead of 16,553,628.
    expect(independentTotals(MAIN_2139).naive.cache_read_input_tokens).toBe(29979352);
  });

  it('finds the compaction boundary and the summary that follows it', async () => {
    const { entries, interactions } = await scan(MAIN_2139);
    const boundaries = entries.filter((e) => e.compaction !== null);
    expect(boundaries).toHaveLength(1);
    const boundary = boundaries[0]!;
    expect(boundary.uuid).toBe('434dc859-6299-4713-8613-d28662692f06');
    expect(boundary.compaction).toEqual({ trigger: 'manual', preTokens: 142431, postTokens: null, logicalParentUuid: '23b73f9a-2123-4b8e-81a2-b98378c7498f' });
    expect(boundary.interactions[0]).toMatchObject({ kind: 'system_event', subtype: 'compact_boundary', parentUuid: null });
    const summaries = interactions.filter((i) => i.kind === 'compact_summary');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ uuid: '94000b8f-fa9f-4b7b-8d81-cdc73aa8a085', parentUuid: boundary.uuid, isCompactSummary: true });
    expect(summaries[0]!.text).toMatch(/^This session is being continued/);
  });

  it('classifies the slash command, its output and the caveat, and counts real prompts', async () => {
    const { interactions } = await scan(MAIN_2139);
    const count = (k: string) => interactions.filter((i) => i.kind === k).length;
    expect(count('user_prompt')).toBe(2);
    expect(count('command')).toBe(1);
    expect(count('command_output')).toBe(1);
    expect(interactions.filter((i) => i.kind === 'meta').map((i) => i.subtype)).toEqual([null, 'local_command_caveat']);
  });

  it('links the Task call to the subagent it spawned', async () => {
    const { interactions } = await scan(MAIN_2139);
    const links = linkToolResults(interactions);
    const task = links.links.filter((l) => l.use.toolName === 'Task');
    expect(task).toHaveLength(1);
    expect(task[0]!.result.spawnedAgentId).toBe('aac57f5');
    expect(JSON.parse(task[0]!.result.toolUseResult!)).toMatchObject({ agentId: 'aac57f5', totalToolUseCount: 12 });
  });

  it('reports progress lines (hooks, bash, agent progress) without interactions', async () => {
    const { entries } = await scan(MAIN_2139);
    const progress = entries.filter((e) => e.type === 'progress');
    expect(progress.every((e) => e.interactions.length === 0 && e.progress !== null)).toBe(true);
    const byType: Record<string, number> = {};
    for (const e of progress) byType[e.progress!.dataType ?? '?'] = (byType[e.progress!.dataType ?? '?'] ?? 0) + 1;
    expect(byType).toEqual({ hook_progress: 1447, bash_progress: 225, agent_progress: 25 });
    expect(progress.filter((e) => e.progress!.agentId === 'aac57f5')).toHaveLength(25);
  });
});

describe('subagent files (2.1.2+ layout)', () => {
  it('classifies the Task subagent and the compaction summarizer', async () => {
    const sub = classifyTranscriptPath(SUBAGENT_2139);
    expect(sub).toMatchObject({
      role: 'subagent',
      layout: 'subagents-folder',
      sessionId: 'ae4a77f8-aedd-4bc1-888f-c94edc91af04',
      agentId: 'aac57f5',
      isCompaction: false,
      metaPath: path.join(path.dirname(SUBAGENT_2139), 'agent-aac57f5.meta.json'),
      problems: [],
    });
    const compact = classifyTranscriptPath(COMPACT_2139);
    expect(compact).toMatchObject({
      role: 'subagent',
      layout: 'subagents-folder',
      agentId: 'acompact-946d2b',
      isCompaction: true,
      internalAgent: 'compaction',
    });
    expect(isWarmupOrCompaction({ layout: compact })).toBe(true);
    expect(classifyTranscriptPath(MAIN_2139)).toMatchObject({
      role: 'session',
      layout: 'main',
      sessionId: 'ae4a77f8-aedd-4bc1-888f-c94edc91af04',
      agentId: null,
    });
  });

  it('agrees with the lines: every line is a sidechain of the parent session with the file agent id', async () => {
    for (const file of [SUBAGENT_2139, COMPACT_2139]) {
      const layout = classifyTranscriptPath(file);
      const { entries, interactions, stats } = await scan(file);
      expect(entries.every((e) => e.isSidechain && e.agentId === layout.agentId && e.sessionId === layout.sessionId)).toBe(true);
      expect(interactions.every((i) => i.isSidechain && i.agentId === layout.agentId)).toBe(true);
      const first = interactions.find((i) => i.kind === 'user_prompt');
      expect(classifySidechain({ layout, firstPrompt: first?.text })).toBe(file === COMPACT_2139 ? 'compaction' : 'conversation');
      for (const u of stats.usage.values()) expect(u).toMatchObject({ isSidechain: true, agentId: layout.agentId });
    }
  });

  it('counts the compaction summarizer tokens as cost', async () => {
    const { stats } = await scan(COMPACT_2139);
    const [u] = [...stats.usage.values()];
    expect(u).toMatchObject({ model: 'claude-opus-4-6', cacheCreationTokens: 121689, cacheReadTokens: 17842 });
    expect(costOf(u!)).toBeGreaterThan(0.7);
  });
});

describe('legacy inline sidechains (1.0.108)', () => {
  it('flags the 22 sidechain lines, which have no agent id', async () => {
    const { entries, interactions } = await scan(LEGACY_10108);
    const side = entries.filter((e) => e.isSidechain);
    expect(side).toHaveLength(22);
    expect(side.every((e) => e.agentId === null)).toBe(true);
    const roots = side.filter((e) => e.interactions[0]?.parentUuid === null);
    expect(roots.map((e) => e.uuid)).toEqual(['6340ddef-f656-4b72-a065-82390f637678', '83e2917c-8940-4df6-a5a5-f2514f0d08c5']);
    for (const r of roots) {
      expect(r.interactions[0]!.kind).toBe('user_prompt');
      expect(classifySidechain({ firstPrompt: r.interactions[0]!.text })).toBe('conversation');
    }
    expect(interactions.filter((i) => i.isSidechain).length).toBeGreaterThan(0);
    expect(entries.filter((e) => !e.isSidechain)).toHaveLength(31);
    expect(classifyTranscriptPath(LEGACY_10108)).toMatchObject({ role: 'session', layout: 'main' });
  });

  it('reads the sidechain cost that Task results report', async () => {
    const { interactions } = await scan(LEGACY_10108);
    const reported = interactions
      .filter((i) => i.kind === 'tool_result' && i.toolUseResult?.includes('"totalTokens"'))
      .map((i) => JSON.parse(i.toolUseResult!) as { totalTokens: number });
    expect(reported.map((r) => r.totalTokens)).toEqual([13751, 20218]);
  });
});

describe('oldest format (1.0.17)', () => {
  it('reads the leading summary line as session metadata', async () => {
    const { entries } = await scan(OLDEST_1017);
    expect(entries[0]).toMatchObject({ type: 'summary', uuid: null, interactions: [] });
    // The line has no sessionId; the file name supplies it.
    expect(entries[0]!.sessionMeta).toEqual({
      sessionId: 'fed8ce56-bc79-401f-a83e-af084253362f',
      summary: 'AI Music Generation: Diverse Embedding Mapping',
      leafUuid: '32a76d26-9a71-40c3-8505-14cf7fede521',
    });
    expect(entries.slice(1).every((e) => e.sessionMeta.gitBranch === undefined)).toBe(true);
  });
});

describe('unknown and damaged lines among real ones', () => {
  it('counts every unknown type and keeps going', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl');
      copyFileSync(SHORT_2138, file);
      appendFileSync(
        file,
        [
          '{"type":"attribution-snapshot","x":1}',
          '{"type":"attribution-snapshot","x":2}',
          '{"type":"dream","uuid":"d1"}',
          '{"no":"type"}',
          '{"type":"user","uuid":"tail-1","message":{"role":"user","content":"after"}}',
          '{"type":"user","uuid":"tail-2","message":{"role":"user","content":"half',
        ].join('\n'),
      );
      const { stats, interactions } = await scan(file);
      expect(Object.fromEntries(stats.unknownTypes)).toEqual({ 'attribution-snapshot': 2, dream: 1, '': 1 });
      expect(stats.problems.get('missing-type')).toBe(1);
      expect(interactions.at(-1)!.text).toBe('after');
      // The unterminated last line is not consumed.
      expect(stats.lastEnd).toBeLessThan(readFileSync(file).length);
    } finally {
      cleanup();
    }
  });

  it('classifies a flat-layout warmup sidechain', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'agent-1a2b3c4d.jsonl');
      writeFileSync(
        file,
        `${JSON.stringify({ type: 'user', isSidechain: true, agentId: '1a2b3c4d', sessionId: 'ae4a77f8-aedd-4bc1-888f-c94edc91af04', parentUuid: null, uuid: 'w1', message: { role: 'user', content: 'Warmup' } })}\n`,
      );
      const layout = classifyTranscriptPath(file);
      expect(layout).toMatchObject({ role: 'subagent', layout: 'flat-agent', sessionId: null, agentId: '1a2b3c4d' });
      const { entries, interactions } = await scan(file);
      expect(entries[0]!.sessionId).toBe('ae4a77f8-aedd-4bc1-888f-c94edc91af04');
      expect(classifySidechain({ layout, firstPrompt: interactions[0]!.text })).toBe('warmup');
    } finally {
      cleanup();
    }
  });
});
