import { localHostname } from '../../common/host.js';
import { describeUnsafeId, isSafeId, isSafeTranscriptPath } from '../../common/ids.js';
import type { Db } from '../store/db.js';
import { HookEventStore } from '../store/hook-event-store.js';
import { SessionStore } from '../store/session-store.js';
import { projectOf } from './project.js';

export interface IncomingHookEvent {
  eventId: string;
  eventName: string;
  payload: Buffer;
  hookStartedAt?: number;
  sentAt?: number;
  via: 'direct' | 'spool';
  receivedAt: number;
}

export interface StoredHookResult {
  stored: boolean;
  sessionId: string | null;
  problem: string | null;
  eventName: string;
  /** Transcript files this event pointed at (validated), for ingestion to follow. */
  transcripts: string[];
}

/** Redaction applied before the first write (`redaction.mode: ingest`); null in cron mode. */
export interface HookRedaction {
  readonly version: string;
  redactValue<T>(value: T): { value: T; count: number };
  redactStoredText(text: string): { text: string; count: number };
}

const TOOL_EVENTS = new Set(['PreToolUse', 'PostToolUse', 'PostToolUseFailure', 'PermissionRequest', 'PermissionDenied']);
const SUBAGENT_EVENTS = new Set(['SubagentStart', 'SubagentStop']);
const HOST = localHostname();

function str(value: unknown, max = 512): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, max) : null;
}

interface Decoded {
  text: string;
  object: Record<string, unknown> | null;
  problems: string[];
}

function decodePayload(payload: Buffer): Decoded {
  const problems: string[] = [];
  if (payload.length === 0) return { text: '', object: null, problems: ['empty payload: the hook received nothing on stdin'] };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    text = payload.toString('utf8');
    problems.push('payload is not valid UTF-8; invalid bytes were replaced with U+FFFD');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // Not the parser's message itself: V8 quotes the text around the error ('..."hunter2" bad}" is
    // not valid JSON'), and `problem` is not redacted, so a secret could leak through it.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    problems.push(`payload is not valid JSON (${at !== undefined ? `syntax error at character ${at}` : 'syntax error'}); stored as text`);
    return { text, object: null, problems };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`payload is JSON ${Array.isArray(parsed) ? 'array' : typeof parsed}, not an object; stored as text`);
    return { text, object: null, problems };
  }
  return { text, object: parsed as Record<string, unknown>, problems };
}

/**
 * A hook event, from payload to rows: redacted, validated, stored once (store/hook-event-store.ts),
 * and what it says of its session merged into the session row (store/session-store.ts).
 */
export class HookEventIngest {
  private readonly events;
  private readonly sessions;
  private readonly otherToolEvent;
  private readonly otherFailure;
  private readonly otherSubagentEvent;
  private readonly registerTranscript;

  constructor(
    db: Db,
    private readonly redaction: HookRedaction | null = null,
  ) {
    this.events = new HookEventStore(db);
    this.sessions = new SessionStore(db);
    this.otherToolEvent = db.prepare(
      `SELECT 1 FROM hook_events WHERE tool_use_id = ? AND session_id = ? AND event_id <> ? AND event_name IN ('PreToolUse','PostToolUse','PostToolUseFailure') LIMIT 1`,
    );
    this.otherFailure = db.prepare(
      `SELECT 1 FROM hook_events WHERE tool_use_id = ? AND session_id = ? AND event_id <> ? AND event_name = 'PostToolUseFailure' LIMIT 1`,
    );
    // SubagentStop has been seen firing twice for one subagent: count agents, not events.
    this.otherSubagentEvent = db.prepare(
      `SELECT 1 FROM hook_events WHERE session_id = ? AND agent_id = ? AND event_id <> ? AND event_name IN ('SubagentStart','SubagentStop') LIMIT 1`,
    );
    this.registerTranscript = db.prepare(`
      INSERT INTO transcripts (path, session_id, agent_id, source, registered_at)
      VALUES (?, ?, ?, 'hook', ?)
      ON CONFLICT (path) DO UPDATE SET session_id = COALESCE(transcripts.session_id, excluded.session_id),
                                       agent_id = COALESCE(transcripts.agent_id, excluded.agent_id)`);
  }

  /** Stores one event; call inside a transaction. Idempotent on eventId. */
  store(ev: IncomingHookEvent): StoredHookResult {
    const decoded = decodePayload(ev.payload);
    const problems = [...decoded.problems];
    // Redacted before anything is derived from it, so no column ever holds a raw secret.
    let p: Record<string, unknown> | null = decoded.object;
    let objectText: string | null = null;
    try {
      if (p && this.redaction) p = this.redaction.redactValue(p).value;
      if (p) objectText = JSON.stringify(p);
    } catch (err) {
      // Nested thousands deep: JSON.parse took it, but the recursive walks overflow the stack.
      if (!(err instanceof RangeError)) throw err;
      problems.push('payload nests too deeply to handle as JSON; stored as text');
      p = null;
    }

    const eventName = str(p?.hook_event_name, 128) ?? (str(ev.eventName, 128) || 'unknown');
    let sessionId: string | null = null;
    if (p && p.session_id !== undefined) {
      if (isSafeId(p.session_id)) sessionId = p.session_id;
      else problems.push(`${describeUnsafeId('session_id', p.session_id)}; stored without a session`);
    } else if (p) {
      problems.push('payload has no session_id; stored without a session');
    }
    // A session pulled from another machine (rbk pull) is read-only here: the event is still
    // stored, once, but filed under no session.
    const pulledFrom = sessionId ? this.sessions.pulledFrom(sessionId) : undefined;
    if (sessionId && pulledFrom !== undefined) {
      problems.push(`session ${sessionId} was pulled from host ${pulledFrom} and is read-only here; stored without a session`);
      sessionId = null;
    }
    const agentId = p && isSafeId(p.agent_id) ? p.agent_id : null;
    const toolUseId = p ? str(p.tool_use_id, 256) : null;
    const payloadText = p && objectText !== null ? objectText : this.redaction ? this.redaction.redactStoredText(decoded.text).text : decoded.text;
    // Checked before the insert so that the problem is stored with the event, not only returned.
    const transcriptPath = p && isSafeTranscriptPath(p.transcript_path) ? p.transcript_path : null;
    if (p && p.transcript_path !== undefined && !transcriptPath) problems.push('transcript_path is not an absolute .jsonl path; ignored');

    const inserted = this.events.insert({
      eventId: ev.eventId,
      sessionId,
      eventName,
      toolName: p ? str(p.tool_name, 256) : null,
      toolUseId,
      promptId: p ? str(p.prompt_id, 256) : null,
      agentId,
      hookStartedAt: ev.hookStartedAt ?? null,
      sentAt: ev.sentAt ?? null,
      receivedAt: ev.receivedAt,
      via: ev.via,
      payload: payloadText,
      payloadBytes: ev.payload.length,
      problem: problems.length > 0 ? problems.join('; ') : null,
      redactionVersion: this.redaction?.version ?? null,
    });
    const problem = problems.length > 0 ? problems.join('; ') : null;
    if (!inserted) return { stored: false, sessionId, problem, eventName, transcripts: [] };
    if (!sessionId || !p) return { stored: true, sessionId, problem, eventName, transcripts: [] };

    const at = ev.hookStartedAt && ev.hookStartedAt > 0 ? ev.hookStartedAt : ev.receivedAt;
    const cwd = str(p.cwd, 4096);
    const ended = eventName === 'SessionEnd';
    this.sessions.mergeHook({
      id: sessionId,
      cwd,
      project: projectOf(cwd),
      transcriptPath,
      model: modelOf(p.model),
      permissionMode: str(p.permission_mode, 64),
      at,
      now: ev.receivedAt,
      host: HOST,
      ended,
      restarted: eventName === 'SessionStart' || eventName === 'UserPromptSubmit',
      endReason: str(p.reason, 128),
    });

    const isTool = TOOL_EVENTS.has(eventName) && toolUseId !== null && eventName !== 'PermissionRequest' && eventName !== 'PermissionDenied';
    this.sessions.countHookEvent({
      id: sessionId,
      prompt: eventName === 'UserPromptSubmit' ? 1 : 0,
      toolCall: isTool && !this.otherToolEvent.get(toolUseId, sessionId, ev.eventId) ? 1 : 0,
      toolFailure: eventName === 'PostToolUseFailure' && toolUseId && !this.otherFailure.get(toolUseId, sessionId, ev.eventId) ? 1 : 0,
      subagent: SUBAGENT_EVENTS.has(eventName) && agentId && !this.otherSubagentEvent.get(sessionId, agentId, ev.eventId) ? 1 : 0,
    });

    const transcripts: string[] = [];
    if (transcriptPath) {
      this.registerTranscript.run(transcriptPath, sessionId, null, ev.receivedAt);
      transcripts.push(transcriptPath);
    }
    const agentTranscript = p.agent_transcript_path;
    if (isSafeTranscriptPath(agentTranscript)) {
      this.registerTranscript.run(agentTranscript, sessionId, agentId, ev.receivedAt);
      transcripts.push(agentTranscript);
    }
    return { stored: true, sessionId, problem: problems.length > 0 ? problems.join('; ') : null, eventName, transcripts };
  }
}

function modelOf(value: unknown): string | null {
  if (typeof value === 'string') return value.slice(0, 128);
  // SessionStart has carried the model both as a string and as {id, display_name}.
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') return (value as { id: string }).id.slice(0, 128);
  return null;
}
