// What the CLI shows, through the real daemon: a failed tool's error lines (the tail, where
// errors are), full payloads with --payloads, successful tools' outputs in the exports, the
// warning when an import is already past retention, expired sessions, the data dir's mode, and
// `sessions tail -f` following across a daemon restart.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  cleanEnv,
  hookPayload,
  jobsOnRequestOnly,
  makeDataDir,
  RBK_BIN,
  REPO_ROOT,
  runCli,
  runHook,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';

const SESSION = '5e55e55e-0000-4000-8000-000000000001';
const OLD_SESSION = '01d01d00-0000-4000-8000-000000000002';
const BUILD_LOG = [
  ...Array.from({ length: 300 }, (_, i) => `[build] compiling module ${i} of 300`),
  'src/payments/client.ts:42:7 - error TS2322: Type "string" is not assignable to type "number".',
  'Found 1 error.',
].join('\n');
const LISTING = Array.from({ length: 40 }, (_, i) => `file-${i}.ts`).join('\n');

/** A session: a successful `ls` with a 40-line listing, then a build whose 302-line log ends in its error. */
function transcript(id: string, startMs: number, cwd: string): string {
  const at = (s: number) => new Date(startMs + s * 1000).toISOString();
  const base = { isSidechain: false, userType: 'external', cwd, sessionId: id, version: '2.1.39', gitBranch: 'main' };
  const u = (i: number) => `${id.slice(0, 8)}-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const usage = { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const lines = [
    { ...base, type: 'user', uuid: u(1), parentUuid: null, timestamp: at(0), message: { role: 'user', content: 'the payments build fails' } },
    {
      ...base,
      type: 'assistant',
      uuid: u(2),
      parentUuid: u(1),
      timestamp: at(1),
      requestId: `req_${id}_1`,
      message: {
        id: `msg_${id}_1`,
        model: 'claude-sonnet-4-5-20250929',
        role: 'assistant',
        type: 'message',
        content: [{ type: 'tool_use', id: `toolu_${id.slice(0, 8)}_1`, name: 'Bash', input: { command: 'ls src' } }],
        usage,
      },
    },
    {
      ...base,
      type: 'user',
      uuid: u(3),
      parentUuid: u(2),
      timestamp: at(2),
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${id.slice(0, 8)}_1`, content: LISTING }] },
    },
    {
      ...base,
      type: 'assistant',
      uuid: u(4),
      parentUuid: u(3),
      timestamp: at(3),
      requestId: `req_${id}_2`,
      message: {
        id: `msg_${id}_2`,
        model: 'claude-sonnet-4-5-20250929',
        role: 'assistant',
        type: 'message',
        content: [{ type: 'tool_use', id: `toolu_${id.slice(0, 8)}_2`, name: 'Bash', input: { command: 'npm run build' } }],
        usage,
      },
    },
    {
      ...base,
      type: 'user',
      uuid: u(5),
      parentUuid: u(4),
      timestamp: at(10),
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${id.slice(0, 8)}_2`, is_error: true, content: BUILD_LOG }] },
    },
  ];
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

let t: TempRbk;
let d: DaemonProcess;
let projects: string;

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir({
    config: [jobsOnRequestOnly(), 'sync:', '  automatic: false', 'retention:', '  local: { days: 30 }'].join('\n'),
  });
  // A data dir someone created open to everyone: the daemon closes it at start.
  fs.mkdirSync(t.dataDir, { recursive: true, mode: 0o755 });
  fs.chmodSync(t.dataDir, 0o755);
  d = await startDaemon(t);
  projects = path.join(t.root, 'projects', '-home-test-payments');
  fs.mkdirSync(projects, { recursive: true });
  fs.writeFileSync(path.join(projects, `${SESSION}.jsonl`), transcript(SESSION, Date.now() - 3600_000, '/home/test/payments'));
}, 60_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('the data dir', () => {
  it('a data dir made open to other users is closed (0700) when the daemon starts, and the log says so', () => {
    expect(fs.statSync(t.dataDir).mode & 0o777).toBe(0o700);
    expect(d.log()).toContain('the data dir was open to other users; closed it (mode 700)');
  });
});

describe('import', () => {
  it('warns when part of what it imports is already past retention, and says how to keep it', async () => {
    const old = path.join(t.root, 'projects', '-home-test-archive');
    fs.mkdirSync(old, { recursive: true });
    const file = path.join(old, `${OLD_SESSION}.jsonl`);
    const lines = transcript(OLD_SESSION, Date.now() - 90 * 24 * 3600_000, '/home/test/archive')
      .split('\n')
      .filter(Boolean);
    fs.writeFileSync(file, `${lines.slice(0, 3).join('\n')}\n`);
    // The text form, on stderr, after the summary.
    const text = await runCli(t, ['import', path.join(t.root, 'projects')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(
      /^warning: 1 imported session is older than retention\.local\.days \(30 days; the oldest was last active \d{4}-\d\d-\d\d\), so the next retention run/m,
    );
    expect(text.stderr).toContain('raise retention.local.days in the config before then, or pin them: rbk sessions pin <id>.');
    // --json, when more of it arrives.
    fs.appendFileSync(file, `${lines[3]}\n`);
    const json = await runCli(t, ['import', '--json', path.join(t.root, 'projects')]);
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout) as { pastRetention: { sessions: number; retentionDays: number; oldestLastActivityAt: string } | null };
    expect(summary.pastRetention).toMatchObject({ sessions: 1, retentionDays: 30 });
    expect(Date.parse(summary.pastRetention!.oldestLastActivityAt)).toBeLessThan(Date.now() - 89 * 24 * 3600_000);
    // A pinned session is kept by retention, so it is not counted.
    expect((await runCli(t, ['sessions', 'pin', OLD_SESSION])).code).toBe(0);
    fs.appendFileSync(file, `${lines[4]}\n`);
    const pinned = JSON.parse((await runCli(t, ['import', '--json', path.join(t.root, 'projects')])).stdout) as {
      pastRetention: unknown;
      interactionsAdded: number;
    };
    expect(pinned.interactionsAdded).toBeGreaterThan(0);
    expect(pinned.pastRetention).toBeNull();
    expect((await runCli(t, ['sessions', 'unpin', OLD_SESSION])).code).toBe(0);
  });
});

describe('sessions show', () => {
  it('a failed tool shows its error lines: the head and the tail of the output, not its first 160 characters', async () => {
    const r = await runCli(t, ['sessions', 'show', SESSION, '--no-pager']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('src/payments/client.ts:42:7 - error TS2322: Type "string" is not assignable to type "number".');
    expect(r.stdout).toContain('Found 1 error.');
    expect(r.stdout).toContain('[build] compiling module 0 of 300');
    expect(r.stdout).toMatch(/\[… \d+ characters cut …\]/);
    // Successful outputs are not in the default view.
    expect(r.stdout).not.toContain('file-39.ts');
  });

  it('--payloads shows every tool input and output in full', async () => {
    const r = await runCli(t, ['sessions', 'show', SESSION, '--payloads', '--no-pager']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('file-39.ts');
    expect(r.stdout).toContain('[build] compiling module 150 of 300');
    expect(r.stdout).toContain('"command": "npm run build"');
    expect(r.stdout).not.toMatch(/characters cut/);
    const json = JSON.parse((await runCli(t, ['sessions', 'show', SESSION, '--payloads', '--json'])).stdout) as {
      timeline: { kind: string; output?: string; input?: string }[];
    };
    const tools = json.timeline.filter((e) => e.kind === 'tool');
    expect(tools.map((e) => e.output)).toEqual([LISTING, BUILD_LOG]);
  });
});

describe('sessions export', () => {
  it('Markdown fences every successful tool output; HTML collapses it in <details>', async () => {
    const md = await runCli(t, ['sessions', 'export', SESSION, '--format', 'md']);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/```text\n {2}file-0\.ts\n(?: {2}file-\d+\.ts\n)+ {2}file-39\.ts\n {2}```/);
    const html = await runCli(t, ['sessions', 'export', SESSION, '--format', 'html']);
    expect(html.stdout).toMatch(/<details><summary>output \(40 lines\)<\/summary><pre class="out">file-0\.ts\nfile-1\.ts/);
    // The failed one still shows its error excerpt, open.
    expect(html.stdout).toContain('error TS2322: Type &quot;string&quot; is not assignable');
  });
});

describe('expired sessions', () => {
  it('are gone from stats, and show says they expired instead of "the transcript has not been read"', async () => {
    const before = JSON.parse((await runCli(t, ['stats', '--json'])).stdout) as { totals: { sessions: number } };
    const run = await runCli(t, ['retention', '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { sessions: { id: string }[] }).sessions.map((s) => s.id)).toEqual([OLD_SESSION]);
    const after = JSON.parse((await runCli(t, ['stats', '--json'])).stdout) as { totals: { sessions: number } };
    expect(after.totals.sessions).toBe(before.totals.sessions - 1);
    const show = await runCli(t, ['sessions', 'show', OLD_SESSION, '--no-pager']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Session 01d01d00-0000-4000-8000-000000000002 expired: retention deleted its history on \d{4}-\d\d-\d\d \d\d:\d\d/);
    expect(show.stdout).not.toContain('has not been read');
    const json = JSON.parse((await runCli(t, ['sessions', 'show', OLD_SESSION, '--json'])).stdout) as { session: { expiredAt: string | null } };
    expect(json.session.expiredAt).not.toBeNull();
    const live = JSON.parse((await runCli(t, ['sessions', 'show', SESSION, '--json'])).stdout) as { session: { expiredAt: string | null } };
    expect(live.session.expiredAt).toBeNull();
  });
});

describe('sessions tail -f', () => {
  it('keeps following when the daemon restarts, says so, and prints what arrives after', async () => {
    const child = spawn(process.execPath, [RBK_BIN, 'sessions', 'tail', '-f', '-n', '0'], {
      cwd: REPO_ROOT,
      env: cleanEnv(t.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    let exited = false;
    child.on('exit', () => (exited = true));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await runHook(t, hookPayload('UserPromptSubmit', 'tail-before', { prompt: 'before the restart' }));
      await waitFor('the first event', () => out.includes('tail-bef'), 15_000);
      await d.stop();
      await waitFor('the notice that the daemon went away', () => err.includes('rbk: rbkd went away (stopped or restarting); reconnecting…'), 15_000);
      expect(exited).toBe(false);
      d = await startDaemon(t);
      await waitFor('the reconnect notice', () => err.includes('rbk: reconnected to rbkd; following again'), 20_000);
      await runHook(t, hookPayload('UserPromptSubmit', 'tail-after', { prompt: 'after the restart' }));
      await waitFor('the event after the restart', () => out.includes('tail-aft'), 15_000);
      expect(exited).toBe(false);
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((r) => (exited ? r(child.exitCode) : child.on('exit', (c) => r(c))));
    expect(code).toBe(0);
  }, 90_000);
});
