// Helpers for the query-side tests (test/query/*.test.ts): a real daemon loaded with the real
// fixture transcripts plus one hand-written transcript that exercises what the fixtures do not
// (HTML in a prompt, a failing tool call with a unique error, a model without a price, usage
// around midnight UTC), and an independent usage computation from the raw JSONL.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertBuilt, jobsOnRequestOnly, makeDataDir, runCli, startDaemon, type DaemonProcess, type RunResult, type TempRbk } from '../support/rbk.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/claude-code/transcripts/', import.meta.url));

/** The hand-written session (see writeCustomTranscript). */
export const CUSTOM_SESSION = 'c0ffee00-1234-4abc-8def-000000000001';
export const CUSTOM_PROJECT = 'quasar-lab';
/** The tool_result text of the failing call; its uuid is CUSTOM_FAILURE_UUID. */
export const CUSTOM_FAILURE_UUID = 'c0ffee00-0000-4000-8000-0000000000f1';
export const CUSTOM_PROMPT_UUID = 'c0ffee00-0000-4000-8000-000000000001';
export const UNKNOWN_MODEL = 'claude-nonexistent-9';

interface Line {
  [k: string]: unknown;
}

/**
 * One session in quasar-lab, 2026-03-01 23:30Z → 2026-03-02 01:00Z:
 * - a prompt with HTML/script markup;
 * - an assistant response split over two lines (text, tool_use) with placeholder usage on the
 *   first, same message.id + requestId (must count once);
 * - a Bash call that fails with a unique error ("zorblax");
 * - a final answer after midnight UTC;
 * - one response from a model without a known price.
 */
export function customTranscriptLines(): Line[] {
  const cwd = `/home/test/${CUSTOM_PROJECT}`;
  const base = { isSidechain: false, userType: 'external', cwd, sessionId: CUSTOM_SESSION, version: '2.1.39', gitBranch: 'main' };
  const usage = (o: number, extra: Partial<Record<string, number>> = {}) => ({
    input_tokens: 10,
    cache_creation_input_tokens: 1000,
    cache_read_input_tokens: 5000,
    output_tokens: o,
    ...extra,
  });
  return [
    {
      ...base,
      parentUuid: null,
      type: 'user',
      uuid: CUSTOM_PROMPT_UUID,
      timestamp: '2026-03-01T23:30:00.000Z',
      message: { role: 'user', content: `<script>alert("pwned")</script> The quasar build is broken & I need the flux capacitor fixed <b>today</b>` },
    },
    {
      ...base,
      parentUuid: CUSTOM_PROMPT_UUID,
      type: 'assistant',
      uuid: 'c0ffee00-0000-4000-8000-000000000002',
      timestamp: '2026-03-01T23:30:05.000Z',
      requestId: 'req_custom_1',
      message: {
        model: 'claude-sonnet-4-5-20250929',
        id: 'msg_custom_1',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'text', text: 'Let me run the quasar build to reproduce it.' }],
        usage: usage(3),
      },
    },
    {
      ...base,
      parentUuid: 'c0ffee00-0000-4000-8000-000000000002',
      type: 'assistant',
      uuid: 'c0ffee00-0000-4000-8000-000000000003',
      timestamp: '2026-03-01T23:30:06.000Z',
      requestId: 'req_custom_1',
      message: {
        model: 'claude-sonnet-4-5-20250929',
        id: 'msg_custom_1',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_custom_1', name: 'Bash', input: { command: 'make quasar-build', description: 'Build quasar' } }],
        usage: usage(250),
      },
    },
    {
      ...base,
      parentUuid: 'c0ffee00-0000-4000-8000-000000000003',
      type: 'user',
      uuid: CUSTOM_FAILURE_UUID,
      timestamp: '2026-03-01T23:30:09.000Z',
      message: {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_custom_1',
            is_error: true,
            content: 'make: *** [quasar-build] Error 2: undefined reference to zorblax_init </pre><img src=x onerror=alert(1)>',
          },
        ],
      },
      toolUseResult: 'Error: undefined reference to zorblax_init',
    },
    {
      ...base,
      parentUuid: CUSTOM_FAILURE_UUID,
      type: 'assistant',
      uuid: 'c0ffee00-0000-4000-8000-000000000004',
      timestamp: '2026-03-02T00:30:00.000Z',
      requestId: 'req_custom_2',
      message: {
        model: 'claude-sonnet-4-5-20250929',
        id: 'msg_custom_2',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'text', text: 'The zorblax library is not linked; add -lzorblax to LDFLAGS.' }],
        usage: usage(120),
      },
    },
    {
      ...base,
      parentUuid: 'c0ffee00-0000-4000-8000-000000000004',
      type: 'assistant',
      uuid: 'c0ffee00-0000-4000-8000-000000000005',
      timestamp: '2026-03-02T01:00:00.000Z',
      requestId: 'req_custom_3',
      message: { model: UNKNOWN_MODEL, id: 'msg_custom_3', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Done.' }], usage: usage(7) },
    },
  ];
}

export function writeCustomTranscript(root: string): string {
  const dir = path.join(root, '-home-test-quasar-lab');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${CUSTOM_SESSION}.jsonl`);
  fs.writeFileSync(
    file,
    `${customTranscriptLines()
      .map((l) => JSON.stringify(l))
      .join('\n')}\n`,
  );
  return file;
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

export interface DayTokens {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  messages: number;
}

/**
 * Usage per UTC day and per model, computed from the raw JSONL without rbk code: one record per
 * message.id + requestId (message.id alone without a requestId), each token field the maximum
 * over its lines, dated by its earliest line; `<synthetic>` messages are skipped.
 */
export function independentUsage(files: string[]): { byDay: Map<string, DayTokens>; byModel: Map<string, DayTokens>; total: DayTokens } {
  const recs = new Map<string, { ts: number; model: string; i: number; o: number; cc: number; cr: number }>();
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
  for (const file of files) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let o: any;
      try {
        o = JSON.parse(line);
      } catch {
        continue;
      }
      const u = o?.message?.usage;
      if (o?.type !== 'assistant' || !u || typeof o.message.id !== 'string' || o.message.model === '<synthetic>') continue;
      const key = o.requestId ? `${o.message.id}:${o.requestId}` : o.message.id;
      const ts = Date.parse(o.timestamp);
      const prev = recs.get(key);
      const cur = {
        ts,
        model: o.message.model,
        i: n(u.input_tokens),
        o: n(u.output_tokens),
        cc: n(u.cache_creation_input_tokens),
        cr: n(u.cache_read_input_tokens),
      };
      recs.set(
        key,
        prev
          ? {
              ts: Math.min(prev.ts, ts),
              model: prev.model,
              i: Math.max(prev.i, cur.i),
              o: Math.max(prev.o, cur.o),
              cc: Math.max(prev.cc, cur.cc),
              cr: Math.max(prev.cr, cur.cr),
            }
          : cur,
      );
    }
  }
  const empty = (): DayTokens => ({ inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, messages: 0 });
  const add = (t: DayTokens, r: { i: number; o: number; cc: number; cr: number }) => {
    t.inputTokens += r.i;
    t.outputTokens += r.o;
    t.cacheCreationTokens += r.cc;
    t.cacheReadTokens += r.cr;
    t.messages += 1;
  };
  const byDay = new Map<string, DayTokens>();
  const byModel = new Map<string, DayTokens>();
  const total = empty();
  for (const r of recs.values()) {
    const day = new Date(r.ts).toISOString().slice(0, 10);
    if (!byDay.has(day)) byDay.set(day, empty());
    if (!byModel.has(r.model)) byModel.set(r.model, empty());
    add(byDay.get(day)!, r);
    add(byModel.get(r.model)!, r);
    add(total, r);
  }
  return { byDay, byModel, total };
}

export interface QueryRig {
  t: TempRbk;
  d: DaemonProcess;
  /** Where the transcripts were imported from: a copy of the fixtures plus the custom session. */
  transcripts: string;
  cli(args: string[], opts?: { env?: Record<string, string | undefined> }): Promise<RunResult>;
  /** Runs the CLI, expects exit 0, parses stdout as JSON. */
  json<T = any>(args: string[], opts?: { env?: Record<string, string | undefined> }): Promise<T>;
  stop(): Promise<void>;
}

/** A daemon with the fixture transcripts and the custom session imported. */
export async function startQueryRig(): Promise<QueryRig> {
  assertBuilt();
  // No job on its cron schedule: `rbk stats` reports job health from the run history, and a
  // redact or sync run at a quarter past the hour would land in it mid-test.
  const t = makeDataDir({ config: jobsOnRequestOnly() });
  const transcripts = path.join(t.root, 'projects');
  fs.cpSync(FIXTURES, transcripts, { recursive: true, filter: (src) => !src.endsWith('README.txt') });
  writeCustomTranscript(transcripts);
  const d = await startDaemon(t);
  const cli = (args: string[], opts: { env?: Record<string, string | undefined> } = {}) =>
    runCli(t, args, { env: { TZ: 'UTC', ...opts.env }, timeoutMs: 60_000 });
  const imp = await cli(['import', '--json', transcripts]);
  if (imp.code !== 0) throw new Error(`rbk import failed (${imp.code}): ${imp.stderr}`);
  return {
    t,
    d,
    transcripts,
    cli,
    json: async (args, opts) => {
      const r = await cli(args, opts);
      if (r.code !== 0) throw new Error(`rbk ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    stop: async () => {
      await d.stop();
      t.cleanup();
    },
  };
}
