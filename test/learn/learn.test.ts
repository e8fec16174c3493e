// rbk learn through the real daemon and CLI, over the real fixture sessions (Claude Code's own
// transcripts from test/fixtures) plus hand-written ones: golden postmortems, runbook proposals
// that `git apply --check` accepts, apply-then-no-op, cross-session retrieval, incidents,
// learnings with provenance, output locations, --query and --incident-id, and redaction.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { E2E_CAPTURED, TRANSCRIPTS, filesUnder, learnJson, matchesGolden, writeSession, type Step } from './support.js';

const FAILING_BUILD = '49614653-89bf-462c-9741-3e1bae46895c';
const FAILING_BUILD_TWIN = 'b279f361-5e0f-4e9f-bb1f-46fbe8aab9f3';
const AGENT = '6e638fb7-70a0-490c-b081-978d2d030420';
const SNIFFLY = 'fed8ce56-bc79-401f-a83e-af084253362f';
const VIEWER = '5c0375b4-57a5-4f26-b12d-d022ee4e51b7';
const SPOTTER_SHORT = '55604662-cf2a-4331-851a-ec234028f8ca';
const SPOTTER_LONG = 'ae4a77f8-aedd-4bc1-888f-c94edc91af04';
const ALICE = 'a11ce000-0000-4000-8000-000000000001';
const BOB = 'b0b00000-0000-4000-8000-000000000002';

const SECRETS = ['AKIA4Q24M3S7P2YU3ND2', 'mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU', 'hunter2', 'jane.doe@example.com', 's3cr3tP4ssw0rd'];

let t: TempRbk;
let d: DaemonProcess;
let runbooks: string;
let aliceCwd: string;

/** The same failure at two different paths, ports and timings; Bob's output also leaks a secret. */
function shopSession(cwd: string, ms: number, extra: string): Step[] {
  return [
    { prompt: 'the shop server does not start' },
    { say: 'Let me start it and look at the error.' },
    {
      bash: 'npm start',
      error: true,
      output: `Exit code 1\n> shop@1.0.0 start\n> node dist/server.js\n${extra}node:internal/modules/cjs/loader:1228\nError: Cannot find module '${cwd}/dist/server.js' after ${ms} ms (pid ${ms * 7})\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)`,
    },
    { say: 'The compiled output is missing because the build never ran. I will build first.' },
    { bash: 'npm run build', output: '> shop@1.0.0 build\n> tsc -p .\n' },
    { bash: 'npm start', output: 'listening on :8080' },
    { say: 'Root cause: dist/server.js did not exist because `npm run build` had not been run. Fix: ran npm run build; npm start now listens on :8080.' },
  ];
}

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  runbooks = path.join(t.root, 'runbooks');
  fs.mkdirSync(runbooks);
  fs.writeFileSync(path.join(runbooks, 'build.md'), '# Build\n\nBuild with `sh scripts/build.sh`. If the build fails, read the error first.\n');
  fs.writeFileSync(path.join(runbooks, 'deploy.md'), '# Deploy\n\nDeploys go out with the release script.');
  t.writeConfig(`metrics: { enabled: false }\nlearning:\n  runbookDir: ${JSON.stringify(runbooks)}\n`);
  const projects = path.join(t.root, 'projects');
  aliceCwd = path.join(t.root, 'home', 'alice', 'work', 'shop');
  fs.mkdirSync(aliceCwd, { recursive: true });
  writeSession(projects, { sessionId: ALICE, cwd: aliceCwd, start: '2026-01-05T09:00:00Z', steps: shopSession(aliceCwd, 1234, '') });
  const bobCwd = '/srv/ci/bob/shop-checkout';
  writeSession(projects, {
    sessionId: BOB,
    cwd: bobCwd,
    start: '2026-02-10T14:00:00Z',
    steps: shopSession(bobCwd, 87, 'DATABASE_URL=postgres://svc:s3cr3tP4ssw0rd@db.internal:5432/shop\n'),
  });
  d = await startDaemon(t);
  const imp = await runCli(t, ['import', E2E_CAPTURED, TRANSCRIPTS, projects, '--json'], { timeoutMs: 120_000 });
  expect(imp.code, imp.stderr).toBe(0);
  expect(JSON.parse(imp.stdout).errors).toEqual([]);
}, 180_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('golden postmortems of real fixture sessions (extractive)', () => {
  const cases: [string, string][] = [
    ['failing-build', FAILING_BUILD],
    ['agent-investigation', AGENT],
    ['sniffly-push', SNIFFLY],
    ['viewer-legacy-subagents', VIEWER],
    ['spotter-rejected', SPOTTER_SHORT],
  ];
  for (const [name, id] of cases) {
    it(`${name}: the postmortem and knowledge docs match the reviewed golden files`, async () => {
      const out = path.join(t.root, 'golden-out', name);
      const r = await learnJson(t, [id, '--out', out]);
      expect(r.synthesizer).toEqual({ requested: 'extractive', used: 'extractive', fallbackReason: null });
      const pm = fs.readFileSync(r.postmortem.path, 'utf8');
      const g = matchesGolden(`${name}.postmortem.md`, pm);
      expect(g.actual).toBe(g.expected);
      for (const k of r.knowledge) {
        const kg = matchesGolden(`${name}.knowledge.${path.basename(k.path)}`, fs.readFileSync(k.path, 'utf8'));
        expect(kg.actual).toBe(kg.expected);
      }
      // Every section, in the order the issue asks for.
      const headings = pm
        .split('\n')
        .filter((l) => l.startsWith('## '))
        .map((l) => l.slice(3));
      expect(headings).toEqual([
        'Summary',
        'Impact',
        'Timeline',
        'Detection',
        'Root cause',
        'Resolution',
        'What went well',
        'What went poorly',
        'Action items',
        'Evidence',
      ]);
      // Every cited evidence number is listed, with an interaction id from the session.
      const cited = new Set([...pm.matchAll(/\[E(\d+)\]\(#e\d+\)/g)].map((m) => m[1]));
      for (const n of cited) expect(pm).toMatch(new RegExp(`<a id="e${n}"></a>\\*\\*E${n}\\*\\* \x60[0-9a-z-]{16,36}\x60`));
      // The timeline is in true order.
      const times = r.postmortem.sections.timeline.map((x) => Date.parse(x.at));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    });
  }

  it('failing-build: names the failing command, its error, the fix, and orders the timeline', async () => {
    const r = await learnJson(t, [FAILING_BUILD, '--out', path.join(t.root, 'fb-check')]);
    const pm = fs.readFileSync(r.postmortem.path, 'utf8');
    // The check is the build script, not the `cat` chained before it.
    expect(pm).toContain('Incident: `sh scripts/build.sh` failed with "build error: generated/ directory is missing (run codegen first)"');
    expect(pm).toContain('- Status: resolved and verified in the session');
    expect(pm).toContain('Fixed by running `mkdir -p generated`; verified by `sh scripts/build.sh` passing.');
    expect(pm).toMatch(/## Resolution\n\n- Fix: `mkdir -p generated`\. \[E4\]\(#e4\)\n- Verified: `sh scripts\/build\.sh` passed\./);
    expect(pm).toMatch(/Impact\n\n- User-facing impact: unknown/);
    const tl = r.postmortem.sections.timeline.map((x) => x.text);
    const at = (re: RegExp) => tl.findIndex((x) => re.test(x));
    expect(at(/^Prompt: "The build is failing/)).toBe(0);
    expect(at(/^`cat config\/build.env && sh scripts\/build.sh` failed/)).toBeGreaterThan(at(/^Prompt/));
    expect(at(/^`mkdir -p generated && sh scripts\/build.sh` passed/)).toBeGreaterThan(at(/failed/));
    expect(at(/^Final answer: "Root cause/)).toBe(tl.length - 1);
    // Redaction holds: the env file's secrets were in the failing output.
    for (const f of filesUnder(path.join(t.root, 'fb-check'))) for (const s of SECRETS) expect(fs.readFileSync(f, 'utf8')).not.toContain(s);
    // The failing output was the env file and then the error: its excerpt is the error line alone.
    expect(pm).not.toContain('AWS_ACCESS_KEY_ID');
  });

  it('agent-investigation: the subagent span and its report are in the timeline, in order', async () => {
    const r = await learnJson(t, [AGENT, '--out', path.join(t.root, 'agent-check')]);
    const tl = r.postmortem.sections.timeline.map((x) => x.text);
    const span = tl.findIndex((x) => x.startsWith('Subagent started: general-purpose: Find TODO comments'));
    const grep = tl.findIndex((x) => x.startsWith('`grep -rn TODO src || true` ok (subagent'));
    const report = tl.findIndex((x) => /^Subagent a608307b reported: "Found 2 TODOs/.test(x));
    const answer = tl.findIndex((x) => x.startsWith('Final answer: "There are 2 open TODOs'));
    expect(span).toBeGreaterThan(0);
    expect(grep).toBeGreaterThan(span);
    expect(report).toBeGreaterThan(grep);
    expect(answer).toBe(tl.length - 1);
    expect(r.signatures).toEqual([]);
    expect(r.proposals).toEqual([]);
  });
});

describe('runbook update proposals', () => {
  it('update an existing runbook and create new ones; git apply --check accepts every patch', async () => {
    const r = await learnJson(t, [FAILING_BUILD, '--out', path.join(t.root, 'proposals-1')]);
    expect(r.runbookDir).toBe(runbooks);
    expect(r.proposals.map((p) => [path.basename(p.runbook), p.kind])).toEqual([['build.md', 'update']]);
    const patch = fs.readFileSync(r.proposals[0]!.path, 'utf8');
    for (const section of ['### Symptom', '### Diagnosis steps', '### Fix', '### Verification']) expect(patch).toContain(`+${section}`);
    expect(patch).toContain('+1. Reproduce: `sh scripts/build.sh`.');
    expect(patch).toContain('+1. Run:\n+\n+   ```sh\n+   mkdir -p generated\n+   ```');
    const check = spawnSync('git', ['apply', '--check', '--verbose', r.proposals[0]!.path], { cwd: runbooks, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);

    // A long real session: several new runbooks (no sample runbook is about pre-commit hooks).
    const long = await learnJson(t, [SPOTTER_LONG, '--out', path.join(t.root, 'proposals-long')]);
    expect(long.proposals.length).toBeGreaterThanOrEqual(2);
    expect(long.proposals.every((p) => p.kind === 'new')).toBe(true);
    for (const p of long.proposals) {
      const c = spawnSync('git', ['apply', '--check', p.path], { cwd: runbooks, encoding: 'utf8' });
      expect(c.status, `${p.path}: ${c.stderr}`).toBe(0);
    }
    expect(fs.readdirSync(runbooks).sort()).toEqual(['build.md', 'deploy.md']);
  }, 60_000);

  it('--apply-runbook-updates applies them, reports what changed, and a second run is a no-op', async () => {
    const sample = fs.readFileSync(path.join(runbooks, 'build.md'), 'utf8');
    const first = await learnJson(t, [FAILING_BUILD, '--out', path.join(t.root, 'apply-1'), '--apply-runbook-updates']);
    expect(first.applied).toEqual({ changed: [{ file: 'build.md', kind: 'update' }], conflicts: [] });
    const after = fs.readFileSync(path.join(runbooks, 'build.md'), 'utf8');
    expect(after.startsWith(sample)).toBe(true);
    expect(after).toContain('<!-- rbk:sig_');
    // What was applied is exactly the proposal: git applies the patch to the original too.
    const copy = path.join(t.root, 'apply-copy');
    fs.mkdirSync(copy);
    fs.writeFileSync(path.join(copy, 'build.md'), sample);
    execFileSync('git', ['apply', first.proposals[0]!.path], { cwd: copy });
    expect(fs.readFileSync(path.join(copy, 'build.md'), 'utf8')).toBe(after);

    const second = await learnJson(t, [FAILING_BUILD, '--out', path.join(t.root, 'apply-2'), '--apply-runbook-updates']);
    expect(second.applied).toEqual({ changed: [], conflicts: [] });
    expect(second.proposals).toEqual([]);
    expect(second.alreadyInRunbooks.map((a) => path.basename(a.runbook))).toEqual(['build.md']);
    expect(fs.readFileSync(path.join(runbooks, 'build.md'), 'utf8')).toBe(after);
    const text = await runCli(t, ['learn', FAILING_BUILD, '--out', path.join(t.root, 'apply-3'), '--apply-runbook-updates']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('runbook updates: nothing to apply');
  });
});

describe('cross-session retrieval and incidents', () => {
  it('the same failure at different paths has one signature, and the later postmortem cites the earlier session', async () => {
    const a = await learnJson(t, [ALICE, '--out', path.join(t.root, 'alice')]);
    const b = await learnJson(t, [BOB, '--out', path.join(t.root, 'bob')]);
    expect(a.signatures).toHaveLength(1);
    expect(b.signatures.map((s) => s.id)).toEqual(a.signatures.map((s) => s.id));
    expect(a.signatures[0]!.text).toBe("Bash: Error: Cannot find module '<path>' after <n> ms (pid <n>)");
    expect(b.signatures[0]!.seenBefore).toMatchObject([{ sessionId: ALICE, resolved: true, fix: 'running `npm run build`' }]);
    const pm = fs.readFileSync(b.postmortem.path, 'utf8');
    expect(pm).toContain('seen before in 1 other session (a11ce000); fixed by running `npm run build`');
    for (const f of filesUnder(path.join(t.root, 'bob'))) expect(fs.readFileSync(f, 'utf8')).not.toContain('s3cr3tP4ssw0rd');
    const k = fs.readFileSync(b.knowledge[0]!.path, 'utf8');
    expect(k).toMatch(
      /sessions:\n {2}- a11ce000-0000-4000-8000-000000000001\n {2}- b0b00000-0000-4000-8000-000000000002\nfirst_seen: 2026-01-05T09:00:30Z\nlast_seen: 2026-02-10T14:00:30Z/,
    );
  });

  it('rbk incidents clusters the same failure across sessions, with how it was resolved', async () => {
    const r = await runCli(t, ['incidents', '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const incidents = (
      JSON.parse(r.stdout) as {
        incidents: {
          signature: string;
          count: number;
          sessions: string[];
          firstSeenAt: string;
          lastSeenAt: string;
          resolved: boolean;
          fixes: { fix: string; sessions: number }[];
        }[];
      }
    ).incidents;
    const build = incidents.find((i) => i.signature.startsWith('Bash: build error: <path> directory is missing'));
    expect(build).toMatchObject({ count: 2, resolved: true, fixes: [{ fix: 'running `mkdir -p generated`', sessions: 2 }] });
    expect(build!.sessions.sort()).toEqual([FAILING_BUILD, FAILING_BUILD_TWIN].sort());
    const shop = incidents.find((i) => i.signature.startsWith("Bash: Error: Cannot find module '<path>'"));
    expect(shop).toMatchObject({
      count: 2,
      sessions: [ALICE, BOB],
      firstSeenAt: '2026-01-05T09:00:30.000Z',
      lastSeenAt: '2026-02-10T14:00:30.000Z',
      resolved: true,
    });
    // By default an incident is a failure seen in two sessions or more: one-off errors are left out.
    expect(incidents.length).toBeGreaterThan(0);
    expect(incidents.every((i) => i.sessions.length >= 2)).toBe(true);
    expect(incidents.some((i) => i.signature === 'Edit: String to replace not found in file.')).toBe(false);
    // --min-sessions 1 lists every failure, multi-session clusters first; the spotter session's are there too.
    const all = await runCli(t, ['incidents', '--json', '--min-sessions', '1'], { timeoutMs: 60_000 });
    const every = (JSON.parse(all.stdout) as { incidents: { signature: string; count: number; sessions: string[]; resolved: boolean }[] }).incidents;
    expect(every[0]!.sessions.length).toBe(2);
    // Only incidents are clustered: the spotter session's commit-hook failures, not its missteps
    // (an Edit whose old string was not found, a Read of a file that is not there).
    expect(every.some((i) => i.sessions.length === 1 && i.sessions[0] === SPOTTER_LONG && i.resolved)).toBe(true);
    expect(every.some((i) => /String to replace not found|File does not exist/.test(i.signature))).toBe(false);
    const text = await runCli(t, ['incidents']);
    expect(text.stdout).toContain('sig_');
  });

  it('rbk learnings lists what was learned, and show gives its provenance', async () => {
    const list = await runCli(t, ['learnings', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const learnings = (JSON.parse(list.stdout) as { learnings: { id: string; kind: string; signature: string; sessions: number; fix: string }[] }).learnings;
    const shop = learnings.find((l) => l.signature.startsWith('Bash: Error: Cannot find module'));
    expect(shop).toMatchObject({ kind: 'fix', sessions: 2, fix: 'running `npm run build`' });
    const show = await runCli(t, ['learnings', 'show', shop!.id.slice(0, 10), '--json']);
    expect(show.code, show.stderr).toBe(0);
    const s = JSON.parse(show.stdout) as { learning: { id: string }; sources: { sessionId: string; refs: string[] }[] };
    expect(s.learning.id).toBe(shop!.id);
    expect(s.sources.map((x) => x.sessionId).sort()).toEqual([ALICE, BOB]);
    expect(s.sources[0]!.refs.length).toBeGreaterThan(0);
    const missing = await runCli(t, ['learnings', 'show', 'lrn_doesnotexist']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('rbk learnings');
  });
});

describe('where outputs go, and the options', () => {
  it("writes under the session's project .runbook/ when writable, else the data dir; --incident-id names the files", async () => {
    const a = await learnJson(t, [ALICE.slice(0, 8), '--incident-id', 'INC-42']);
    expect(a.outputDir).toBe(path.join(aliceCwd, '.runbook'));
    expect(a.postmortem.path).toBe(path.join(aliceCwd, '.runbook', 'postmortems', 'INC-42.md'));
    expect(a.incidentId).toBe('INC-42');
    expect(fs.readFileSync(a.postmortem.path, 'utf8')).toContain('- Incident: `INC-42`');
    expect(a.proposals.every((p) => path.basename(p.path).startsWith('INC-42-'))).toBe(true);
    const b = await learnJson(t, [BOB]);
    expect(b.outputDir).toBe(path.join(t.dataDir, 'runbook'));
    expect(fs.existsSync(path.join(t.dataDir, 'runbook', 'postmortems', `${BOB}.md`))).toBe(true);
  });

  it('refuses an incident id that is not a safe file name, and an unknown session', async () => {
    for (const bad of ['../etc/passwd', 'a/b', '.hidden', '']) {
      const r = await runCli(t, ['learn', ALICE, '--incident-id', bad]);
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
    }
    expect(fs.existsSync(path.join(t.root, 'etc'))).toBe(false);
    const missing = await runCli(t, ['learn', 'ffffffff']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('rbk sessions');
  });

  it('--query focuses on the part of a long session that matches', async () => {
    const all = await learnJson(t, [SPOTTER_LONG, '--out', path.join(t.root, 'q-all')]);
    const q = await learnJson(t, [SPOTTER_LONG, '--query', 'conn_case', '--out', path.join(t.root, 'q-conn')]);
    expect(q.focus.matchedRefs.length).toBeGreaterThan(0);
    expect(q.focus.entries).toBeLessThan(all.focus.entries);
    // The focus is the one ask (prompt to next prompt) that mentions conn_case: about a third of it.
    expect(q.focus.entries).toBeLessThan(all.focus.entries / 2);
    expect(all.incidents.length).toBeGreaterThanOrEqual(2);
    // In it, reading a file that is not there was a slip while looking, not an incident.
    expect(q.incidents).toEqual([]);
    expect(q.missteps.map((m) => m.command)).toEqual(['test/support/conn_case.ex']);
    expect(fs.readFileSync(q.postmortem.path, 'utf8')).toContain('- Focus: the part of the session matching "conn_case"');
    const none = await runCli(t, ['learn', SPOTTER_LONG, '--query', 'zzqxjv nonexistentword']);
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('rbk sessions search');
  });
});
