// Laptop loss, end to end over a real S3 wire protocol (s3rver on loopback): machine A captures two
// real Claude Code sessions (hooks and transcripts), syncs them, and a backup goes to the central
// copy too. Then A's data dir is deleted with its transcripts. A fresh data dir on the same host id
// runs `rbk restore --from-central-copy`: sessions, show, usage and learn equal A's, field by field,
// less the exceptions docs/reliability.md lists; the sessions are its own (not read-only), a
// second run adds nothing, and the next sync uploads nothing twice. `rbk restore central-copy:latest`
// brings back the backup itself.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, queryAll, runCli, runHook, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { CAPTURED } from '../sync/pull-world.js';
import { MANUAL_ONLY, readAllObjects, S3_ENV, s3ConfigYaml, startS3rver, type S3Server } from '../sync/support.js';

const PREFIX = 'team/rbk';
const SCENARIOS = ['failing-build', 'agent-investigation'];
const env = { ...S3_ENV, RBK_HOSTNAME: 'laptop-a' };

let s3: S3Server;
let config: string;

async function cli(t: TempRbk, args: string[]): Promise<{ code: number | null; json: any; stderr: string }> {
  const r = await runCli(t, args, { env, timeoutMs: 90_000 });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* not JSON: the assertion on code shows stderr */
  }
  return { code: r.code, json, stderr: r.stderr };
}

/**
 * The documented exceptions (docs/reliability.md): where a row came from (transcript path, origin),
 * when this store wrote it, and each pair of hook/transcript counts, shown as the larger.
 */
function comparable(sessions: Record<string, unknown>[]) {
  return sessions.map(({ transcriptPath: _t, origin: _o, ...rest }) => rest);
}

interface Captured {
  sessions: Record<string, unknown>[];
  show: Record<string, unknown>[];
  usage: unknown;
  learn: unknown;
  objects: number;
}

async function capture(t: TempRbk, ids: string[]): Promise<Captured> {
  const sessions = (await cli(t, ['sessions', '--json'])).json as Record<string, unknown>[];
  const show: Record<string, unknown>[] = [];
  for (const id of ids) show.push((await cli(t, ['sessions', 'show', id, '--json'])).json as Record<string, unknown>);
  const usage = (await cli(t, ['usage', 'session', '--json'])).json;
  const learned = await cli(t, ['learn', ids[0]!, '--out', path.join(t.root, 'learn'), '--json']);
  expect(learned.code, learned.stderr).toBe(0);
  const objects = (await readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`)).size;
  // Where learn wrote its files is each data dir's own folder, and each run has its own id.
  const { runId: _run, ...learn } = JSON.parse(JSON.stringify(learned.json).replaceAll(t.root, '<root>')) as Record<string, unknown>;
  return { sessions, show, usage, learn, objects };
}

describe('laptop loss: restore this machine from the central copy', () => {
  let a: TempRbk;
  let b: TempRbk;
  let da: DaemonProcess;
  let dbp: DaemonProcess;
  let ids: string[];
  let before: Captured;

  beforeAll(async () => {
    s3 = await startS3rver({ bucket: 'rbk-laptop' });
    config = s3ConfigYaml(s3, { prefix: PREFIX, extra: `${MANUAL_ONLY}\ningest:\n  sweepAtStart: false` });
    a = makeDataDir({ config });
    da = await startDaemon(a, { env });
    for (const scenario of SCENARIOS) {
      const hooks = path.join(CAPTURED, scenario, 'hooks');
      for (const f of fs.readdirSync(hooks).sort()) expect((await runHook(a, fs.readFileSync(path.join(hooks, f)), { env })).code).toBe(0);
      const imported = await runCli(a, ['import', path.join(CAPTURED, scenario, 'projects'), '--json'], { env, timeoutMs: 60_000 });
      expect(imported.code, imported.stderr).toBe(0);
    }
    const synced = await cli(a, ['sync', '--now', '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.json.sessions.uploaded).toBe(2);
    const backup = await cli(a, ['backup', '--to', 'central-copy', '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.json.location).toMatch(/^s3:\/\/rbk-laptop\/team\/rbk\/backups\/host=laptop-a\/rbk-laptop-a-\d{8}T\d{6}Z\.db\.gz$/);
    ids = (queryAll<{ id: string }>(a, 'SELECT id FROM sessions ORDER BY id') as { id: string }[]).map((r) => r.id);
    expect(ids).toHaveLength(2);
    before = await capture(a, ids);
    await da.stop();
    // The laptop is gone: its data dir, and with it everything rbk kept.
    fs.rmSync(a.dataDir, { recursive: true, force: true });
    b = makeDataDir({ config });
    dbp = await startDaemon(b, { env });
  }, 180_000);

  afterAll(async () => {
    await da?.stop();
    await dbp?.stop();
    await runCli(b, ['stop'], { env });
    await s3?.dispose();
    a?.cleanup();
    b?.cleanup();
  });

  it("brings back the machine's sessions as its own: sessions, show, usage and learn equal A's", async () => {
    const r = await cli(b, ['restore', '--from-central-copy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.sessionsAdded).toBe(2);
    expect(r.json.skipped).toEqual({});
    const rows = queryAll<{ id: string; pulled_from: string | null; origin: string; host: string }>(
      b,
      'SELECT id, pulled_from, origin, host FROM sessions ORDER BY id',
    );
    expect(rows).toEqual(ids.map((id) => ({ id, pulled_from: null, origin: 'restore', host: 'laptop-a' })));

    const after = await capture(b, ids);
    expect(comparable(after.sessions)).toEqual(comparable(before.sessions));
    const showComparable = (s: Record<string, unknown>) => ({ ...s, session: comparable([s.session as Record<string, unknown>])[0] });
    expect(after.show.map(showComparable)).toEqual(before.show.map(showComparable));
    expect(after.usage).toEqual(before.usage);
    expect(after.learn).toEqual(before.learn);
  });

  it('is idempotent, and the next sync uploads nothing twice', async () => {
    const again = await cli(b, ['restore', '--from-central-copy', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.sessionsAdded).toBe(0);
    expect(again.json.interactionsAdded).toBe(0);
    const objects = (await readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`)).size;
    const synced = await cli(b, ['sync', '--now', '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.json.sessions.uploaded).toBe(0);
    expect((await readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`)).size).toBe(objects);
  });

  it('a restored session that goes on uploads its new rows as the next part, and its manifest keeps every old part', async () => {
    const manifestOf = async (id: string) => {
      const all = await readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`);
      const key = [...all.keys()].find((k) => k.endsWith(`/session=${id}/session.json`))!;
      return { all, m: JSON.parse(all.get(key)!.toString('utf8')) as { parts: Record<string, { key: string; first: number; last: number }[]> } };
    };
    const { all: before, m: old } = await manifestOf(ids[0]!);
    const hook = await runHook(
      b,
      JSON.stringify({ session_id: ids[0], hook_event_name: 'UserPromptSubmit', prompt: 'resumed after the restore', cwd: '/e2e/project' }),
      { env },
    );
    expect(hook.code).toBe(0);
    const synced = await cli(b, ['sync', '--now', '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.json.sessions.uploaded).toBe(1);
    const { all: after, m } = await manifestOf(ids[0]!);
    for (const dataset of ['interactions', 'hook_events']) for (const p of old.parts[dataset]!) expect(m.parts[dataset]).toContainEqual(p);
    const added = m.parts.hook_events!.filter((p) => !old.parts.hook_events!.some((o) => o.key === p.key));
    expect(added.map((p) => p.first)).toEqual([Math.max(...old.parts.hook_events!.map((p) => p.last)) + 1]);
    expect(m.parts.interactions).toEqual(old.parts.interactions);
    // One new object (the part); the manifest was replaced in place.
    expect(after.size).toBe(before.size + 1);
  });

  it('restores the backup kept in the central copy', async () => {
    const r = await runCli(b, ['restore', 'central-copy:latest', '--yes', '--json'], { env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { from: string; rows: Record<string, number> };
    expect(out.from).toMatch(/backups\/host=laptop-a\//);
    expect(out.rows.sessions).toBe(2);
    const sessions = (await cli(b, ['sessions', '--json'])).json as Record<string, unknown>[];
    expect(comparable(sessions)).toEqual(comparable(before.sessions));
  });
});
