// Security checks against the real daemon, hook and CLI:
// - file modes: socket 0600 in a 0700 dir; data dir 0700; DB, WAL, SHM, lock, pid, redaction key,
//   spool and fallback-spool files 0600 (dirs 0700), all under umask 000;
// - path traversal in every id that reaches a path or an object key;
// - an oversized gRPC message is refused with RESOURCE_EXHAUSTED and the daemon carries on;
// - no secret value in the daemon's log at debug level, nor in the hook's output;
// - another local user (uid 65534) can neither connect to the socket nor read the database.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSafeId, isSafeTranscriptPath } from '../../common/ids.js';
import { writeSpoolRecord } from '../../common/spool.js';
import { classifyTranscriptPath } from '../../daemon/ingest/transcripts/layout.js';
import { compactedPartKey, datePrefix, hostPartition, manifestKey, parseKey, partKey, sessionPrefix, UnsafeKeyError } from '../../daemon/sync/layout.js';
import { Fake } from '../redact/fakes.js';
import {
  assertBuilt,
  healthCheck,
  hookEventRows,
  hookPayload,
  makeDataDir,
  mode,
  queryAll,
  runCli,
  runHook,
  spoolFiles,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { lines } from '../ingest-daemon/support.js';
import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../../common/protos.js';
import { rpc } from '../faults/support/faults.js';

const TRAVERSALS = [
  '../../escaped',
  '..',
  '.',
  '/etc/passwd',
  'a/../../escaped',
  '..\\..\\escaped',
  'a\0b',
  '%2e%2e%2fescaped',
  ' ../x',
  'x'.repeat(129),
  '',
  '-rf',
  '\u202e../x',
  '.hidden',
];

let t: TempRbk;
let d: DaemonProcess;
beforeAll(async () => {
  assertBuilt();
  t = makeDataDir({ config: 'log:\n  level: debug\nmetrics:\n  enabled: false\ningest:\n  spoolDrainIntervalMs: 300\n' });
  t.env.RBK_FALLBACK_SPOOL_DIR = path.join(t.root, 'fallback', 'spool');
  // umask 000: every private mode below must come from rbk itself, not from the caller's umask.
  d = await startDaemon(t, { umask: 0 });
});
afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('file modes under umask 000', () => {
  it('socket 0600 in a 0700 dir; data dir 0700; DB, WAL, SHM, lock, pid and redaction key 0600', async () => {
    // A write, so that the WAL and SHM exist.
    expect((await runHook(t, hookPayload('SessionStart', 'modes-session'), { umask: 0 })).code).toBe(0);
    await waitFor('the event', () => hookEventRows(t).length > 0);
    expect(fs.statSync(t.socket).isSocket()).toBe(true);
    expect(mode(t.socket)).toBe(0o600);
    expect(mode(path.dirname(t.socket))).toBe(0o700);
    expect(mode(t.dataDir)).toBe(0o700);
    for (const f of ['rbk.db', 'rbk.db-wal', 'rbk.db-shm', 'rbkd.lock', 'rbkd.pid', 'redaction.key']) {
      expect(fs.existsSync(path.join(t.dataDir, f)), f).toBe(true);
      expect(mode(path.join(t.dataDir, f)), f).toBe(0o600);
    }
  });

  it('spool and fallback spool: 0700 dirs, 0600 files, written by the hook under umask 000', async () => {
    // No daemon on this data dir: the hook spools; a data dir under a file forces the fallback.
    const down = makeDataDir();
    try {
      down.env.RBK_FALLBACK_SPOOL_DIR = path.join(down.root, 'fallback', 'spool');
      expect((await runHook(down, hookPayload('Stop', 'spool-modes'), { umask: 0 })).code).toBe(0);
      expect(mode(down.spoolDir)).toBe(0o700);
      for (const f of spoolFiles(down)) expect(mode(path.join(down.spoolDir, f))).toBe(0o600);
      expect(spoolFiles(down)).toHaveLength(1);
      fs.writeFileSync(path.join(down.root, 'file'), '');
      const r = await runHook(down, hookPayload('Stop', 'spool-modes'), { umask: 0, env: { RBK_DATA_DIR: path.join(down.root, 'file', 'data') } });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const fb = down.env.RBK_FALLBACK_SPOOL_DIR;
      expect(mode(fb)).toBe(0o700);
      expect(mode(path.dirname(fb))).toBe(0o700);
      const files = fs.readdirSync(fb).filter((n) => n.endsWith('.json'));
      expect(files).toHaveLength(1);
      expect(mode(path.join(fb, files[0]!))).toBe(0o600);
    } finally {
      down.cleanup();
    }
  });

  it('the hook refuses a fallback spool folder someone else could read or write', async () => {
    const down = makeDataDir();
    try {
      const shared = path.join(down.root, 'shared');
      fs.mkdirSync(path.join(shared, 'spool'), { recursive: true });
      fs.chmodSync(shared, 0o777);
      fs.writeFileSync(path.join(down.root, 'file'), '');
      const r = await runHook(down, hookPayload('Stop', 'x'), {
        env: { RBK_DATA_DIR: path.join(down.root, 'file', 'data'), RBK_FALLBACK_SPOOL_DIR: path.join(shared, 'spool') },
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/could not deliver or spool event .*open to other users \(mode 777\); refusing to spool there/);
      expect(fs.readdirSync(path.join(shared, 'spool'))).toEqual([]);
    } finally {
      down.cleanup();
    }
  });
});

describe('path traversal', () => {
  /** Everything under the temp root, except the data dir's own tree: nothing may appear there. */
  const outside = () => fs.readdirSync(t.root).filter((n) => n !== 'data' && n !== 'config.yaml' && n !== 'fallback' && n !== 'projects');

  it('hostile session_id, agent_id and transcript_path in hook payloads: stored with a problem, nothing created outside the data dir', async () => {
    const before = outside();
    const payloads = TRAVERSALS.flatMap((v) => [
      hookPayload('SessionStart', v, { transcript_path: `${t.root}/${v}.jsonl` }),
      hookPayload('SubagentStop', 'safe-session', { agent_id: v, agent_transcript_path: `/tmp/${v}/x.jsonl`, transcript_path: v }),
      hookPayload('PostToolUse', 'safe-session', { transcript_path: `/tmp/a/../../${v}.jsonl`, tool_use_id: v }),
    ]);
    for (const p of payloads) expect((await runHook(t, p)).code).toBe(0);
    await waitFor('every hostile event stored', () => hookEventRows(t, `session_id IS NULL OR session_id = 'safe-session'`).length >= payloads.length);
    for (const id of queryAll<{ id: string }>(t, 'SELECT id FROM sessions').map((r) => r.id)) expect(isSafeId(id), id).toBe(true);
    for (const p of queryAll<{ path: string }>(t, 'SELECT path FROM transcripts').map((r) => r.path)) expect(isSafeTranscriptPath(p), p).toBe(true);
    for (const a of queryAll<{ agent_id: string | null }>(t, 'SELECT agent_id FROM hook_events WHERE agent_id IS NOT NULL'))
      expect(isSafeId(a.agent_id), String(a.agent_id)).toBe(true);
    expect(outside()).toEqual(before);
    expect(fs.existsSync(path.join(t.root, 'escaped'))).toBe(false);
  });

  it('hostile event ids: refused by SubmitHook, never written as spool files, ignored by the drain', async () => {
    for (const v of TRAVERSALS) {
      const err = await rpc(t.socket, 'Ingest', 'SubmitHook', {
        eventId: v,
        eventName: 'Stop',
        payload: Buffer.from('{}'),
        hookStartedUnixMs: 1,
        sentUnixMs: 1,
        clientVersion: 't',
      }).then(
        () => null,
        (e: { code: number; details: string }) => e,
      );
      expect(err, JSON.stringify(v)).toMatchObject({ code: 3 });
      expect(err!.details).toMatch(/event_id must be/);
      expect(() =>
        writeSpoolRecord(t.spoolDir, { v: 1, event_id: v, event_name: 'x', hook_started_unix_ms: 1, spooled_unix_ms: 1, reason: 't', payload_b64: '' }),
      ).toThrow(/invalid spool event id/);
    }
    // A file planted in the spool with a name that is not an event id is left alone (not stored, not moved).
    fs.mkdirSync(t.spoolDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(t.spoolDir, '..evil.json'), JSON.stringify({ v: 1, event_id: '..evil', event_name: 'x', payload_b64: '' }), { mode: 0o600 });
    await new Promise((r) => setTimeout(r, 800));
    expect(fs.existsSync(path.join(t.spoolDir, '..evil.json'))).toBe(true);
    expect(hookEventRows(t, `event_id = '..evil'`)).toEqual([]);
  });

  it('rbk sessions show / export with hostile ids: not found or refused, and --out writes nothing', async () => {
    for (const v of TRAVERSALS.filter((x) => x !== '' && !x.includes('\0') && !x.startsWith('-'))) {
      const out = path.join(t.root, 'export-out.md');
      const show = await runCli(t, ['sessions', 'show', v]);
      expect([2, 4], `${JSON.stringify(v)}: ${show.stderr}`).toContain(show.code);
      const exp = await runCli(t, ['sessions', 'export', v, '--out', out]);
      expect([2, 4], `${JSON.stringify(v)}: ${exp.stderr}`).toContain(exp.code);
      expect(fs.existsSync(out)).toBe(false);
    }
    // --out names where the person wants the file: exactly there, nothing else, no directory walk from the id.
    const out = path.join(t.root, 'exports', 'ok.json');
    fs.mkdirSync(path.dirname(out));
    const ok = await runCli(t, ['sessions', 'export', 'safe-session', '--format', 'json', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['ok.json']);
    fs.rmSync(path.dirname(out), { recursive: true });
  });

  it('transcript paths: the Import RPC refuses relative paths; the ingester refuses unsafe ones', async () => {
    const Import = loadServices().Ingest;
    const client = new Import(`unix:${t.socket}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Import(req: object): grpc.ClientReadableStream<unknown>;
    };
    try {
      for (const v of ['../../etc', 'relative/dir', '/abs\0nul']) {
        const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
          const call = client.Import({ paths: [v] });
          call.on('data', () => reject(new Error(`Import accepted ${JSON.stringify(v)}`)));
          call.on('error', resolve);
          call.on('end', () => reject(new Error(`Import accepted ${JSON.stringify(v)}`)));
        });
        expect(err.code, v).toBe(3);
        expect(err.details, v).toMatch(/paths must be absolute/);
      }
    } finally {
      client.close();
    }
    for (const v of ['relative.jsonl', '/a/../b.jsonl', '/a/./b.jsonl', '/a/b.json', '/a/b\0.jsonl', `/${'a'.repeat(5000)}.jsonl`]) {
      expect(classifyTranscriptPath(v).problems, v).toContain('unsafe-path');
    }
  });

  it('S3 object keys (daemon/sync/layout.ts): hostile session ids, hosts and dates are refused, never encoded into a key', () => {
    const p = { sessionId: 'ok-session', host: 'laptop', date: '2026-05-01' };
    expect(partKey('interactions', p, 1)).toBe('v1/interactions/date=2026-05-01/host=laptop/session=ok-session/part-000001.ndjson.gz');
    for (const v of TRAVERSALS) {
      expect(() => sessionPrefix('interactions', { ...p, sessionId: v }), v).toThrow(UnsafeKeyError);
      expect(() => partKey('hook_events', { ...p, sessionId: v }, 1), v).toThrow(UnsafeKeyError);
      expect(() => manifestKey({ ...p, sessionId: v }), v).toThrow(UnsafeKeyError);
      expect(() => compactedPartKey('interactions', { ...p, sessionId: v }, 1, 2), v).toThrow(UnsafeKeyError);
      expect(() => sessionPrefix('sessions', { ...p, host: v }), v).toThrow(UnsafeKeyError);
      expect(() => sessionPrefix('sessions', { ...p, date: v }), v).toThrow(UnsafeKeyError);
      expect(() => datePrefix('interactions', v), v).toThrow(UnsafeKeyError);
      // Any host name becomes a safe partition value.
      expect(hostPartition(v)).toMatch(/^[a-z0-9][a-z0-9._-]{0,62}$/);
      expect(hostPartition(v).includes('..') && hostPartition(v).includes('/')).toBe(false);
    }
    expect(() => partKey('interactions', p, 0)).toThrow(UnsafeKeyError);
    expect(() => partKey('interactions', p, 1.5)).toThrow(UnsafeKeyError);
    expect(() => compactedPartKey('interactions', p, 3, 2)).toThrow(UnsafeKeyError);
    for (const k of [
      'v1/interactions/date=2026-05-01/host=laptop/session=../part-000001.ndjson.gz',
      'v1/interactions/date=2026-05-01/host=../session=x/part.gz',
      'v1/../interactions/x',
      'v1/interactions/date=2026-05-01/host=laptop/session=a/b/part.gz',
    ]) {
      expect(parseKey(k), k).toBeNull();
    }
  });
});

describe('oversized gRPC messages', () => {
  it('a 65 MiB SubmitHook is refused with RESOURCE_EXHAUSTED; the daemon keeps serving', async () => {
    const payload = Buffer.alloc(65 * 1024 * 1024, 0x61);
    const err = await rpc(
      t.socket,
      'Ingest',
      'SubmitHook',
      { eventId: 'too-big-1', eventName: 'Stop', payload, hookStartedUnixMs: 1, sentUnixMs: 1, clientVersion: 't' },
      { timeoutMs: 60_000, channelOptions: { 'grpc.max_send_message_length': -1 } },
    ).then(
      () => null,
      (e: { code: number; details: string }) => e,
    );
    expect(err).toMatchObject({ code: 8 });
    expect(err!.details).toMatch(/larger than max|message/i);
    expect(hookEventRows(t, `event_id = 'too-big-1'`)).toEqual([]);
    expect(await healthCheck(t.socket)).toBe('SERVING');
    // The hook never sends such a message: over its limit it spools straight away, and the drain stores it.
    const big = Buffer.concat([
      Buffer.from('{"session_id":"big-one","hook_event_name":"PostToolUse","tool_response":"'),
      Buffer.alloc(61 * 1024 * 1024, 0x62),
      Buffer.from('"}'),
    ]);
    const r = await runHook(t, big, { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    await waitFor('the big event via the spool', () => hookEventRows(t, `session_id = 'big-one'`).length === 1, 60_000, 200);
  }, 120_000);
});

describe('no secret values in logs', () => {
  it('hooks and transcripts full of secrets at log level debug: no raw value in the daemon log or hook output', async () => {
    const f = new Fake(99);
    const secrets = [
      f.awsKeyId('AKIA'),
      f.awsSecret(),
      f.github('p'),
      f.slack('b'),
      f.stripe('sk_live'),
      f.anthropic(),
      f.openai(false),
      f.jwt(),
      f.password(),
      f.alnum(32),
    ];
    const [awsId, awsSecret, gh, slack, stripe, anthropic, openai, jwt, password, bearer] = secrets as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const sid = '5ec12e75-0000-4000-8000-000000000001';
    const transcript = path.join(t.root, 'projects', '-tmp-secrets', `${sid}.jsonl`);
    fs.mkdirSync(path.dirname(transcript), { recursive: true });
    fs.writeFileSync(
      transcript,
      lines.user(sid, '5ec12e75-0000-4000-8000-0000000000a1', 1, `use ${awsId} and aws_secret_access_key = ${awsSecret}`) +
        lines.assistant(sid, '5ec12e75-0000-4000-8000-0000000000a2', 2, `token ${gh} and ${slack}`) +
        lines.toolResult(sid, '5ec12e75-0000-4000-8000-0000000000a3', 3, 'toolu_s', `Authorization: Bearer ${bearer}\nDB_PASSWORD=${password}`) +
        `{"type":"user","broken": ${stripe}}\n` + // invalid JSON with a secret in it
        `{"type":"user","uuid":"5ec12e75-0000-4000-8000-0000000000a4","sessionId":"${sid}","message":{"role":"user","content":"${jwt}"}}\n`,
    );
    const hooks = [
      hookPayload('SessionStart', sid, { transcript_path: transcript }),
      hookPayload('PreToolUse', sid, {
        tool_name: 'Bash',
        tool_use_id: 'toolu_s',
        tool_input: { command: `curl -H "x-api-key: ${anthropic}" -u admin:${password} https://api` },
      }),
      hookPayload('PostToolUse', sid, { tool_name: 'Bash', tool_use_id: 'toolu_s', tool_response: { stdout: `OPENAI_API_KEY=${openai}` } }),
      `{"session_id":"${sid}","hook_event_name":"Stop","note": ${stripe}}`, // invalid JSON, the secret where V8's error message quotes the text
      hookPayload(`SessionEnd`, `${gh}`), // a secret where an id belongs
    ];
    for (const h of hooks) {
      const r = await runHook(t, h);
      expect(r.code).toBe(0);
      for (const s of secrets) expect(r.stdout + r.stderr, 'hook output').not.toContain(s);
    }
    const imp = await runCli(t, ['import', path.dirname(transcript), '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    await waitFor('the transcript indexed', () => queryAll(t, 'SELECT 1 FROM interactions WHERE session_id = ?', sid).length >= 4);
    // A spool round trip too: a secret-laden event spooled while the daemon was busy elsewhere.
    await new Promise((r) => setTimeout(r, 500));
    const log = d.log();
    expect(log).toMatch(/"level":"debug"/); // debug really is on
    for (const s of secrets) expect(log, `secret ${s.slice(0, 6)}… in the daemon log`).not.toContain(s);
    // And nothing of them in what was stored about the hooks either (problems are not redacted text).
    const stored = queryAll<{ payload: string; problem: string | null; session_id: string | null }>(t, 'SELECT payload, problem, session_id FROM hook_events');
    for (const s of secrets) {
      for (const row of stored) expect(`${row.payload}${row.problem ?? ''}${row.session_id ?? ''}`, `secret ${s.slice(0, 6)}…`).not.toContain(s);
    }
    // Not even an 8-character piece of one in the problems or the log (V8's JSON errors quote the text around the error).
    const problems = stored.map((r) => r.problem ?? '').join('\n');
    for (const s of secrets) {
      for (let i = 0; i + 8 <= s.length; i++) {
        const piece = s.slice(i, i + 8);
        expect(problems, `piece ${piece} of a secret in a stored problem`).not.toContain(piece);
        expect(log, `piece ${piece} of a secret in the log`).not.toContain(piece);
      }
    }
  });
});

describe('another local user', () => {
  // Run as root, a client drops to uid/gid 65534 (nobody) with setpriv and tries the socket and the DB.
  const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();
  const canDrop = process.getuid?.() === 0 && setpriv !== '';
  const why = process.getuid?.() !== 0 ? 'not root: cannot switch to another uid' : 'setpriv not installed';

  it.skipIf(!canDrop)(`cannot connect to the socket nor read the database, even with the data dir opened up${canDrop ? '' : ` (skipped: ${why})`}`, () => {
    const asNobody = (code: string): { out: string; status: number | null } => {
      const r = spawnSync(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', code], { encoding: 'utf8', timeout: 20_000 });
      return { out: `${r.stdout}${r.stderr}`.trim(), status: r.status };
    };
    const probe = `
      const net = require('net'), fs = require('fs');
      const [sock, db, control] = ${JSON.stringify([t.socket, t.db, path.join(t.root, 'control.txt')])};
      const res = {};
      try { fs.readFileSync(control, 'utf8'); res.control = 'read'; } catch (e) { res.control = e.code; }
      try { fs.readFileSync(db); res.db = 'read'; } catch (e) { res.db = e.code; }
      const c = net.connect(sock);
      c.on('connect', () => { res.socket = 'connected'; console.log(JSON.stringify(res)); process.exit(0); });
      c.on('error', (e) => { res.socket = e.code; console.log(JSON.stringify(res)); process.exit(0); });`;
    const run = () => {
      const r = asNobody(probe);
      expect(r.status, r.out).toBe(0);
      return JSON.parse(r.out) as { control: string; db: string; socket: string };
    };
    fs.writeFileSync(path.join(t.root, 'control.txt'), 'world-readable', { mode: 0o644 });
    const rootMode = mode(t.root);
    try {
      // As rbk leaves things (the temp root too is private): refused.
      expect(run()).toMatchObject({ db: 'EACCES', socket: 'EACCES' });
      // The parent opened to everyone, so that only rbk's own modes stand in the way: the control
      // file is readable (the probe works), the 0700 data dir still refuses both.
      fs.chmodSync(t.root, 0o755);
      expect(run()).toEqual({ control: 'read', db: 'EACCES', socket: 'EACCES' });
      // Even with the data dir itself opened (a user's mistake), the 0700 socket dir and the 0600 DB hold.
      fs.chmodSync(t.dataDir, 0o755);
      expect(run()).toEqual({ control: 'read', db: 'EACCES', socket: 'EACCES' });
      // And with the socket dir opened too, the socket's own 0600 refuses connect(2).
      fs.chmodSync(path.dirname(t.socket), 0o755);
      expect(run()).toEqual({ control: 'read', db: 'EACCES', socket: 'EACCES' });
    } finally {
      fs.chmodSync(path.dirname(t.socket), 0o700);
      fs.chmodSync(t.dataDir, 0o700);
      fs.chmodSync(t.root, rootMode);
      fs.rmSync(path.join(t.root, 'control.txt'), { force: true });
    }
    expect(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()).toBe('65534');
  });
});
