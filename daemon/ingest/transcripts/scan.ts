// Reader + parser glued together, plus a counter for what a scan saw. The database layer is
// expected to consume scanTranscript() and persist `line.end` as its new offset after each batch.
import { readCompleteLines, type LineRecord, type ReadLinesOptions } from './reader.js';
import { parseLineRecord } from './parse.js';
import { addUsage, sumUsage, type TokenTotals } from './usage.js';
import type { ParseContext, ParsedLine, UsageRecord } from './types.js';
import { CODEX_STATE_LINE, newCodexState, updateCodexState, type CodexState } from './codex.js';

/** Reads the state-setting lines (session, turn context) of a Codex rollout before `until`. */
async function primeCodexState(file: string, until: number, state: CodexState): Promise<void> {
  for await (const line of readCompleteLines(file, 0, { untilOffset: until })) {
    if (!line.bytes) continue;
    const text = line.bytes.toString('utf8');
    const m = CODEX_STATE_LINE.exec(text.slice(0, 200));
    if (!m) continue;
    try {
      const o = JSON.parse(text) as { type?: unknown; payload?: unknown };
      if (typeof o.type === 'string' && typeof o.payload === 'object' && o.payload !== null)
        updateCodexState(state, o.type, o.payload as Record<string, unknown>);
    } catch {
      /* a bad line: the main read counts it */
    }
  }
}

export interface ScannedLine {
  line: LineRecord;
  parsed: ParsedLine;
}

/** Parses every complete line of `file` from `fromOffset`. */
export async function* scanTranscript(
  file: string,
  fromOffset: number,
  ctx: Omit<ParseContext, 'file'> = {},
  opts?: ReadLinesOptions,
): AsyncGenerator<ScannedLine> {
  const full: ParseContext = { ...ctx, file };
  if (ctx.format === 'codex') {
    full.codexState = newCodexState();
    // Reading from the middle (a live tail): the model and session come from earlier lines.
    if (fromOffset > 0) await primeCodexState(file, fromOffset, full.codexState);
  }
  for await (const line of readCompleteLines(file, fromOffset, opts)) {
    yield { line, parsed: parseLineRecord(line, full) };
  }
}

/** Counts of what a scan met; every field is a plain number or map so it can be logged as JSON. */
export class ScanStats {
  lines = 0;
  bytes = 0;
  /** Parsed lines by `type` ('' for a missing type). */
  readonly byType = new Map<string, number>();
  /** Lines of types the parser does not know, by type. */
  readonly unknownTypes = new Map<string, number>();
  /** Failures by reason (empty, invalid-json, not-object, oversized, invalid-utf8). */
  readonly failures = new Map<string, number>();
  /** Non-fatal problems by code. */
  readonly problems = new Map<string, number>();
  invalidUtf8 = 0;
  interactions = 0;
  usageLines = 0;
  /** Usage deduplicated by usageKey. */
  readonly usage = new Map<string, UsageRecord>();
  lastEnd = 0;

  add(s: ScannedLine): void {
    this.lines++;
    this.bytes += s.line.end - s.line.offset;
    this.lastEnd = s.line.end;
    const p = s.parsed;
    if (p.invalidUtf8) this.invalidUtf8++;
    if (!p.ok) {
      bump(this.failures, p.reason);
      return;
    }
    bump(this.byType, p.type);
    if (!p.known) bump(this.unknownTypes, p.type);
    for (const problem of p.problems) bump(this.problems, problem);
    this.interactions += p.interactions.length;
    if (p.usage) {
      this.usageLines++;
      addUsage(this.usage, p.usage);
    }
  }

  totals(): TokenTotals {
    return sumUsage(this.usage.values());
  }

  toJSON(): Record<string, unknown> {
    return {
      lines: this.lines,
      bytes: this.bytes,
      byType: Object.fromEntries(this.byType),
      unknownTypes: Object.fromEntries(this.unknownTypes),
      failures: Object.fromEntries(this.failures),
      problems: Object.fromEntries(this.problems),
      invalidUtf8: this.invalidUtf8,
      interactions: this.interactions,
      usageLines: this.usageLines,
      totals: this.totals(),
      lastEnd: this.lastEnd,
    };
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}
