// No secret in S3. The REAL Claude Code CLI runs the failing-build scenario, whose tool output
// prints a fake AWS key pair, a database URL with a password and an email address; they reach rbk
// through hook payloads and the transcript. The daemon runs in redaction.mode: cron, so the raw
// values ARE in its SQLite file (the redact job has not run): only the export's own redaction
// stands between them and the bucket. After `rbk sync` to s3rver, every object, gunzipped, is
// scanned for every raw value: zero hits, while the redacted evidence is there.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_BUNDLE, assertBuilt, makeDataDir, queryOne, runCli, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { findClaudeBinary, runClaude } from '../e2e/support/claude.js';
import { shellQuote } from '../e2e/support/hook-recorder.js';
import { MANUAL_ONLY, ndjsonRecords, plainBytes, readAllObjects, S3_ENV, s3ConfigYaml, startS3rver, type S3Server } from './support.js';

// The values test/e2e/scenarios/failing-build.json writes into config/build.env.
const SECRETS = {
  awsSecretKey: 'mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU',
  awsAccessKeyId: 'AKIA4Q24M3S7P2YU3ND2',
  dbPassword: 'hunter2',
  email: 'jane.doe@example.com',
};

let s3: S3Server;
let t: TempRbk;
let d: DaemonProcess;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  s3 = await startS3rver({ bucket: 'rbk-secrets' });
  t = makeDataDir({ config: `${s3ConfigYaml(s3, { prefix: 'e2e', mirrorLocal: true, extra: MANUAL_ONLY })}\nredaction:\n  mode: cron\n` });
  d = await startDaemon(t, { env: S3_ENV });
});

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
  await s3?.dispose();
});

describe('no secret in the central copy (real Claude Code, s3rver)', () => {
  it('failing-build through sync: zero raw secret values in any uploaded object, gunzipped', async () => {
    const run = await runClaude({
      scenario: 'failing-build',
      home: path.join(t.root, 'claude', 'home'),
      project: path.join(t.root, 'claude', 'project'),
      hookCommand: `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`,
      extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result.session_id as string;
    await waitFor(
      'hook events and transcript ingested',
      () => {
        const hooks = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events WHERE session_id = ?', sessionId)!.n;
        const results = queryOne<{ n: number }>(t, "SELECT count(*) AS n FROM interactions WHERE session_id = ? AND kind = 'tool_result'", sessionId)!.n;
        return hooks >= 8 && results >= 2;
      },
      30_000,
    );

    // In cron mode the raw values are in the database: the upload path is what is being tested.
    const rawInDb = queryOne<{ n: number }>(
      t,
      "SELECT count(*) AS n FROM hook_events WHERE session_id = ? AND payload LIKE '%' || ? || '%'",
      sessionId,
      SECRETS.awsSecretKey,
    )!.n;
    expect(rawInDb).toBeGreaterThan(0);

    const r = await runCli(t, ['sync', '--json'], { env: S3_ENV, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.sessions.failed).toBe(0);
    expect(summary.rows.hookEvents).toBeGreaterThanOrEqual(8);
    expect(summary.rows.interactions).toBeGreaterThan(0);

    const objects = await readAllObjects(s3.endpoint, s3.bucket, 'e2e/');
    const keys = [...objects.keys()];
    expect(keys.some((k) => k.startsWith('v1/hook_events/') && k.includes(`session=${sessionId}/`))).toBe(true);
    expect(keys.some((k) => k.startsWith('v1/interactions/') && k.includes(`session=${sessionId}/`))).toBe(true);
    expect(keys.some((k) => k.startsWith('v1/sessions/') && k.includes(`session=${sessionId}/`))).toBe(true);

    const hits: string[] = [];
    for (const [key, body] of objects) {
      const plain = plainBytes(key, body);
      for (const [what, value] of Object.entries(SECRETS)) if (plain.includes(Buffer.from(value))) hits.push(`${what} in ${key}`);
    }
    expect(hits).toEqual([]);

    // The mirror (mirrorLocal: true) holds the same objects, and no secret either.
    const mirror = path.join(t.dataDir, 'artifacts');
    for (const key of keys) {
      const local = fs.readFileSync(path.join(mirror, ...key.split('/')));
      expect(local.equals(objects.get(key)!), key).toBe(true);
    }

    // The evidence is there, redacted: the failing tool's output, with tokens where the secrets were.
    const hookKey = keys.find((k) => k.startsWith('v1/hook_events/') && k.includes(`session=${sessionId}/`))!;
    const failure = ndjsonRecords(objects.get(hookKey)!).find((e) => e.event_name === 'PostToolUseFailure')!;
    expect(failure.payload).toMatch(/AWS_SECRET_ACCESS_KEY=\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]/);
    expect(failure.payload).toMatch(/postgres:\/\/admin:\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]@db\.internal/);
    const interactionKey = keys.find((k) => k.startsWith('v1/interactions/') && k.includes(`session=${sessionId}/`))!;
    const failed = ndjsonRecords(objects.get(interactionKey)!).find((i) => i.kind === 'tool_result' && i.is_error === true)!;
    expect(failed.text).toContain('generated/ directory is missing');
    expect(failed.text).toMatch(/\[REDACTED:/);
  }, 180_000);
});
