// The CLI on a real terminal (tmux): tables fit the width, the pager takes over tall output,
// progress bars draw and are cleared, and destructive commands show what they will do and ask.
// The screen is captured and asserted.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { customTranscriptLines } from '../query/support.js';
import { assertBuilt, jobsOnRequestOnly, cleanEnv, makeDataDir, RBK_BIN, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { openTerminal, tmuxAvailable, type Terminal } from '../support/tty.js';

let t: TempRbk;
let d: DaemonProcess;
const terminals: Terminal[] = [];
const LONG_PROJECT = 'a-project-with-a-name-far-too-long-to-fit-a-terminal-column-whole';

/** One copy of the hand-written session under a new id, in `project`, `minutesAgo` old. */
function writeSession(root: string, project: string, minutesAgo: number, padBytes = 0): string {
  const id = randomUUID();
  const cwd = `/home/test/${project}`;
  const shift = Date.now() - minutesAgo * 60_000 - Date.parse('2026-03-01T23:30:00.000Z');
  const lines = customTranscriptLines().map((l, i) => ({
    ...l,
    sessionId: id,
    cwd,
    uuid: randomUUID(),
    parentUuid: null,
    timestamp: new Date(Date.parse(String(l.timestamp)) + shift).toISOString(),
    ...(i === 0 && padBytes > 0 ? { message: { role: 'user', content: `${'lorem ipsum '.repeat(padBytes / 12)}` } } : {}),
    ...(l.message && typeof l.message === 'object' && 'id' in (l.message as object) ? { message: { ...(l.message as object), id: `msg_${id}_${i}` } } : {}),
  }));
  const dir = path.join(root, `-home-test-${project}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${id}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return id;
}

const env = () => ({
  ...cleanEnv(t.env),
  PATH: process.env.PATH,
  HOME: path.join(t.root, 'home'),
  PAGER: undefined,
  LESS: undefined,
  COLUMNS: undefined,
  LINES: undefined,
});

function term(argv: string[], size: { cols: number; rows: number }, extraEnv: Record<string, string | undefined> = {}): Terminal {
  const x = openTerminal(t.root, [process.execPath, RBK_BIN, ...argv], { ...size, env: { ...env(), ...extraEnv } });
  terminals.push(x);
  return x;
}

const cellWidth = (s: string) => [...s].length;

beforeAll(async () => {
  assertBuilt();
  if (!tmuxAvailable())
    throw new Error('tmux is missing: these tests drive the CLI on a real terminal. The test command installs it (apt-get install -y tmux).');
  t = makeDataDir({
    config: [jobsOnRequestOnly(), 'sync:', '  automatic: false', 'retention:', '  local: { days: 30 }'].join('\n'),
  });
  fs.mkdirSync(path.join(t.root, 'home'), { recursive: true });
  d = await startDaemon(t);
  const projects = path.join(t.root, 'projects');
  writeSession(projects, LONG_PROJECT, 5);
  for (let i = 0; i < 4; i++) writeSession(projects, `old-project-${i}`, 90 * 24 * 60 + i);
  for (let i = 0; i < 30; i++) writeSession(projects, `recent-${i}`, 60 + i);
  const imp = await runCli(t, ['import', '--json', projects], { timeoutMs: 120_000 });
  expect(imp.code, imp.stderr).toBe(0);
}, 180_000);

afterEach(() => {
  for (const x of terminals.splice(0)) x.kill();
});

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('rbk on an 80-column terminal', () => {
  it('rbk sessions fits the width: the widest column is cut with "…", ids stay whole, nothing wraps', async () => {
    const x = term(['sessions', '--limit', '10'], { cols: 80, rows: 40 });
    expect(await x.exited()).toBe(0);
    const screen = x.screen().filter((l) => l.length > 0);
    expect(screen[0]).toMatch(/^ID +PROJECT +START/);
    for (const line of screen) expect(cellWidth(line), line).toBeLessThanOrEqual(80);
    const longId = (JSON.parse((await runCli(t, ['sessions', '--json', '--project', 'far-too-long'])).stdout) as { id: string }[])[0]!.id;
    const long = screen.find((l) => l.startsWith(longId.slice(0, 8)));
    expect(long).toBeDefined();
    expect(long).toContain('…');
    expect(long).toMatch(/^[0-9a-f]{8} /);
    // Columns that cannot fit are left out, least important first, and the table says so.
    expect(screen[0]).not.toContain('SUBAGENTS');
    expect(screen.at(-1)).toMatch(/^\(SUBAGENTS.* left out to fit 80 columns; --json has every field\)$/);
    // One number format per column: every TOKENS cell has the same unit and decimals.
    const tokensAt = screen[0]!.indexOf('TOKENS');
    const tokenCells = screen.slice(2, -1).map((l) => l.slice(tokensAt, tokensAt + 6).trim());
    expect(
      tokenCells.every((c) => /^\d+\.\dk$/.test(c)),
      tokenCells.join(' '),
    ).toBe(true);
  });

  it('on a wide terminal nothing is cut; piped output keeps every character', async () => {
    const wide = term(['sessions', '--limit', '10'], { cols: 200, rows: 40 });
    expect(await wide.exited()).toBe(0);
    expect(wide.screen().join('\n')).toContain(LONG_PROJECT);
    expect(wide.screen().join('\n')).not.toContain('…');
    const piped = await runCli(t, ['sessions', '--limit', '10']);
    expect(piped.stdout).toContain(LONG_PROJECT);
  });

  it('rbk jobs and rbk stats fit 80 columns too', async () => {
    for (const argv of [['jobs'], ['stats']]) {
      const x = term(argv, { cols: 80, rows: 60 });
      expect(await x.exited()).toBe(0);
      for (const line of x.screen()) expect(cellWidth(line), `${argv.join(' ')}: ${line}`).toBeLessThanOrEqual(80);
    }
  });
});

describe('the pager', () => {
  it('rbk sessions show pages a tall session through less; q ends it with exit 0', async () => {
    const id = JSON.parse((await runCli(t, ['sessions', '--json', '--project', 'recent-0'])).stdout)[0].id as string;
    const x = term(['sessions', 'show', id, '--payloads'], { cols: 80, rows: 12 });
    const s = await x.waitFor(
      'less to show the first page',
      (screen) => (screen[0] ?? '').startsWith(`Session ${id}`) && /^(:|.*\(END\))/.test(screen.at(-1) ?? ''),
    );
    // The pager holds the screen: 11 lines of the session and its prompt line, no more.
    expect(s.length).toBeLessThanOrEqual(12);
    x.type('q');
    expect(await x.exited()).toBe(0);
    // --no-pager prints it all to the terminal instead.
    const plain = term(['sessions', 'show', id, '--no-pager'], { cols: 80, rows: 12 });
    expect(await plain.exited()).toBe(0);
    expect(plain.raw()).toContain(`Session ${id}`);
    expect(plain.raw()).toContain('hook events');
  });
});

describe('progress bars', () => {
  it('rbk import draws a bar on a terminal and clears it before the summary', async () => {
    const more = path.join(t.root, 'more');
    for (let i = 0; i < 300; i++) writeSession(more, `bulk-${i % 10}`, 30 + i, 60_000);
    const x = term(['import', more], { cols: 100, rows: 20 });
    expect(await x.exited(120_000)).toBe(0);
    const raw = x.raw();
    expect(raw).toMatch(/\[#*\.*\] \d+\/300 files +[\d.]+\/[\d.]+ MB/);
    // Each redraw starts at the line's beginning and clears it.
    expect(raw).toContain('\r\x1b[2K[');
    const screen = x.screen().filter((l) => l.length > 0);
    expect(screen[0]).toMatch(/^Imported 300 files/);
    expect(screen.join('\n')).not.toMatch(/\[#+/);
  });
});

describe('destructive commands ask first', () => {
  const live = () => {
    const db = new Database(t.db, { readonly: true });
    try {
      return db.prepare('SELECT count(*) FROM sessions WHERE expired_at IS NULL').pluck().get() as number;
    } finally {
      db.close();
    }
  };

  it('rbk retention shows what it will delete and asks; "n" changes nothing, "y" deletes', async () => {
    const before = live();
    const no = term(['retention'], { cols: 100, rows: 30 });
    const asked = await no.waitFor('the question', (s) => s.some((l) => l.includes('[y/N]')));
    expect(asked.join('\n')).toMatch(/4 sessions would be deleted:/);
    expect(asked.join('\n')).toContain('old-project-0');
    expect(asked.find((l) => l.includes('[y/N]'))).toContain('Delete the history of 4 sessions now? This cannot be undone.');
    no.type('n', { enter: true });
    expect(await no.exited()).toBe(1);
    expect(no.screen().join('\n')).toContain('Nothing was changed.');
    expect(live()).toBe(before);

    const yes = term(['retention'], { cols: 100, rows: 30 });
    await yes.waitFor('the question', (s) => s.some((l) => l.includes('[y/N]')));
    yes.type('y', { enter: true });
    expect(await yes.exited()).toBe(0);
    expect(yes.screen().join('\n')).toMatch(/4 sessions were deleted:/);
    expect(live()).toBe(before - 4);
  });

  it('Ctrl-D at the question is a no', async () => {
    const x = term(['redact'], { cols: 100, rows: 30 });
    // Nothing to redact in these sessions: the redact job runs without asking.
    expect(await x.exited()).toBe(0);
    const y = term(['uninstall'], { cols: 100, rows: 30 });
    await y.waitFor('the question', (s) => s.some((l) => l.includes('[y/N]')));
    spawnCtrlD(y);
    expect(await y.exited()).toBe(1);
    expect(y.screen().join('\n')).toContain('Nothing was changed.');
  });
});

function spawnCtrlD(x: Terminal): void {
  x.type('\x04');
}
