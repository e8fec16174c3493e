// The real hook (`node dist/hook/rbk-hook.cjs`) against the real daemon: fail-open spooling, the
// drain, concurrency, hostile input, an unresponsive socket, idempotency and a crash mid-drain.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSpoolRecord, writeSpoolRecord, type SpoolRecord } from '../../common/spool.js';
import { newEventId } from '../../hook/main.js';
import {
  assertBuilt,
  hookEventRows,
  hookPayload,
  makeDataDir,
  mode,
  pool,
  queryAll,
  queryOne,
  runCli,
  runHook,
  sleep,
  spawnDaemon,
  spoolFiles,
  startDaemon,
  status,
  waitFor,
  type DaemonProcess,
  type RunResult,
  type TempRbk,
} from '../support/rbk.js';

beforeAll(() => assertBuilt());

// A short drain interval so that anything a hook had to spool lands quickly.
const FAST_DRAIN = 'ingest:\n  spoolDrainIntervalMs: 200\n';

const daemons: DaemonProcess[] = [];
const dirs: TempRbk[] = [];
function tempRbk(opts: Parameters<typeof makeDataDir>[0] = { config: FAST_DRAIN }): TempRbk {
  const t = makeDataDir(opts);
  dirs.push(t);
  return t;
}
async function daemon(t: TempRbk): Promise<DaemonProcess> {
  const d = await startDaemon(t);
  daemons.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
  for (const t of dirs.splice(0)) t.cleanup();
});

/** What Claude Code guarantees of every hook run: exit 0, nothing on stdout. */
function expectFailOpen(r: RunResult, what = ''): void {
  expect(r.code, `${what} exit code; stderr: ${r.stderr}`).toBe(0);
  expect(r.signal, what).toBeNull();
  expect(r.stdout, what).toBe('');
}

interface SessionDbRow {
  id: string;
  status: string;
  prompts: number;
  tool_calls: number;
  tool_failures: number;
  subagents: number;
  hook_events: number;
}
const sessionRow = (t: TempRbk, id: string) => queryOne<SessionDbRow>(t, 'SELECT * FROM sessions WHERE id = ?', id);

/** One short Claude Code session, as hook payloads in the order Claude Code fires them. */
function sessionEvents(sessionId: string): string[] {
  const p = (event: string, extra: Record<string, unknown> = {}) => hookPayload(event, sessionId, extra);
  return [
    p('SessionStart', { source: 'startup', model: 'claude-sonnet-4-5' }),
    p('UserPromptSubmit', { prompt: 'The build is failing, please fix it' }),
    p('PreToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_1', tool_input: { command: 'sh build.sh' } }),
    p('PostToolUseFailure', { tool_name: 'Bash', tool_use_id: 'toolu_1', error: 'exit 2' }),
    p('PreToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_2', tool_input: { command: 'mkdir generated' } }),
    p('PostToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_2', tool_response: { stdout: 'ok' } }),
    p('SubagentStart', { agent_id: 'a1b2c3', agent_type: 'general-purpose' }),
    p('SubagentStop', { agent_id: 'a1b2c3' }),
    p('Stop', { stop_hook_active: false }),
    p('SessionEnd', { reason: 'other' }),
  ];
}

describe('no daemon: the hook spools, the daemon drains', () => {
  it('every event is spooled (exit 0, no stdout), then stored exactly once via the spool', async () => {
    const t = tempRbk();
    const events: Array<string | Buffer> = [
      ...sessionEvents('spooled-session'),
      '', // empty stdin
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), // not UTF-8, not JSON
    ];
    for (const [i, e] of events.entries()) expectFailOpen(await runHook(t, e), `hook ${i}`);

    const files = spoolFiles(t);
    expect(files).toHaveLength(events.length);
    expect(mode(t.spoolDir)).toBe(0o700);
    const records: SpoolRecord[] = files.map((f) => {
      expect(mode(path.join(t.spoolDir, f))).toBe(0o600);
      return parseSpoolRecord(fs.readFileSync(path.join(t.spoolDir, f), 'utf8'), f.slice(0, -'.json'.length));
    });
    // File names sort in firing order (UUIDv7), and each holds its stdin byte for byte.
    expect(records.map((r) => Buffer.from(r.payload_b64, 'base64'))).toEqual(events.map((e) => Buffer.from(e)));
    for (const r of records) expect(r.reason).toContain('ENOENT');
    expect(fs.existsSync(t.db)).toBe(false); // the hook never touches the database

    await daemon(t);
    expect(spoolFiles(t)).toEqual([]);
    expect(fs.readdirSync(t.spoolDir).filter((n) => n !== 'rejected')).toEqual([]);
    expect(fs.existsSync(path.join(t.spoolDir, 'rejected'))).toBe(false);

    const rows = hookEventRows(t);
    expect(rows).toHaveLength(events.length);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(events.length);
    expect(rows.map((r) => r.event_id).sort()).toEqual(records.map((r) => r.event_id));
    expect(rows.every((r) => r.via === 'spool')).toBe(true);
    for (const r of records) {
      const row = rows.find((x) => x.event_id === r.event_id)!;
      expect(row.hook_started_at).toBe(r.hook_started_unix_ms);
      expect(row.sent_at).toBe(r.spooled_unix_ms);
      expect(row.payload_bytes).toBe(Buffer.from(r.payload_b64, 'base64').length);
    }
    expect(rows.filter((r) => r.session_id === 'spooled-session').map((r) => r.event_name)).toEqual([
      'SessionStart',
      'UserPromptSubmit',
      'PreToolUse',
      'PostToolUseFailure',
      'PreToolUse',
      'PostToolUse',
      'SubagentStart',
      'SubagentStop',
      'Stop',
      'SessionEnd',
    ]);
    expect(sessionRow(t, 'spooled-session')).toMatchObject({ status: 'ended', prompts: 1, tool_calls: 2, tool_failures: 1, subagents: 1, hook_events: 10 });

    const s = await status(t);
    expect(s.counts).toMatchObject({ sessions: 1, hookEvents: events.length, spoolBacklog: 0 });
  });
});

describe('a live daemon', () => {
  let t: TempRbk;
  let d: DaemonProcess;
  beforeAll(async () => {
    t = makeDataDir({ config: FAST_DRAIN });
    d = await startDaemon(t);
  });
  afterAll(async () => {
    await d?.stop();
    t?.cleanup();
  });

  /** Rows stored after `afterSeq`, waiting for `n` of them (a spooled event arrives with the next drain). */
  async function newRows(afterSeq: number, n = 1) {
    return waitFor(`${n} new hook event(s)`, () => {
      const rows = hookEventRows(t, 'seq > ?', afterSeq);
      return rows.length >= n ? rows : undefined;
    });
  }
  const maxSeq = (): number => queryOne<{ s: number | null }>(t, 'SELECT max(seq) AS s FROM hook_events')?.s ?? 0;

  async function expectStillServing(): Promise<void> {
    const s = await status(t);
    expect(s.pid).toBe(d.pid);
    expect(d.isRunning()).toBe(true);
  }

  it('stores 500 events from 8 concurrent hook processes exactly once, with the right counts', async () => {
    const sid = 'concurrent-session';
    const payloads: string[] = [hookPayload('SessionStart', sid, { source: 'startup' })];
    for (let i = 0; i < 99; i++) payloads.push(hookPayload('UserPromptSubmit', sid, { prompt: `prompt ${i}` }));
    for (let i = 0; i < 150; i++) payloads.push(hookPayload('PreToolUse', sid, { tool_name: 'Bash', tool_use_id: `toolu_${i}` }));
    for (let i = 0; i < 130; i++) payloads.push(hookPayload('PostToolUse', sid, { tool_name: 'Bash', tool_use_id: `toolu_${i}` }));
    for (let i = 130; i < 150; i++) payloads.push(hookPayload('PostToolUseFailure', sid, { tool_name: 'Bash', tool_use_id: `toolu_${i}`, error: 'boom' }));
    for (let i = 0; i < 50; i++) payloads.push(hookPayload('Notification', sid, { message: `note ${i}` }));
    for (let i = 0; i < 50; i++) payloads.push(hookPayload('Stop', sid));
    expect(payloads).toHaveLength(500);
    const before = maxSeq();

    const results = await pool(payloads, 8, (p) => runHook(t, p));
    for (const [i, r] of results.entries()) expectFailOpen(r, `hook ${i}`);

    const rows = await waitFor('500 stored events and an empty spool', async () => {
      const rs = hookEventRows(t, 'seq > ?', before);
      return rs.length >= 500 && spoolFiles(t).length === 0 ? rs : undefined;
    });
    expect(rows).toHaveLength(500);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(500);
    expect(rows.every((r) => r.session_id === sid && r.problem === null)).toBe(true);
    // Every payload arrived intact (compared as multisets: the Stop payloads are identical).
    expect(rows.map((r) => r.payload).sort()).toEqual([...payloads].sort());
    expect(sessionRow(t, sid)).toMatchObject({ prompts: 99, tool_calls: 150, tool_failures: 20, hook_events: 500 });
    // Normally all of them go direct; under heavy load a few may time out and come via the spool.
    const direct = rows.filter((r) => r.via === 'direct').length;
    expect(direct).toBeGreaterThan(400);
    expect((await status(t)).counts.spoolBacklog).toBe(0);
    // 500 node processes on 2 cores while another test file runs beside this one: CPU-bound.
  }, 300_000);

  it('empty stdin: stored without a session, with a problem; exit 0, no stdout', async () => {
    const before = maxSeq();
    expectFailOpen(await runHook(t, ''));
    const [row] = await newRows(before);
    expect(row).toMatchObject({ session_id: null, event_name: 'unknown', payload: '', payload_bytes: 0 });
    expect(row!.problem).toContain('empty payload');
    await expectStillServing();
  });

  it('invalid JSON: stored as text with a problem', async () => {
    const before = maxSeq();
    const text = '{"session_id": "json-session", "hook_event_name": "Stop", oops';
    expectFailOpen(await runHook(t, text));
    const [row] = await newRows(before);
    expect(row).toMatchObject({ session_id: null, event_name: 'Stop', payload: text, payload_bytes: text.length });
    expect(row!.problem).toMatch(/payload is not valid JSON \(.+\); stored as text/);
    expect(sessionRow(t, 'json-session')).toBeUndefined();
    await expectStillServing();
  });

  it('JSON that is not an object, or has no session_id: stored with a problem', async () => {
    const before = maxSeq();
    expectFailOpen(await runHook(t, '[1,2,3]'));
    expectFailOpen(await runHook(t, '{"hook_event_name":"Notification"}'));
    const rows = await newRows(before, 2);
    expect(rows.map((r) => r.problem)).toEqual(['payload is JSON array, not an object; stored as text', 'payload has no session_id; stored without a session']);
    expect(rows.map((r) => r.session_id)).toEqual([null, null]);
    await expectStillServing();
  });

  it('a 20 MB payload goes direct and is stored whole, with payload_bytes right', async () => {
    const before = maxSeq();
    const big = 'x'.repeat(20 * 1024 * 1024);
    const payload = hookPayload('PostToolUse', 'big-session', { tool_name: 'Bash', tool_use_id: 'toolu_big', tool_response: { stdout: big } });
    // A generous timeout: this is about the HTTP/2 flow control, not the latency.
    const r = await runHook(t, payload, { env: { RBK_HOOK_TIMEOUT_MS: '60000' } });
    expectFailOpen(r);
    const [row] = await newRows(before);
    expect(row!.via).toBe('direct');
    expect(row!.payload_bytes).toBe(Buffer.byteLength(payload));
    expect(row!.payload.length).toBe(payload.length);
    expect(row!.payload === payload).toBe(true);
    expect(row!.problem).toBeNull();
    expect(sessionRow(t, 'big-session')).toMatchObject({ hook_events: 1, tool_calls: 1 });
    expect(spoolFiles(t)).toEqual([]);
    await expectStillServing();
  }, 60_000);

  it('session_id "../../etc": stored with no session and a problem; nothing is created outside the data dir', async () => {
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? [p, ...walk(p)] : [p];
      });
    // Every place "../../etc" could land relative to a directory rbk writes in.
    const targets = [t.dataDir, t.spoolDir, path.dirname(t.socket), path.join(t.dataDir, 'artifacts'), path.join(t.dataDir, 'artifacts', 'x')].map((b) =>
      path.resolve(b, '../../etc'),
    );
    const existedBefore = targets.map((p) => fs.existsSync(p));
    const treeBefore = new Set(walk(t.root));
    const etcBefore = fs.readdirSync('/etc').sort();
    const sessionsBefore = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM sessions')!.n;
    const before = maxSeq();

    const hostile = hookPayload('SessionStart', '../../etc', { transcript_path: '/tmp/../../etc/passwd.jsonl', agent_id: '../x' });
    expectFailOpen(await runHook(t, hostile));
    const [row] = await newRows(before);
    expect(row!.session_id).toBeNull();
    expect(row!.agent_id).toBeNull();
    expect(row!.problem).toContain('session_id "../../etc" is not a valid id');
    expect(row!.problem).toContain('stored without a session');
    expect(row!.payload_bytes).toBe(Buffer.byteLength(hostile));

    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM sessions')!.n).toBe(sessionsBefore);
    expect(queryAll(t, `SELECT id FROM sessions WHERE id LIKE '%etc%' OR id LIKE '%..%'`)).toEqual([]);
    expect(queryAll(t, `SELECT path FROM transcripts WHERE path LIKE '%etc%'`)).toEqual([]);
    expect(targets.map((p) => fs.existsSync(p))).toEqual(existedBefore);
    const created = walk(t.root).filter((p) => !treeBefore.has(p));
    for (const p of created) {
      expect(p.startsWith(t.dataDir + path.sep), p).toBe(true);
      expect(p.split(path.sep), p).not.toContain('etc');
    }
    expect(fs.readdirSync('/etc').sort()).toEqual(etcBefore);

    // The CLI refuses the id instead of looking it up.
    const show = await runCli(t, ['sessions', 'show', '../../etc', '--json']);
    expect(show.code).toBe(4);
    expect(show.stderr).toContain('is not a session id');
    await expectStillServing();
  });

  it('a transcript_path that walks out is ignored, and the problem is stored with the event', async () => {
    const before = maxSeq();
    expectFailOpen(await runHook(t, hookPayload('SessionStart', 'walk-session', { transcript_path: '/tmp/../../etc/passwd.jsonl' })));
    const [row] = await newRows(before);
    expect(row!.session_id).toBe('walk-session');
    expect(row!.problem).toBe('transcript_path is not an absolute .jsonl path; ignored');
    expect(queryOne(t, 'SELECT transcript_path FROM sessions WHERE id = ?', 'walk-session')).toEqual({ transcript_path: null });
    expect(queryAll(t, `SELECT path FROM transcripts WHERE session_id = 'walk-session'`)).toEqual([]);
    await expectStillServing();
  });

  it('`rbk hook` through the CLI entry point delivers the same way as the bundle', async () => {
    const before = maxSeq();
    const r = await runCli(t, ['hook'], { stdin: hookPayload('Notification', 'cli-hook-session', { message: 'hi' }) });
    expectFailOpen(r);
    const [row] = await newRows(before);
    expect(row).toMatchObject({ session_id: 'cli-hook-session', event_name: 'Notification', via: 'direct', problem: null });
    await expectStillServing();
  });

  it('invalid UTF-8: stored with U+FFFD replacements and a problem; payload_bytes counts the raw bytes', async () => {
    const before = maxSeq();
    const raw = Buffer.concat([
      Buffer.from('{"session_id":"utf8-session","hook_event_name":"Notification","message":"bad '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    expectFailOpen(await runHook(t, raw));
    const [row] = await newRows(before);
    expect(row!.problem).toBe('payload is not valid UTF-8; invalid bytes were replaced with U+FFFD');
    expect(row!.session_id).toBe('utf8-session');
    expect(row!.payload_bytes).toBe(raw.length);
    expect(JSON.parse(row!.payload).message).toMatch(/^bad \uFFFD+$/);
    expect(sessionRow(t, 'utf8-session')).toMatchObject({ hook_events: 1 });
    await expectStillServing();
  });
});

describe('a daemon that does not answer', () => {
  let server: net.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function listen(t: TempRbk, onConnection: (c: net.Socket) => void): Promise<string> {
    const socket = path.join(t.root, 'mute.sock');
    server = net.createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(socket, resolve);
    });
    return socket;
  }

  it('accepts but never answers: with RBK_HOOK_TIMEOUT_MS=300 the hook gives up within ~1 s and spools', async () => {
    const t = tempRbk();
    const received: Buffer[] = [];
    const conns: net.Socket[] = [];
    let connectedAt = 0;
    const socket = await listen(t, (c) => {
      connectedAt = Date.now();
      conns.push(c);
      c.on('data', (b) => received.push(b));
    });
    const payload = hookPayload('PreToolUse', 'mute-session', { tool_name: 'Bash', tool_use_id: 'toolu_m' });
    const r = await runHook(t, payload, { env: { RBK_SOCKET: socket, RBK_HOOK_TIMEOUT_MS: '300' } });
    for (const c of conns) c.destroy();
    expectFailOpen(r);
    // From the moment it connected: the 300 ms timeout, the spool write and the exit. (Measured from
    // the connection, so that a slow node start-up on a busy machine does not count.)
    expect(connectedAt).toBeGreaterThan(0);
    expect(r.endedAt - connectedAt).toBeGreaterThanOrEqual(290);
    expect(r.endedAt - connectedAt).toBeLessThan(1000);
    expect(r.durationMs).toBeLessThan(3000);
    // It really connected and sent a gRPC request over HTTP/2.
    const sent = Buffer.concat(received);
    expect(sent.subarray(0, 24).toString('latin1')).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(sent.includes(Buffer.from('/rbk.v1.Ingest/SubmitHook'))).toBe(true);

    const files = spoolFiles(t);
    expect(files).toHaveLength(1);
    const rec = parseSpoolRecord(fs.readFileSync(path.join(t.spoolDir, files[0]!), 'utf8'), files[0]!.slice(0, -5));
    expect(rec.reason).toBe('timeout after 300 ms');
    expect(Buffer.from(rec.payload_b64, 'base64').toString()).toBe(payload);

    // When the real daemon comes up, the event is stored from the spool.
    await daemon(t);
    expect(hookEventRows(t).map((x) => [x.event_id, x.session_id, x.via])).toEqual([[rec.event_id, 'mute-session', 'spool']]);
  });

  it('accepts and hangs up at once: the hook spools without waiting for the timeout', async () => {
    const t = tempRbk();
    const socket = await listen(t, (c) => c.destroy());
    const r = await runHook(t, hookPayload('Stop', 'hangup-session'), { env: { RBK_SOCKET: socket, RBK_HOOK_TIMEOUT_MS: '5000' } });
    expectFailOpen(r);
    expect(r.durationMs).toBeLessThan(3000);
    const files = spoolFiles(t);
    expect(files).toHaveLength(1);
    expect(parseSpoolRecord(fs.readFileSync(path.join(t.spoolDir, files[0]!), 'utf8'), files[0]!.slice(0, -5)).reason).not.toContain('timeout');
  });
});

describe('nowhere to deliver or spool', () => {
  it('still exits 0 with nothing on stdout, and says why on stderr', async () => {
    const t = tempRbk();
    // A data dir and a fallback spool below a regular file: neither spool directory can be created.
    fs.writeFileSync(path.join(t.root, 'file'), '');
    const r = await runHook(t, hookPayload('Stop', 'lost-session'), {
      env: { RBK_DATA_DIR: path.join(t.root, 'file', 'data'), RBK_FALLBACK_SPOOL_DIR: path.join(t.root, 'file', 'fallback') },
    });
    expectFailOpen(r);
    expect(r.stderr).toMatch(/^rbk hook: could not deliver or spool event [0-9a-f-]{36}: .*ENOTDIR/);
  });
});

describe('idempotency and crashes', () => {
  it('an unreadable spool file is moved to spool/rejected and does not hold up the others', async () => {
    const t = tempRbk();
    for (const e of sessionEvents('mixed-spool').slice(0, 2)) expectFailOpen(await runHook(t, e));
    const good = spoolFiles(t);
    fs.writeFileSync(path.join(t.spoolDir, '00000000-0000-7000-8000-000000000000.json'), '{"v":1,"event_id":"trunc', { mode: 0o600 });
    fs.writeFileSync(path.join(t.spoolDir, '00000000-0000-7000-8000-000000000001.json'), JSON.stringify({ v: 1, event_id: 'someone-else', payload_b64: '' }), {
      mode: 0o600,
    });

    const d = await daemon(t);
    expect(spoolFiles(t)).toEqual([]);
    expect(hookEventRows(t).map((r) => `${r.event_id}.json`)).toEqual(good);
    const rejected = path.join(t.spoolDir, 'rejected');
    expect(fs.readdirSync(rejected).sort()).toEqual(['00000000-0000-7000-8000-000000000000.json', '00000000-0000-7000-8000-000000000001.json']);
    expect(mode(rejected)).toBe(0o700);
    expect(d.log()).toContain('unreadable spool file moved aside');
    expect((await status(t)).counts.spoolBacklog).toBe(0);
  });

  it('re-submitting a spool file that was already stored does not store it twice', async () => {
    const t = tempRbk();
    const events = sessionEvents('idem-session').slice(0, 3);
    for (const e of events) expectFailOpen(await runHook(t, e));
    const names = spoolFiles(t);
    expect(names).toHaveLength(3);
    const saved = names.map((n) => [n, fs.readFileSync(path.join(t.spoolDir, n))] as const);

    const first = await daemon(t);
    expect(hookEventRows(t)).toHaveLength(3);
    expect(spoolFiles(t)).toEqual([]);
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // The same files come back (a hook that spooled after a slow ack, a restored backup, ...).
    for (const [n, content] of saved) fs.writeFileSync(path.join(t.spoolDir, n), content, { mode: 0o600 });
    const second = await daemon(t);
    expect(spoolFiles(t)).toEqual([]);
    const rows = hookEventRows(t);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => `${r.event_id}.json`).sort()).toEqual(names);
    expect(sessionRow(t, 'idem-session')).toMatchObject({ hook_events: 3, prompts: 1, tool_calls: 1 });
    expect(second.log()).toMatch(/"msg":"spool drained".*"drained":0,"duplicates":3/);
  });

  it('kill -9 during the drain of 300 spool files loses nothing and stores nothing twice', async () => {
    const t = tempRbk();
    const sid = 'drain-session';
    const ids: string[] = [];
    const base = Date.now() - 60_000;
    for (let i = 0; i < 300; i++) {
      const id = newEventId(base + i);
      ids.push(id);
      const payload = Buffer.from(hookPayload('PreToolUse', sid, { tool_name: 'Bash', tool_use_id: `toolu_${i}` }));
      writeSpoolRecord(t.spoolDir, {
        v: 1,
        event_id: id,
        event_name: 'PreToolUse',
        hook_started_unix_ms: base + i,
        spooled_unix_ms: base + i + 1,
        reason: 'test',
        payload_b64: payload.toString('base64'),
      });
    }
    expect(spoolFiles(t)).toHaveLength(300);
    const all = [...ids].sort();

    /** Every event is either stored or still spooled, and none is stored twice. */
    const checkNothingLost = (): { stored: number; spooled: number } => {
      const stored = fs.existsSync(t.db) && fs.existsSync(`${t.db}-wal`) ? hookEventRows(t).map((r) => r.event_id) : [];
      expect(new Set(stored).size).toBe(stored.length);
      const spooled = spoolFiles(t).map((n) => n.slice(0, -5));
      expect([...new Set([...stored, ...spooled])].sort()).toEqual(all);
      return { stored: stored.length, spooled: spooled.length };
    };

    // 1. Killed a few ms after spawn: most likely before it opened anything.
    const early = spawnDaemon(t);
    daemons.push(early);
    await sleep(5);
    await early.kill9();
    checkNothingLost();

    // 2. Killed the moment the first batch is committed (its spool files start disappearing).
    const mid = spawnDaemon(t);
    daemons.push(mid);
    await waitFor('the drain to begin', () => spoolFiles(t).length < 300 || !mid.isRunning(), 20_000, 1);
    await mid.kill9();
    const atCrash = checkNothingLost();
    expect(atCrash.stored).toBeGreaterThan(0);
    expect(atCrash.spooled).toBeLessThan(300);

    // 3. A clean restart finishes the job.
    await daemon(t);
    expect(spoolFiles(t)).toEqual([]);
    const rows = hookEventRows(t);
    expect(rows).toHaveLength(300);
    expect(rows.map((r) => r.event_id).sort()).toEqual(all);
    expect(rows.every((r) => r.via === 'spool')).toBe(true);
    expect(sessionRow(t, sid)).toMatchObject({ hook_events: 300, tool_calls: 300 });
    expect(fs.existsSync(path.join(t.spoolDir, 'rejected'))).toBe(false);
  }, 60_000);
});
