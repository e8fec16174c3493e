// Reading what Claude Code wrote: JSONL transcripts, subagent files, token totals.
import fs from 'node:fs';
import path from 'node:path';

export type TranscriptLine = Record<string, unknown> & {
  type?: string;
  uuid?: string;
  sessionId?: string;
  requestId?: string;
  isSidechain?: boolean;
  agentId?: string;
  message?: { id?: string; role?: string; model?: string; content?: unknown; usage?: Record<string, unknown> };
};

/** Parses a JSONL file; a torn last line (still being written) is skipped. */
export function readJsonl(file: string): TranscriptLine[] {
  const out: TranscriptLine[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim().length === 0) continue;
    try {
      out.push(JSON.parse(line) as TranscriptLine);
    } catch {
      // partial line
    }
  }
  return out;
}

export interface SessionFiles {
  main: string;
  /** <session>/subagents/agent-*.jsonl */
  subagents: string[];
  /** <session>/subagents/agent-*.meta.json */
  metas: string[];
}

export function sessionFiles(transcriptPath: string): SessionFiles {
  const dir = path.join(path.dirname(transcriptPath), path.basename(transcriptPath, '.jsonl'), 'subagents');
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  return {
    main: transcriptPath,
    subagents: names.filter((n) => /^agent-.*\.jsonl$/.test(n)).map((n) => path.join(dir, n)),
    metas: names.filter((n) => /^agent-.*\.meta\.json$/.test(n)).map((n) => path.join(dir, n)),
  };
}

export interface TokenTotals {
  input: number;
  output: number;
  cacheCreation: number;
  cacheRead: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Sums usage over assistant lines. "dedupe": one entry per message.id (+ requestId when present),
 * taking the max of each field (one API response is written as several lines that repeat its
 * usage). "naive": every line counted, as a careless reader would.
 */
export function usageTotals(lines: TranscriptLine[], mode: 'dedupe' | 'naive' = 'dedupe'): TokenTotals {
  const byKey = new Map<string, TokenTotals>();
  lines.forEach((l, i) => {
    const u = l.message?.usage;
    if (l.type !== 'assistant' || !u) return;
    const key = mode === 'naive' || !l.message?.id ? `#${i}` : `${l.message.id}|${l.requestId ?? ''}`;
    const t = {
      input: num(u.input_tokens),
      output: num(u.output_tokens),
      cacheCreation: num(u.cache_creation_input_tokens),
      cacheRead: num(u.cache_read_input_tokens),
    };
    const prev = byKey.get(key);
    byKey.set(
      key,
      prev
        ? {
            input: Math.max(prev.input, t.input),
            output: Math.max(prev.output, t.output),
            cacheCreation: Math.max(prev.cacheCreation, t.cacheCreation),
            cacheRead: Math.max(prev.cacheRead, t.cacheRead),
          }
        : t,
    );
  });
  const total: TokenTotals = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  for (const t of byKey.values()) {
    total.input += t.input;
    total.output += t.output;
    total.cacheCreation += t.cacheCreation;
    total.cacheRead += t.cacheRead;
  }
  return total;
}

/** Claude Code's JSON result `usage` (or one modelUsage entry) as TokenTotals. */
export function resultTotals(usage: Record<string, unknown> | undefined): TokenTotals {
  if (!usage) return { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  if ('inputTokens' in usage) {
    return {
      input: num(usage.inputTokens),
      output: num(usage.outputTokens),
      cacheCreation: num(usage.cacheCreationInputTokens),
      cacheRead: num(usage.cacheReadInputTokens),
    };
  }
  return {
    input: num(usage.input_tokens),
    output: num(usage.output_tokens),
    cacheCreation: num(usage.cache_creation_input_tokens),
    cacheRead: num(usage.cache_read_input_tokens),
  };
}

/** Sums every model in a result's modelUsage. */
export function modelUsageTotals(modelUsage: Record<string, Record<string, unknown>> | undefined): TokenTotals {
  const total: TokenTotals = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  for (const m of Object.values(modelUsage ?? {})) {
    const t = resultTotals(m);
    total.input += t.input;
    total.output += t.output;
    total.cacheCreation += t.cacheCreation;
    total.cacheRead += t.cacheRead;
  }
  return total;
}
