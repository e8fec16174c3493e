// Live events for `rbk sessions tail`: every hook event as it is stored and every interaction as
// ingestion adds it, pushed to subscribers in the order they were stored. It listens to the two
// writers (HookWriter.onStored, TranscriptIngester.onIngested) and reads back only the rows those
// writes just added; nothing polls the database.
import type { DaemonContext } from '../context.js';
import type { Db } from '../store/db.js';
import { summarizeToolInput } from './timeline.js';
import type { StoredHookEvent, StoredInteraction } from '../store/rows.js';

export interface LiveEvent {
  /** hook | interaction */
  source: 'hook' | 'interaction';
  /** hook_events.seq or interactions.id: increasing in storage order within a source. */
  seq: number;
  unixMs: number;
  sessionId: string | null;
  /** The hook event name (PreToolUse, …) or the interaction kind (user_prompt, tool_use, …). */
  kind: string;
  toolName: string | null;
  toolUseId: string | null;
  /** One readable line: the prompt, the command, the error, the first part of the text. */
  text: string;
  isError: boolean;
  agentId: string | null;
  /** The hook event id or the interaction uuid. */
  ref: string;
  blockIndex: number;
  hidden: boolean;
}

export interface LiveFilter {
  sessionId?: string;
  includeHidden?: boolean;
}

type Listener = (e: LiveEvent) => void;

interface Subscriber {
  filter: LiveFilter;
  fn: Listener;
  /** Rows at or below these were already sent as backlog. */
  hookFloor: number;
  interactionFloor: number;
}

const TEXT_MAX = 500;
const clip = (s: string | null | undefined) => {
  if (!s) return '';
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > TEXT_MAX ? `${one.slice(0, TEXT_MAX)}…` : one;
};

const HOOK_COLUMNS = `seq, event_id, session_id, event_name, tool_name, tool_use_id, agent_id, COALESCE(hook_started_at, received_at) AS at, problem,
  CASE WHEN json_valid(payload) THEN
    CASE event_name
      WHEN 'UserPromptSubmit' THEN json_extract(payload, '$.prompt')
      WHEN 'PreToolUse' THEN json_extract(payload, '$.tool_input')
      WHEN 'PermissionRequest' THEN json_extract(payload, '$.tool_input')
      WHEN 'PostToolUseFailure' THEN json_extract(payload, '$.error')
      WHEN 'StopFailure' THEN json_extract(payload, '$.error')
      WHEN 'Notification' THEN json_extract(payload, '$.message')
      WHEN 'SessionStart' THEN json_extract(payload, '$.source')
      WHEN 'SessionEnd' THEN json_extract(payload, '$.reason')
      WHEN 'SubagentStart' THEN json_extract(payload, '$.agent_type')
      WHEN 'SubagentStop' THEN json_extract(payload, '$.agent_type')
      WHEN 'PreCompact' THEN json_extract(payload, '$.trigger')
    END
  END AS detail`;

const INTERACTION_COLUMNS = `id, uuid, block_index, session_id, kind, ts, substr(rbk_text(text), 1, 2000) AS text, tool_name, tool_use_id,
  substr(tool_input, 1, 4000) AS tool_input, is_error, agent_id, hidden`;

type HookRow = Pick<StoredHookEvent, 'seq' | 'event_id' | 'session_id' | 'event_name' | 'tool_name' | 'tool_use_id' | 'agent_id' | 'problem'> & {
  at: number;
  detail: string | number | null;
};

type InteractionRow = Pick<
  StoredInteraction,
  'id' | 'uuid' | 'block_index' | 'session_id' | 'kind' | 'ts' | 'text' | 'tool_name' | 'tool_use_id' | 'tool_input' | 'is_error' | 'agent_id' | 'hidden'
>;

function hookEvent(r: HookRow): LiveEvent {
  const detail = r.detail === null || r.detail === undefined ? '' : String(r.detail);
  let text: string;
  if (r.event_name === 'PreToolUse' || r.event_name === 'PermissionRequest') text = summarizeToolInput(detail || null);
  else text = clip(detail);
  if (!text && r.problem) text = clip(r.problem);
  return {
    source: 'hook',
    seq: r.seq,
    unixMs: r.at,
    sessionId: r.session_id,
    kind: r.event_name,
    toolName: r.tool_name,
    toolUseId: r.tool_use_id,
    text,
    isError: r.event_name === 'PostToolUseFailure' || r.event_name === 'StopFailure',
    agentId: r.agent_id,
    ref: r.event_id,
    blockIndex: 0,
    hidden: false,
  };
}

function interactionEvent(r: InteractionRow): LiveEvent {
  return {
    source: 'interaction',
    seq: r.id,
    unixMs: r.ts ?? 0,
    sessionId: r.session_id,
    kind: r.kind,
    toolName: r.tool_name,
    toolUseId: r.tool_use_id,
    text: r.kind === 'tool_use' ? summarizeToolInput(r.tool_input) : clip(r.text),
    isError: r.is_error === 1,
    agentId: r.agent_id,
    ref: r.uuid,
    blockIndex: r.block_index,
    hidden: r.hidden === 1,
  };
}

export class LiveEvents {
  private readonly subscribers = new Set<Subscriber>();
  private lastInteractionId: number;
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      hookById: db.prepare(`SELECT ${HOOK_COLUMNS} FROM hook_events WHERE event_id = ?`),
      interactionsAfter: db.prepare(`SELECT ${INTERACTION_COLUMNS} FROM interactions WHERE id > ? ORDER BY id LIMIT 2000`),
      maxInteraction: db.prepare('SELECT COALESCE(MAX(id), 0) FROM interactions').pluck(),
      maxHook: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM hook_events').pluck(),
      recentHooks: db.prepare(`SELECT ${HOOK_COLUMNS} FROM hook_events ORDER BY seq DESC LIMIT ?`),
      recentHooksOf: db.prepare(`SELECT ${HOOK_COLUMNS} FROM hook_events WHERE session_id = ? ORDER BY seq DESC LIMIT ?`),
      recentInteractions: db.prepare(`SELECT ${INTERACTION_COLUMNS} FROM interactions WHERE hidden <= ? ORDER BY id DESC LIMIT ?`),
      recentInteractionsOf: db.prepare(
        `SELECT ${INTERACTION_COLUMNS} FROM interactions WHERE session_id = ? AND hidden <= ? ORDER BY ts DESC, id DESC LIMIT ?`,
      ),
    };
    this.lastInteractionId = this.stmts.maxInteraction.get() as number;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Calls `fn` for every event stored from now on that passes `filter`. Events already returned
   * by recent() before subscribing are not repeated. Returns the unsubscribe function.
   */
  subscribe(filter: LiveFilter, fn: Listener): () => void {
    const sub: Subscriber = { filter, fn, hookFloor: this.stmts.maxHook.get() as number, interactionFloor: this.stmts.maxInteraction.get() as number };
    this.subscribers.add(sub);
    return () => {
      this.subscribers.delete(sub);
    };
  }

  /** The last `n` events (oldest first) that pass `filter`. */
  recent(n: number, filter: LiveFilter): LiveEvent[] {
    if (n <= 0) return [];
    const hidden = filter.includeHidden ? 1 : 0;
    const hooks = (filter.sessionId ? this.stmts.recentHooksOf.all(filter.sessionId, n) : this.stmts.recentHooks.all(n)) as HookRow[];
    const rows = (
      filter.sessionId ? this.stmts.recentInteractionsOf.all(filter.sessionId, hidden, n) : this.stmts.recentInteractions.all(hidden, n)
    ) as InteractionRow[];
    const all = [...hooks.map(hookEvent), ...rows.map(interactionEvent)];
    all.sort((a, b) => a.unixMs - b.unixMs || (a.source === b.source ? a.seq - b.seq : a.source === 'hook' ? -1 : 1));
    return all.slice(-n);
  }

  /** @internal HookWriter observer. */
  hookStored(eventId: string): void {
    if (this.subscribers.size === 0) return;
    const row = this.stmts.hookById.get(eventId) as HookRow | undefined;
    if (row) this.emit(hookEvent(row));
  }

  /** @internal TranscriptIngester observer. */
  interactionsAdded(): void {
    if (this.subscribers.size === 0) {
      this.lastInteractionId = this.stmts.maxInteraction.get() as number;
      return;
    }
    for (;;) {
      const rows = this.stmts.interactionsAfter.all(this.lastInteractionId) as InteractionRow[];
      if (rows.length === 0) break;
      for (const r of rows) this.emit(interactionEvent(r));
      this.lastInteractionId = rows[rows.length - 1]!.id;
      if (this.subscribers.size === 0) {
        this.lastInteractionId = this.stmts.maxInteraction.get() as number;
        break;
      }
    }
  }

  private emit(e: LiveEvent): void {
    for (const s of this.subscribers) {
      if (e.source === 'hook' ? e.seq <= s.hookFloor : e.seq <= s.interactionFloor) continue;
      if (s.filter.sessionId && e.sessionId !== s.filter.sessionId) continue;
      if (e.hidden && !s.filter.includeHidden) continue;
      try {
        s.fn(e);
      } catch {
        // A broken subscriber (a stream that closed under us) must not stop the others.
        this.subscribers.delete(s);
      }
    }
  }
}

/** The daemon's live event bus, wired to the writers whose stores it announces. */
export function createLiveEvents(deps: Pick<DaemonContext, 'db' | 'hookWriter' | 'ingester'>): LiveEvents {
  const live = new LiveEvents(deps.db);
  deps.hookWriter.onStored((event, result) => {
    if (result.stored) live.hookStored(event.eventId);
  });
  deps.ingester.onIngested((r) => {
    if (r.interactionsAdded > 0) live.interactionsAdded();
  });
  return live;
}
