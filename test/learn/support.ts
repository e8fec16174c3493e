// Helpers for the learn tests: hand-written transcripts in Claude Code's JSONL format (for what
// the real fixtures do not have: the same failure in two projects at different paths, a secret
// in a failing command's output, a prompt injection), and `rbk learn --json` through the real CLI.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type TempRbk } from '../support/rbk.js';

export const E2E_CAPTURED = fileURLToPath(new URL('../fixtures/claude-code/e2e-captured/', import.meta.url));
export const TRANSCRIPTS = fileURLToPath(new URL('../fixtures/claude-code/transcripts/', import.meta.url));
export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

export type Step =
  | { prompt: string }
  | { say: string }
  | { bash: string; output: string; error?: boolean }
  | { tool: string; input: Record<string, unknown>; output: string; error?: boolean };

/**
 * One session as transcript lines, a step every 10 s from `start`. Ids are derived from the
 * session id and the step number, so they are stable and distinct across sessions.
 */
export function sessionLines(opts: { sessionId: string; cwd: string; start: string; steps: Step[] }): object[] {
  const base = { isSidechain: false, userType: 'external', cwd: opts.cwd, sessionId: opts.sessionId, version: '2.1.197', gitBranch: 'main' };
  const t0 = Date.parse(opts.start);
  const uuid = (n: number) => `${opts.sessionId.slice(0, 8)}-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const lines: object[] = [];
  let parent: string | null = null;
  let n = 0;
  const push = (line: Record<string, unknown>) => {
    n++;
    const id = uuid(n);
    lines.push({ ...base, parentUuid: parent, uuid: id, timestamp: new Date(t0 + n * 10_000).toISOString(), ...line });
    parent = id;
  };
  const usage = { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const assistant = (content: object[]) => {
    const msg = `msg_${opts.sessionId.slice(0, 8)}_${n + 1}`;
    push({
      type: 'assistant',
      requestId: `req_${msg}`,
      message: { model: 'claude-sonnet-4-5-20250929', id: msg, type: 'message', role: 'assistant', content, usage },
    });
  };
  for (const s of opts.steps) {
    if ('prompt' in s) push({ type: 'user', message: { role: 'user', content: s.prompt } });
    else if ('say' in s) assistant([{ type: 'text', text: s.say }]);
    else {
      const toolId = `toolu_${opts.sessionId.slice(0, 8)}_${n + 1}`;
      const name = 'bash' in s ? 'Bash' : s.tool;
      const input = 'bash' in s ? { command: s.bash, description: 'run it' } : s.input;
      assistant([{ type: 'tool_use', id: toolId, name, input }]);
      push({
        type: 'user',
        message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolId, is_error: s.error === true, content: s.output }] },
        toolUseResult: s.output,
      });
    }
  }
  return lines;
}

/** Writes the session where Claude Code would: <root>/<cwd with non-alphanumerics as ->/<id>.jsonl. */
export function writeSession(root: string, opts: { sessionId: string; cwd: string; start: string; steps: Step[] }): string {
  const dir = path.join(root, opts.cwd.replace(/[^a-zA-Z0-9]/g, '-'));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${opts.sessionId}.jsonl`);
  fs.writeFileSync(
    file,
    `${sessionLines(opts)
      .map((l) => JSON.stringify(l))
      .join('\n')}\n`,
  );
  return file;
}

export interface LearnJson {
  runId: string;
  sessionId: string;
  incidentId: string | null;
  focus: { entries: number; totalEntries: number; matchedRefs: string[] };
  synthesizer: { requested: string; used: string; fallbackReason: string | null };
  outputDir: string;
  outputDirReason: string;
  runbookDir: string;
  postmortem: { path: string; title: string; sections: Record<string, unknown> & { timeline: { at: string; text: string; refs: string[] }[] } };
  proposals: { path: string; runbook: string; kind: string; signatureIds: string[] }[];
  alreadyInRunbooks: { signatureId: string; runbook: string }[];
  knowledge: { path: string; learningId: string; signatureId: string; kind: string }[];
  signatures: {
    id: string;
    text: string;
    occurrences: number;
    resolved: boolean;
    fix: string;
    seenBefore: { sessionId: string; resolved: boolean; fix: string }[];
  }[];
  applied: { changed: { file: string; kind: string }[]; conflicts: { file: string; reason: string }[] } | null;
  incidents: { number: number; title: string; status: string; postmortem: string; proposal: string | null; knowledge: string | null }[];
  unrelated: { ref: string; command: string; error: string; why: string }[];
  missteps: { ref: string; command: string; error: string; correctedBy: string | null }[];
}

export async function learnJson(t: TempRbk, args: string[], expectCode = 0): Promise<LearnJson> {
  const r = await runCli(t, ['learn', ...args, '--json'], { timeoutMs: 60_000 });
  if (r.code !== expectCode) throw new Error(`rbk learn ${args.join(' ')} exited ${r.code} (expected ${expectCode}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as LearnJson;
}

/** Every file under dir, recursively. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

/**
 * Compares with test/learn/golden/<name>, or rewrites it when RBK_UPDATE_GOLDEN=1. Redaction
 * tokens carry a hash keyed per installation (a fresh data dir has a fresh key): that part is
 * masked on both sides.
 */
export function matchesGolden(name: string, output: string): { expected: string; actual: string } {
  const actual = output.replace(/\[REDACTED:([a-z0-9-]+):[0-9a-f]{6}\]/g, '[REDACTED:$1:<key-hash>]');
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.RBK_UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
  }
  if (!fs.existsSync(file)) throw new Error(`no golden file ${file}; generate it with RBK_UPDATE_GOLDEN=1 and review it`);
  return { expected: fs.readFileSync(file, 'utf8'), actual };
}
