// `rbk learn` on a session pulled from the central copy (issue 7: "works on sessions indexed
// locally and on sessions pulled from the central copy"). Machine A (a real daemon, host
// laptop-a) captures the real failing-build Claude Code session (its hooks through the hook, its
// transcript through `rbk import`) and `rbk sync`s it to s3rver; machine B (host desk-b, its own
// data dir, no transcript of that session anywhere) runs `rbk pull`, then `rbk learn`. B's
// postmortem names the failing command, the error and the fix, with its timeline in true order,
// and equals A's but for the lines that legitimately differ.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, queryOne, runCli, runHook, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { MANUAL_ONLY, S3_ENV, s3ConfigYaml, startS3rver, type S3Server } from '../sync/support.js';
import { E2E_CAPTURED, filesUnder, type LearnJson } from './support.js';

const FAILING_BUILD = '49614653-89bf-462c-9741-3e1bae46895c';
const SECRETS = ['AKIA4Q24M3S7P2YU3ND2', 'mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU'];

let s3: S3Server;
let a: TempRbk;
let b: TempRbk;
let da: DaemonProcess;
let db: DaemonProcess;
const envA = { ...S3_ENV, RBK_HOSTNAME: 'laptop-a' };
const envB = { ...S3_ENV, RBK_HOSTNAME: 'desk-b' };

async function learnOn(t: TempRbk, env: Record<string, string>, args: string[]): Promise<LearnJson> {
  const r = await runCli(t, ['learn', ...args, '--json'], { env, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`rbk learn ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as LearnJson;
}

beforeAll(async () => {
  assertBuilt();
  s3 = await startS3rver({ bucket: 'rbk-learn' });
  const config = s3ConfigYaml(s3, { prefix: 'team', extra: MANUAL_ONLY });
  a = makeDataDir({ config });
  b = makeDataDir({ config });
  da = await startDaemon(a, { env: envA });
  db = await startDaemon(b, { env: envB });
  const hooks = path.join(E2E_CAPTURED, 'failing-build', 'hooks');
  for (const f of fs.readdirSync(hooks).sort()) {
    const r = await runHook(a, fs.readFileSync(path.join(hooks, f)), { env: envA });
    expect(r.code).toBe(0);
  }
  const imported = await runCli(a, ['import', path.join(E2E_CAPTURED, 'failing-build', 'projects'), '--json'], { env: envA, timeoutMs: 60_000 });
  expect(imported.code, imported.stderr).toBe(0);
  const synced = await runCli(a, ['sync', '--now', '--json'], { env: envA, timeoutMs: 60_000 });
  expect(synced.code, synced.stderr).toBe(0);
  expect(JSON.parse(synced.stdout).sessions.uploaded).toBe(1);
  const pulled = await runCli(b, ['pull', '--json'], { env: envB, timeoutMs: 60_000 });
  expect(pulled.code, pulled.stderr).toBe(0);
  expect(JSON.parse(pulled.stdout)).toMatchObject({ sessionsAdded: 1, skipped: {} });
}, 120_000);

afterAll(async () => {
  await da?.stop();
  await db?.stop();
  await s3?.dispose();
  a?.cleanup();
  b?.cleanup();
});

/** Every file under dir, relative path → text, with the machine's own output dir masked. */
function outputs(dir: string): Map<string, string> {
  return new Map(filesUnder(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f, 'utf8').split(dir).join('<out>')]));
}

/** The lines of b that are not the same line of a, as "file:line: A | B". */
function lineDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, textA] of a) {
    const la = textA.split('\n');
    const lb = (b.get(file) ?? '').split('\n');
    for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) out.push(`${file}:${i + 1}: ${la[i]} | ${lb[i]}`);
  }
  return out;
}

describe('rbk learn on a pulled session', () => {
  it("B's postmortem names the failing command, the error and the fix, in true order, and equals A's", async () => {
    expect(queryOne(b, `SELECT pulled_from, origin, transcript_path FROM sessions WHERE id = ?`, FAILING_BUILD)).toEqual({
      pulled_from: 'laptop-a',
      origin: 'pull',
      transcript_path: null,
    });
    const outA = path.join(a.root, 'learn-out');
    const outB = path.join(b.root, 'learn-out');
    const ra = await learnOn(a, envA, [FAILING_BUILD, '--out', outA]);
    const rb = await learnOn(b, envB, [FAILING_BUILD, '--out', outB]);

    const pm = fs.readFileSync(rb.postmortem.path, 'utf8');
    expect(pm).toContain('Incident: `sh scripts/build.sh` failed with "build error: generated/ directory is missing (run codegen first)"');
    expect(pm).toContain('Fixed by running `mkdir -p generated`; verified by `sh scripts/build.sh` passing.');
    // One failure, fixed on the first try: "what went poorly" names it instead of claiming none.
    const poorly = pm.slice(pm.indexOf('## What went poorly'), pm.indexOf('## Action items'));
    expect(poorly).toContain('failed once and the first change fixed it');
    expect(poorly).not.toContain('no failed');
    const tl = rb.postmortem.sections.timeline;
    expect(tl.map((x) => x.text.slice(0, 20))).toEqual(['Prompt: "The build i', '`cat config/build.en', '`mkdir -p generated ', 'Final answer: "Root ']);
    const times = tl.map((x) => Date.parse(x.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(rb.signatures).toMatchObject([
      { text: 'Bash: build error: <path> directory is missing (run codegen first)', resolved: true, fix: 'running `mkdir -p generated`' },
    ]);
    for (const f of filesUnder(outB)) for (const s of SECRETS) expect(fs.readFileSync(f, 'utf8')).not.toContain(s);

    // The same evidence: the pull keeps interaction ids, times, kinds and (already redacted) text.
    expect(rb.postmortem.sections).toEqual(ra.postmortem.sections);
    expect(rb.signatures).toEqual(ra.signatures);
    // File by file, line by line: the postmortem, the proposal and the knowledge doc are identical
    // (the proposal names its runbook dir relative to the output dir, so no machine path differs).
    const filesA = outputs(outA);
    const filesB = outputs(outB);
    expect([...filesB.keys()]).toEqual([...filesA.keys()]);
    expect([...filesB.keys()].map((f) => f.split('/')[0])).toEqual(['knowledge', 'postmortems', 'proposals']);
    expect(lineDiff(filesA, filesB)).toEqual([]);
    expect(fs.readFileSync(rb.proposals[0]!.path, 'utf8')).toMatch(/^Runbook dir: \.\.\/runbooks \(relative to this file\)$/m);
  });

  it("with no --out, B writes to its data dir: the session's project dir is A's, not on this machine", async () => {
    expect(fs.existsSync('/e2e/project')).toBe(false);
    const rb = await learnOn(b, envB, [FAILING_BUILD.slice(0, 8), '--incident-id', 'INC-7']);
    expect(rb.outputDir).toBe(path.join(b.dataDir, 'runbook'));
    expect(rb.outputDirReason).toMatch(/not writable \(or the project is gone\)/);
    expect(rb.postmortem.path).toBe(path.join(b.dataDir, 'runbook', 'postmortems', 'INC-7.md'));
    expect(fs.readFileSync(rb.postmortem.path, 'utf8')).toContain('- Incident: `INC-7`');
    // What B learned is stored on B, with its provenance; A's store is untouched by B's runs.
    const list = await runCli(b, ['learnings', '--json'], { env: envB });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).learnings).toMatchObject([{ id: 'lrn_1ec4638c9d3d', kind: 'fix', sessions: 1 }]);
    expect(queryOne(a, `SELECT count(*) AS n FROM learn_runs`)).toEqual({ n: 1 });
    expect(queryOne(b, `SELECT count(*) AS n FROM learn_runs`)).toEqual({ n: 2 });
  });
});
