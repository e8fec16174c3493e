import { describe, expect, it } from 'vitest';
import { describeUnsafeId, isSafeId, isSafeTranscriptPath } from '../../common/ids.js';

describe('isSafeId', () => {
  it('accepts the ids Claude Code uses and a conservative superset', () => {
    for (const id of [
      '49614653-89bf-462c-9741-3e1bae46895c', // session (UUID)
      'a608307b51f3ab31e', // agent (hex)
      'acompact-946d2b',
      'A',
      '0',
      'abc_DEF-123',
      'a'.repeat(128),
    ]) {
      expect(isSafeId(id), id).toBe(true);
    }
  });

  it('refuses anything that could walk a path or is not a plain id', () => {
    for (const id of ['', '../../etc', '..', '.', '.hidden', '-rf', '_x', 'a/b', 'a\\b', 'a.b', 'a b', 'a\0b', 'a\nb', 'é', 'a'.repeat(129), '/etc/passwd']) {
      expect(isSafeId(id), JSON.stringify(id)).toBe(false);
    }
  });

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 42, {}, ['abc'], true]) expect(isSafeId(v)).toBe(false);
  });
});

describe('describeUnsafeId', () => {
  it('names the field, quotes the value and states the rule', () => {
    const msg = describeUnsafeId('session_id', '../../etc');
    expect(msg).toContain('session_id "../../etc" is not a valid id');
    expect(msg).toContain("letters, digits, '-' and '_'");
  });

  it('truncates long values and describes non-strings by type', () => {
    const msg = describeUnsafeId('agent_id', 'x'.repeat(500));
    expect(msg).toContain(`"${'x'.repeat(80)}…"`);
    expect(msg).not.toContain('x'.repeat(81));
    expect(describeUnsafeId('session_id', 42)).toBe(
      `session_id number is not a valid id: ids must be 1-128 characters of letters, digits, '-' and '_', starting with a letter or digit`,
    );
  });
});

describe('isSafeTranscriptPath', () => {
  it('accepts absolute, normalized .jsonl paths', () => {
    expect(isSafeTranscriptPath('/home/a/.claude/projects/-x/49614653-89bf-462c-9741-3e1bae46895c.jsonl')).toBe(true);
    expect(isSafeTranscriptPath('/h/.claude/projects/-x/s/subagents/agent-a1.jsonl')).toBe(true);
  });

  it('refuses relative, traversing, non-jsonl, NUL-carrying and oversized paths', () => {
    for (const p of ['', 'relative/x.jsonl', '/a/../etc/x.jsonl', '/a/./x.jsonl', '/a/x.json', '/a/x.jsonl\0', '/a\0/x.jsonl', `/${'a'.repeat(4096)}.jsonl`]) {
      expect(isSafeTranscriptPath(p), JSON.stringify(p.slice(0, 40))).toBe(false);
    }
    for (const v of [undefined, null, 1, {}]) expect(isSafeTranscriptPath(v)).toBe(false);
  });
});
