// Re-redaction: rows written before the current rule set (or in `redaction.mode: cron`, rows
// never redacted) are rewritten so that a new rule reaches old data. FTS follows through the
// triggers on interactions. Works in small transactions by rowid so it can be interrupted and
// resumed: a row is either at the current version or still pending, never half done.
import type { JobContext } from '../jobs/registry.js';
import { checkpoint } from '../jobs/registry.js';
import type { Db } from '../store/db.js';
import type { RedactionService } from './service.js';
import { HookEventStore } from '../store/hook-event-store.js';
import { InteractionStore } from '../store/interactions.js';
import { unpackInteraction, unpackToolUseResult } from '../store/line-codec.js';
import type { StoredInteraction } from '../store/rows.js';

const BATCH = 500;

type InteractionRow = Pick<StoredInteraction, 'id' | 'text' | 'tool_input' | 'tool_use_result' | 'data' | 'raw'>;

export function redactionJob(service: RedactionService) {
  return async (ctx: JobContext): Promise<Record<string, number>> => {
    const db = ctx.db;
    const version = service.version;
    const counts = { hookEvents: 0, interactions: 0, rowsChanged: 0, matches: 0 };
    const pendingHooks = db.prepare('SELECT count(*) FROM hook_events WHERE redaction_version IS NOT ?').pluck().get(version) as number;
    const pendingInteractions = db.prepare('SELECT count(*) FROM interactions WHERE redaction_version IS NOT ?').pluck().get(version) as number;
    const total = pendingHooks + pendingInteractions;

    const nextHooks = db.prepare('SELECT seq, payload FROM hook_events WHERE redaction_version IS NOT ? AND seq > ? ORDER BY seq LIMIT ?');
    const hookEvents = new HookEventStore(db);
    let after = 0;
    for (;;) {
      await checkpoint(ctx.signal);
      const rows = nextHooks.all(version, after, BATCH) as { seq: number; payload: string }[];
      if (rows.length === 0) break;
      db.transaction(() => {
        for (const r of rows) {
          const red = service.redactStoredText(r.payload);
          hookEvents.setRedacted(r.seq, red.text, version);
          counts.hookEvents += 1;
          counts.matches += red.count;
          if (red.count > 0) counts.rowsChanged += 1;
        }
      })();
      after = rows.at(-1)!.seq;
      ctx.progress({ done: counts.hookEvents, total, message: 'hook events', counts });
    }

    const nextInteractions = db.prepare(
      'SELECT id, rbk_text(text) AS text, tool_input, tool_use_result, data, raw FROM interactions WHERE redaction_version IS NOT ? AND id > ? ORDER BY id LIMIT ?',
    );
    const interactions = new InteractionStore(db);
    after = 0;
    for (;;) {
      await checkpoint(ctx.signal);
      const rows = nextInteractions.all(version, after, BATCH) as InteractionRow[];
      if (rows.length === 0) break;
      db.transaction(() => {
        for (const r of rows) {
          // raw and tool_use_result are stored packed against the row's text: unpack them with the
          // text they were packed with, and pack them again with the redacted one.
          const plain = unpackInteraction(r);
          const redact = (v: string | null) => (v === null ? { text: null, count: 0 } : service.redactStoredText(v));
          const text = redact(r.text);
          const toolInput = redact(r.tool_input);
          const toolUseResult = redact(plain.toolUseResult);
          const data = redact(r.data);
          const raw = redact(plain.raw);
          const n = text.count + toolInput.count + toolUseResult.count + data.count + raw.count;
          counts.interactions += 1;
          counts.matches += n;
          if (n > 0) {
            counts.rowsChanged += 1;
            interactions.rewrite(
              r.id,
              { text: text.text ?? '', toolInput: toolInput.text, toolUseResult: toolUseResult.text, data: data.text, raw: raw.text },
              version,
            );
          } else {
            // Touching only the version column leaves the FTS index alone.
            interactions.setRedactionVersion(r.id, version);
          }
        }
      })();
      after = rows.at(-1)!.id;
      ctx.progress({ done: counts.hookEvents + counts.interactions, total, message: 'interactions', counts });
    }
    return counts;
  };
}

export interface RedactScanResult {
  rowsScanned: number;
  rowsWithMatches: number;
  byRule: Record<string, number>;
  version: string;
  pendingRows: number;
}

/** Dry run: what the current rules would change in stored rows. Changes nothing. */
export function scanStored(db: Db, service: RedactionService, sessionId: string | null): RedactScanResult {
  const result: RedactScanResult = { rowsScanned: 0, rowsWithMatches: 0, byRule: {}, version: service.version, pendingRows: 0 };
  const scanValue = (text: string | null): number => {
    if (text === null) return 0;
    let found = 0;
    const visit = (s: string) => {
      for (const m of service.redactor.scanText(s)) {
        result.byRule[m.rule] = (result.byRule[m.rule] ?? 0) + 1;
        found += 1;
      }
    };
    try {
      walkStrings(JSON.parse(text) as unknown, visit);
    } catch {
      visit(text);
    }
    return found;
  };
  const where = sessionId ? 'WHERE session_id = ?' : '';
  const args = sessionId ? [sessionId] : [];
  for (const r of db.prepare(`SELECT payload FROM hook_events ${where}`).iterate(...args) as Iterable<{ payload: string }>) {
    result.rowsScanned += 1;
    if (scanValue(r.payload) > 0) result.rowsWithMatches += 1;
  }
  for (const r of db.prepare(`SELECT rbk_text(text) AS text, tool_input, tool_use_result, data FROM interactions ${where}`).iterate(...args) as Iterable<
    Omit<InteractionRow, 'id' | 'raw'>
  >) {
    result.rowsScanned += 1;
    // raw repeats the other fields; scanning it too would count one secret twice.
    const toolUseResult = unpackToolUseResult(r.text, r.tool_use_result);
    const n = scanValue(r.text) + scanValue(r.tool_input) + scanValue(toolUseResult) + scanValue(r.data);
    if (n > 0) result.rowsWithMatches += 1;
  }
  result.pendingRows =
    (db
      .prepare(`SELECT count(*) FROM hook_events WHERE redaction_version IS NOT ? ${sessionId ? 'AND session_id = ?' : ''}`)
      .pluck()
      .get(service.version, ...args) as number) +
    (db
      .prepare(`SELECT count(*) FROM interactions WHERE redaction_version IS NOT ? ${sessionId ? 'AND session_id = ?' : ''}`)
      .pluck()
      .get(service.version, ...args) as number);
  return result;
}

function walkStrings(value: unknown, visit: (s: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) for (const v of value) walkStrings(v, visit);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) walkStrings(v, visit);
}
