// Shared helpers for the transcript-ingestion tests that drive the real daemon and CLI
// (test/ingest-daemon/*.test.ts and test/e2e/ingest.e2e.test.ts). Process and database plumbing
// comes from test/support/rbk.ts; what is here is specific to transcripts: an independent token
// count from the raw JSONL, a one-shot parse of a file, and the CLI calls the tests repeat.
import fs from 'node:fs';
import path from 'node:path';
import { parseTranscriptLine } from '../../daemon/ingest/transcripts/parse.js';
import { splitCompleteLines } from '../../daemon/ingest/transcripts/reader.js';
import { queryAll, queryOne, runCli, type TempRbk } from '../support/rbk.js';

export interface Tokens {
  input: number;
  output: number;
  cacheCreation: number;
  cacheRead: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** Lines of a JSONL file (the last may be torn; it then fails to parse and is ignored). */
function fileLines(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/**
 * Token totals computed from raw JSONL lines without any rbk code: every assistant line's
 * message.usage, one entry per message.id + requestId, each field the maximum seen.
 * `<synthetic>` messages (Claude Code's local placeholders) were never billed.
 */
export function dedupeLines(lines: Iterable<string>): Tokens & { messages: number } {
  const byKey = new Map<string, Tokens>();
  let anon = 0;
  for (const line of lines) {
    let o: any;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    const u = o?.message?.usage;
    if (o?.type !== 'assistant' || !u || typeof u !== 'object') continue;
    if (o.message.model === '<synthetic>') continue;
    const key = typeof o.message.id === 'string' ? `${o.message.id}|${o.requestId ?? ''}` : `#${anon++}`;
    const t = {
      input: num(u.input_tokens),
      output: num(u.output_tokens),
      cacheCreation: num(u.cache_creation_input_tokens),
      cacheRead: num(u.cache_read_input_tokens),
    };
    const p = byKey.get(key);
    byKey.set(
      key,
      p
        ? {
            input: Math.max(p.input, t.input),
            output: Math.max(p.output, t.output),
            cacheCreation: Math.max(p.cacheCreation, t.cacheCreation),
            cacheRead: Math.max(p.cacheRead, t.cacheRead),
          }
        : t,
    );
  }
  const total = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0, messages: byKey.size };
  for (const t of byKey.values()) {
    total.input += t.input;
    total.output += t.output;
    total.cacheCreation += t.cacheCreation;
    total.cacheRead += t.cacheRead;
  }
  return total;
}

/** dedupeLines over whole files. */
export function dedupedTokens(files: string[]): Tokens & { messages: number } {
  return dedupeLines(files.flatMap(fileLines));
}

/**
 * dedupedTokens per session, the session being each line's own sessionId (subagent and
 * compaction lines carry their parent's), else the file name. Sessions without usage are left out.
 */
export function dedupedTokensBySession(files: string[]): Map<string, Tokens> {
  const bySession = new Map<string, string[]>();
  for (const file of files) {
    for (const line of fileLines(file)) {
      let id = path.basename(file, '.jsonl');
      try {
        const o = JSON.parse(line);
        if (typeof o?.sessionId === 'string') id = o.sessionId;
      } catch {
        /* not JSON: carries no usage */
      }
      (bySession.get(id) ?? bySession.set(id, []).get(id)!).push(line);
    }
  }
  const out = new Map<string, Tokens>();
  for (const [id, lines] of bySession) {
    const { messages, ...t } = dedupeLines(lines);
    if (messages > 0) out.set(id, t);
  }
  return out;
}

/** Every *.jsonl under dir (recursively). */
export function jsonlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsonlFiles(p));
    else if (e.name.endsWith('.jsonl')) out.push(p);
  }
  return out.sort();
}

/** `${uuid}#${blockIndex}` of every interaction a one-shot parse of `data` (complete lines only) yields. */
export function parsedInteractionKeys(data: Buffer, ctx: { sessionIdHint?: string | null } = {}): string[] {
  const keys: string[] = [];
  for (const line of splitCompleteLines(data)) {
    if (!line.bytes) continue;
    const p = parseTranscriptLine(line.bytes, { file: 'x.jsonl', sessionIdHint: ctx.sessionIdHint ?? null });
    if (!p.ok) continue;
    for (const i of p.interactions) keys.push(`${i.uuid}#${i.blockIndex}`);
  }
  return keys;
}

/** The stored (uuid, block_index) keys of a session, sorted. */
export function storedInteractionKeys(t: TempRbk, sessionId: string): string[] {
  return queryAll<{ k: string }>(t, `SELECT uuid || '#' || block_index AS k FROM interactions WHERE session_id = ? ORDER BY k`, sessionId).map((r) => r.k);
}

export interface ImportSummary {
  roots: string[];
  files: number;
  bytes: number;
  sessions: number;
  interactionsAdded: number;
  linesRead: number;
  skipped: Record<string, number>;
  errors: { path: string; error: string }[];
  seconds: number;
  searchIndexPending: number;
}

/** `rbk import PATH… --json`; throws with stderr unless it exits 0. */
export async function importJson(t: TempRbk, paths: string[], timeoutMs = 120_000, opts: { waitForSearch?: boolean } = {}): Promise<ImportSummary> {
  const r = await runCli(t, ['import', ...paths, '--json'], { timeoutMs, ...opts });
  if (r.code !== 0) throw new Error(`rbk import exited ${r.code} (${r.signal}): ${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as ImportSummary;
}

export interface ShowJson {
  session: {
    id: string;
    counts: { prompts: number; toolCalls: number; toolFailures: number; subagents: number; hookEvents: number; interactions: number };
    tokens: Tokens;
    costUsd: number | null;
    transcriptPath: string | null;
    ccVersion: string | null;
    [k: string]: unknown;
  };
  hookEvents: { eventName: string }[];
  timeline: {
    at: string | null;
    kind: string;
    text: string;
    toolName: string | null;
    toolUseId: string | null;
    status: string | null;
    agentId: string | null;
    ref: string;
    source: string;
    detail: string | null;
  }[];
}

/** `rbk sessions show <id> --json`. */
export async function showJson(t: TempRbk, id: string): Promise<ShowJson> {
  const r = await runCli(t, ['sessions', 'show', id, '--json']);
  if (r.code !== 0) throw new Error(`rbk sessions show exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ShowJson;
}

/** Row counts of the transcript tables, for before/after comparisons. */
export function tableCounts(t: TempRbk): { sessions: number; interactions: number; messageUsage: number; subagents: number; transcripts: number } {
  const one = (sql: string) => (queryOne<{ n: number }>(t, sql)?.n ?? 0) as number;
  return {
    sessions: one('SELECT count(*) AS n FROM sessions'),
    interactions: one('SELECT count(*) AS n FROM interactions'),
    messageUsage: one('SELECT count(*) AS n FROM message_usage'),
    subagents: one('SELECT count(*) AS n FROM subagents'),
    transcripts: one('SELECT count(*) AS n FROM transcripts'),
  };
}

/** A session's token columns straight from the database. */
export function sessionTokens(t: TempRbk, id: string): Tokens | undefined {
  return queryOne<Tokens>(
    t,
    'SELECT input_tokens AS input, output_tokens AS output, cache_creation_tokens AS cacheCreation, cache_read_tokens AS cacheRead FROM sessions WHERE id = ?',
    id,
  );
}

/** VmHWM / VmRSS of a process, in MB. */
export function memoryMB(pid: number): { hwm: number; rss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** Claude Code-shaped transcript lines (2.1.x), for tests that write their own transcripts. */
export const lines = {
  at: (i: number) => new Date(Date.UTC(2026, 2, 1, 12, 0, 0) + i * 1000).toISOString(),
  common(sessionId: string, uuid: string, i: number, extra: Record<string, unknown> = {}) {
    return {
      parentUuid: null,
      isSidechain: false,
      userType: 'external',
      cwd: '/home/dev/app',
      sessionId,
      version: '2.1.90',
      gitBranch: 'main',
      uuid,
      timestamp: lines.at(i),
      ...extra,
    };
  },
  user(sessionId: string, uuid: string, i: number, text: string): string {
    return `${JSON.stringify({ ...lines.common(sessionId, uuid, i), type: 'user', message: { role: 'user', content: text } })}\n`;
  },
  assistant(sessionId: string, uuid: string, i: number, text: string, msg = `msg_${uuid.replace(/-/g, '')}`): string {
    return `${JSON.stringify({
      ...lines.common(sessionId, uuid, i),
      type: 'assistant',
      requestId: `req_${msg}`,
      message: {
        id: msg,
        model: 'claude-sonnet-4-5-20250929',
        role: 'assistant',
        type: 'message',
        content: [{ type: 'text', text }],
        usage: { input_tokens: 3, output_tokens: 40, cache_creation_input_tokens: 200, cache_read_input_tokens: 5000 },
      },
    })}\n`;
  },
  toolResult(sessionId: string, uuid: string, i: number, toolUseId: string, output: string, isError = false): string {
    return `${JSON.stringify({
      ...lines.common(sessionId, uuid, i),
      type: 'user',
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUseId, content: output, ...(isError ? { is_error: true } : {}) }] },
      toolUseResult: { stdout: output, stderr: '', interrupted: false, isImage: false },
    })}\n`;
  },
};

/** A uuid-shaped id for test line number n of a test-chosen series. */
export const uuidFor = (series: number, n: number): string => `${series.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
