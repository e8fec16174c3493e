// The one writer of `hook_events`: every hook event rbk acknowledged, once.
//
// Merge rules:
// - event_id is the identity: the first copy wins (a spooled event replayed after a restart, or an
//   event pulled twice, is ignored), so an acknowledged event is stored exactly once.
// - payload and redaction_version: written redacted; the redact job rewrites them in place when
//   the rules change. Nothing else about an event changes after it is stored.
// - pulled sessions' events come from the central copy (rbk pull), without a redaction version
//   (the host that uploaded them redacted them).
import type { Db } from './db.js';
import type { StoredHookEvent } from './rows.js';

export interface HookEventWrite {
  eventId: string;
  sessionId: string | null;
  eventName: string;
  toolName: string | null;
  toolUseId: string | null;
  promptId: string | null;
  agentId: string | null;
  hookStartedAt: number | null;
  sentAt: number | null;
  receivedAt: number;
  via: string;
  payload: string;
  payloadBytes: number;
  problem: string | null;
  redactionVersion: string | null;
}

/** A pulled row as the central copy has it (sync/pull): filed under its session, with no local redaction version. */
export type PulledHookEventRow = Omit<StoredHookEvent, 'seq' | 'session_id' | 'redaction_version'> & { session_id: string };

export class HookEventStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(`
        INSERT OR IGNORE INTO hook_events
          (event_id, session_id, event_name, tool_name, tool_use_id, prompt_id, agent_id,
           hook_started_at, sent_at, received_at, via, payload, payload_bytes, problem, redaction_version)
        VALUES (@eventId, @sessionId, @eventName, @toolName, @toolUseId, @promptId, @agentId,
                @hookStartedAt, @sentAt, @receivedAt, @via, @payload, @payloadBytes, @problem, @redactionVersion)`),
      insertPulled: db.prepare(`
        INSERT OR IGNORE INTO hook_events (event_id, session_id, event_name, tool_name, tool_use_id, prompt_id, agent_id,
          hook_started_at, sent_at, received_at, via, payload, payload_bytes, problem)
        VALUES (@event_id, @session_id, @event_name, @tool_name, @tool_use_id, @prompt_id, @agent_id,
          @hook_started_at, @sent_at, @received_at, @via, @payload, @payload_bytes, @problem)`),
      setRedacted: db.prepare('UPDATE hook_events SET payload = ?, redaction_version = ? WHERE seq = ?'),
      deleteSession: db.prepare('DELETE FROM hook_events WHERE session_id = ?'),
      deleteOrphans: db.prepare('DELETE FROM hook_events WHERE seq IN (SELECT seq FROM hook_events WHERE session_id IS NULL AND received_at < ? LIMIT ?)'),
    };
  }

  /** True when stored, false when an event with this id was stored before. */
  insert(ev: HookEventWrite): boolean {
    return this.stmts.insert.run(ev).changes > 0;
  }

  /** Rows added (0 when the event was stored before) and the new row's seq. */
  insertPulled(row: PulledHookEventRow): { changes: number; id: number } {
    const r = this.stmts.insertPulled.run(row);
    return { changes: r.changes, id: Number(r.lastInsertRowid) };
  }

  /** The redact job: the payload redacted by the current rules. */
  setRedacted(seq: number, payload: string, version: string): void {
    this.stmts.setRedacted.run(payload, version, seq);
  }

  deleteSession(sessionId: string): number {
    return this.stmts.deleteSession.run(sessionId).changes;
  }

  /** Events of no session received before the cutoff, at most `limit`; returns how many went. */
  deleteOrphans(cutoff: number, limit: number): number {
    return this.stmts.deleteOrphans.run(cutoff, limit).changes;
  }
}
