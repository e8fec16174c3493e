// Subagents of Claude Code ≤ 2.0.27 were written inline: their lines sit in the main transcript
// with isSidechain: true and no agentId (a 1.0.98 session in a real archive had 156 of its 167
// tool calls on such lines). Left alone they count as the main thread's and the session shows no
// subagent. This attaches each sidechain to the Task call that spawned it:
//
// 1. Chains: a sidechain line with no parent starts one; a line whose parentUuid is a line of a
//    chain (attached or not) belongs to it.
// 2. A chain's first line is the Task's prompt. The Task call whose input.prompt is that text is
//    its spawner when exactly one unclaimed call has it.
// 3. Otherwise timing: the one unclaimed Task call that was running when the chain started
//    (called before, answered after or not yet).
// 4. Anything else stays unattributed (agent_id NULL) and is counted: never a guess.
//
// An attached chain gets an agent id derived from the Task's tool_use id (legacyAgentId: 'l' and
// 16 hex digits, the shape of a newer version's agent id, so that its short form tells agents
// apart) and a subagents row (kind 'conversation', the Task's subagent_type and description), so
// counts, the timeline's spans and learn treat it like a subagent of a newer version. Runs after each commit for the sessions it
// touched (an index finds unattached rows without reading the session) and, once, over a store.
import { createHash } from 'node:crypto';
import type { Db } from '../store/db.js';
import { InteractionStore } from '../store/interactions.js';
import { SessionStore } from '../store/session-store.js';
import { UsageStore } from '../store/usage-store.js';

interface SidechainRow {
  id: number;
  uuid: string;
  parent_uuid: string | null;
  kind: string;
  ts: number | null;
  text: string;
  message_id: string | null;
  /** The parent line's agent, when the parent is already attached. */
  parent_agent: string | null;
  /** The parent line's is_sidechain: 0 when a chain hangs off the main thread; null when the parent is not stored (yet). */
  parent_sidechain: number | null;
}

interface TaskCall {
  tool_use_id: string;
  tool_input: string | null;
  called: number | null;
  answered: number | null;
}

export interface AttributionResult {
  attributed: number;
  unattributed: number;
  agents: number;
}

/** The agent id of the inline subagent a Task call spawned: stable, so re-runs attach the same way. */
export function legacyAgentId(toolUseId: string): string {
  return `l${createHash('sha1').update(`legacy-task:${toolUseId}`).digest('hex').slice(0, 16)}`;
}

export class LegacySidechains {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      pending: db.prepare(`SELECT 1 FROM interactions WHERE session_id = ? AND is_sidechain = 1 AND agent_id IS NULL AND hidden = 0 LIMIT 1`).pluck(),
      rows: db.prepare(`
        SELECT i.id, i.uuid, i.parent_uuid, i.kind, i.ts, rbk_text(i.text) AS text, i.message_id,
               (SELECT p.agent_id FROM interactions p WHERE p.uuid = i.parent_uuid AND p.session_id = i.session_id LIMIT 1) AS parent_agent,
               (SELECT p.is_sidechain FROM interactions p WHERE p.uuid = i.parent_uuid AND p.session_id = i.session_id LIMIT 1) AS parent_sidechain
        FROM interactions i INDEXED BY interactions_legacy_sidechain
        WHERE i.session_id = ? AND i.is_sidechain = 1 AND i.agent_id IS NULL AND i.hidden = 0
        ORDER BY i.ts, i.id`),
      tasks: db.prepare(`
        SELECT u.tool_use_id, u.tool_input, u.ts AS called,
               (SELECT MIN(r.ts) FROM interactions r WHERE r.tool_use_id = u.tool_use_id AND r.kind = 'tool_result') AS answered
        FROM interactions u
        WHERE u.session_id = ? AND u.kind = 'tool_use' AND u.hidden = 0 AND u.tool_name IN ('Task', 'Agent') AND u.is_sidechain = 0
          AND u.tool_use_id IS NOT NULL
        ORDER BY u.ts, u.id`),
      claimed: db.prepare(`SELECT tool_use_id FROM subagents WHERE session_id = ? AND tool_use_id IS NOT NULL`).pluck(),
      interactions: new InteractionStore(db),
      usage: new UsageStore(db),
      sessions: new SessionStore(db),
      subagent: db.prepare(`
        INSERT INTO subagents (session_id, agent_id, kind, agent_type, description, tool_use_id, first_ts, last_ts)
        VALUES (@sessionId, @agentId, 'conversation', @agentType, @description, @toolUseId, @first, @last)
        ON CONFLICT (session_id, agent_id) DO UPDATE SET
          first_ts = MIN(COALESCE(subagents.first_ts, excluded.first_ts), COALESCE(excluded.first_ts, subagents.first_ts)),
          last_ts = MAX(COALESCE(subagents.last_ts, excluded.last_ts), COALESCE(excluded.last_ts, subagents.last_ts))`),
    };
  }

  /** Whether the session has sidechain lines not attached yet (an index lookup). */
  pending(sessionId: string): boolean {
    return this.stmts.pending.get(sessionId) === 1;
  }

  attribute(sessionId: string, now: number): AttributionResult {
    const rows = this.stmts.rows.all(sessionId) as SidechainRow[];
    if (rows.length === 0) return { attributed: 0, unattributed: 0, agents: 0 };
    // Chains: each row's root, by parent links among these rows; a row whose parent is attached
    // already joins that agent directly.
    const byUuid = new Map<string, SidechainRow>();
    for (const r of rows) byUuid.set(r.uuid, r);
    const roots = new Map<SidechainRow, SidechainRow[]>();
    // A chain starts at a line with no parent or with a main-thread parent.
    const startsChain = (r: SidechainRow) => r.parent_uuid === null || r.parent_sidechain === 0;
    // Each row's root, remembered for every row on the way, so a long chain is walked once.
    const rootMemo = new Map<SidechainRow, SidechainRow | null>();
    const rootOf = (r: SidechainRow): SidechainRow | null => {
      const path = new Set<SidechainRow>();
      let cur: SidechainRow | undefined = r;
      let root: SidechainRow | null = null;
      while (cur) {
        const known = rootMemo.get(cur);
        if (known !== undefined) {
          root = known;
          break;
        }
        if (cur.parent_agent || startsChain(cur)) {
          root = cur;
          break;
        }
        if (path.has(cur)) break; // a parent loop: no root
        path.add(cur);
        cur = byUuid.get(cur.parent_uuid!); // undefined: the parent is not stored yet, wait for it
      }
      for (const p of path) rootMemo.set(p, root);
      rootMemo.set(r, root);
      return root;
    };
    for (const r of rows) {
      const root = rootOf(r);
      if (!root) continue;
      const list = roots.get(root) ?? [];
      list.push(r);
      roots.set(root, list);
    }
    const tasks = (this.stmts.tasks.all(sessionId) as TaskCall[]).map((t) => ({ ...t, prompt: promptOf(t.tool_input) }));
    const claimed = new Set(this.stmts.claimed.all(sessionId) as string[]);
    let attributed = 0;
    const agents = new Set<string>();
    const started = [...roots.keys()].sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0) || a.id - b.id);
    for (const root of started) {
      let agent: string | null = root.parent_agent;
      let task: (typeof tasks)[number] | undefined;
      if (!agent && startsChain(root)) {
        const open = tasks.filter((t) => !claimed.has(t.tool_use_id));
        const byPrompt = root.kind === 'user_prompt' ? open.filter((t) => t.prompt !== null && t.prompt === root.text.trim()) : [];
        if (byPrompt.length === 1) task = byPrompt[0];
        else if (byPrompt.length === 0 && root.ts !== null) {
          const running = open.filter((t) => t.called !== null && t.called <= root.ts! && (t.answered === null || t.answered >= root.ts!));
          if (running.length === 1) task = running[0];
        }
        if (task) {
          agent = legacyAgentId(task.tool_use_id);
          claimed.add(task.tool_use_id);
        }
      }
      if (!agent) continue;
      const chain = roots.get(root)!;
      let first: number | null = null;
      let last: number | null = null;
      for (const r of chain) {
        this.stmts.interactions.attachAgent(r.id, agent);
        if (r.message_id) this.stmts.usage.attachAgent(agent, sessionId, r.message_id);
        if (r.ts !== null) {
          first = first === null ? r.ts : Math.min(first, r.ts);
          last = last === null ? r.ts : Math.max(last, r.ts);
        }
      }
      const input = task ? parseInput(task.tool_input) : null;
      this.stmts.subagent.run({
        sessionId,
        agentId: agent,
        agentType: typeof input?.subagent_type === 'string' ? input.subagent_type.slice(0, 128) : null,
        description: typeof input?.description === 'string' ? input.description.slice(0, 512) : null,
        toolUseId: task?.tool_use_id ?? null,
        first,
        last,
      });
      attributed += chain.length;
      agents.add(agent);
    }
    if (agents.size > 0) this.stmts.sessions.recountSubagents(sessionId, now);
    return { attributed, unattributed: rows.length - attributed, agents: agents.size };
  }
}

function parseInput(toolInput: string | null): Record<string, unknown> | null {
  if (!toolInput) return null;
  try {
    const v = JSON.parse(toolInput);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function promptOf(toolInput: string | null): string | null {
  const p = parseInput(toolInput)?.prompt;
  return typeof p === 'string' ? p.trim() : null;
}
