// Nothing secret reaches the disk: the REAL Claude Code CLI runs a session whose tool output
// prints a fake AWS key pair, a database URL with a password and an email address. They reach
// rbk through hook payloads and the transcript. Afterwards no byte sequence of any of them is in
// the data dir: not in the SQLite file, not in its WAL, not in the spool, not in the daemon log.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_BUNDLE, assertBuilt, makeDataDir, plainStoreContent, queryOne, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { findClaudeBinary, runClaude } from './support/claude.js';
import { shellQuote } from './support/hook-recorder.js';

// The values test/e2e/scenarios/failing-build.json writes into config/build.env.
const SECRETS = {
  awsSecretKey: 'mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU',
  awsAccessKeyId: 'AKIA4Q24M3S7P2YU3ND2',
  dbPassword: 'hunter2',
  email: 'jane.doe@example.com',
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every file under the data dir that holds any of the raw values, byte for byte. */
function leaks(dataDir: string, extra: Record<string, Buffer> = {}): string[] {
  const found: string[] = [];
  const blobs: [string, Buffer][] = [...filesUnder(dataDir).map((f): [string, Buffer] => [f, fs.readFileSync(f)]), ...Object.entries(extra)];
  for (const [name, bytes] of blobs) {
    for (const [what, value] of Object.entries(SECRETS)) {
      if (bytes.includes(Buffer.from(value))) found.push(`${what} in ${name}`);
    }
  }
  return found;
}

let t: TempRbk;
let d: DaemonProcess;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  t = makeDataDir();
  d = await startDaemon(t);
});

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('redaction with the real Claude Code CLI', () => {
  it('failing-build: no raw secret anywhere in the data dir, the WAL included, yet the redacted evidence is there', async () => {
    const run = await runClaude({
      scenario: 'failing-build',
      home: path.join(t.root, 'claude', 'home'),
      project: path.join(t.root, 'claude', 'project'),
      hookCommand: `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`,
      extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result.session_id as string;

    // The secrets really were in what Claude Code handed over: the transcript has them raw.
    const transcript = fs.readFileSync(run.transcriptPath!, 'utf8');
    for (const value of Object.values(SECRETS)) expect(transcript).toContain(value);

    // Wait until both sources are in: every hook event and the failing tool result from the transcript.
    await waitFor(
      'hook events and transcript ingested',
      () => {
        const hooks = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events WHERE session_id = ?', sessionId)!.n;
        const results = queryOne<{ n: number }>(t, "SELECT count(*) AS n FROM interactions WHERE session_id = ? AND kind = 'tool_result'", sessionId)!.n;
        return hooks >= 8 && results >= 2;
      },
      30_000,
    );

    // The evidence is kept, redacted: structure and a correlatable token stay where the secret was.
    const failure = queryOne<{ payload: string }>(t, "SELECT payload FROM hook_events WHERE session_id = ? AND event_name = 'PostToolUseFailure'", sessionId)!;
    expect(failure.payload).toMatch(/AWS_SECRET_ACCESS_KEY=\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]/);
    expect(failure.payload).toMatch(/postgres:\/\/admin:\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]@db\.internal/);
    expect(failure.payload).toMatch(/AWS_ACCESS_KEY_ID=\[REDACTED:aws-access-key-id:[0-9a-f]{6}\]/);
    expect(failure.payload).toMatch(/RELEASE_CONTACT=\[REDACTED:email:[0-9a-f]{6}\]/);
    const result = queryOne<{ text: string; raw: string | null }>(
      t,
      "SELECT rbk_text(text) AS text, rbk_line(text, tool_input, tool_use_result, raw) AS raw FROM interactions WHERE session_id = ? AND kind = 'tool_result' AND is_error = 1",
      sessionId,
    )!;
    expect(result.text).toContain('generated/ directory is missing');
    expect(result.text).toMatch(/\[REDACTED:/);

    // Live files first (the WAL still holds the recent pages), then again after a clean stop.
    // Packed values are compressed: the store is also searched unpacked.
    expect(leaks(t.dataDir, { 'daemon log': Buffer.from(d.log()), 'the store, unpacked': plainStoreContent(t.db) })).toEqual([]);
    await d.stop();
    expect(leaks(t.dataDir, { 'daemon log': Buffer.from(d.log()), 'the store, unpacked': plainStoreContent(t.db) })).toEqual([]);
  }, 180_000);
});
