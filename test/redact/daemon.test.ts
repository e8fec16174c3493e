// Redaction through the real daemon: `redaction.mode: cron` stores first and redacts on the job;
// a rule added later reaches rows stored before it (redaction_version); `rbk redact --dry-run`
// reports per rule and changes nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { assertBuilt, hookPayload, makeDataDir, queryAll, runCli, runHook, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';

const GITHUB_TOKEN = 'ghp_R4nd0mL00k1ngT0k3nV4lu3Xq9Zp2Wm7Kd8Yb';
const INTERNAL_TOKEN = 'itk_4f9c2b7e1a0d5c8b3e6f9a2d7c4b1e8f';

let t: TempRbk | undefined;
let d: DaemonProcess | undefined;

afterEach(async () => {
  await d?.stop();
  t?.cleanup();
  d = undefined;
  t = undefined;
});

async function sendToolOutput(t: TempRbk, sessionId: string, output: string): Promise<void> {
  const before = queryAll<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events')[0]?.n ?? 0;
  const r = await runHook(
    t,
    hookPayload('PostToolUse', sessionId, { tool_name: 'Bash', tool_use_id: `toolu_${Date.now()}`, tool_response: { stdout: output } }),
  );
  expect(r.code).toBe(0);
  await waitFor('the event stored', () => (queryAll<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events')[0]!.n > before ? true : undefined));
}

function payloads(t: TempRbk): { payload: string; redaction_version: string | null }[] {
  return queryAll(t, 'SELECT payload, redaction_version FROM hook_events ORDER BY seq');
}

describe('redaction in the daemon', () => {
  it('mode cron: stored as received, reported by --dry-run without changes, redacted by the job', async () => {
    assertBuilt();
    t = makeDataDir({ config: 'redaction:\n  mode: cron\n' });
    d = await startDaemon(t);
    await sendToolOutput(t, 'cron-session', `export GITHUB_TOKEN=${GITHUB_TOKEN}\nowner: ops@example.org`);
    expect(payloads(t)[0]!.payload).toContain(GITHUB_TOKEN);
    expect(payloads(t)[0]!.redaction_version).toBeNull();

    const dry = await runCli(t, ['redact', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as { dryRun: boolean; mode: string; rowsWithMatches: number; pendingRows: number; byRule: Record<string, number> };
    expect(report).toMatchObject({ dryRun: true, mode: 'cron', rowsWithMatches: 1, pendingRows: 1 });
    expect(report.byRule['github-token']).toBe(1);
    expect(report.byRule.email).toBe(1);
    // A dry run is a dry run.
    expect(payloads(t)[0]!.payload).toContain(GITHUB_TOKEN);

    const run = await runCli(t, ['jobs', 'run', 'redact', '--json', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ job: 'redact', status: 'ok', counts: { hookEvents: 1, rowsChanged: 1 } });
    const [row] = payloads(t);
    expect(row!.payload).not.toContain(GITHUB_TOKEN);
    expect(row!.payload).not.toContain('ops@example.org');
    expect(row!.payload).toMatch(/GITHUB_TOKEN=\[REDACTED:github-token:[0-9a-f]{6}\]/);
    expect(row!.redaction_version).toMatch(/^[0-9a-f]{12}$/);

    // Once at the current version, a second run has nothing to do.
    const again = await runCli(t, ['jobs', 'run', 'redact', '--json', '--yes']);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'ok', counts: { hookEvents: 0, interactions: 0 } });
  });

  it('a custom rule added later reaches rows stored before it', async () => {
    assertBuilt();
    t = makeDataDir({ config: 'redaction:\n  mode: ingest\n' });
    d = await startDaemon(t);
    await sendToolOutput(t, 'rule-session', `token issued: ${INTERNAL_TOKEN}`);
    const before = payloads(t)[0]!;
    // No built-in rule knows this format: it is stored as is, at the rule set of the day.
    expect(before.payload).toContain(INTERNAL_TOKEN);
    await d.stop();

    t.writeConfig(`redaction:\n  mode: ingest\n  customRules:\n    - id: internal-token\n      pattern: "itk_[0-9a-f]{32}"\n`);
    d = await startDaemon(t);
    const dry = JSON.parse((await runCli(t, ['redact', '--dry-run', '--json'])).stdout) as {
      version: string;
      pendingRows: number;
      byRule: Record<string, number>;
    };
    expect(dry.version).not.toBe(before.redaction_version);
    expect(dry.pendingRows).toBe(1);
    expect(dry.byRule['internal-token']).toBe(1);

    const run = await runCli(t, ['redact', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    const [after] = payloads(t);
    expect(after!.payload).not.toContain(INTERNAL_TOKEN);
    expect(after!.payload).toMatch(/\[REDACTED:internal-token:[0-9a-f]{6}\]/);
    expect(after!.redaction_version).toBe(dry.version);
  });
});
