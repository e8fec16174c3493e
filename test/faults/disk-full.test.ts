// Disk full on the data dir. The data dir is a small tmpfs mounted for this test (it needs root
// and a kernel that lets us mount; elsewhere the test is reported as skipped, never as passed, see
// docs/reliability.md). With the filesystem filled to the last byte the daemon must:
// - say so: an error in its log, `writeError` in `rbk status`, RESOURCE_EXHAUSTED with an
//   actionable message for a direct SubmitHook;
// - keep serving reads (status, sessions, health) and stay up;
// - lose nothing: hooks fired meanwhile go to the fallback spool outside the data dir, and
//   transcript lines written meanwhile are read later;
// - resume by itself once space returns, with `PRAGMA integrity_check` ok.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  healthCheck,
  hookEventRows,
  hookPayload,
  makeDataDir,
  pool,
  queryOne,
  runCli,
  runHook,
  spoolFiles,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { lines, uuidFor } from '../ingest-daemon/support.js';
import { integrityCheck, rpc } from './support/faults.js';

/** Whether this machine lets us mount a tmpfs (root, and a kernel/container that allows it), and why not. */
function probeTmpfs(): { ok: boolean; why: string } {
  // Lets the skip path itself be checked on a machine that can mount.
  if (process.env.RBK_FAULTS_NO_MOUNT === '1') return { ok: false, why: 'RBK_FAULTS_NO_MOUNT=1' };
  if (process.platform !== 'linux') return { ok: false, why: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root: mounting a tmpfs needs CAP_SYS_ADMIN' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return { ok: true, why: '' };
  } catch (err) {
    return { ok: false, why: `mount -t tmpfs refused: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const TMPFS = probeTmpfs();
if (!TMPFS.ok) console.warn(`disk-full test SKIPPED: ${TMPFS.why}`);

beforeAll(() => assertBuilt());

const daemons: DaemonProcess[] = [];
const mounts: string[] = [];
const dirs: TempRbk[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
  for (const m of mounts.splice(0)) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'pipe' });
    }
  }
  for (const t of dirs.splice(0)) t.cleanup();
});

/** Writes zeros into `file` until the filesystem says ENOSPC; returns the bytes written. */
function fillUp(file: string): number {
  const fd = fs.openSync(file, 'w');
  let total = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512, 1]) {
      const buf = Buffer.alloc(size);
      for (;;) {
        try {
          total += fs.writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return total;
}

interface Status {
  counts: { hookEvents: number; spoolBacklog: number; interactions: number };
  writeError: { message: string; since: string } | null;
}
async function statusJson(t: TempRbk): Promise<Status> {
  const r = await runCli(t, ['status', '--json']);
  if (r.code !== 0) throw new Error(`rbk status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Status;
}

const SESSION = '0d15cf01-0000-4000-8000-000000000001';

describe('disk full on the data dir', () => {
  it.skipIf(!TMPFS.ok)(
    `reports it, keeps serving reads, loses nothing and resumes when space returns${TMPFS.ok ? '' : ` (skipped: ${TMPFS.why})`}`,
    async () => {
      const t = makeDataDir({ config: 'metrics:\n  enabled: false\ningest:\n  spoolDrainIntervalMs: 300\n' });
      dirs.push(t);
      fs.mkdirSync(t.dataDir, { mode: 0o700 });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', t.dataDir], { stdio: 'pipe' });
      mounts.push(t.dataDir);
      // The fallback spool on the real disk, inside the test's temp root so cleanup removes it.
      const fallback = path.join(t.root, 'fallback-spool');
      t.env.RBK_FALLBACK_SPOOL_DIR = fallback;
      const fallbackFiles = () => (fs.existsSync(fallback) ? fs.readdirSync(fallback).filter((n) => n.endsWith('.json')) : []);

      const d = await startDaemon(t);
      daemons.push(d);
      // A transcript the daemon tails (outside the full filesystem, as ~/.claude is).
      const transcript = path.join(t.root, 'projects', '-tmp-full', `${SESSION}.jsonl`);
      fs.mkdirSync(path.dirname(transcript), { recursive: true });
      fs.writeFileSync(transcript, lines.user(SESSION, uuidFor(9, 0), 0, 'before the disk filled'));
      const before = await pool(
        Array.from({ length: 20 }, (_, i) =>
          hookPayload('PreToolUse', SESSION, { tool_use_id: `toolu_b${i}`, tool_name: 'Bash', transcript_path: transcript }),
        ),
        4,
        (p) => runHook(t, p),
      );
      for (const r of before) expect(r.code).toBe(0);
      await waitFor(
        '20 events and the first transcript line',
        () => hookEventRows(t).length === 20 && queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')?.n === 1,
      );

      const filled = fillUp(path.join(t.dataDir, 'filler'));
      expect(filled).toBeGreaterThan(0);

      // A direct write gets a clear gRPC error.
      const refused = await rpc(t.socket, 'Ingest', 'SubmitHook', {
        eventId: 'direct-while-full-1',
        eventName: 'Stop',
        payload: Buffer.from(hookPayload('Stop', SESSION)),
        hookStartedUnixMs: Date.now(),
        sentUnixMs: Date.now(),
        clientVersion: 'test',
      }).then(
        () => null,
        (e: { code: number; details: string }) => e,
      );
      expect(refused).toMatchObject({ code: 8 /* RESOURCE_EXHAUSTED */ });
      expect(refused!.details).toMatch(/out of disk space.*free space/);

      // Hooks fired while full: exit 0, nothing printed, every event in the fallback spool.
      const during = await pool(
        Array.from({ length: 30 }, (_, i) => hookPayload('PostToolUse', SESSION, { tool_use_id: `toolu_f${i}`, tool_name: 'Bash' })),
        4,
        (p) => runHook(t, p),
      );
      for (const r of during) {
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe('');
      }
      expect(fallbackFiles()).toHaveLength(30);
      expect(fs.readdirSync(t.spoolDir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect((fs.statSync(fallback).mode & 0o777).toString(8)).toBe('700');
      // Transcript lines written meanwhile.
      for (let i = 1; i <= 5; i++) fs.appendFileSync(transcript, lines.user(SESSION, uuidFor(9, i), i, `written while the disk was full ${i}`));

      // Reads keep working, and status says what is wrong.
      const full = await statusJson(t);
      expect(full.writeError?.message).toMatch(/out of disk space \(SQLITE_FULL\); free space there/);
      expect(full.counts.hookEvents).toBe(20);
      expect(full.counts.spoolBacklog).toBe(30);
      const sessions = await runCli(t, ['sessions', '--json']);
      expect(sessions.code, sessions.stderr).toBe(0);
      expect((JSON.parse(sessions.stdout) as { id: string }[]).map((s) => s.id)).toEqual([SESSION]);
      expect(await healthCheck(t.socket)).toBe('SERVING');
      await new Promise((r) => setTimeout(r, 1000)); // a few failed drains and tail reads
      expect(d.isRunning()).toBe(true);
      expect(d.log()).toMatch(/"level":"error","msg":"database writes failing[^\n]*"code":"SQLITE_FULL"/);
      expect(hookEventRows(t)).toHaveLength(20);

      // Space returns: everything arrives by itself, exactly once.
      fs.rmSync(path.join(t.dataDir, 'filler'));
      await waitFor('the fallback spool drained', () => fallbackFiles().length === 0 && hookEventRows(t).length === 50, 20_000);
      expect((await statusJson(t)).writeError).toBeNull();
      expect(d.log()).toContain('"msg":"database writes resumed"');
      const after = await runHook(t, hookPayload('Stop', SESSION, { transcript_path: transcript }));
      expect(after.code).toBe(0);
      fs.appendFileSync(transcript, lines.user(SESSION, uuidFor(9, 6), 6, 'after space returned'));
      await waitFor(
        'every transcript line indexed',
        () => queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions WHERE session_id = ?', SESSION)?.n === 7,
        20_000,
      );
      const rows = hookEventRows(t);
      expect(rows).toHaveLength(51);
      expect(new Set(rows.map((r) => r.event_id)).size).toBe(51);
      expect(rows.filter((r) => r.via === 'spool')).toHaveLength(30);
      expect(rows.at(-1)!.via).toBe('direct');
      expect(spoolFiles(t)).toEqual([]);
      expect(queryOne(t, 'SELECT hook_events FROM sessions WHERE id = ?', SESSION)).toEqual({ hook_events: 51 });

      expect(await d.stop()).toEqual({ code: 0, signal: null });
      expect(integrityCheck(t.db)).toBe('ok');
    },
    120_000,
  );
});
