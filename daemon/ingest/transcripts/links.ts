// Pairs tool_use blocks with the tool_result blocks that answer them. Both sides carry the same
// toolUseId (the assistant's `toolu_…` block id), so the database can join on it; this helper is
// for in-memory use (tests, one-off analysis) and for reporting what is left unmatched.
import type { Interaction } from './types.js';

export interface ToolLink {
  toolUseId: string;
  use: Interaction;
  result: Interaction;
}

export interface ToolLinks {
  links: ToolLink[];
  /** tool_use blocks with no result yet: still running, interrupted, or the result is in a later read. */
  pendingUses: Interaction[];
  /** tool_result blocks whose tool_use was not among the input (e.g. it was before the read window). */
  orphanResults: Interaction[];
}

/**
 * Links results to uses by toolUseId. A use repeated with the same key (the same line read twice,
 * or copied by a resume) counts once; if several results answer one use, the first wins and the
 * rest are orphans.
 */
export function linkToolResults(interactions: Iterable<Interaction>): ToolLinks {
  const uses = new Map<string, Interaction>();
  const results: Interaction[] = [];
  for (const it of interactions) {
    if (it.toolUseId === null) continue;
    if (it.kind === 'tool_use') {
      if (!uses.has(it.toolUseId)) uses.set(it.toolUseId, it);
    } else if (it.kind === 'tool_result') {
      results.push(it);
    }
  }
  const links: ToolLink[] = [];
  const orphanResults: Interaction[] = [];
  const answered = new Set<string>();
  for (const result of results) {
    const id = result.toolUseId as string;
    const use = uses.get(id);
    if (use === undefined || answered.has(id)) {
      orphanResults.push(result);
      continue;
    }
    answered.add(id);
    links.push({ toolUseId: id, use, result });
  }
  const pendingUses: Interaction[] = [];
  for (const [id, use] of uses) if (!answered.has(id)) pendingUses.push(use);
  return { links, pendingUses, orphanResults };
}
