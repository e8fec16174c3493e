// Error signatures: the same failure must read the same in every session, whatever the path,
// port, pid, hash, id or time it mentions. What is left is the stable words of the error line.
import crypto from 'node:crypto';

export interface ErrorSignature {
  /** sig_ + 12 hex of sha256(text): safe in file names and ids. */
  id: string;
  /** The normalized error line, e.g. `Bash: build error: <path> directory is missing (run codegen first)`. */
  text: string;
  /** The stable words, for FTS retrieval across sessions. */
  words: string[];
  /** The raw error line the signature came from (already redacted at ingest). */
  line: string;
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
// Lines that only say that something failed, not what: Claude Code's "Exit code N" header.
const NOISE_LINE = /^(exit code \d+|error:?|\s*)$/i;
const ERROR_HINT =
  /\b(error|errors|fail(ed|ure|s)?|exception|denied|not found|missing|cannot|can't|could not|couldn't|unable|refused|invalid|no such|timed? ?out|undefined|unexpected|panic|fatal|traceback|rejected|conflict|not allowed|unknown|does not exist|has not been)\b/i;

const STOP = new Set(['the', 'and', 'for', 'with', 'from', 'this', 'that', 'was', 'are', 'not', 'but', 'have', 'has', 'you', 'your', 'into', 'run', 'use']);

/** Replaces everything that varies between occurrences of one failure with a placeholder. */
export function normalizeErrorText(s: string): string {
  return (
    s
      .replace(ANSI, '')
      .replace(/<\/?[a-z_][a-z0-9_-]*>/gi, ' ')
      .replace(/\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]/g, '<redacted>')
      .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>)\]]+/gi, '<url>')
      .replace(/\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, '<email>')
      .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?/g, '<ts>')
      .replace(/\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b/g, '<ts>')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
      .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>')
      // Paths: absolute, home-relative, Windows, and relative ones with a slash (src/a.ts:12:3).
      .replace(/(?:[A-Za-z]:\\|~\/|\.{0,2}\/)?(?:[\w.@+-]+[/\\])+[\w.@+-]*(?::\d+)*/g, '<path>')
      .replace(/(?:^|(?<=\s))\/[\w.@+-]+/g, '<path>')
      .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
      .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b/gi, '<hex>')
      .replace(/\b[a-z]+_[A-Za-z0-9]{12,}\b/g, '<id>')
      .replace(/\b\d+(\.\d+)*\b/g, '<n>')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

const STRONG_HINT =
  /\b(error|errors|fail(ed|ure|s)?|fatal|exception|traceback|panic|denied|refused|not found|no such|cannot|can't|could not|unable|invalid|does not exist|timed out|undefined reference)\b/i;
// Error classes (AssertionError, KeyError, ERR_ASSERTION) and assertion messages.
const ERROR_CLASS = /(^|[\s:(])[A-Z]?[a-z][A-Za-z]*(Error|Exception)\b|\bERR_[A-Z_]+\b|\bexpected\b.*\b(got|but|received|to (be|equal))\b/;
const PROGRESS = /^(running|compiling|building|downloading|installing|info|debug|note|hint|\[\w+\]\s+(compiling|running|building))\b/i;

/**
 * The line of an error output that says what went wrong: the one with the strongest error words
 * (an "error:" or "FAIL" line beats a progress line that mentions a timeout); a header ending in
 * ":" takes the next line too.
 */
export function errorLine(output: string): string {
  const lines = output
    .replace(ANSI, '')
    .split(/\r?\n|\\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !NOISE_LINE.test(l) && !/^\[… \d+ characters cut …\]$/.test(l));
  if (lines.length === 0) return output.trim().slice(0, 200);
  let best = -1;
  let bestScore = 0;
  lines.forEach((l, i) => {
    let score = 0;
    if (STRONG_HINT.test(l)) score += 3;
    if (ERROR_HINT.test(l)) score += 2;
    if (ERROR_CLASS.test(l)) score += 3;
    if (/^[\w.]*(Error|Exception|FAIL|ERROR|error|fatal)\b/.test(l)) score += 1;
    if (PROGRESS.test(l)) score -= 3;
    // Stack frames, source excerpts and file lists say where, not what.
    if (/^at\s|^node:[\w/]+:\d+$|^\^+$|^File "[^"]+", line \d+|^-\s+\S*[/\\]|^Require stack:?$/.test(l)) score -= 6;
    if (/^\^+$/.test(lines[i + 1] ?? '')) score -= 6;
    // A summary line ("1 failed, 4 passed") says less than the failure itself.
    if (/^\d+ (failed|passed|errors?)\b/i.test(l)) score -= 2;
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  const i = Math.max(best, 0);
  let line = lines[i]!.replace(/<\/?[a-z_][a-z0-9_-]*>/gi, '').trim();
  if (line.endsWith(':') && lines[i + 1]) line = `${line} ${lines[i + 1]}`;
  return line.slice(0, 400);
}

/** First sentence once past 40 characters, at most 160: long tails are content, not the error. */
function cut(s: string): string {
  const end = s.slice(40).search(/[.!?](\s|$)/);
  const first = end >= 0 ? s.slice(0, 40 + end + 1) : s;
  return first.length > 160 ? `${first.slice(0, 159)}…` : first;
}

export function stableWords(normalized: string): string[] {
  const words: string[] = [];
  for (const w of normalized
    .replace(/<[a-z]+>/g, ' ')
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)) {
    if (w.length < 3 || STOP.has(w) || /^\d+$/.test(w) || words.includes(w)) continue;
    words.push(w);
  }
  return words;
}

export function signatureOf(toolName: string, output: string): ErrorSignature {
  const line = errorLine(output);
  const normalized = cut(normalizeErrorText(line)) || 'unknown error';
  const text = `${toolName || 'tool'}: ${normalized}`;
  return { id: signatureId(text), text, words: stableWords(normalized), line };
}

export function signatureId(text: string): string {
  return `sig_${crypto.createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** A file-name-safe slug: lowercase letters, digits and single dashes, at most `max` characters. */
export function slugify(s: string, max = 60): string {
  const slug = s
    .toLowerCase()
    .replace(/<[a-z]+>/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return slug || 'untitled';
}
