// New redaction rules reach old data, locally and in the central copy. A session is stored and
// synced to s3rver while a rule is off (redaction.disabledRules: the situation of a secret format
// an older release did not know). Then the rule is turned on and the daemon restarted: the redact
// job rewrites the stored rows, and the next sync re-encodes the parts uploaded under the old rules
// and sends them again under the same keys. Afterwards the secret is in no file of the data dir
// and in no object of the bucket, gunzipped; a part the new rules do not change is not sent again.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, plainStoreContent, queryOne, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { writeSession } from '../learn/support.js';
import { MANUAL_ONLY, plainBytes, readAllObjects, S3_ENV, s3ConfigYaml, startS3rver, type S3Server } from './support.js';

// A Docker Hub token: caught only by the docker-hub-token rule (no keyword next to it).
const TOKEN = ['dckr', '_pat_', 'Vq3XrT9sLmB2wKpZ8yHcN4aEfGu'].join('');
const SESSION = '5ec2e7ed-0000-4000-8000-00000000d0c4';
const CLEAN_SESSION = 'c1ea2e7e-0000-4000-8000-0000000c1ea2'; // learn/support.ts derives line ids from the first 8 characters

let s3: S3Server;
let t: TempRbk;
let d: DaemonProcess | undefined;

const config = (disabled: string[]) => `${s3ConfigYaml(s3, { prefix: 'rr', extra: MANUAL_ONLY })}\nredaction:\n  disabledRules: ${JSON.stringify(disabled)}\n`;

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : []));
}

async function objectsWith(value: string): Promise<string[]> {
  const objects = await readAllObjects(s3.endpoint, s3.bucket, 'rr/');
  return [...objects].filter(([key, body]) => plainBytes(key, body).includes(Buffer.from(value))).map(([key]) => key);
}

beforeAll(async () => {
  assertBuilt();
  s3 = await startS3rver({ bucket: 'rbk-reredact' });
  t = makeDataDir();
  t.writeConfig(config(['docker-hub-token']));
  const projects = path.join(t.root, 'projects');
  writeSession(projects, {
    sessionId: SESSION,
    cwd: '/work/registry',
    start: '2026-05-01T10:00:00Z',
    steps: [
      { prompt: 'log in to docker hub' },
      { bash: 'cat ~/.docker/token | docker login -u ci --password-stdin', output: `using ${TOKEN}\nLogin Succeeded` },
      { say: 'Logged in.' },
    ],
  });
  writeSession(projects, {
    sessionId: CLEAN_SESSION,
    cwd: '/work/clean',
    start: '2026-05-01T11:00:00Z',
    steps: [{ prompt: 'list files' }, { bash: 'ls', output: 'a.txt\nb.txt' }],
  });
  d = await startDaemon(t, { env: S3_ENV });
  expect((await runCli(t, ['import', projects])).code).toBe(0);
  const sync = await runCli(t, ['sync', '--json'], { env: S3_ENV, timeoutMs: 60_000 });
  expect(sync.code, sync.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await d?.stop();
  if (process.env.RBK_KEEP) console.log('kept', t.root);
  else t?.cleanup();
  await s3?.dispose();
});

describe('re-redaction after a rule change', () => {
  it('before: with the rule off, the token is in the store and in the central copy', async () => {
    expect(
      queryOne<{ n: number }>(
        t,
        "SELECT count(*) AS n FROM interactions WHERE session_id = ? AND (rbk_text(text) LIKE '%' || ? || '%' OR rbk_line(text, tool_input, tool_use_result, raw) LIKE '%' || ? || '%')",
        SESSION,
        TOKEN,
        TOKEN,
      )!.n,
    ).toBeGreaterThan(0);
    expect((await objectsWith(TOKEN)).length).toBeGreaterThan(0);
  });

  it('after: the redact job rewrites the rows and the next sync re-sends only the parts that changed', async () => {
    const etagsBefore = new Map([...(await readAllObjects(s3.endpoint, s3.bucket, 'rr/'))].map(([k, b]) => [k, b.toString('base64')]));
    await d!.stop();
    t.writeConfig(config([]));
    d = await startDaemon(t, { env: S3_ENV });

    const job = await runCli(t, ['jobs', 'run', 'redact', '--yes', '--json'], { timeoutMs: 120_000 });
    expect(job.code, job.stderr).toBe(0);
    expect(
      queryOne<{ n: number }>(
        t,
        "SELECT count(*) AS n FROM interactions WHERE rbk_text(text) LIKE '%' || ? || '%' OR rbk_line(text, tool_input, tool_use_result, raw) LIKE '%' || ? || '%' OR rbk_tool_result(text, tool_use_result) LIKE '%' || ? || '%'",
        TOKEN,
        TOKEN,
        TOKEN,
      )!.n,
    ).toBe(0);

    const sync = await runCli(t, ['sync', '--json'], { env: S3_ENV, timeoutMs: 60_000 });
    expect(sync.code, sync.stderr).toBe(0);
    expect(await objectsWith(TOKEN)).toEqual([]);
    const after = await readAllObjects(s3.endpoint, s3.bucket, 'rr/');
    const redacted = [...after].filter(([k, b]) => k.includes(`session=${SESSION}/`) && plainBytes(k, b).includes(Buffer.from('[REDACTED:docker-hub-token:')));
    expect(redacted.length).toBeGreaterThan(0);
    // The clean session's parts encode to the same bytes under the new rules: not sent again.
    const cleanParts = [...after.keys()].filter((k) => k.includes(`session=${CLEAN_SESSION}/`) && !k.startsWith('rr/v1/sessions/'));
    expect(cleanParts.length).toBeGreaterThan(0);
    for (const k of cleanParts) expect(after.get(k)!.toString('base64')).toBe(etagsBefore.get(k));

    // Nothing of the token anywhere in the data dir either (SQLite file, WAL, logs, spool).
    await d!.stop();
    d = undefined;
    const leaks = filesUnder(t.dataDir).filter((f) => fs.readFileSync(f).includes(Buffer.from(TOKEN)));
    expect(leaks).toEqual([]);
    // Packed values are compressed, so the bytes of the file cannot show a secret inside them: the
    // store's content, unpacked, must not hold it either.
    expect(plainStoreContent(t.db).includes(Buffer.from(TOKEN))).toBe(false);
    expect(plainStoreContent(t.db).includes(Buffer.from('[REDACTED:docker-hub-token:'))).toBe(true);
  }, 180_000);
});
