import { describe, expect, it } from 'vitest';
import { classifySidechain, classifyTranscriptPath, isWarmupOrCompaction, isWarmupPrompt, parseSubagentMeta } from '../../daemon/ingest/transcripts/layout.js';

const P = '/home/u/.claude/projects/-home-u-proj';
const SID = '55604662-cf2a-4331-851a-ec234028f8ca';

describe('classifyTranscriptPath', () => {
  it('recognises the three layouts', () => {
    expect(classifyTranscriptPath(`${P}/${SID}.jsonl`)).toEqual({
      role: 'session',
      sessionId: SID,
      agentId: null,
      layout: 'main',
      isCompaction: false,
      internalAgent: null,
      problems: [],
    });
    expect(classifyTranscriptPath(`${P}/agent-a1b2c3d.jsonl`)).toEqual({
      role: 'subagent',
      sessionId: null,
      agentId: 'a1b2c3d',
      layout: 'flat-agent',
      isCompaction: false,
      internalAgent: null,
      problems: [],
    });
    expect(classifyTranscriptPath(`${P}/${SID}/subagents/agent-a01f7a96030eca02a.jsonl`)).toEqual({
      role: 'subagent',
      sessionId: SID,
      agentId: 'a01f7a96030eca02a',
      layout: 'subagents-folder',
      isCompaction: false,
      internalAgent: null,
      metaPath: `${P}/${SID}/subagents/agent-a01f7a96030eca02a.meta.json`,
      problems: [],
    });
  });

  it('marks internal runs', () => {
    expect(classifyTranscriptPath(`${P}/${SID}/subagents/agent-acompact-946d2b.jsonl`)).toMatchObject({ isCompaction: true, internalAgent: 'compaction' });
    expect(classifyTranscriptPath(`${P}/agent-acompact-1.jsonl`)).toMatchObject({ layout: 'flat-agent', isCompaction: true });
    expect(classifyTranscriptPath(`${P}/${SID}/subagents/agent-aprompt_suggestion-0ddb75.jsonl`)).toMatchObject({
      isCompaction: false,
      internalAgent: 'prompt-suggestion',
    });
  });

  it('never returns an id that could walk a path', () => {
    const cases = [
      `${P}/../../etc/agent-x.jsonl`,
      `${P}/agent-.jsonl`,
      `${P}/agent-..jsonl`,
      `${P}/agent-a b.jsonl`,
      `${P}/.jsonl`,
      `${P}/..jsonl`,
      `${P}/-rf.jsonl`,
      `${P}/../subagents/agent-x.jsonl`,
      `relative/${SID}.jsonl`,
      `${P}/${SID}.json`,
      `${P}/${'a'.repeat(200)}.jsonl`,
    ];
    for (const c of cases) {
      const l = classifyTranscriptPath(c);
      for (const id of [l.sessionId, l.agentId]) {
        if (id !== null) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
      }
    }
    expect(classifyTranscriptPath(`${P}/../../etc/agent-x.jsonl`).problems).toContain('unsafe-path');
    expect(classifyTranscriptPath(`${P}/agent-.jsonl`)).toMatchObject({ agentId: null, problems: ['unsafe-agent-id'] });
    expect(classifyTranscriptPath(`${P}/-rf.jsonl`)).toMatchObject({ sessionId: null, problems: ['unsafe-session-id'] });
    expect(classifyTranscriptPath(`${P}/../subagents/agent-x.jsonl`)).toMatchObject({ sessionId: null, agentId: 'x' });
    expect(classifyTranscriptPath(`relative/${SID}.jsonl`).problems).toContain('unsafe-path');
    expect(classifyTranscriptPath(`${P}/${SID}.json`).problems).toContain('not-jsonl');
    expect(classifyTranscriptPath(`${P}/notes.jsonl`)).toMatchObject({ sessionId: 'notes', problems: ['session-id-not-uuid'] });
  });
});

describe('sidechain classification', () => {
  it('recognises warmups, compaction and ordinary subagents', () => {
    expect(isWarmupPrompt('Warmup')).toBe(true);
    expect(isWarmupPrompt(' Warmup\n')).toBe(true);
    expect(isWarmupPrompt('Warmup the cache please')).toBe(false);
    expect(isWarmupPrompt(null)).toBe(false);
    expect(classifySidechain({ firstPrompt: 'Warmup' })).toBe('warmup');
    expect(classifySidechain({ agentId: 'acompact-946d2b', firstPrompt: 'Your task is to create a detailed summary' })).toBe('compaction');
    expect(classifySidechain({ layout: classifyTranscriptPath(`${P}/agent-a1.jsonl`), firstPrompt: 'Search hex.pm' })).toBe('conversation');
    expect(isWarmupOrCompaction({ firstPrompt: 'Warmup' })).toBe(true);
    expect(isWarmupOrCompaction({ firstPrompt: 'Search hex.pm' })).toBe(false);
  });

  it('parses .meta.json', () => {
    expect(parseSubagentMeta('{"agentType":"general-purpose","description":"Find it","toolUseId":"toolu_01Q"}')).toEqual({
      agentType: 'general-purpose',
      description: 'Find it',
      toolUseId: 'toolu_01Q',
    });
    expect(parseSubagentMeta('{"agentType":"workflow-subagent"}')).toEqual({ agentType: 'workflow-subagent', description: null, toolUseId: null });
    expect(parseSubagentMeta('garbage')).toBeNull();
    expect(parseSubagentMeta('[1]')).toBeNull();
  });
});
