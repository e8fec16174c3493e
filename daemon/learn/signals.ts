// Signals extracted from a session's timeline: failures with normalized signatures, the
// failure → resolution pairs (what made the same check pass), verification commands, files
// touched, decisions the assistant stated, and what interrupted the work. Pure functions over
// TimelineEntry[]: no database, so they are unit-testable and reused by incidents.
import path from 'node:path';
import type { TimelineEntry } from '../query/timeline.js';
import { signatureOf, type ErrorSignature } from './signature.js';

export interface ToolCall {
  index: number;
  /** Interaction uuid of the tool_use (or hook event id). */
  ref: string;
  /** Interaction uuid of the tool_result, when known. */
  resultRef: string;
  unixMs: number;
  toolName: string;
  /** The command, file or pattern. */
  text: string;
  status: TimelineEntry['status'];
  detail: string;
  agentId: string;
  durationMs: number;
}

export interface FixStep {
  text: string;
  refs: string[];
}

export interface Resolution {
  /** The later call of the same check that passed. */
  passing: ToolCall;
  checkKey: string;
  /** What changed between the failure and the pass. */
  steps: FixStep[];
  /** One line: "ran `mkdir -p generated`", or "the same check passed on retry". */
  summary: string;
}

export interface Failure {
  call: ToolCall;
  signature: ErrorSignature;
  checkKeys: string[];
  resolution: Resolution | null;
}

/** Failures grouped by signature within the session. */
export interface SignatureGroup {
  signature: ErrorSignature;
  failures: Failure[];
  /** Resolved when the last failure of the group was followed by a pass of the same check. */
  resolution: Resolution | null;
}

export interface Statement {
  text: string;
  ref: string;
  unixMs: number;
  agentId: string;
}

export interface FileTouch {
  path: string;
  action: 'edited' | 'written' | 'read';
  refs: string[];
}

export interface Signals {
  entries: TimelineEntry[];
  calls: ToolCall[];
  prompts: Statement[];
  failures: Failure[];
  groups: SignatureGroup[];
  verifications: ToolCall[];
  files: FileTouch[];
  decisions: Statement[];
  rootCauses: Statement[];
  rejections: ToolCall[];
  interruptions: Statement[];
  apiErrors: Statement[];
  subagentFindings: Statement[];
  compactions: Statement[];
  finalAnswer: Statement | null;
}

const MAX_STEPS = 6;
const REJECTED = /doesn't want to (proceed|take this action)|tool use was rejected|user (rejected|denied|declined)/i;
// Programs that only look at things: never "the check" and never "the fix".
const TRIVIAL = new Set(['cat', 'ls', 'echo', 'cd', 'pwd', 'head', 'tail', 'true', 'false', 'sleep', 'which', 'wc', 'printf', 'export', 'set', 'clear', 'sort', 'uniq', 'tee', 'less', 'more', 'xargs', 'grep', 'rg', 'egrep', 'awk', 'sed', 'jq', 'cut', 'tr', 'find', 'test', '[']);
const READ_ONLY_TOOLS = new Set(['Read', 'Glob', 'Grep', 'LS', 'WebFetch', 'WebSearch', 'TodoWrite', 'TodoRead', 'NotebookRead', 'BashOutput', 'ToolSearch']);
const READ_ONLY_BASH = /^(cat|ls|echo|pwd|head|tail|grep|rg|find|wc|which|file|stat|tree|env|printenv|git (status|diff|log|show|branch|remote)|du|df|ps|whoami|type)\b/;
const EDIT_TOOLS: Record<string, FileTouch['action']> = { Edit: 'edited', MultiEdit: 'edited', NotebookEdit: 'edited', Write: 'written', Read: 'read' };
const VERIFY =
  /\b(test|tests|spec|build|lint|check|verify|tsc|pytest|jest|vitest|mocha|cargo|go (test|build|vet)|make|mix (test|compile|format)|npm (test|run|ci)|yarn|pnpm|gradle|mvn|curl|healthz?|smoke|--dry-run)\b/i;
const DECISION =
  /\b(root cause|the (issue|problem|cause|fix|error|culprit) (is|was)|because|caused by|fix:|fixed|instead|decided|I'll|I will|let me try|different approach|the solution|workaround|going to|the plan)\b/i;
const ROOT_CAUSE = /\b(root cause|caused by|because|the (issue|problem|cause|error|culprit) (is|was)|fails? (because|when)|exits? with)\b/i;

/** Splits a shell command into its simple commands (&&, ||, ;, |, newlines), outside quotes. */
export function shellSegments(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '' | "'" | '"' = '';
  let depth = 0;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    const next = command[i + 1];
    if (quote) {
      if (c === '\\' && quote === '"' && next !== undefined) {
        cur += c + next;
        i++;
        continue;
      }
      if (c === quote) quote = '';
      cur += c;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    if (depth === 0 && !quote) {
      if ((c === '&' && next === '&') || (c === '|' && next === '|')) {
        out.push(cur);
        cur = '';
        i++;
        continue;
      }
      if (c === ';' || c === '|' || c === '\n') {
        out.push(cur);
        cur = '';
        continue;
      }
    }
    cur += c;
  }
  out.push(cur);
  return out.map((s) => s.replace(/\\\s*$/, '').trim()).filter((s) => s.length > 0);
}

/** "git commit -m …" → "git commit"; "sh scripts/build.sh 2>&1" → "sh scripts/build.sh"; "" for trivial commands. */
export function segmentKey(segment: string): string {
  const tokens = segment.split(/\s+/).filter((t) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(t));
  while (tokens[0] === 'sudo' || tokens[0] === 'time' || tokens[0] === 'command' || tokens[0] === 'exec') tokens.shift();
  if (tokens.length === 0 || TRIVIAL.has(tokens[0]!)) return '';
  const key: string[] = [];
  for (const t of tokens) {
    if (key.length >= 3 || t.startsWith('-') || /['"`$<>&(){}*]/.test(t)) break;
    key.push(t);
  }
  return key.join(' ');
}

function checkKeys(call: ToolCall): string[] {
  if (call.toolName === 'Bash') return [...new Set(shellSegments(call.text).map(segmentKey).filter(Boolean))];
  // Edit, MultiEdit and Write of one file are the same check: can this file be changed.
  if (call.toolName in EDIT_TOOLS) return [`${EDIT_TOOLS[call.toolName] === 'read' ? 'read' : 'write'} ${call.text}`];
  if (call.toolName === 'Task' || call.toolName === 'Agent') return [call.toolName];
  return [`${call.toolName} ${call.text.slice(0, 120)}`];
}

function isReadOnly(call: ToolCall): boolean {
  if (READ_ONLY_TOOLS.has(call.toolName)) return true;
  if (call.toolName !== 'Bash') return false;
  return shellSegments(call.text).every((s) => segmentKey(s) === '' || READ_ONLY_BASH.test(s));
}

export function describeCall(call: ToolCall): string {
  if (call.toolName === 'Bash') return `\`${oneLine(call.text, 160)}\``;
  if (call.toolName in EDIT_TOOLS) return `${call.toolName} \`${call.text}\``;
  return `${call.toolName} ${call.text ? `\`${oneLine(call.text, 120)}\`` : ''}`.trim();
}

export function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function resolve(failure: Failure, calls: ToolCall[]): Resolution | null {
  const { call } = failure;
  const keys = new Set(failure.checkKeys);
  if (keys.size === 0) return null;
  const between: ToolCall[] = [];
  for (const next of calls) {
    if (next.index <= call.index || next.agentId !== call.agentId) continue;
    const shared = checkKeys(next).find((k) => keys.has(k));
    // The same check failing again: what came before did not fix it.
    if (shared && next.status === 'error') {
      between.length = 0;
      continue;
    }
    if (shared && next.status === 'ok') {
      const steps: FixStep[] = [];
      const changed = between.filter((c) => c.status === 'ok' && !isReadOnly(c));
      // The calls right before the pass are the likeliest fix; a long gap is mostly other work.
      for (const c of (changed.length > 0 ? changed : between.filter((c) => c.status === 'ok')).slice(-MAX_STEPS)) steps.push({ text: `${c.toolName === 'Bash' ? 'running' : 'using'} ${describeCall(c)}`, refs: [c.ref] });
      if (next.toolName === 'Bash' && call.toolName === 'Bash') {
        const before = new Set(shellSegments(call.text).map((s) => s.trim()));
        const failedKeys = new Set(shellSegments(call.text).map(segmentKey));
        for (const seg of shellSegments(next.text)) {
          const k = segmentKey(seg);
          if (k && !failedKeys.has(k) && !before.has(seg)) steps.push({ text: `running \`${oneLine(seg, 160)}\` before the check`, refs: [next.ref] });
          // The same check with new flags (git commit --no-verify, npm test -- -u).
          else if (k && k === shared) {
            const had = new Set(shellSegments(call.text).filter((s) => segmentKey(s) === k).flatMap(flagsOf));
            const added = flagsOf(seg).filter((f) => !had.has(f));
            if (added.length > 0) steps.push({ text: `re-running it with \`${added.join(' ')}\``, refs: [next.ref] });
          }
        }
      }
      if (steps.length === 0 && next.text !== call.text) steps.push({ text: `calling ${next.toolName} again with other input (${describeCall(next)})`, refs: [next.ref] });
      const shown = steps.slice(-3).map((s) => s.text);
      const summary =
        steps.length === 0
          ? 'retrying: the same check passed with nothing changed in between (flaky?)'
          : `${steps.length > 3 ? `${steps.length - 3} earlier step${steps.length === 4 ? '' : 's'}, then ` : ''}${shown.join(', then ')}`;
      return { passing: next, checkKey: shared, steps, summary };
    }
    between.push(next);
  }
  return null;
}

function flagsOf(segment: string): string[] {
  return segment.split(/\s+/).filter((t) => /^--?[A-Za-z][\w-]*$/.test(t));
}

function statement(e: TimelineEntry, text = e.text): Statement {
  return { text, ref: e.ref, unixMs: e.unixMs, agentId: e.agentId };
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z`(])|\n+/)
    .map((s) => oneLine(s, 300))
    .filter((s) => s.length > 8);
}

/** Relative to the session's cwd when inside it: the same file reads the same everywhere. */
function displayPath(p: string, cwd: string): string {
  if (cwd && p.startsWith(cwd + '/')) return path.posix.relative(cwd, p);
  return p;
}

export function extractSignals(entries: TimelineEntry[], opts: { cwd: string; resultRefs?: Map<string, string> }): Signals {
  const calls: ToolCall[] = [];
  entries.forEach((e, index) => {
    if (e.kind !== 'tool') return;
    calls.push({
      index,
      ref: e.ref,
      resultRef: (e.toolUseId && opts.resultRefs?.get(e.toolUseId)) || '',
      unixMs: e.unixMs,
      toolName: e.toolName,
      text: e.text,
      status: e.status,
      detail: e.detail,
      agentId: e.agentId,
      durationMs: e.durationMs,
    });
  });
  const rejections = calls.filter((c) => c.status === 'error' && REJECTED.test(c.detail));
  const failures: Failure[] = calls
    .filter((c) => c.status === 'error' && !REJECTED.test(c.detail))
    .map((call) => ({ call, signature: signatureOf(call.toolName, call.detail || 'failed with no output'), checkKeys: checkKeys(call), resolution: null }));
  for (const f of failures) f.resolution = resolve(f, calls);

  const byId = new Map<string, SignatureGroup>();
  for (const f of failures) {
    const g = byId.get(f.signature.id) ?? { signature: f.signature, failures: [], resolution: null };
    g.failures.push(f);
    byId.set(f.signature.id, g);
  }
  const groups = [...byId.values()];
  for (const g of groups) g.resolution = g.failures.at(-1)!.resolution;

  const verifications: ToolCall[] = [];
  const seen = new Set<string>();
  const lastFailure = failures.at(-1)?.call.index ?? -1;
  for (const f of failures) {
    const p = f.resolution?.passing;
    if (p && !seen.has(p.ref)) {
      seen.add(p.ref);
      verifications.push(p);
    }
  }
  for (const c of calls) {
    // The commands themselves, not their arguments: a commit message that mentions tests is no test.
    if (c.status !== 'ok' || c.toolName !== 'Bash' || c.index < lastFailure || seen.has(c.ref) || !VERIFY.test(checkKeys(c).join(' '))) continue;
    seen.add(c.ref);
    verifications.push(c);
  }
  verifications.sort((a, b) => a.index - b.index);

  const files = new Map<string, FileTouch>();
  for (const c of calls) {
    const action = EDIT_TOOLS[c.toolName];
    if (!action || c.status !== 'ok' || !c.text) continue;
    const p = displayPath(c.text, opts.cwd);
    const key = `${action} ${p}`;
    const f = files.get(key) ?? { path: p, action, refs: [] };
    f.refs.push(c.ref);
    files.set(key, f);
  }

  const decisions: Statement[] = [];
  const rootCauses: Statement[] = [];
  const prompts: Statement[] = [];
  const interruptions: Statement[] = [];
  const apiErrors: Statement[] = [];
  const compactions: Statement[] = [];
  const lastByAgent = new Map<string, TimelineEntry>();
  let finalAnswer: Statement | null = null;
  for (const e of entries) {
    if (e.kind === 'prompt' && e.text.trim()) prompts.push(statement(e, oneLine(e.text, 500)));
    else if (e.kind === 'system' && /interrupted/i.test(e.text)) interruptions.push(statement(e, oneLine(e.text)));
    else if (e.kind === 'error') apiErrors.push(statement(e, oneLine(e.text)));
    else if (e.kind === 'compaction') compactions.push(statement(e, oneLine(e.text, 300)));
    else if (e.kind === 'assistant' && e.text.trim()) {
      if (e.agentId) lastByAgent.set(e.agentId, e);
      else finalAnswer = statement(e, e.text.trim());
      for (const s of sentences(e.text)) {
        if (ROOT_CAUSE.test(s)) rootCauses.push(statement(e, s));
        else if (DECISION.test(s)) decisions.push(statement(e, s));
      }
    }
  }
  const subagentFindings = [...lastByAgent.values()].map((e) => statement(e, oneLine(e.text, 600)));
  return {
    entries,
    calls,
    prompts,
    failures,
    groups,
    verifications,
    files: [...files.values()],
    decisions: decisions.slice(0, 12),
    rootCauses: rootCauses.slice(0, 6),
    rejections,
    interruptions,
    apiErrors,
    subagentFindings,
    compactions,
    finalAnswer,
  };
}
