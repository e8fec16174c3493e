// Fix steps that show the change: an Edit or MultiEdit as a unified diff hunk (old → new, from
// Claude Code's own structuredPatch when the transcript has it), a Write as the created file
// (trimmed), a state-changing command quoted whole. Every path is made relative to the session's
// project root, and any other absolute path of the session's machine (its home, its temp dirs)
// is replaced, so that a runbook or a knowledge doc reads the same on every machine.
import path from 'node:path';
import type { Call } from './incident.js';

/** A hunk as Claude Code records it in toolUseResult.structuredPatch. */
export interface PatchHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

export interface RenderedChange {
  /** One line: "Edit `config/service.yaml`", "Run `sed -i … file`". */
  summary: string;
  /** A fenced block showing the change (diff, sh, or the written file). */
  block: string;
  /** The language of the block: diff | sh | text. */
  lang: 'diff' | 'sh' | 'text';
}

const WRITE_LINES = 40;

/** Makes paths of the session's machine portable: the project root becomes relative, home `~`, temp dirs `<tmp>`. */
export function pathScrubber(cwd: string): (text: string) => string {
  const root = cwd.replace(/\/+$/, '');
  const home = /^(\/home\/[^/]+|\/Users\/[^/]+|\/root)(?=\/|$)/.exec(root)?.[1] ?? '';
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (text: string) => {
    let out = text;
    if (root && root !== '/') {
      // "/proj/a.ts" → "a.ts", "/proj" alone → "."
      out = out.replace(new RegExp(`${esc(root)}/`, 'g'), '').replace(new RegExp(`${esc(root)}(?![\\w.-])`, 'g'), '.');
    }
    if (home) out = out.replace(new RegExp(`${esc(home)}(?=/|\\b)`, 'g'), '~');
    // Temp dirs (the session's scratch space): never the same on two machines.
    out = out.replace(/(?<![\w.~-])\/(?:private\/)?(?:tmp|var\/folders\/[\w+-]+\/[\w+-]+\/T)\/[^\s'"`)\]]*/g, (m) => `<tmp>/${path.posix.basename(m)}`);
    return out;
  };
}

/** Absolute paths of the session's machine left in `text` (for tests and the learn scorer). */
export function machinePaths(text: string, cwd: string): string[] {
  const found = new Set<string>();
  const root = cwd.replace(/\/+$/, '');
  if (root && root !== '/' && text.includes(root)) found.add(root);
  for (const m of text.matchAll(/(?<![\w.~-])\/(?:home|Users)\/[\w.-]+(?:\/[^\s'"`)\]]*)?/g)) found.add(m[0]);
  for (const m of text.matchAll(/(?<![\w.~<>-])\/(?:private\/)?tmp\/[^\s'"`)\]]+/g)) found.add(m[0]);
  return [...found];
}

function fence(body: string, lang: string): string {
  const run = Math.max(2, ...(body.match(/`{3,}/g) ?? []).map((m) => m.length));
  const f = '`'.repeat(run + 1);
  return `${f}${lang}\n${body.replace(/\n$/, '')}\n${f}`;
}

function hunkText(h: PatchHunk): string {
  return [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines].join('\n');
}

/** old_string → new_string as a hunk without line numbers (when Claude Code recorded no patch). */
function stringHunk(oldS: string, newS: string): string {
  const minus =
    oldS === ''
      ? []
      : oldS
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `-${l}`);
  const plus =
    newS === ''
      ? []
      : newS
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `+${l}`);
  return ['@@', ...minus, ...plus].join('\n');
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/**
 * How a fix step reads in a runbook: the summary line and the block that shows the change.
 * `patches` are Claude Code's structuredPatch hunks of the call's result, when recorded.
 */
export function renderChange(call: Call, scrub: (s: string) => string, patches?: PatchHunk[]): RenderedChange {
  const file = scrub(str(call.input?.file_path) || call.text);
  if (call.toolName === 'Edit' || call.toolName === 'MultiEdit' || call.toolName === 'NotebookEdit') {
    const header = `--- a/${file}\n+++ b/${file}`;
    let hunks: string[];
    if (patches && patches.length > 0) hunks = patches.map(hunkText);
    else if (call.toolName === 'MultiEdit' && Array.isArray(call.input?.edits)) {
      hunks = (call.input!.edits as Record<string, unknown>[]).map((e) => stringHunk(str(e.old_string), str(e.new_string)));
    } else if (call.toolName === 'NotebookEdit') hunks = [stringHunk('', str(call.input?.new_source))];
    else hunks = [stringHunk(str(call.input?.old_string), str(call.input?.new_string))];
    const all = call.input?.replace_all === true ? ' (every occurrence)' : '';
    return { summary: `Edit \`${file}\`${all}:`, block: fence(scrub(`${header}\n${hunks.join('\n')}`), 'diff'), lang: 'diff' };
  }
  if (call.toolName === 'Write') {
    const content = str(call.input?.content);
    const lines = content.replace(/\n$/, '').split('\n');
    const shown = lines.length > WRITE_LINES ? [...lines.slice(0, WRITE_LINES), `… (${lines.length - WRITE_LINES} more lines)`] : lines;
    return { summary: `Create \`${file}\` with:`, block: fence(scrub(shown.join('\n')), 'text'), lang: 'text' };
  }
  if (call.toolName === 'Bash') {
    // The state-changing part, quoted whole (a check chained after it is the verification).
    const cmd = call.changes.length > 0 ? call.changes.join(' && ') : call.text;
    return { summary: 'Run:', block: fence(scrub(cmd), 'sh'), lang: 'sh' };
  }
  return { summary: `Use ${call.toolName}${call.text ? ` \`${scrub(call.text).slice(0, 160)}\`` : ''}`, block: '', lang: 'text' };
}
