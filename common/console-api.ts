// The shapes of the console API's answers that are not gRPC messages (docs/api.md): the timeline
// page with tokens per response, one entry in full, and the activity report. Types only, shared by
// the daemon modules that build them and the app that reads them (ui/), so neither writes its own.
import type { TimelineEntry__Output } from './wire/rbk/v1/TimelineEntry.js';

/** Tokens and cost of one model response. */
export interface TurnUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  /** null: a model without a known price. */
  costUsd: number | null;
}

/** A timeline entry as GET /sessions/:id/timeline gives it: usage on the first entry of each response. */
export type ConsoleTimelineEntry = TimelineEntry__Output & { usage?: TurnUsage };

export interface TimelinePage {
  sessionId: string;
  total: number;
  offset: number;
  entries: ConsoleTimelineEntry[];
}

export interface EntryBlock {
  blockIndex: number;
  kind: string;
  subtype: string | null;
  unixMs: number | null;
  text: string;
  /** The text was longer than ENTRY_TEXT_MAX characters and is cut there. */
  truncated: boolean;
  textLength: number;
  toolName: string | null;
  toolUseId: string | null;
  toolInput: string | null;
  isError: boolean;
  model: string | null;
  agentId: string | null;
}

export interface EntryDetail {
  ref: string;
  source: 'transcript' | 'hook';
  blocks: EntryBlock[];
  /** A tool call's result, found by its tool_use_id. */
  result: EntryBlock | null;
  /** A hook event's payload (JSON as received, redacted at ingest). */
  hookEvent: { eventId: string; eventName: string; unixMs: number; payloadJson: string } | null;
}

export interface ActivityCell {
  /** 0 = Sunday … 6 = Saturday, in the report's time zone. */
  weekday: number;
  hour: number;
  messages: number;
  tokens: number;
  costUsd: number;
}

export interface UsageWindow {
  startUnixMs: number;
  endUnixMs: number;
  /** The last response inside the window. */
  lastUnixMs: number;
  messages: number;
  tokens: number;
  costUsd: number;
  /** True when some response in it has no known price (costUsd then counts only the priced ones). */
  costIncomplete: boolean;
  models: string[];
}

export interface ActivityReport {
  timeZone: string;
  heatmap: ActivityCell[];
  windows: UsageWindow[];
}
