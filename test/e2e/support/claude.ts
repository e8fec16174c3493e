// Runs the real Claude Code CLI offline against the in-process model stand-in, so that it writes
// real transcripts and fires real hooks. See model-stand-in.ts for how replies are scripted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startModelStandIn, type LoggedRequest, type ModelStandIn, type Scenario } from './model-stand-in.js';

export const CLAUDE_CODE_VERSION = '2.1.197';
export const CLAUDE_CODE_PACKAGE = `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`;

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (test/e2e/support → ../../..). */
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const SCENARIO_DIR = path.resolve(here, '..', 'scenarios');

/** Every hook event the harness registers when given a hookCommand. */
export const HOOK_EVENTS = [
  'SessionStart',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'Notification',
  'Stop',
  'SubagentStart',
  'SubagentStop',
  'PreCompact',
  'PostCompact',
  'SessionEnd',
] as const;

export const ALLOWED_TOOLS = 'Bash Read Write Edit Glob Grep Agent Task';

function cacheDir(): string {
  const fromEnv = process.env.CLAUDE_E2E_CACHE;
  return fromEnv && fromEnv.length > 0 ? fromEnv : path.join(os.homedir(), '.cache', 'claude-e2e');
}

/**
 * An executable native Claude Code binary. The npm package ships a small placeholder at
 * bin/claude.exe that its postinstall replaces with the ~200 MB native binary; after
 * `npm ci --ignore-scripts` (or --omit=optional) the placeholder stays, and does not count.
 */
function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    const st = fs.statSync(p);
    return st.isFile() && st.size > 1_000_000;
  } catch {
    return false;
  }
}

/** The candidate locations, in order: the project's node_modules, then the e2e cache. */
export function claudeBinaryCandidates(): string[] {
  return [path.join(REPO_ROOT, 'node_modules', '.bin', 'claude'), path.join(cacheDir(), 'node_modules', '.bin', 'claude')];
}

/** The first installed Claude Code binary, without installing anything. */
export function locateClaudeBinary(): string | undefined {
  return claudeBinaryCandidates().find(isExecutable);
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The Claude Code binary: ./node_modules/.bin/claude, else $CLAUDE_E2E_CACHE (default
 * ~/.cache/claude-e2e)/node_modules/.bin/claude, else installs @anthropic-ai/claude-code@2.1.197
 * into that cache directory first (about 250 MB, once). Concurrent callers wait on a lock dir.
 */
export async function findClaudeBinary(): Promise<string> {
  const found = locateClaudeBinary();
  if (found) return found;
  const cache = cacheDir();
  const bin = path.join(cache, 'node_modules', '.bin', 'claude');
  fs.mkdirSync(cache, { recursive: true });
  const lock = path.join(cache, '.install-lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (isExecutable(bin)) return bin;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} (another install of Claude Code?)`);
      await sleep(500);
    }
  }
  try {
    if (isExecutable(bin)) return bin;
    if (!fs.existsSync(path.join(cache, 'package.json'))) fs.writeFileSync(path.join(cache, 'package.json'), '{"private":true}\n');
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = await run(npm, ['install', '--no-audit', '--no-fund', CLAUDE_CODE_PACKAGE], cache);
    if (r.code !== 0 || !isExecutable(bin)) throw new Error(`npm install ${CLAUDE_CODE_PACKAGE} in ${cache} failed (exit ${r.code}):\n${r.output}`);
    return bin;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Claude Code's projects directory name for a cwd: every non-alphanumeric character → '-'. */
export function projectDirName(project: string): string {
  return project.replace(/[^a-zA-Z0-9]/g, '-');
}

function realpathIfExists(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Where Claude Code (run with HOME=home, cwd=project) writes this project's transcripts. */
export function transcriptDirFor(home: string, project: string): string {
  return path.join(path.resolve(home), '.claude', 'projects', projectDirName(realpathIfExists(project)));
}

/** Loads a scenario: an object as is, a path to a JSON file, or a name in test/e2e/scenarios. */
export function loadScenario(scenario: Scenario | string): Scenario {
  if (typeof scenario !== 'string') return scenario;
  const file = fs.existsSync(scenario) ? scenario : path.join(SCENARIO_DIR, scenario.endsWith('.json') ? scenario : `${scenario}.json`);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Scenario;
  return { name: path.basename(file, '.json'), ...parsed };
}

/** Writes the scenario's `files` into the project. */
export function writeScenarioFiles(scenario: Scenario, project: string): void {
  for (const [rel, content] of Object.entries(scenario.files ?? {})) {
    const target = path.resolve(project, rel);
    if (!target.startsWith(path.resolve(project) + path.sep)) throw new Error(`scenario file escapes the project: ${rel}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // A script (it starts with #!) is executable, as it would be in a checkout.
    fs.writeFileSync(target, content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
  }
}

/** Writes <project>/.claude/settings.json registering `command` for every HOOK_EVENTS event. */
export function writeHookSettings(project: string, command: string): string {
  const file = path.join(project, '.claude', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let settings: Record<string, unknown> = {};
  if (fs.existsSync(file)) settings = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  settings.hooks = Object.fromEntries(HOOK_EVENTS.map((e) => [e, [{ matcher: '*', hooks: [{ type: 'command', command }] }]]));
  fs.writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  return file;
}

/** Inherited variables that would make a run non-hermetic (nested Claude Code, real config, real rbk). */
function isInheritedNoise(name: string): boolean {
  return (
    name === 'CLAUDECODE' ||
    name.startsWith('CLAUDE_CODE_') ||
    name === 'CLAUDE_CONFIG_DIR' ||
    name.startsWith('ANTHROPIC_') ||
    name.startsWith('OTEL_') ||
    name.startsWith('RBK_') ||
    name.startsWith('XDG_')
  );
}

export interface RunClaudeOptions {
  /** A scenario object, a path to one, or a name in test/e2e/scenarios. */
  scenario: Scenario | string;
  /** Becomes $HOME for Claude Code (transcripts land in <home>/.claude/projects/...). */
  home: string;
  /** Claude Code's cwd. Created if missing. */
  project: string;
  /** Default: scenario.resumePrompt when resuming, else scenario.prompt. */
  prompt?: string;
  /** Registered in <project>/.claude/settings.json for every HOOK_EVENTS event. */
  hookCommand?: string;
  /** A session id to continue (--resume). */
  resume?: string;
  /** Added last: may override anything, or unset a variable with undefined. */
  extraEnv?: Record<string, string | undefined>;
  /** Extra CLI arguments, appended. */
  extraArgs?: string[];
  /** Default 120 s; the child is killed (SIGKILL) after it. */
  timeoutMs?: number;
  /** Reuse a running stand-in (its requests accumulate) instead of starting one per run. */
  standIn?: ModelStandIn;
  /** Default true. */
  writeFiles?: boolean;
}

export interface RunClaudeResult {
  /** Claude Code's JSON result (session_id, usage, modelUsage, total_cost_usd, …), or null. */
  result: any;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  sessionId: string | undefined;
  transcriptPath: string | undefined;
  requests: LoggedRequest[];
  durationMs: number;
}

/**
 * The scenario with every `{{project}}` replaced by the project's absolute path (as Claude Code
 * sees it: symlinks resolved), for the file paths Read, Edit and Write need.
 */
export function withProjectPath(scenario: Scenario, project: string): Scenario {
  const abs = realpathIfExists(project);
  return JSON.parse(JSON.stringify(scenario).split('{{project}}').join(JSON.stringify(abs).slice(1, -1))) as Scenario;
}

export async function runClaude(opts: RunClaudeOptions): Promise<RunClaudeResult> {
  const home = path.resolve(opts.home);
  const project = path.resolve(opts.project);
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(project, { recursive: true });
  const scenario = withProjectPath(loadScenario(opts.scenario), project);
  if (opts.writeFiles !== false) writeScenarioFiles(scenario, project);
  if (opts.hookCommand !== undefined) writeHookSettings(project, opts.hookCommand);
  const prompt = opts.prompt ?? (opts.resume !== undefined ? scenario.resumePrompt : undefined) ?? scenario.prompt;
  if (prompt === undefined) throw new Error('runClaude: no prompt given and the scenario has none');

  const bin = await findClaudeBinary();
  const standIn = opts.standIn ?? (await startModelStandIn(scenario));
  const firstRequest = standIn.requests.length;
  const args = ['-p', prompt, '--output-format', 'json', '--allowedTools', ALLOWED_TOOLS];
  if (opts.resume !== undefined) args.push('--resume', opts.resume);
  args.push(...(opts.extraArgs ?? []));

  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!isInheritedNoise(k)) env[k] = v;
  // Claude Code keeps per-session scratch files in $TMPDIR/claude-<uid>/<project>/<session>/;
  // keep them inside the sandbox so that a run leaves nothing behind in the real temp dir.
  const tmp = path.join(home, '.tmp');
  fs.mkdirSync(tmp, { recursive: true });
  Object.assign(env, {
    HOME: home,
    TMPDIR: tmp,
    ANTHROPIC_BASE_URL: standIn.url,
    ANTHROPIC_API_KEY: 'sk-ant-offline-test-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
  });
  delete env.CLAUDE_CONFIG_DIR;
  for (const [k, v] of Object.entries(opts.extraEnv ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  const started = Date.now();
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await new Promise((resolve, reject) => {
      const child = spawn(bin, args, { cwd: project, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs ?? 120_000);
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
  } finally {
    if (!opts.standIn) await standIn.close();
  }

  let result: any = null;
  try {
    result = JSON.parse(stdout);
  } catch {
    result = null;
  }
  const sessionId: string | undefined = typeof result?.session_id === 'string' ? result.session_id : opts.resume;
  const transcriptPath = sessionId !== undefined ? path.join(transcriptDirFor(home, project), `${sessionId}.jsonl`) : undefined;
  return {
    result,
    stdout,
    stderr,
    exitCode: exit.code,
    signal: exit.signal,
    timedOut,
    sessionId,
    transcriptPath,
    requests: standIn.requests.slice(firstRequest),
    durationMs: Date.now() - started,
  };
}
