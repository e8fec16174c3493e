// Captures real Claude Code artifacts for fixtures: runs each scenario once against the model
// stand-in and copies the transcripts (main, subagents, .meta.json), every hook payload and
// Claude Code's JSON result into test/fixtures/claude-code/e2e-captured/<scenario>/.
//
//   npx vite-node test/e2e/support/capture-fixtures.ts [scenario ...]
//
// Runs happen under $TMPDIR/rbk-e2e-capture/<scenario>/{home,project}; those paths are rewritten
// to /e2e/home and /e2e/project (and the projects dir name to -e2e-project) in the saved files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLAUDE_CODE_VERSION, REPO_ROOT, loadScenario, projectDirName, runClaude, type RunClaudeResult } from './claude.js';
import { createHookRecorder } from './hook-recorder.js';
import type { LoggedRequest } from './model-stand-in.js';

export const FIXTURE_ROOT = path.join(REPO_ROOT, 'test', 'fixtures', 'claude-code', 'e2e-captured');
export const PLACEHOLDER_HOME = '/e2e/home';
export const PLACEHOLDER_PROJECT = '/e2e/project';
export const DEFAULT_SCENARIOS = ['failing-build', 'failing-build-no-request-ids', 'agent-investigation', 'resume'];

function requestSummary(requests: LoggedRequest[]): unknown[] {
  return requests.map((r) => ({
    seq: r.seq,
    method: r.method,
    url: r.url,
    kind: r.kind,
    model: r.model,
    stream: r.stream,
    tools: r.toolNames.length,
    responseIndex: r.responseIndex,
    messageId: r.messageId,
    requestId: r.requestId,
    usage: r.usage,
  }));
}

function copyTree(from: string, to: string, rewrite: (s: string) => string): string[] {
  const written: string[] = [];
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, rewrite(entry.name));
    if (entry.isDirectory()) {
      written.push(...copyTree(src, dst, rewrite));
    } else if (entry.isFile()) {
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.writeFileSync(dst, rewrite(fs.readFileSync(src, 'utf8')));
      written.push(dst);
    }
  }
  return written;
}

export async function captureScenario(name: string, outRoot = FIXTURE_ROOT): Promise<string> {
  const scenario = loadScenario(name);
  const base = path.join(fs.realpathSync(os.tmpdir()), 'rbk-e2e-capture', name);
  fs.rmSync(base, { recursive: true, force: true });
  const home = path.join(base, 'home');
  const project = path.join(base, 'project');
  const hooks = createHookRecorder(base);
  const rewrite = (s: string): string =>
    s.split(home).join(PLACEHOLDER_HOME).split(project).join(PLACEHOLDER_PROJECT).split(projectDirName(project)).join(projectDirName(PLACEHOLDER_PROJECT));

  const runs: Array<{ label: string; prompt: string; run: RunClaudeResult }> = [];
  const first = await runClaude({ scenario, home, project, hookCommand: hooks.command });
  runs.push({ label: '', prompt: scenario.prompt ?? '', run: first });
  if (scenario.resumePrompt !== undefined && first.sessionId !== undefined) {
    const second = await runClaude({ scenario, home, project, hookCommand: hooks.command, resume: first.sessionId });
    runs.push({ label: '-resume', prompt: scenario.resumePrompt, run: second });
  }
  for (const { run } of runs) {
    if (run.exitCode !== 0) throw new Error(`${name}: claude exited ${run.exitCode}\n${run.stderr}\n${run.stdout}`);
  }

  const out = path.join(outRoot, name);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'hooks'), { recursive: true });
  for (const { label, run } of runs) {
    fs.writeFileSync(path.join(out, `result${label}.json`), `${rewrite(JSON.stringify(run.result, null, 2))}\n`);
    fs.writeFileSync(path.join(out, `requests${label}.json`), `${rewrite(JSON.stringify(requestSummary(run.requests), null, 2))}\n`);
  }
  const payloads = hooks.read();
  const width = Math.max(2, String(payloads.length).length);
  payloads.forEach((p, i) => {
    fs.writeFileSync(path.join(out, 'hooks', `${String(i + 1).padStart(width, '0')}-${p.hook_event_name}.json`), `${rewrite(JSON.stringify(p, null, 2))}\n`);
  });
  copyTree(path.join(home, '.claude', 'projects'), path.join(out, 'projects'), rewrite);

  const date = new Date().toISOString();
  const lines = [
    `Scenario: ${name} (test/e2e/scenarios/${name}.json)`,
    scenario.description ? `What it does: ${scenario.description}` : '',
    '',
    `Produced ${date} by the real Claude Code CLI ${CLAUDE_CODE_VERSION} (@anthropic-ai/claude-code), offline, against`,
    'the in-process model stand-in (test/e2e/support/model-stand-in.ts), with:',
    '',
    `  npx vite-node test/e2e/support/capture-fixtures.ts ${name}`,
    '',
    'which runs, for each prompt:',
    '',
    ...runs.map(
      ({ prompt, run }, i) =>
        `  claude -p ${JSON.stringify(prompt)} --output-format json --allowedTools "Bash Read Write Edit Glob Grep Agent Task"` +
        (i > 0 ? ` --resume ${run.sessionId}` : ''),
    ),
    '',
    `with HOME=${PLACEHOLDER_HOME}, cwd=${PLACEHOLDER_PROJECT}, ANTHROPIC_BASE_URL=<stand-in on 127.0.0.1>, and a recorder hook`,
    'registered in <project>/.claude/settings.json (matcher "*") for SessionStart, UserPromptSubmit,',
    'PreToolUse, PostToolUse, PostToolUseFailure, Notification, Stop, SubagentStart, SubagentStop,',
    'PreCompact, PostCompact and SessionEnd.',
    '',
    `Session id: ${first.sessionId}`,
    '',
    'Files:',
    "  result*.json    Claude Code's JSON stdout (session_id, usage, modelUsage, total_cost_usd);",
    '                  result-resume.json is the --resume run.',
    '  requests*.json  What the stand-in received and answered (message id, request id, usage).',
    '  hooks/NN-<Event>.json  Each hook payload (stdin), in the order the hooks ran, across runs.',
    `  projects/${projectDirName(PLACEHOLDER_PROJECT)}/  Copy of <home>/.claude/projects/<project dir>/: the session`,
    '                  transcript <session>.jsonl, and <session>/subagents/agent-*.jsonl + .meta.json.',
    '',
    `Temp paths were rewritten: the run's home -> ${PLACEHOLDER_HOME}, its project -> ${PLACEHOLDER_PROJECT}, and the`,
    `projects dir name -> ${projectDirName(PLACEHOLDER_PROJECT)}. Everything else (uuids, timestamps, ids) is as written.`,
    'The secrets in the failing-build scenarios are fake (AWS example key, hunter2, example.com).',
    '',
  ];
  fs.writeFileSync(path.join(out, 'README.txt'), lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n'));
  fs.rmSync(base, { recursive: true, force: true });
  return out;
}

export function writeTopReadme(outRoot = FIXTURE_ROOT): void {
  const text = `Real Claude Code ${CLAUDE_CODE_VERSION} artifacts, captured offline.

Each directory is one scenario from test/e2e/scenarios/, run once by the real \`claude\` CLI against
the scripted model stand-in (test/e2e/support/model-stand-in.ts). Claude Code really ran its tools,
fired its hooks and wrote its transcripts; only the model's replies were scripted. Token usage is
deterministic (set per response in the scenario files), so totals can be asserted exactly.

Regenerate (overwrites these directories):

  npx vite-node test/e2e/support/capture-fixtures.ts                # all scenarios
  npx vite-node test/e2e/support/capture-fixtures.ts failing-build  # one

Each scenario directory has its own README.txt (prompts, command, session id, layout).
Temp paths are rewritten to ${PLACEHOLDER_HOME} (HOME) and ${PLACEHOLDER_PROJECT} (cwd); the projects dir is
${projectDirName(PLACEHOLDER_PROJECT)}.
`;
  fs.mkdirSync(outRoot, { recursive: true });
  fs.writeFileSync(path.join(outRoot, 'README.txt'), text);
}
