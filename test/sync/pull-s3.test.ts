// rbk pull end to end over a real S3 wire protocol: daemon A ("laptop-a") captures two real
// Claude Code sessions (hooks and transcripts) and `rbk sync`s them to s3rver with the real engine;
// daemon B ("desk-b", another data dir) runs `rbk pull`. Then B's `rbk sessions --json`,
// `rbk sessions show --json` and `rbk usage session --json` equal A's; a second pull adds nothing;
// a corrupt part is a counted skip (exit 1) that the next pull repairs.
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, queryAll, runCli, runHook, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { CAPTURED } from './pull-world.js';
import { MANUAL_ONLY, readAllObjects, S3_ENV, s3ConfigYaml, startS3rver, testS3Client, type S3Server } from './support.js';

const PREFIX = 'team/rbk';
const SCENARIOS = ['failing-build', 'agent-investigation'];

let s3: S3Server;
let a: TempRbk;
let b: TempRbk;
let da: DaemonProcess;
let db: DaemonProcess;
const envA = { ...S3_ENV, RBK_HOSTNAME: 'laptop-a' };
const envB = { ...S3_ENV, RBK_HOSTNAME: 'desk-b' };

async function cli(t: TempRbk, env: Record<string, string>, args: string[]): Promise<{ code: number | null; json: unknown; stderr: string }> {
  const r = await runCli(t, args, { env, timeoutMs: 60_000 });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* not JSON: the assertion on code shows stderr */
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** `rbk sessions --json` minus what differs by design: the local transcript path and the origin. */
const comparable = (sessions: Record<string, unknown>[]) => sessions.map(({ transcriptPath: _t, origin: _o, ...rest }) => rest);

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'rbk-central' });
  const config = s3ConfigYaml(s3, { prefix: PREFIX, extra: MANUAL_ONLY });
  a = makeDataDir({ config });
  b = makeDataDir({ config });
  da = await startDaemon(a, { env: envA });
  db = await startDaemon(b, { env: envB });
  for (const scenario of SCENARIOS) {
    const hooks = path.join(CAPTURED, scenario, 'hooks');
    for (const f of fs.readdirSync(hooks).sort()) {
      const r = await runHook(a, fs.readFileSync(path.join(hooks, f)), { env: envA });
      expect(r.code).toBe(0);
    }
    const imported = await runCli(a, ['import', path.join(CAPTURED, scenario, 'projects'), '--json'], { env: envA, timeoutMs: 60_000 });
    expect(imported.code, imported.stderr).toBe(0);
  }
  const synced = await cli(a, envA, ['sync', '--now', '--json']);
  expect(synced.code, synced.stderr).toBe(0);
  expect((synced.json as { sessions: { uploaded: number } }).sessions.uploaded).toBe(2);
}, 120_000);

afterAll(async () => {
  await da?.stop();
  await db?.stop();
  await s3?.dispose();
  a?.cleanup();
  b?.cleanup();
});

describe('rbk pull over s3rver', () => {
  it('a corrupt part is a counted skip; B then matches A on sessions, show and usage; a re-pull adds nothing', async () => {
    const objects = await readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`);
    expect([...objects.keys()].every((k) => k.includes('/host=laptop-a/'))).toBe(true);
    const partKey = [...objects.keys()].find((k) => k.startsWith('v1/interactions/'))!;
    const client = testS3Client(s3.endpoint);
    const put = (body: Buffer) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${partKey}`, Body: body }));
    await put(Buffer.concat([objects.get(partKey)!, Buffer.from('tampered')]));

    const bad = await cli(b, envB, ['pull', '--json']);
    expect(bad.code, bad.stderr).toBe(1);
    const badJson = bad.json as { skipped: Record<string, number>; problems: { key: string; reason: string }[]; sessionsAdded: number; hosts: string[] };
    expect(badJson.skipped).toEqual({ 'checksum-mismatch': 1 });
    expect(badJson.problems).toEqual([expect.objectContaining({ key: partKey, reason: 'checksum-mismatch' })]);
    expect(badJson.hosts).toEqual(['laptop-a']);

    await put(objects.get(partKey)!);
    client.destroy();
    const good = await cli(b, envB, ['pull', '--json']);
    expect(good.code, good.stderr).toBe(0);
    expect(good.json).toMatchObject({ backend: 's3', skipped: {}, manifests: 2 });

    const sa = (await cli(a, envA, ['sessions', '--json'])).json as Record<string, unknown>[];
    const sb = (await cli(b, envB, ['sessions', '--json'])).json as Record<string, unknown>[];
    expect(sb).toHaveLength(2);
    expect(comparable(sb)).toEqual(comparable(sa));
    expect(sb.map((s) => s.origin)).toEqual(['pull', 'pull']);
    expect(sa.map((s) => s.host)).toEqual(['laptop-a', 'laptop-a']);

    for (const s of sa) {
      const showA = (await cli(a, envA, ['sessions', 'show', String(s.id), '--json'])).json as { session: Record<string, unknown> };
      const showB = (await cli(b, envB, ['sessions', 'show', String(s.id), '--json'])).json as { session: Record<string, unknown> };
      const strip = (x: { session: Record<string, unknown> }) => ({ ...x, session: comparable([x.session])[0] });
      expect(strip(showB)).toEqual(strip(showA));
    }
    const ua = (await cli(a, envA, ['usage', 'session', '--json'])).json as { totals: { totalTokens: number } };
    const ub = (await cli(b, envB, ['usage', 'session', '--json'])).json;
    expect(ub).toEqual(ua);
    expect(ua.totals.totalTokens).toBeGreaterThan(0);

    const counts = () =>
      queryAll<{ n: number }>(
        b,
        `SELECT (SELECT count(*) FROM interactions) + (SELECT count(*) FROM hook_events) + (SELECT count(*) FROM message_usage) AS n`,
      )[0]!.n;
    const before = counts();
    const again = await cli(b, envB, ['pull', '--json']);
    expect(again.code, again.stderr).toBe(0);
    // Only LIST requests: each manifest's ETag is the one it had when B stored it in full.
    expect(again.json).toMatchObject({
      sessionsAdded: 0,
      sessionsUpdated: 0,
      sessionsUnchanged: 2,
      partsFetched: 0,
      bytesFetched: 0,
      interactionsAdded: 0,
      hookEventsAdded: 0,
    });
    expect(counts()).toBe(before);

    // B's own sync uploads nothing of what it pulled, and A's pull skips its own host.
    const syncB = await cli(b, envB, ['sync', '--now', '--force', '--json']);
    expect(syncB.code, syncB.stderr).toBe(0);
    expect((syncB.json as { parts: number }).parts).toBe(0);
    expect([...(await readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`)).keys()].some((k) => k.includes('host=desk-b'))).toBe(false);
    const pullA = await cli(a, envA, ['pull', '--json']);
    expect(pullA.json).toMatchObject({ manifests: 0, skipped: { 'own-host': 2 } });

    // Text output and usage errors.
    const text = await runCli(b, ['pull', '--host', 'laptop-a', '--since', '3650d'], { env: envB, timeoutMs: 60_000 });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/0 new, 0 updated, 2 unchanged/);
    const badHost = await runCli(b, ['pull', '--host', '../x'], { env: envB });
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toMatch(/--host/);
  }, 180_000);
});
