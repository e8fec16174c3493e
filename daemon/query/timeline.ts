// One ordered story of a session. The transcript is the richer source; hook events add what it
// lacks (tool durations) and stand in for it when there is no transcript (not yet written,
// deleted by Claude Code's cleanup, or hooks-only capture). The agent's own telemetry adds tool
// durations where hooks gave none and the permission decision of each tool call, and is the
// story itself for a session only telemetry has seen so far.
import type { Db } from '../store/db.js';
import { telemetryTimeline, telemetryToolFacts } from '../store/telemetry.js';
import type { StoredInteraction } from '../store/rows.js';

export interface TimelineEntry {
  unixMs: number;
  kind: 'prompt' | 'assistant' | 'thinking' | 'tool' | 'subagent' | 'compaction' | 'error' | 'system' | 'context';
  text: string;
  toolName: string;
  toolUseId: string;
  status: '' | 'ok' | 'error' | 'pending';
  durationMs: number;
  agentId: string;
  ref: string;
  source: 'transcript' | 'hook' | 'telemetry';
  /** Failed tools: what a person needs to see of the output (its head and its tail, where errors are). */
  detail: string;
  /** With payloads: the tool's whole input (JSON) and whole output. */
  input?: string;
  output?: string;
  /** Tools, from telemetry: "accept (config)", "reject (user_reject)", …; absent when unknown. */
  permission?: string;
}

type InteractionRow = Pick<
  StoredInteraction,
  'uuid' | 'kind' | 'subtype' | 'ts' | 'text' | 'tool_name' | 'tool_use_id' | 'tool_input' | 'is_error' | 'agent_id' | 'is_sidechain' | 'spawned_agent_id'
> & {
  /** Failed tool results longer than the head: their last characters. */
  tail: string | null;
  full_length: number;
};

interface HookRow {
  event_id: string;
  event_name: string;
  tool_name: string | null;
  tool_use_id: string | null;
  agent_id: string | null;
  at: number;
  duration_ms: number | null;
  prompt: string | null;
  error: string | null;
  tool_input: string | null;
  /** SessionStart: startup | resume | clear | compact. */
  start_source: string | null;
}

const TEXT_MAX = 2000;

function clip(s: string | null | undefined, max = TEXT_MAX): string {
  if (!s) return '';
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The part of a tool input a person wants to see: the command, the file, the pattern. */
export function summarizeToolInput(inputJson: string | null): string {
  if (!inputJson) return '';
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(inputJson) as Record<string, unknown>;
  } catch {
    return clip(inputJson, 300);
  }
  // Claude Code's tools, then Codex's: exec_command's cmd, and the older shell tool's argv
  // (["bash", "-lc", "…"]: the script is its last word).
  for (const key of ['command', 'cmd', 'file_path', 'path', 'pattern', 'url', 'query', 'description', 'prompt']) {
    const v = input[key];
    if (typeof v === 'string' && v.length > 0) return clip(v, 500);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'))
      return clip(v.length === 3 && /sh$/.test(v[0] as string) ? (v[2] as string) : v.join(' '), 500);
  }
  return clip(JSON.stringify(input), 300);
}

/** Lines kept from each end of a failed tool's output. */
const ERROR_HEAD_LINES = 3;
const ERROR_TAIL_LINES = 20;
const ERROR_EXCERPT_MAX = 2400;

/**
 * What to show of a failed tool's output: all of it when short; else its first lines (the
 * command's own echo, the test's name) and its last ones, where compilers, test runners and
 * shells print the error, with how much was cut between them.
 */
export function errorExcerpt(head: string, tail: string | null, fullLength: number): string {
  const whole = tail === null || fullLength <= head.length;
  if (whole && head.length <= ERROR_EXCERPT_MAX) return head.trimEnd();
  const first = head.split('\n').slice(0, ERROR_HEAD_LINES);
  const lastLines = (tail ?? head).trimEnd().split('\n');
  let last = lastLines.slice(-ERROR_TAIL_LINES);
  while (last.join('\n').length > ERROR_EXCERPT_MAX - 400 && last.length > 1) last = last.slice(1);
  if (last.length === 1 && last[0]!.length > ERROR_EXCERPT_MAX - 400) last = [`…${last[0]!.slice(-(ERROR_EXCERPT_MAX - 400))}`];
  const firstText = first.map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l)).join('\n');
  const cut = Math.max(0, fullLength - firstText.length - last.join('\n').length);
  return `${firstText}\n[… ${cut} characters cut …]\n${last.join('\n')}`;
}

/**
 * The session's timeline. `payloads`: every tool entry also carries its whole input and output;
 * `inputs`: only the inputs (what learn needs to show a change, without loading big outputs).
 */
export function buildTimeline(db: Db, sessionId: string, opts: { payloads?: boolean; inputs?: boolean } = {}): TimelineEntry[] {
  const hooks = db
    .prepare(
      `SELECT event_id, event_name, tool_name, tool_use_id, agent_id, COALESCE(hook_started_at, received_at) AS at,
              CASE WHEN json_valid(payload) THEN json_extract(payload, '$.duration_ms') END AS duration_ms,
              CASE WHEN event_name = 'UserPromptSubmit' AND json_valid(payload) THEN json_extract(payload, '$.prompt') END AS prompt,
              CASE WHEN event_name IN ('PostToolUseFailure', 'StopFailure') AND json_valid(payload) THEN json_extract(payload, '$.error') END AS error,
              CASE WHEN event_name = 'PreToolUse' AND json_valid(payload) THEN json_extract(payload, '$.tool_input') END AS tool_input,
              CASE WHEN event_name = 'SessionStart' AND json_valid(payload) THEN json_extract(payload, '$.source') END AS start_source
       FROM hook_events WHERE session_id = ? ORDER BY at, seq`,
    )
    .all(sessionId) as HookRow[];
  const interactions = db
    .prepare(
      // Entries show at most TEXT_MAX characters: never load a 64 KB tool output to clip it.
      `SELECT uuid, kind, subtype, ts, substr(rbk_text(text), 1, ${TEXT_MAX + 1}) AS text, tool_name, tool_use_id, tool_input, is_error, agent_id, is_sidechain, spawned_agent_id,
              CASE WHEN kind = 'tool_result' AND is_error = 1 AND length(rbk_text(text)) > ${TEXT_MAX + 1} THEN substr(rbk_text(text), -${ERROR_EXCERPT_MAX}) END AS tail,
              CASE WHEN kind = 'tool_result' AND is_error = 1 THEN length(rbk_text(text)) ELSE 0 END AS full_length
       FROM interactions WHERE session_id = ? AND hidden = 0 ORDER BY ts, id`,
    )
    .all(sessionId) as InteractionRow[];

  const hookDuration = new Map<string, number>();
  for (const h of hooks) if (h.tool_use_id && typeof h.duration_ms === 'number') hookDuration.set(h.tool_use_id, h.duration_ms);

  const entries: TimelineEntry[] =
    interactions.length > 0
      ? fromTranscript(interactions, hookDuration)
      : hooks.length > 0
        ? fromHooks(hooks)
        : telemetryTimeline(db, sessionId).map(
            (t): TimelineEntry => ({
              unixMs: t.ts,
              kind: t.kind,
              text: t.text,
              toolName: t.toolName,
              toolUseId: t.toolUseId,
              status: t.status,
              durationMs: t.durationMs,
              agentId: '',
              ref: t.ref,
              source: 'telemetry' as const,
              detail: t.detail,
            }),
          );
  const facts = telemetryToolFacts(db, sessionId);
  if (facts.size > 0) {
    for (const e of entries) {
      const f = e.kind === 'tool' && e.toolUseId ? facts.get(e.toolUseId) : undefined;
      if (!f) continue;
      if (f.durationMs !== null && !hookDuration.has(e.toolUseId)) e.durationMs = Math.round(f.durationMs);
      if (f.decision) e.permission = f.decisionSource ? `${f.decision} (${f.decisionSource})` : f.decision;
    }
  }
  if (opts.payloads || opts.inputs) addPayloads(db, sessionId, entries, interactions.length > 0, opts.payloads === true);
  if (interactions.length > 0) {
    // StopFailure (rate limits, overload) and where a session was resumed are only in hooks.
    for (const h of hooks) {
      if (h.event_name === 'StopFailure') entries.push(hookEntry(h, 'error', clip(h.error) || 'the turn failed'));
      else if (h.event_name === 'SessionStart' && h.start_source === 'resume') entries.push(hookEntry(h, 'system', 'session resumed'));
    }
  }
  const subagents = db
    .prepare(`SELECT agent_id, agent_type, description, tool_use_id, first_ts, last_ts FROM subagents WHERE session_id = ? AND kind = 'conversation'`)
    .all(sessionId) as {
    agent_id: string;
    agent_type: string | null;
    description: string | null;
    tool_use_id: string | null;
    first_ts: number | null;
    last_ts: number | null;
  }[];
  // Without a .meta.json (before it existed, or not written yet) the Task/Agent tool_result names
  // the agent it ran (toolUseResult.agentId): that links the span to its tool call and input.
  const spawnedBy = new Map<string, string>();
  const toolUses = new Map<string, InteractionRow>();
  for (const r of interactions) {
    if (r.kind === 'tool_result' && r.spawned_agent_id && r.tool_use_id && !spawnedBy.has(r.spawned_agent_id)) spawnedBy.set(r.spawned_agent_id, r.tool_use_id);
    else if (r.kind === 'tool_use' && r.tool_use_id) toolUses.set(r.tool_use_id, r);
  }
  for (const s of subagents) {
    const toolUseId = s.tool_use_id ?? spawnedBy.get(s.agent_id) ?? '';
    const input = toolUseId ? toolInputFields(toolUses.get(toolUseId)?.tool_input ?? null) : {};
    entries.push({
      unixMs: s.first_ts ?? 0,
      kind: 'subagent',
      text: [s.agent_type ?? input.subagent_type, s.description ?? input.description].filter(Boolean).join(': ') || `subagent ${s.agent_id}`,
      toolName: '',
      toolUseId,
      status: '',
      durationMs: s.first_ts && s.last_ts ? s.last_ts - s.first_ts : 0,
      agentId: s.agent_id,
      ref: s.agent_id,
      source: 'transcript',
      detail: '',
    });
  }
  // Stable sort keeps the transcript's own order for equal timestamps.
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.unixMs - b.e.unixMs || a.i - b.i)
    .map((x) => x.e);
}

/** Full inputs and outputs for `sessions show --payloads`: read only when asked for. */
function addPayloads(db: Db, sessionId: string, entries: TimelineEntry[], fromTranscriptRows: boolean, outputs: boolean): void {
  const tools = entries.filter((e) => e.kind === 'tool' && e.toolUseId);
  if (tools.length === 0) return;
  if (fromTranscriptRows) {
    const rows = db
      .prepare(
        `SELECT kind, tool_use_id, tool_input, ${outputs ? 'rbk_text(text) AS text' : "'' AS text"} FROM interactions
         WHERE session_id = ? AND kind IN ('tool_use', ${outputs ? "'tool_result'" : "'-'"}) AND tool_use_id IS NOT NULL ORDER BY ts, id`,
      )
      .all(sessionId) as { kind: string; tool_use_id: string; tool_input: string | null; text: string }[];
    const input = new Map<string, string>();
    const output = new Map<string, string>();
    for (const r of rows) {
      if (r.kind === 'tool_use' && !input.has(r.tool_use_id)) input.set(r.tool_use_id, r.tool_input ?? '');
      if (r.kind === 'tool_result' && !output.has(r.tool_use_id)) output.set(r.tool_use_id, r.text);
    }
    for (const e of tools) {
      e.input = input.get(e.toolUseId) ?? '';
      if (outputs) e.output = output.get(e.toolUseId) ?? '';
    }
    return;
  }
  const rows = db
    .prepare(
      `SELECT tool_use_id, event_name,
              CASE WHEN json_valid(payload) THEN json_extract(payload, '$.tool_input') END AS input,
              CASE WHEN json_valid(payload) THEN COALESCE(json_extract(payload, '$.tool_response'), json_extract(payload, '$.error')) END AS output
       FROM hook_events WHERE session_id = ? AND tool_use_id IS NOT NULL`,
    )
    .all(sessionId) as { tool_use_id: string; event_name: string; input: unknown; output: unknown }[];
  const asText = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const pre = new Map<string, (typeof rows)[number]>();
  const post = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    if (r.event_name === 'PreToolUse' && !pre.has(r.tool_use_id)) pre.set(r.tool_use_id, r);
    if ((r.event_name === 'PostToolUse' || r.event_name === 'PostToolUseFailure') && !post.has(r.tool_use_id)) post.set(r.tool_use_id, r);
  }
  for (const e of tools) {
    e.input = asText(pre.get(e.toolUseId)?.input ?? post.get(e.toolUseId)?.input);
    if (outputs) e.output = asText(post.get(e.toolUseId)?.output);
  }
}

function toolInputFields(json: string | null): { subagent_type?: string; description?: string } {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    const str = (x: unknown) => (typeof x === 'string' && x.length > 0 ? clip(x, 300) : undefined);
    return { subagent_type: str(v.subagent_type), description: str(v.description) };
  } catch {
    return {};
  }
}

function fromTranscript(rows: InteractionRow[], hookDuration: Map<string, number>): TimelineEntry[] {
  const results = new Map<string, InteractionRow>();
  for (const r of rows) if (r.kind === 'tool_result' && r.tool_use_id && !results.has(r.tool_use_id)) results.set(r.tool_use_id, r);
  const out: TimelineEntry[] = [];
  const base = (r: InteractionRow) => ({
    unixMs: r.ts ?? 0,
    toolName: '',
    toolUseId: '',
    status: '' as const,
    durationMs: 0,
    agentId: r.agent_id ?? '',
    ref: r.uuid,
    source: 'transcript' as const,
    detail: '',
  });
  for (const r of rows) {
    switch (r.kind) {
      case 'user_prompt':
        // A sidechain's opening prompt is the Agent tool's input, already shown on the tool entry.
        if (!r.is_sidechain) out.push({ ...base(r), kind: 'prompt', text: clip(r.text) });
        break;
      case 'assistant_text':
        // Claude Code writes a failed request as an assistant line ("API Error: …"): an error.
        out.push({ ...base(r), kind: r.subtype === 'api_error' ? 'error' : 'assistant', text: clip(r.text) });
        break;
      case 'thinking':
        out.push({ ...base(r), kind: 'thinking', text: clip(r.text, 500) });
        break;
      case 'tool_use': {
        const result = r.tool_use_id ? results.get(r.tool_use_id) : undefined;
        const status = result ? (result.is_error ? 'error' : 'ok') : 'pending';
        const duration = (r.tool_use_id ? hookDuration.get(r.tool_use_id) : undefined) ?? (result?.ts && r.ts ? Math.max(0, result.ts - r.ts) : 0);
        out.push({
          ...base(r),
          kind: 'tool',
          text: summarizeToolInput(r.tool_input),
          toolName: r.tool_name ?? '',
          toolUseId: r.tool_use_id ?? '',
          status,
          durationMs: duration,
          detail: status === 'error' && result ? errorExcerpt(result.text, result.tail, result.full_length) : '',
        });
        break;
      }
      case 'compact_summary':
        out.push({ ...base(r), kind: 'compaction', text: clip(r.text, 1000) });
        break;
      case 'system_event':
        if (r.subtype === 'compact_boundary') out.push({ ...base(r), kind: 'compaction', text: 'conversation compacted' });
        else if (r.subtype === 'api_error') out.push({ ...base(r), kind: 'error', text: clip(r.text) || 'API error' });
        else if (r.subtype === 'history_replayed') out.push({ ...base(r), kind: 'system', text: clip(r.text) });
        break;
      case 'interrupt':
        out.push({ ...base(r), kind: 'system', text: clip(r.text) });
        break;
      case 'meta':
        // What the IDE or Claude Code attached to a prompt: shown (dimmed), never counted as one.
        if (r.subtype === 'ide_context' || r.subtype === 'system_reminder') out.push({ ...base(r), kind: 'context', text: clip(r.text, 300) });
        break;
      default:
        break;
    }
  }
  return out;
}

function hookEntry(h: HookRow, kind: TimelineEntry['kind'], text: string): TimelineEntry {
  return {
    unixMs: h.at,
    kind,
    text,
    toolName: h.tool_name ?? '',
    toolUseId: h.tool_use_id ?? '',
    status: '',
    durationMs: 0,
    agentId: h.agent_id ?? '',
    ref: h.event_id,
    source: 'hook',
    detail: '',
  };
}

function fromHooks(hooks: HookRow[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const tools = new Map<string, TimelineEntry>();
  for (const h of hooks) {
    if (h.event_name === 'UserPromptSubmit') out.push(hookEntry(h, 'prompt', clip(h.prompt)));
    else if (h.event_name === 'PreToolUse' && h.tool_use_id) {
      const e = { ...hookEntry(h, 'tool', summarizeToolInput(h.tool_input)), status: 'pending' as const };
      tools.set(h.tool_use_id, e);
      out.push(e);
    } else if ((h.event_name === 'PostToolUse' || h.event_name === 'PostToolUseFailure') && h.tool_use_id) {
      let e = tools.get(h.tool_use_id);
      if (!e) {
        e = hookEntry(h, 'tool', '');
        out.push(e);
      }
      e.status = h.event_name === 'PostToolUse' ? 'ok' : 'error';
      e.durationMs = typeof h.duration_ms === 'number' ? h.duration_ms : Math.max(0, h.at - e.unixMs);
      if (h.error) e.detail = errorExcerpt(h.error, null, h.error.length);
    } else if (h.event_name === 'PreCompact') out.push(hookEntry(h, 'compaction', 'conversation compacted'));
    else if (h.event_name === 'SubagentStart') out.push(hookEntry(h, 'subagent', `subagent ${h.agent_id ?? ''} started`));
    else if (h.event_name === 'StopFailure') out.push(hookEntry(h, 'error', clip(h.error) || 'the turn failed'));
    else if (h.event_name === 'SessionStart' && h.start_source === 'resume') out.push(hookEntry(h, 'system', 'session resumed'));
  }
  return out;
}
