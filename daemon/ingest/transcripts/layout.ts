// Where a transcript file sits says what it is. Claude Code has stored subagent (Task/Agent tool)
// conversations three ways:
//   ≤ 2.0.27        inline: isSidechain:true lines inside the main <session>.jsonl, no agentId;
//   2.0.28 – 2.1.1  flat:   <project>/agent-<id>.jsonl, session id only inside the lines;
//   ≥ 2.1.2         folder: <project>/<session>/subagents/agent-<id>.jsonl + agent-<id>.meta.json.
// Internal runs use the same files: `agent-acompact-*` is the compaction summarizer (real cost,
// not conversation), `agent-aprompt_suggestion-*` the prompt-suggestion side query, and "Warmup"
// sidechains pre-warm the cache. Callers count their tokens but hide them from conversations.
//
// Every id returned here comes from a path segment that passed isSafeId, so it can never walk a
// path; anything else is reported as a problem and returned as null.
import { CODEX_ROLLOUT } from './codex.js';
import path from 'node:path';
import { isSafeId, isSafeTranscriptPath } from '../../../common/ids.js';

export type TranscriptLayoutKind = 'main' | 'flat-agent' | 'subagents-folder' | 'codex';

/** Internal subagent runs recognisable from their agent id. */
export type InternalAgentKind = 'compaction' | 'prompt-suggestion';

export type LayoutProblem = 'not-jsonl' | 'unsafe-path' | 'unsafe-session-id' | 'unsafe-agent-id' | 'session-id-not-uuid';

export interface TranscriptLayout {
  role: 'session' | 'subagent';
  /**
   * Main files: the file name. Folder layout: the parent session folder. Flat agent files: null,
   * because only the lines' sessionId says which session they belong to.
   */
  sessionId: string | null;
  agentId: string | null;
  layout: TranscriptLayoutKind;
  /** The compaction summarizer's transcript (agent-acompact-*). */
  isCompaction: boolean;
  internalAgent: InternalAgentKind | null;
  /** Folder layout only: agent-<id>.meta.json beside the transcript (may not exist). */
  metaPath?: string;
  problems: LayoutProblem[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function internalAgentKind(agentId: string | null | undefined): InternalAgentKind | null {
  if (!agentId) return null;
  if (agentId.startsWith('acompact-') || agentId.startsWith('acompact_')) return 'compaction';
  if (agentId.startsWith('aprompt_suggestion') || agentId.startsWith('aprompt-suggestion')) return 'prompt-suggestion';
  return null;
}

/** Classifies an absolute transcript path. Pure: it does not touch the file system. */
export function classifyTranscriptPath(absPath: string): TranscriptLayout {
  const problems: LayoutProblem[] = [];
  if (!isSafeTranscriptPath(absPath)) problems.push('unsafe-path');
  const base = path.basename(absPath);
  let stem = base;
  if (base.endsWith('.jsonl')) stem = base.slice(0, -'.jsonl'.length);
  else problems.push('not-jsonl');

  // A Codex CLI rollout: rollout-<time>-<session id>.jsonl (transcripts/codex.ts).
  const codex = CODEX_ROLLOUT.exec(base);
  if (codex)
    return {
      role: 'session',
      sessionId: (codex[1] as string).toLowerCase(),
      agentId: null,
      layout: 'codex',
      isCompaction: false,
      internalAgent: null,
      problems,
    };

  if (stem.startsWith('agent-')) {
    const rawAgent = stem.slice('agent-'.length);
    const agentId = isSafeId(rawAgent) ? rawAgent : null;
    if (agentId === null) problems.push('unsafe-agent-id');
    const internal = internalAgentKind(agentId);
    const dir = path.dirname(absPath);
    if (path.basename(dir) === 'subagents') {
      const rawSession = path.basename(path.dirname(dir));
      const sessionId = isSafeId(rawSession) ? rawSession : null;
      if (sessionId === null) problems.push('unsafe-session-id');
      else if (!UUID.test(sessionId)) problems.push('session-id-not-uuid');
      const layout: TranscriptLayout = {
        role: 'subagent',
        sessionId,
        agentId,
        layout: 'subagents-folder',
        isCompaction: internal === 'compaction',
        internalAgent: internal,
        problems,
      };
      if (agentId !== null) layout.metaPath = path.join(dir, `agent-${agentId}.meta.json`);
      return layout;
    }
    return { role: 'subagent', sessionId: null, agentId, layout: 'flat-agent', isCompaction: internal === 'compaction', internalAgent: internal, problems };
  }

  const sessionId = isSafeId(stem) ? stem : null;
  if (sessionId === null) problems.push('unsafe-session-id');
  else if (!UUID.test(sessionId)) problems.push('session-id-not-uuid');
  return { role: 'session', sessionId, agentId: null, layout: 'main', isCompaction: false, internalAgent: null, problems };
}

/** The fields of agent-<id>.meta.json that matter to us. */
export interface SubagentMeta {
  agentType: string | null;
  description: string | null;
  /** The Task/Agent tool_use that started this subagent, for linking to the parent session. */
  toolUseId: string | null;
}

/** Parses a .meta.json body; null when it is not a JSON object. */
export function parseSubagentMeta(text: string): SubagentMeta | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const s = (x: unknown, max: number): string | null => (typeof x === 'string' && x.length <= max ? x : null);
  return { agentType: s(o.agentType, 256), description: s(o.description, 4096), toolUseId: s(o.toolUseId, 256) };
}

/** True for the literal "Warmup" prompt Claude Code used to pre-warm subagent caches. */
export function isWarmupPrompt(text: string | null | undefined): boolean {
  return typeof text === 'string' && text.trim() === 'Warmup';
}

export type SidechainClass = 'conversation' | 'warmup' | InternalAgentKind;

export interface SidechainFacts {
  /** From classifyTranscriptPath, when the run has its own file. */
  layout?: TranscriptLayout | null;
  /** The agent id from the lines, when there is no file of its own (or to override). */
  agentId?: string | null;
  /** Text of the run's first user prompt (the sidechain root's user_prompt). */
  firstPrompt?: string | null;
}

/**
 * What a sidechain run is. Works for all three layouts: for inline sidechains pass the first
 * user_prompt of the chain whose root has parentUuid null and isSidechain true.
 */
export function classifySidechain(facts: SidechainFacts): SidechainClass {
  const internal = facts.layout?.internalAgent ?? internalAgentKind(facts.agentId ?? facts.layout?.agentId ?? null);
  if (internal !== null) return internal;
  if (isWarmupPrompt(facts.firstPrompt)) return 'warmup';
  return 'conversation';
}

/**
 * True when a run costs tokens but is not conversation: warmups, the compaction summarizer and
 * other internal side queries. Count its usage; do not show it as part of the conversation.
 */
export function isWarmupOrCompaction(facts: SidechainFacts): boolean {
  return classifySidechain(facts) !== 'conversation';
}
