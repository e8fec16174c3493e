// The query side end to end: the real daemon with the real fixture transcripts (plus one
// hand-written session, see support.ts) imported, driven through the real CLI. Expected values
// are computed from the raw JSONL, not from rbk.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFunctions } from '../../daemon/store/db.js';
import { RBK_BIN, cleanEnv } from '../support/rbk.js';
import {
  CUSTOM_FAILURE_UUID,
  CUSTOM_PROJECT,
  CUSTOM_PROMPT_UUID,
  CUSTOM_SESSION,
  UNKNOWN_MODEL,
  independentUsage,
  jsonlFiles,
  startQueryRig,
  type QueryRig,
} from './support.js';

let rig: QueryRig;

beforeAll(async () => {
  rig = await startQueryRig();
}, 120_000);

afterAll(async () => {
  await rig?.stop();
});

interface SessionJson {
  id: string;
  project: string | null;
  cwd: string | null;
  host: string;
  startedAt: string | null;
  lastActivityAt: string | null;
  counts: { prompts: number; toolCalls: number; toolFailures: number; subagents: number; interactions: number };
  costUsd: number | null;
}

/** Per session id: tool names used and whether any tool result failed, from the raw JSONL. */
function rawSessionFacts(): Map<string, { tools: Set<string>; failed: boolean }> {
  const out = new Map<string, { tools: Set<string>; failed: boolean }>();
  for (const file of jsonlFiles(rig.transcripts)) {
    // Claude Code's internal runs (warmup, compaction) are not the session's tool use.
    if (/agent-acompact|agent-awarmup/.test(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const o = JSON.parse(line);
      if (typeof o.sessionId !== 'string' || !Array.isArray(o.message?.content)) continue;
      const f = out.get(o.sessionId) ?? { tools: new Set<string>(), failed: false };
      for (const c of o.message.content) {
        if (c?.type === 'tool_use' && typeof c.name === 'string') f.tools.add(c.name);
        if (c?.type === 'tool_result' && c.is_error === true) f.failed = true;
      }
      out.set(o.sessionId, f);
    }
  }
  return out;
}

const ids = (list: SessionJson[]) => list.map((s) => s.id).sort();

describe('rbk sessions (list filters)', () => {
  it('lists every imported session, newest first, with the documented fields', async () => {
    const list = await rig.json<SessionJson[]>(['sessions', '--json']);
    const facts = rawSessionFacts();
    expect(ids(list)).toEqual([...facts.keys()].sort());
    const times = list.map((s) => Date.parse(s.lastActivityAt!));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(list[0]!.id).toBe(CUSTOM_SESSION);
    expect(list[0]).toMatchObject({ project: CUSTOM_PROJECT, counts: { prompts: 1, toolCalls: 1, toolFailures: 1 } });
    // Cost is unknown (not 0) when a model has no price.
    expect(list[0]!.costUsd).toBeNull();
    const text = await rig.cli(['sessions']);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+PROJECT\s+START\s+DURATION\s+STATUS\s+PROMPTS\s+TOOLS\s+FAILED\s+SUBAGENTS\s+TOKENS\s+COST$/);
    expect(text.stdout).toContain(CUSTOM_SESSION.slice(0, 8));
  });

  it('--project matches a substring of the project or the cwd, case-insensitively', async () => {
    const all = await rig.json<SessionJson[]>(['sessions', '--json']);
    const expectFor = (needle: string) =>
      all
        .filter((s) => (s.project ?? '').toLowerCase().includes(needle.toLowerCase()) || (s.cwd ?? '').toLowerCase().includes(needle.toLowerCase()))
        .map((s) => s.id)
        .sort();
    for (const needle of ['spotter', 'SPOTTER-4', '/home/marco', 'quasar']) {
      const got = ids(await rig.json<SessionJson[]>(['sessions', '--json', '--project', needle]));
      expect(got, needle).toEqual(expectFor(needle));
      expect(got.length, needle).toBeGreaterThan(0);
    }
    expect(await rig.json(['sessions', '--json', '--project', 'no-such-project'])).toEqual([]);
    const none = await rig.cli(['sessions', '--project', 'no-such-project']);
    expect(none.stdout).toContain('No sessions match these filters.');
  });

  it('--since/--until take dates, date-times, relative times and today/yesterday', async () => {
    const all = await rig.json<SessionJson[]>(['sessions', '--json']);
    const active = (since: number, until: number) =>
      all
        .filter((s) => Date.parse(s.lastActivityAt!) >= since && Date.parse(s.startedAt ?? s.lastActivityAt!) < until)
        .map((s) => s.id)
        .sort();
    const since = ids(await rig.json<SessionJson[]>(['sessions', '--json', '--since', '2026-02-11']));
    expect(since).toEqual(active(Date.parse('2026-02-11T00:00:00Z'), Infinity));
    expect(since).toContain(CUSTOM_SESSION);
    const until = ids(await rig.json<SessionJson[]>(['sessions', '--json', '--until', '2025-12-31']));
    expect(until).toEqual(active(0, Date.parse('2026-01-01T00:00:00Z')));
    expect(until.length).toBe(2);
    const window = ids(await rig.json<SessionJson[]>(['sessions', '--json', '--since', '2026-02-10T22:00', '--until', '20260211']));
    expect(window).toEqual(active(Date.parse('2026-02-10T22:00:00Z'), Date.parse('2026-02-12T00:00:00Z')));
    expect(ids(await rig.json<SessionJson[]>(['sessions', '--json', '--since', '3650d']))).toEqual(ids(all));
    expect(await rig.json(['sessions', '--json', '--since', 'today'])).toEqual([]);
    expect(await rig.json(['sessions', '--json', '--since', '2h'])).toEqual([]);
    expect(ids(await rig.json<SessionJson[]>(['sessions', '--json', '--until', 'yesterday']))).toEqual(ids(all));
    const bad = await rig.cli(['sessions', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot read "last tuesday" as a time');
    const backwards = await rig.cli(['sessions', '--since', '2026-02-12', '--until', '2026-02-01']);
    expect(backwards.code).toBe(2);
  });

  it('--tool finds the sessions that called the tool (case-insensitively for built-ins)', async () => {
    const facts = rawSessionFacts();
    for (const tool of ['WebSearch', 'TodoWrite', 'Bash', 'Task']) {
      const expected = [...facts.entries()]
        .filter(([, f]) => f.tools.has(tool))
        .map(([id]) => id)
        .sort();
      expect(expected.length, tool).toBeGreaterThan(0);
      expect(ids(await rig.json<SessionJson[]>(['sessions', '--json', '--tool', tool])), tool).toEqual(expected);
    }
    expect(ids(await rig.json<SessionJson[]>(['sessions', '--json', '--tool', 'bash']))).toEqual(
      ids(await rig.json<SessionJson[]>(['sessions', '--json', '--tool', 'Bash'])),
    );
    expect(await rig.json(['sessions', '--json', '--tool', 'NoSuchTool'])).toEqual([]);
  });

  it('--errors finds the sessions with failed tool calls; filters combine', async () => {
    const facts = rawSessionFacts();
    const expected = [...facts.entries()]
      .filter(([, f]) => f.failed)
      .map(([id]) => id)
      .sort();
    const got = await rig.json<SessionJson[]>(['sessions', '--json', '--errors']);
    expect(ids(got)).toEqual(expected);
    expect(got.every((s) => s.counts.toolFailures > 0)).toBe(true);
    const combined = await rig.json<SessionJson[]>(['sessions', '--json', '--errors', '--project', 'spotter', '--tool', 'Bash', '--since', '2026-02-01']);
    expect(ids(combined)).toEqual(
      expected.filter((id) => ids(got.filter((s) => (s.project ?? '').includes('spotter'))).includes(id) && facts.get(id)!.tools.has('Bash')),
    );
  });

  it('--host and --limit', async () => {
    const all = await rig.json<SessionJson[]>(['sessions', '--json']);
    const host = all[0]!.host;
    expect(ids(await rig.json<SessionJson[]>(['sessions', '--json', '--host', host]))).toEqual(ids(all.filter((s) => s.host === host)));
    expect(await rig.json(['sessions', '--json', '--host', 'not-this-host.invalid'])).toEqual([]);
    const two = await rig.json<SessionJson[]>(['sessions', '--json', '--limit', '2']);
    expect(two.map((s) => s.id)).toEqual(all.slice(0, 2).map((s) => s.id));
    expect((await rig.cli(['sessions', '--limit', '0'])).code).toBe(2);
  });
});

describe('rbk sessions show', () => {
  it('pages through $PAGER on a terminal when the output is taller than it, and prints directly otherwise', async () => {
    // script(1) gives the CLI a pseudo-terminal (no size: the CLI assumes 24 rows).
    const paged = path.join(rig.t.root, 'paged.txt');
    const onTty = (args: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${RBK_BIN} ${args}`, '/dev/null'], {
        env: cleanEnv({ ...rig.t.env, TZ: 'UTC', PAGER: `cat > ${paged}` }),
        encoding: 'utf8',
        timeout: 60_000,
      });
    const long = onTty('sessions show ae4a77f8');
    expect(long.status, long.stderr).toBe(0);
    const text = fs.readFileSync(paged, 'utf8');
    expect(text).toContain('Session ae4a77f8');
    expect(text.split('\n').length).toBeGreaterThan(100);
    expect(long.stdout).not.toContain('Session ae4a77f8');
    fs.rmSync(paged);
    const short = onTty('sessions show c0ffee');
    expect(short.status).toBe(0);
    expect(short.stdout).toContain(`Session ${CUSTOM_SESSION}`);
    // On a terminal the failure is red as well as marked.
    expect(short.stdout).toContain('\x1b[31m');
    expect(fs.existsSync(paged)).toBe(false);
    const noPager = onTty('sessions show ae4a77f8 --no-pager');
    expect(noPager.stdout).toContain('Session ae4a77f8');
    expect(fs.existsSync(paged)).toBe(false);
  });

  it('accepts any unique id prefix, refuses ambiguous ones, and marks failures', async () => {
    const full = await rig.json<{ session: SessionJson; timeline: { kind: string; status: string | null; detail: string | null }[] }>([
      'sessions',
      'show',
      CUSTOM_SESSION,
      '--json',
    ]);
    const short = await rig.json(['sessions', 'show', CUSTOM_SESSION.slice(0, 6), '--json']);
    expect(short).toEqual(full);
    const failed = full.timeline.filter((e) => e.status === 'error');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail).toContain('zorblax_init');
    const text = await rig.cli(['sessions', 'show', 'c0ffee']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/! Bash\s+make quasar-build\s+error/);
    expect(text.stdout).toContain('1 failure marked "!"');
    expect((await rig.cli(['sessions', 'show', 'ffffffff'])).code).toBe(4);
    const list = await rig.json<SessionJson[]>(['sessions', '--json']);
    const firstChars = list.map((s) => s.id[0]);
    const dup = firstChars.find((c, i) => firstChars.indexOf(c) !== i);
    if (dup) {
      const amb = await rig.cli(['sessions', 'show', dup]);
      expect(amb.code).toBe(2);
      expect(amb.stderr).toContain('matches');
    }
  });
});

interface HitJson {
  rank: number;
  sessionId: string;
  interactionUuid: string;
  blockIndex: number;
  kind: string;
  toolName: string | null;
  isError: boolean;
  at: string | null;
  project: string | null;
  snippet: string;
  highlights: [number, number][];
  score: number;
}

const search = (args: string[]) => rig.json<{ query: string; ftsQuery: string; hits: HitJson[] }>(['sessions', 'search', ...args, '--json']);

describe('rbk sessions search', () => {
  it('ranks the interaction that matches best first, with highlighted snippets linked to session and interaction', async () => {
    const res = await search(['undefined reference zorblax']);
    expect(res.hits[0]).toMatchObject({
      sessionId: CUSTOM_SESSION,
      interactionUuid: CUSTOM_FAILURE_UUID,
      kind: 'tool_result',
      toolName: 'Bash',
      isError: true,
      rank: 1,
    });
    const h = res.hits[0]!;
    expect(h.highlights.map(([s, e]) => h.snippet.slice(s, e).toLowerCase())).toEqual(expect.arrayContaining(['undefined', 'reference', 'zorblax']));
    // bm25 over several matching interactions: the prompt says "flux capacitor"; nothing else does.
    const flux = await search(['flux capacitor']);
    expect(flux.hits[0]?.interactionUuid).toBe(CUSTOM_PROMPT_UUID);
    // Real fixture text: the Bash call described "Start Phoenix server in background" outranks
    // the later mentions of the Phoenix server.
    const phoenix = await search(['start phoenix server in background']);
    expect(phoenix.hits[0]).toMatchObject({ interactionUuid: '8565db80-925a-45e5-8912-159a151b6d24', kind: 'tool_use', toolName: 'Bash' });
    expect(phoenix.hits.map((x) => x.score)).toEqual([...phoenix.hits.map((x) => x.score)].sort((a, b) => a - b));
    const text = await rig.cli(['sessions', 'search', 'zorblax']);
    expect(text.stdout).toContain('**zorblax**');
    expect(text.stdout).toContain(`rbk sessions show ${CUSTOM_SESSION.slice(0, 8)}`);
    expect(text.stdout).toContain(CUSTOM_FAILURE_UUID);
  });

  it('treats input as words and phrases, not FTS5 syntax, unless --raw', async () => {
    for (const q of ['zorblax AND (', 'NOT zorblax', 'text:zorblax', '"zorblax', 'zorblax^ *', 'NEAR(zorblax']) {
      const r = await rig.cli(['sessions', 'search', q, '--json']);
      expect(r.code, `${q}: ${r.stderr}`).toBe(0);
    }
    expect((await search(['"flux capacitor"'])).hits[0]?.interactionUuid).toBe(CUSTOM_PROMPT_UUID);
    expect((await search(['"capacitor flux"'])).hits).toEqual([]);
    expect((await search(['zorbl*'])).hits.length).toBeGreaterThanOrEqual(2);
    const raw = await search(['--raw', 'zorblax OR capacitor']);
    expect(new Set(raw.hits.map((x) => x.interactionUuid))).toEqual(new Set(['c0ffee00-0000-4000-8000-000000000004', CUSTOM_FAILURE_UUID, CUSTOM_PROMPT_UUID]));
    const badRaw = await rig.cli(['sessions', 'search', '--raw', 'zorblax AND (']);
    expect(badRaw.code).toBe(2);
    expect(badRaw.stderr).toContain('FTS5 query is not valid');
    const empty = await rig.cli(['sessions', 'search', '*** ---']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('nothing to search for');
  });

  it('filters by --tool, --errors, --project, --session, --since/--until and --limit', async () => {
    const all = await search(['build', '--limit', '200']);
    expect(all.hits.length).toBeGreaterThan(3);
    const bash = await search(['build', '--tool', 'bash', '--limit', '200']);
    expect(bash.hits.length).toBeGreaterThan(0);
    expect(bash.hits.every((h) => h.toolName === 'Bash')).toBe(true);
    expect(bash.hits.length).toBeLessThan(all.hits.length);
    const errors = await search(['zorblax', '--errors']);
    expect(errors.hits.map((h) => h.interactionUuid)).toEqual([CUSTOM_FAILURE_UUID]);
    const failedCalls = await search(['quasar', '--errors']);
    // The failing call itself (its input) counts as part of a failed tool call.
    expect(failedCalls.hits.map((h) => h.kind).sort()).toEqual(['tool_result', 'tool_use']);
    const proj = await search(['build', '--project', 'spotter', '--limit', '200']);
    expect(proj.hits.length).toBeGreaterThan(0);
    expect(proj.hits.every((h) => (h.project ?? '').includes('spotter'))).toBe(true);
    const sess = await search(['build', '--session', CUSTOM_SESSION.slice(0, 8)]);
    expect(sess.hits.length).toBeGreaterThan(0);
    expect(sess.hits.every((h) => h.sessionId === CUSTOM_SESSION)).toBe(true);
    const since = await search(['build', '--since', '2026-03-01', '--limit', '200']);
    expect(since.hits.length).toBeGreaterThan(0);
    expect(since.hits.every((h) => Date.parse(h.at!) >= Date.parse('2026-03-01T00:00:00Z'))).toBe(true);
    const until = await search(['build', '--until', '2026-02-28', '--limit', '200']);
    expect(until.hits.every((h) => Date.parse(h.at!) < Date.parse('2026-03-01T00:00:00Z'))).toBe(true);
    expect(until.hits.length + since.hits.length).toBe(all.hits.length);
    expect((await search(['build', '--limit', '2'])).hits).toHaveLength(2);
  });
});

describe('rbk sessions export', () => {
  it('md: metadata, the timeline, failures marked, markup neutralised', async () => {
    const r = await rig.cli(['sessions', 'export', 'c0ffee', '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`| Session | ${CUSTOM_SESSION} |`);
    expect(r.stdout).toMatch(/❌ \*\*Bash\*\* `make quasar-build`.*\*\*FAILED\*\*/);
    expect(r.stdout).toContain('zorblax_init');
    expect(r.stdout).not.toContain('<script>');
    expect(r.stdout).toContain('&lt;script&gt;');
    expect(r.stdout).toContain('Cost | unknown');
  });

  it('json and jsonl carry the session, the timeline, every interaction and the hook events', async () => {
    const show = await rig.json<{ session: SessionJson; timeline: unknown[] }>(['sessions', 'show', CUSTOM_SESSION, '--json']);
    const j = await rig.json<{
      exportVersion: number;
      session: SessionJson;
      timeline: unknown[];
      interactions: { uuid: string; kind: string; text: string; toolInput: unknown }[];
      hookEvents: unknown[];
    }>(['sessions', 'export', CUSTOM_SESSION.slice(0, 10), '--format', 'json']);
    expect(j.exportVersion).toBe(1);
    expect(j.session).toEqual(show.session);
    expect(j.timeline).toEqual(show.timeline);
    expect(j.interactions).toHaveLength(show.session.counts.interactions);
    expect(j.interactions.find((i) => i.kind === 'tool_use')?.toolInput).toEqual({ command: 'make quasar-build', description: 'Build quasar' });
    const l = await rig.cli(['sessions', 'export', 'c0ffee', '--format', 'jsonl']);
    const lines = l.stdout
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x) as { type: string; id?: string });
    expect(lines[0]).toMatchObject({ type: 'session', id: CUSTOM_SESSION });
    expect(lines.filter((x) => x.type === 'interaction')).toHaveLength(j.interactions.length);
    expect(lines.filter((x) => x.type === 'timeline')).toHaveLength(j.timeline.length);
    const bad = await rig.cli(['sessions', 'export', 'c0ffee', '--format', 'pdf']);
    expect(bad.code).toBe(2);
  });

  it('html: self-contained, every piece of captured text escaped, renders in headless Chromium', async () => {
    const out = path.join(rig.t.root, 'session.html');
    const r = await rig.cli(['sessions', 'export', 'c0ffee', '--format', 'html', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${out}`);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<img|<link|@import/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');

    const chromium = '/usr/bin/chromium';
    if (!fs.existsSync(chromium)) {
      throw new Error(
        `${chromium} is missing: this test renders the HTML export in headless Chromium. Install it (apt-get install -y chromium); npm test installs it when it can (scripts/test-prerequisites.mjs).`,
      );
    }
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-chromium-'));
    try {
      const dump = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, '--dump-dom', `file://${out}`], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(dump.status, dump.stderr).toBe(0);
      const dom = dump.stdout;
      // The timeline rendered as text, the failure marked, and no element came from the content.
      expect(dom).toContain('make quasar-build');
      expect(dom).toContain('FAILED');
      expect(dom).toContain('zorblax_init');
      expect(dom).toContain('The quasar build is broken');
      expect(dom).toMatch(/<li class="tool fail">/);
      expect(dom).not.toMatch(/<script|<img|<b>today/i);
    } finally {
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }, 90_000);
});

interface UsageRowJson {
  period: string;
  date?: string;
  week?: string;
  month?: string;
  sessionId?: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
  totalCost: number | null;
  costComplete: boolean;
  messages: number;
  modelsUsed: string[];
  modelBreakdowns: {
    modelName: string;
    inputTokens: number;
    outputTokens: number;
    cacheCreationTokens: number;
    cacheReadTokens: number;
    totalTokens: number;
    cost: number | null;
    messages: number;
  }[];
}

interface UsageJson {
  report: string;
  timezone: string;
  daily?: UsageRowJson[];
  weekly?: UsageRowJson[];
  monthly?: UsageRowJson[];
  sessions?: UsageRowJson[];
  totals: Omit<UsageRowJson, 'period' | 'modelsUsed' | 'modelBreakdowns'>;
  unpricedModels: string[];
}

const tokens = (r: { inputTokens: number; outputTokens: number; cacheCreationTokens: number; cacheReadTokens: number; messages: number }) => ({
  inputTokens: r.inputTokens,
  outputTokens: r.outputTokens,
  cacheCreationTokens: r.cacheCreationTokens,
  cacheReadTokens: r.cacheReadTokens,
  messages: r.messages,
});

describe('rbk usage', () => {
  it('daily: per-day and per-model tokens equal the deduplicated totals computed from the JSONL', async () => {
    const ind = independentUsage(jsonlFiles(rig.transcripts));
    const u = await rig.json<UsageJson>(['usage', 'daily', '--json', '--timezone', 'UTC']);
    expect(u.report).toBe('daily');
    expect(u.timezone).toBe('UTC');
    expect(u.daily!.map((r) => r.date)).toEqual([...ind.byDay.keys()].sort());
    for (const r of u.daily!) {
      expect(tokens(r), r.period).toEqual(ind.byDay.get(r.period));
      expect(r.totalTokens).toBe(r.inputTokens + r.outputTokens + r.cacheCreationTokens + r.cacheReadTokens);
      expect(r.modelBreakdowns.reduce((s, m) => s + m.totalTokens, 0)).toBe(r.totalTokens);
      expect(r.modelsUsed).toEqual(r.modelBreakdowns.map((m) => m.modelName));
    }
    expect(tokens(u.totals)).toEqual(ind.total);
    const perModel = new Map<string, number>();
    for (const r of u.daily!) for (const m of r.modelBreakdowns) perModel.set(m.modelName, (perModel.get(m.modelName) ?? 0) + m.messages);
    expect(Object.fromEntries(perModel)).toEqual(Object.fromEntries([...ind.byModel].map(([k, v]) => [k, v.messages])));
  });

  it('cost is null (never 0) where a model has no known price, and says which', async () => {
    const u = await rig.json<UsageJson>(['usage', 'daily', '--json', '--timezone', 'UTC']);
    expect(u.unpricedModels).toEqual([UNKNOWN_MODEL]);
    expect(u.totals.totalCost).toBeNull();
    expect(u.totals.costComplete).toBe(false);
    const mar2 = u.daily!.find((r) => r.date === '2026-03-02')!;
    expect(mar2.totalCost).toBeNull();
    expect(mar2.modelBreakdowns.find((m) => m.modelName === UNKNOWN_MODEL)?.cost).toBeNull();
    expect(mar2.modelBreakdowns.find((m) => m.modelName !== UNKNOWN_MODEL)?.cost).toBeGreaterThan(0);
    for (const r of u.daily!.filter((x) => x.date !== '2026-03-02')) expect(r.totalCost, r.period).toBeGreaterThan(0);
    const text = await rig.cli(['usage', 'daily', '--timezone', 'UTC']);
    expect(text.stdout).toMatch(/2026-03-02 .* \?$/m);
    expect(text.stdout).toContain(`models without a known price (${UNKNOWN_MODEL})`);
  });

  it('--timezone moves the day boundary', async () => {
    const day = async (tz: string) => {
      const u = await rig.json<UsageJson>(['usage', 'daily', '--json', '--project', CUSTOM_PROJECT, '--timezone', tz]);
      return Object.fromEntries(u.daily!.map((r) => [r.period, r.messages]));
    };
    expect(await day('UTC')).toEqual({ '2026-03-01': 1, '2026-03-02': 2 });
    expect(await day('Asia/Tokyo')).toEqual({ '2026-03-02': 3 });
    expect(await day('America/New_York')).toEqual({ '2026-03-01': 3 });
    expect(await day('Asia/Kolkata')).toEqual({ '2026-03-02': 3 });
    // The CLI's own zone (TZ) is the default.
    const local = await rig.json<UsageJson>(['usage', 'daily', '--json', '--project', CUSTOM_PROJECT], { env: { TZ: 'Asia/Tokyo' } });
    expect(local.timezone).toBe('Asia/Tokyo');
    expect(local.daily!.map((r) => r.period)).toEqual(['2026-03-02']);
    const bad = await rig.cli(['usage', 'daily', '--timezone', 'Mars/Olympus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown time zone');
  });

  it('--since/--until are days in the report time zone; --project narrows', async () => {
    const since = await rig.json<UsageJson>(['usage', 'daily', '--json', '-z', 'UTC', '--since', '2026-03-02']);
    expect(since.daily!.map((r) => r.period)).toEqual(['2026-03-02']);
    const until = await rig.json<UsageJson>(['usage', 'daily', '--json', '-z', 'UTC', '--until', '20260301']);
    expect(until.daily!.at(-1)!.period).toBe('2026-03-01');
    const ind = independentUsage(jsonlFiles(rig.transcripts));
    expect(until.daily!.map((r) => r.period)).toEqual([...ind.byDay.keys()].filter((d) => d <= '2026-03-01').sort());
    const proj = await rig.json<UsageJson>(['usage', 'daily', '--json', '-z', 'UTC', '--project', 'quasar']);
    expect(proj.totals.messages).toBe(3);
    expect(proj.totals.outputTokens).toBe(250 + 120 + 7);
    // Bounds inside a 15-minute slot: msg_custom_1 is dated 23:30:05 (its first line), msg_custom_2 00:30:00.
    const cut = async (...args: string[]) => (await rig.json<UsageJson>(['usage', 'daily', '--json', '-z', 'UTC', '--project', 'quasar', ...args])).totals;
    expect((await cut('--since', '2026-03-01T23:30:06Z')).outputTokens).toBe(120 + 7);
    expect((await cut('--since', '2026-03-01T23:30:05Z')).outputTokens).toBe(250 + 120 + 7);
    expect((await cut('--until', '2026-03-02T00:30:00Z')).outputTokens).toBe(250);
    expect((await cut('--until', '2026-03-02T00:30:00.001Z')).outputTokens).toBe(250 + 120);
    expect((await cut('--since', '2026-03-01T23:31:00Z', '--until', '2026-03-02T00:30:00.001Z')).outputTokens).toBe(120);
    expect((await cut('--since', '2026-03-02T00:29:00Z', '--until', '2026-03-02T00:31:00Z')).outputTokens).toBe(120);
  });

  it('weekly, monthly and session reports partition the same totals', async () => {
    const daily = await rig.json<UsageJson>(['usage', 'daily', '--json', '-z', 'UTC']);
    const weekly = await rig.json<UsageJson>(['usage', 'weekly', '--json', '-z', 'UTC']);
    const sunday = await rig.json<UsageJson>(['usage', 'weekly', '--json', '-z', 'UTC', '--week-start', 'sunday']);
    const monthly = await rig.json<UsageJson>(['usage', 'monthly', '--json', '-z', 'UTC']);
    const session = await rig.json<UsageJson>(['usage', 'session', '--json', '-z', 'UTC']);
    for (const rep of [weekly, sunday, monthly, session]) expect(tokens(rep.totals)).toEqual(tokens(daily.totals));
    const sum = (rows: UsageRowJson[]) => rows.reduce((s, r) => s + r.totalTokens, 0);
    expect(sum(weekly.weekly!)).toBe(daily.totals.totalTokens);
    expect(sum(monthly.monthly!)).toBe(daily.totals.totalTokens);
    expect(sum(session.sessions!)).toBe(daily.totals.totalTokens);
    expect(weekly.weekly!.every((r) => new Date(`${r.week}T00:00:00Z`).getUTCDay() === 1)).toBe(true);
    expect(sunday.weekly!.every((r) => new Date(`${r.week}T00:00:00Z`).getUTCDay() === 0)).toBe(true);
    expect(monthly.monthly!.map((r) => r.month)).toEqual([...new Set(daily.daily!.map((r) => r.period.slice(0, 7)))]);
    const custom = session.sessions!.find((r) => r.sessionId === CUSTOM_SESSION)!;
    expect(custom).toMatchObject({ messages: 3, totalCost: null, project: CUSTOM_PROJECT, lastActivity: '2026-03-02T01:00:00.000Z' });
    const breakdown = await rig.cli(['usage', 'monthly', '--breakdown', '-z', 'UTC']);
    expect(breakdown.stdout).toContain('└ sonnet-4-5');
    expect((await rig.cli(['usage', 'yearly'])).code).toBe(2);
  });
});

describe('rbk stats', () => {
  it('totals, tools with failure rates, projects and capture health', async () => {
    const s = await rig.json<any>(['stats', '--json']);
    const list = await rig.json<SessionJson[]>(['sessions', '--json']);
    expect(s.totals.sessions).toBe(list.length);
    expect(s.totals.toolFailures).toBe(list.reduce((n, x) => n + x.counts.toolFailures, 0));
    expect(s.totals.costUsd).toBeNull();
    expect(s.totals.unpricedSessions).toBe(1);
    const bash = s.tools.find((t: any) => t.toolName === 'Bash');
    expect(bash.calls).toBeGreaterThan(bash.failures);
    expect(bash.failures).toBeGreaterThan(0);
    expect(bash.failureRate).toBeCloseTo(bash.failures / bash.calls, 3);
    expect(s.tools.map((t: any) => t.calls)).toEqual([...s.tools.map((t: any) => t.calls)].sort((a: number, b: number) => b - a));
    expect(s.projects.map((p: any) => p.project)).toContain(CUSTOM_PROJECT);
    expect(s.health).toMatchObject({ spoolBacklog: 0, transcripts: jsonlFiles(rig.transcripts).length, transcriptsWithErrors: 0 });
    const text = await rig.cli(['stats']);
    expect(text.stdout).toContain('Top tools');
    expect(text.stdout).toContain('Capture health');
    // The only run so far is the sweep every daemon does at start (daemon/ingest/sweep.ts).
    expect(s.health.jobs.map((j: any) => [j.job, j.lastStatus, j.runs])).toEqual([['sweep', 'ok', 1]]);
    const startSweep = s.health.jobs[0];
    // Job health comes from the run history.
    const db = new Database(rig.t.db);
    db.pragma('busy_timeout = 5000');
    try {
      const run = db.prepare(`INSERT INTO job_runs (job, trigger, started_at, ended_at, status, error) VALUES (?, 'cron', ?, ?, ?, ?)`);
      run.run('retention', 1_700_000_000_000, 1_700_000_001_000, 'ok', null);
      run.run('retention', 1_700_000_100_000, 1_700_000_101_000, 'failed', 'disk full');
      run.run('compaction', 1_700_000_200_000, 1_700_000_201_000, 'ok', null);
    } finally {
      db.close();
    }
    const after = await rig.json<any>(['stats', '--json']);
    expect(after.health.jobs).toEqual([
      {
        job: 'compaction',
        lastStatus: 'ok',
        lastStartedAt: new Date(1_700_000_200_000).toISOString(),
        lastEndedAt: new Date(1_700_000_201_000).toISOString(),
        lastError: null,
        runs: 1,
        failedRuns: 0,
      },
      {
        job: 'retention',
        lastStatus: 'failed',
        lastStartedAt: new Date(1_700_000_100_000).toISOString(),
        lastEndedAt: new Date(1_700_000_101_000).toISOString(),
        lastError: 'disk full',
        runs: 2,
        failedRuns: 1,
      },
      startSweep,
    ]);
    expect((await rig.cli(['stats'])).stdout).toMatch(/job retention\s+! failed .*\(1 of 2 runs failed\): disk full/);
  });
});

describe('rbk sessions tail (without -f)', () => {
  it('prints the last N events of a session and exits', async () => {
    const r = await rig.cli(['sessions', 'tail', '-n', '3', '--session', 'c0ffee', '--json']);
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(3);
    expect(events.map((e) => e.kind)).toEqual(['tool_result', 'assistant_text', 'assistant_text']);
    expect(events[0]).toMatchObject({ source: 'interaction', sessionId: CUSTOM_SESSION, isError: true, ref: CUSTOM_FAILURE_UUID });
    expect(events[2].text).toBe('Done.');
    const none = await rig.cli(['sessions', 'tail', '-n', '0']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    const human = await rig.cli(['sessions', 'tail', '-n', '2']);
    expect(human.stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('derived tables stay in sync (runs last: it rewrites and deletes rows)', () => {
  it('follows rewrites (redaction) and deletes (retention) through the triggers', async () => {
    const db = new Database(rig.t.db);
    registerFunctions(db);
    db.pragma('busy_timeout = 5000');
    try {
      db.prepare(`UPDATE interactions SET text = replace(rbk_text(text), 'zorblax_init', 'glimmerfrost_init') WHERE uuid = ?`).run(CUSTOM_FAILURE_UUID);
      expect((await search(['glimmerfrost'])).hits.map((h) => h.interactionUuid)).toEqual([CUSTOM_FAILURE_UUID]);
      expect((await search(['zorblax', 'undefined'])).hits).toEqual([]);
      db.prepare(`DELETE FROM interactions WHERE uuid = ?`).run(CUSTOM_FAILURE_UUID);
      expect((await search(['glimmerfrost'])).hits).toEqual([]);
      // Columns outside the index (raw, dropped after keepRawDays) do not touch it.
      db.prepare(`UPDATE interactions SET raw = NULL WHERE session_id = ?`).run(CUSTOM_SESSION);
      // The index is internally consistent and holds exactly the rows the triggers' condition
      // selects (a partial index by design, so 'integrity-check' against the content table,
      // rank 1, does not apply).
      expect(() => db.prepare(`INSERT INTO interactions_fts (interactions_fts, rank) VALUES ('integrity-check', 0)`).run()).not.toThrow();
      db.exec(`CREATE VIRTUAL TABLE temp.fts_docs USING fts5vocab(main, 'interactions_fts', 'instance')`);
      const indexed = db.prepare('SELECT DISTINCT doc FROM temp.fts_docs ORDER BY doc').pluck().all();
      const rows = db
        .prepare(
          `SELECT id, text || ' ' || COALESCE(tool_input, '') AS t FROM interactions WHERE hidden = 0 AND kind IN ('user_prompt','assistant_text','thinking','tool_use','tool_result') ORDER BY id`,
        )
        .all() as { id: number; t: string }[];
      // Rows without a single letter or digit have no tokens, so no entries.
      const expected = rows.filter((r) => /[\p{L}\p{N}]/u.test(r.t)).map((r) => r.id);
      expect(indexed).toEqual(expected);
      expect(db.prepare(`SELECT count(*) FROM interactions WHERE hidden = 1`).pluck().get()).toBeGreaterThan(0);
      expect((await search(['flux capacitor'])).hits[0]?.interactionUuid).toBe(CUSTOM_PROMPT_UUID);
    } finally {
      db.close();
    }
  });
  it('the usage rollup the reports read equals message_usage, through inserts, upserts and deletes', async () => {
    const db = new Database(rig.t.db, { readonly: true });
    const rollupOf = (where = '1 = 1') =>
      db
        .prepare(
          `SELECT COALESCE(ts / 900000, -1) AS slot, COALESCE(session_id, '') AS sid, model, count(*) AS n, count(cost_usd) AS priced,
                  SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cache_creation_tokens) AS cc, SUM(cache_read_tokens) AS cr,
                  ROUND(COALESCE(SUM(cost_usd), 0), 9) AS cost FROM message_usage WHERE ${where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
        )
        .all();
    const stored = () =>
      db
        .prepare(
          `SELECT slot, session_id AS sid, model, messages AS n, priced, input_tokens AS i, output_tokens AS o, cache_creation_tokens AS cc,
                  cache_read_tokens AS cr, ROUND(cost_usd, 9) AS cost FROM usage_rollup WHERE messages > 0 ORDER BY 1, 2, 3`,
        )
        .all();
    try {
      expect(stored()).toEqual(rollupOf());
      // The split response was inserted once and raised by the upsert (placeholder 3 → 250).
      expect(db.prepare(`SELECT output_tokens FROM message_usage WHERE message_id = 'msg_custom_1'`).pluck().get()).toBe(250);
    } finally {
      db.close();
    }
    const rw = new Database(rig.t.db);
    rw.pragma('busy_timeout = 5000');
    try {
      rw.prepare(`DELETE FROM message_usage WHERE message_id = 'msg_custom_3'`).run();
      rw.prepare(`UPDATE message_usage SET ts = ts + 3600000 WHERE message_id = 'msg_custom_2'`).run();
    } finally {
      rw.close();
    }
    const after = new Database(rig.t.db, { readonly: true });
    try {
      const a = after
        .prepare(`SELECT slot, session_id, model, messages, output_tokens FROM usage_rollup WHERE session_id = ? AND messages > 0 ORDER BY slot`)
        .all(CUSTOM_SESSION);
      expect(a).toEqual([
        {
          slot: Math.floor(Date.parse('2026-03-01T23:30:05Z') / 900000),
          session_id: CUSTOM_SESSION,
          model: 'claude-sonnet-4-5-20250929',
          messages: 1,
          output_tokens: 250,
        },
        {
          slot: Math.floor(Date.parse('2026-03-02T01:30:00Z') / 900000),
          session_id: CUSTOM_SESSION,
          model: 'claude-sonnet-4-5-20250929',
          messages: 1,
          output_tokens: 120,
        },
      ]);
      expect(after.prepare(`SELECT count(*) FROM usage_rollup WHERE messages <= 0`).pluck().get()).toBe(0);
    } finally {
      after.close();
    }
    const u = await rig.json<UsageJson>(['usage', 'daily', '--json', '-z', 'UTC', '--project', 'quasar']);
    expect(u.totals).toMatchObject({ messages: 2, outputTokens: 370, costComplete: true });
    expect(u.unpricedModels).toEqual([]);
  });
});
