// rbk learn on sessions the REAL Claude Code CLI just produced (offline, scripted by the model
// stand-in), captured live by rbk's hook and daemon: the failing build (twice, in two project
// directories at different paths) and an investigation that used a subagent.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_BUNDLE, assertBuilt, makeDataDir, runCli, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { findClaudeBinary, runClaude } from '../e2e/support/claude.js';
import { shellQuote } from '../e2e/support/hook-recorder.js';
import { learnJson } from './support.js';

let t: TempRbk;
let d: DaemonProcess;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  t = makeDataDir({ config: 'metrics: { enabled: false }\n' });
  d = await startDaemon(t);
}, 600_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

async function claude(scenario: string, project: string): Promise<string> {
  const run = await runClaude({
    scenario,
    home: path.join(t.root, 'home'),
    project,
    hookCommand: `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`,
    extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
  });
  expect(run.exitCode, `claude failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
  const id = run.sessionId!;
  // The transcript is tailed after the hooks: wait until the final answer is stored.
  await waitFor(
    'the final answer to be ingested',
    async () => {
      const show = await runCli(t, ['sessions', 'show', id, '--json']);
      if (show.code !== 0) return false;
      const tl = (JSON.parse(show.stdout) as { timeline: { kind: string; agentId: string }[] }).timeline;
      return tl.filter((e) => e.kind === 'assistant' && !e.agentId).length >= (scenario === 'failing-build' ? 3 : 2);
    },
    30_000,
  );
  return id;
}

describe('rbk learn on real Claude Code sessions', () => {
  it('failing build fixed by a command: the postmortem names the command, its error, the fix, in true order; the second project cites the first', async () => {
    const first = await claude('failing-build', path.join(t.root, 'work', 'alpha'));
    const second = await claude('failing-build', path.join(t.root, 'srv', 'beta-service'));
    expect(second).not.toBe(first);

    const a = await learnJson(t, [first]);
    // The project dir is writable: outputs go to its .runbook/.
    expect(a.outputDir).toBe(path.join(fs.realpathSync(path.join(t.root, 'work', 'alpha')), '.runbook'));
    const pm = fs.readFileSync(a.postmortem.path, 'utf8');
    expect(pm).toContain('Incident: `sh scripts/build.sh` failed with "build error: generated/ directory is missing (run codegen first)"');
    expect(pm).toContain('Fixed by running `mkdir -p generated`; verified by `sh scripts/build.sh` passing.');
    const tl = a.postmortem.sections.timeline;
    expect(tl.map((x) => x.text.slice(0, 20))).toEqual(['Prompt: "The build i', '`cat config/build.en', '`mkdir -p generated ', 'Final answer: "Root ']);
    const times = tl.map((x) => Date.parse(x.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(a.proposals).toHaveLength(1);
    for (const f of [a.postmortem.path, ...a.proposals.map((p) => p.path), ...a.knowledge.map((k) => k.path)]) {
      const text = fs.readFileSync(f, 'utf8');
      for (const secret of ['AKIA4Q24M3S7P2YU3ND2', 'mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU', 'hunter2', 'jane.doe@example.com'])
        expect(text).not.toContain(secret);
    }

    const b = await learnJson(t, [second, '--incident-id', 'INC-7']);
    expect(b.signatures.map((s) => s.id)).toEqual(a.signatures.map((s) => s.id));
    expect(b.signatures[0]!.seenBefore.map((p) => p.sessionId)).toEqual([first]);
    expect(fs.readFileSync(b.postmortem.path, 'utf8')).toContain(
      `seen before in 1 other session (${first.slice(0, 8)}); fixed by running \`mkdir -p generated\``,
    );
    expect(path.basename(b.postmortem.path)).toBe('INC-7.md');

    const inc = await runCli(t, ['incidents', '--json']);
    const cluster = (JSON.parse(inc.stdout) as { incidents: { sessions: string[]; count: number; resolved: boolean }[] }).incidents[0]!;
    expect(cluster).toMatchObject({ count: 2, resolved: true });
    expect(cluster.sessions.sort()).toEqual([first, second].sort());
  }, 300_000);

  it('an investigation that used a subagent: the subagent, its finding and the answer, in order', async () => {
    const id = await claude('agent-investigation', path.join(t.root, 'work', 'todos'));
    await waitFor(
      'the subagent to be linked',
      async () => {
        const show = await runCli(t, ['sessions', 'show', id, '--json']);
        return (JSON.parse(show.stdout) as { session: { counts: { subagents: number } } }).session.counts.subagents === 1;
      },
      30_000,
    );
    const r = await learnJson(t, [id, '--out', path.join(t.root, 'agent-out')]);
    const tl = r.postmortem.sections.timeline.map((x) => x.text);
    const idx = (re: RegExp) => tl.findIndex((x) => re.test(x));
    expect(idx(/^Prompt: "Find the open TODOs/)).toBe(0);
    expect(idx(/^Subagent started: general-purpose: Find TODO comments/)).toBeGreaterThan(0);
    expect(idx(/^`grep -rn TODO src \|\| true` ok \(subagent/)).toBeGreaterThan(idx(/^Subagent started/));
    expect(idx(/^Subagent [0-9a-f]{8} reported: "Found 2 TODOs/)).toBeGreaterThan(idx(/^`grep/));
    expect(idx(/^Final answer: "There are 2 open TODOs/)).toBe(tl.length - 1);
    const pm = fs.readFileSync(r.postmortem.path, 'utf8');
    expect(pm).toContain('Work was delegated to a subagent, which reported back: "Found 2 TODOs');
  }, 300_000);
});
