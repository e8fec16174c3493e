// The real Codex CLI (@openai/codex, pinned) offline against the project's stand-in for the OpenAI
// Responses API: a session with a failing and a passing shell command, then a fork of it and a
// resume of it. rbkd reads the rollouts live (it watches $CODEX_HOME/sessions) and by `rbk import`:
// the sessions, prompts, reasoning, tool calls and results; exact tokens (each model response once:
// not the fork's cumulative totals, not a re-emitted count); cost from the OpenAI price table;
// search and learn work on them as on Claude Code's.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, queryAll, runCli, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { CODEX_BIN, runCodex, startCodexStandIn, writeCodexConfig, type CodexStandIn } from './support/codex.js';

let t: TempRbk;
let d: DaemonProcess;
let home: string;
let standIn: CodexStandIn;

beforeAll(async () => {
  assertBuilt();
  if (!fs.existsSync(CODEX_BIN)) throw new Error(`the Codex CLI is missing (${CODEX_BIN}); npm ci installs it (devDependency @openai/codex)`);
  t = makeDataDir({ config: 'metrics: { enabled: false }\nui: { enabled: false }\notel: { enabled: false }\n' });
  home = path.join(t.root, 'home');
  standIn = await startCodexStandIn(crypto.randomBytes(4).toString('hex'));
  writeCodexConfig(path.join(home, '.codex'), standIn.url);
  // This month's rollout folder exists when rbkd starts, so it watches it (it re-checks hourly).
  const now = new Date();
  fs.mkdirSync(path.join(home, '.codex', 'sessions', String(now.getFullYear()), String(now.getMonth() + 1).padStart(2, '0')), { recursive: true });
  d = await startDaemon(t, { env: { HOME: home } });
}, 120_000);

afterAll(async () => {
  await d?.stop();
  await standIn?.close();
  t?.cleanup();
});

interface SessionJson {
  id: string;
  agent: string;
  project: string | null;
  model: string | null;
  counts: { prompts: number; toolCalls: number; toolFailures: number };
  tokens: { input: number; output: number; cacheCreation: number; cacheRead: number };
  costUsd: number | null;
}

const cli = async (args: string[]) => {
  const r = await runCli(t, args, { env: { HOME: home } });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

/** The last total_token_usage a rollout reports: Codex's own running total for the thread. */
function finalTotal(sessionId: string): { input_tokens: number; cached_input_tokens: number; output_tokens: number } {
  const files = fs.readdirSync(path.join(home, '.codex', 'sessions'), { recursive: true }) as string[];
  const file = files.find((f) => f.endsWith(`${sessionId}.jsonl`));
  if (!file) throw new Error(`no rollout for ${sessionId}`);
  type Total = { input_tokens: number; cached_input_tokens: number; output_tokens: number };
  let total: Total | null = null;
  for (const line of fs.readFileSync(path.join(home, '.codex', 'sessions', file), 'utf8').split('\n')) {
    if (!line.includes('"token_count"')) continue;
    const info: { total_token_usage?: Total } | undefined = (JSON.parse(line) as { payload: { info?: { total_token_usage?: Total } } }).payload.info;
    if (info?.total_token_usage) total = info.total_token_usage;
  }
  if (!total) throw new Error(`no token_count in ${file}`);
  return total;
}

describe('Codex CLI sessions', () => {
  it('a failing and a passing command, a fork and a resume: sessions, exact tokens, cost, search and learn', async () => {
    const project = path.join(t.root, 'codex-build');
    fs.mkdirSync(project, { recursive: true });
    // The failing build prints a (fake) secret: it must not reach the store.
    fs.writeFileSync(
      path.join(project, 'build.sh'),
      '#!/bin/sh\nif [ ! -d gen ]; then echo "using AWS_SECRET_ACCESS_KEY=mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU" >&2; echo "build error: gen/ directory is missing" >&2; exit 2; fi\necho "build ok"\n',
    );

    const first = await runCodex({ home, project, prompt: 'The build is failing, please fix it' });
    expect(first.code, first.stderr).toBe(0);
    const a = first.sessionId as string;
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    // Read live: no import, no hook.
    const live = await waitFor(
      'the Codex session read live',
      async () => {
        const list = (await cli(['sessions', '--agent', 'codex', '--json'])) as SessionJson[];
        const s = list.find((x) => x.id === a);
        return s && s.counts.toolCalls === 2 ? s : null;
      },
      30_000,
    );
    expect(live).toMatchObject({ agent: 'codex', project: 'codex-build', model: 'gpt-5', counts: { prompts: 1, toolCalls: 2, toolFailures: 1 } });

    const fork = await runCodex({ home, project, prompt: 'Summarize what you changed', fork: a });
    expect(fork.code, fork.stderr).toBe(0);
    const b = fork.sessionId as string;
    expect(b).not.toBe(a);
    const resume = await runCodex({ home, project, prompt: 'Check it once more', resume: a });
    expect(resume.code, resume.stderr).toBe(0);
    // Import (idempotent) reads whatever the live watch has not yet.
    await cli(['import', '--json']);

    const sessions = ((await cli(['sessions', '--agent', 'codex', '--json'])) as SessionJson[]).sort((x, y) => x.id.localeCompare(y.id));
    expect(sessions.map((s) => s.id).sort()).toEqual([a, b].sort());
    const byId = new Map(sessions.map((s) => [s.id, s]));
    const sa = byId.get(a)!;
    const sb = byId.get(b)!;
    expect(sa.counts.prompts).toBe(2);

    // Session A matches the rollout's own final total_token_usage exactly.
    const ta = finalTotal(a);
    expect(sa.tokens.input + sa.tokens.cacheRead).toBe(ta.input_tokens);
    expect(sa.tokens.cacheRead).toBe(ta.cached_input_tokens);
    expect(sa.tokens.output).toBe(ta.output_tokens);
    // The fork's own total counts its parent's history; rbk counts only the fork's own responses.
    const tb = finalTotal(b);
    expect(sb.tokens.input + sb.tokens.cacheRead).toBeLessThan(tb.input_tokens);
    // Every response the stand-in served, once: nothing doubled, nothing missed.
    const served = standIn.served;
    const sum = (f: (u: (typeof served)[number]['usage']) => number) => served.reduce((acc, r) => acc + f(r.usage), 0);
    expect(sa.tokens.input + sa.tokens.cacheRead + sb.tokens.input + sb.tokens.cacheRead).toBe(sum((u) => u.input_tokens));
    expect(sa.tokens.output + sb.tokens.output).toBe(sum((u) => u.output_tokens));

    // gpt-5 at $1.25 in, $0.125 cached, $10 out per million.
    const cost = served.reduce(
      (acc, r) => acc + ((r.usage.input_tokens - r.usage.cached_tokens) * 1.25 + r.usage.cached_tokens * 0.125 + r.usage.output_tokens * 10) / 1e6,
      0,
    );
    // Sessions and reports keep costs to 8 decimals.
    expect((sa.costUsd ?? 0) + (sb.costUsd ?? 0)).toBeCloseTo(cost, 7);
    const usage = (await cli(['usage', 'session', '--agent', 'codex', '--json'])) as { sessions: { sessionId: string }[]; totals: { totalCost: number } };
    expect(usage.sessions.map((s) => s.sessionId).sort()).toEqual([a, b].sort());
    expect(usage.totals.totalCost).toBeCloseTo(cost, 7);

    // The timeline: prompt, reasoning, the failing call with its error, the passing one, the answer.
    const show = (await cli(['sessions', 'show', a, '--json'])) as { timeline: { kind: string; text: string; status: string | null; detail: string | null }[] };
    const tools = show.timeline.filter((e) => e.kind === 'tool');
    expect(tools.map((e) => [e.text, e.status])).toEqual([
      ['sh build.sh', 'error'],
      ['mkdir -p gen && sh build.sh', 'ok'],
    ]);
    expect(tools[0]!.detail).toContain('gen/ directory is missing');
    expect(show.timeline.filter((e) => e.kind === 'prompt').map((e) => e.text)).toEqual(['The build is failing, please fix it', 'Check it once more']);
    expect(show.timeline.some((e) => e.kind === 'thinking' && e.text.startsWith('Considering step'))).toBe(true);

    // The text list names the agent when asked for one.
    const text = await runCli(t, ['sessions', '--agent', 'codex'], { env: { HOME: home } });
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+AGENT\s+PROJECT/);
    expect(text.stdout).toContain(`${a.slice(0, 8)}  codex`);

    // Redaction at ingest, as for Claude Code's transcripts: not in any column, nor in the raw line.
    expect(
      queryAll(
        t,
        `SELECT uuid FROM interactions WHERE session_id = ? AND (rbk_text(text) LIKE '%mpNomedx%' OR rbk_line(text, tool_input, tool_use_result, raw) LIKE '%mpNomedx%' OR tool_input LIKE '%mpNomedx%')`,
        a,
      ),
    ).toEqual([]);
    expect(queryAll(t, `SELECT uuid FROM interactions WHERE session_id = ? AND rbk_text(text) LIKE '%[REDACTED:%'`, a).length).toBeGreaterThan(0);

    const hits = (await cli(['sessions', 'search', 'directory is missing', '--agent', 'codex', '--json'])) as { hits: { sessionId: string }[] };
    expect(hits.hits.map((h) => h.sessionId)).toContain(a);

    const learned = (await cli(['learn', a, '--out', path.join(t.root, 'learn'), '--json'])) as { postmortems?: { path: string }[] };
    expect(learned.postmortems?.length ?? 0).toBeGreaterThan(0);
    const postmortem = fs.readFileSync(learned.postmortems![0]!.path, 'utf8');
    expect(postmortem).toContain('gen/ directory is missing');
  }, 300_000);
});
