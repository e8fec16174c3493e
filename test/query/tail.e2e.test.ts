// `rbk sessions tail -f` against the REAL Claude Code CLI: the tail runs as a subprocess while
// Claude Code (offline, scripted by the model stand-in) works through the failing-build
// scenario with rbk's real hook bundle registered; the hook events and the transcript's
// interactions must arrive on the tail as they are stored, and Ctrl-C must end it with exit 0.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  HOOK_BUNDLE,
  RBK_BIN,
  REPO_ROOT,
  assertBuilt,
  cleanEnv,
  hookPayload,
  makeDataDir,
  runHook,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { findClaudeBinary, runClaude } from '../e2e/support/claude.js';
import { shellQuote } from '../e2e/support/hook-recorder.js';

interface Event {
  source: 'hook' | 'interaction';
  seq: number;
  at: string | null;
  sessionId: string | null;
  kind: string;
  toolName: string | null;
  text: string;
  isError: boolean;
  ref: string;
}

let t: TempRbk;
let d: DaemonProcess;
let tail: ChildProcessWithoutNullStreams | undefined;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  t = makeDataDir();
  d = await startDaemon(t);
}, 600_000);

afterAll(async () => {
  if (tail && tail.exitCode === null) tail.kill('SIGKILL');
  await d?.stop();
  t?.cleanup();
});

it('tail -f streams the hook events and interactions of a live Claude Code session; SIGINT exits 0', async () => {
  tail = spawn(process.execPath, [RBK_BIN, 'sessions', 'tail', '-f', '--json', '-n', '0'], {
    cwd: REPO_ROOT,
    env: cleanEnv(t.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: Event[] = [];
  let buffered = '';
  let stderr = '';
  tail.stdout.on('data', (c: Buffer) => {
    buffered += c.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) events.push(JSON.parse(line) as Event);
    }
  });
  tail.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    tail!.on('close', (code, signal) => resolve({ code, signal })),
  );

  // The stream is live once an event sent now comes out of it.
  const probe = '00000000-0000-4000-8000-00000000beef';
  await waitFor(
    'the tail to be subscribed',
    async () => {
      await runHook(t, hookPayload('Notification', probe, { message: 'tail probe' }));
      return events.some((e) => e.sessionId === probe);
    },
    20_000,
    250,
  );

  const root = path.join(t.root, 'claude');
  const run = await runClaude({
    scenario: 'failing-build',
    home: path.join(root, 'home'),
    project: path.join(root, 'project'),
    hookCommand: `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`,
    extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_CONFIG: t.config },
  });
  expect(run.exitCode, `claude failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
  const sid = run.sessionId!;
  const mine = () => events.filter((e) => e.sessionId === sid);

  // Hook events arrive as the hooks fire; interactions as the daemon tails the transcript.
  await waitFor(
    'the session hook events on the tail',
    () =>
      mine()
        .filter((e) => e.source === 'hook')
        .map((e) => e.kind)
        .includes('SessionEnd'),
    20_000,
  );
  await waitFor('the failed tool result on the tail', () => mine().some((e) => e.source === 'interaction' && e.kind === 'tool_result' && e.isError), 20_000);
  await waitFor(
    'the final answer on the tail',
    () => mine().some((e) => e.source === 'interaction' && e.kind === 'assistant_text' && e.text.startsWith('Root cause')),
    20_000,
  );

  const hooks = mine().filter((e) => e.source === 'hook');
  expect(hooks.map((e) => e.kind)).toEqual([
    'SessionStart',
    'UserPromptSubmit',
    'PreToolUse',
    'PostToolUseFailure',
    'PreToolUse',
    'PostToolUse',
    'Stop',
    'SessionEnd',
  ]);
  const failure = hooks.find((e) => e.kind === 'PostToolUseFailure')!;
  expect(failure).toMatchObject({ toolName: 'Bash', isError: true });
  expect(failure.text).toContain('generated/ directory is missing');
  expect(hooks.find((e) => e.kind === 'PreToolUse')!.text).toBe('cat config/build.env && sh scripts/build.sh');
  expect(hooks.find((e) => e.kind === 'UserPromptSubmit')!.text).toBe('The build is failing, please fix it');

  const interactions = mine().filter((e) => e.source === 'interaction');
  expect(interactions.map((e) => e.kind)).toEqual(expect.arrayContaining(['user_prompt', 'assistant_text', 'tool_use', 'tool_result']));
  expect(interactions.filter((e) => e.kind === 'tool_use').map((e) => e.text)).toEqual([
    'cat config/build.env && sh scripts/build.sh',
    'mkdir -p generated && sh scripts/build.sh',
  ]);
  // In storage order, each exactly once.
  for (const list of [hooks, interactions]) {
    const seqs = list.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  }

  tail.kill('SIGINT');
  const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
  expect(exit, `tail did not exit after SIGINT; stderr:\n${stderr}`).not.toBeNull();
  expect(exit).toEqual({ code: 0, signal: null });
  expect(stderr).toBe('');
}, 240_000);
