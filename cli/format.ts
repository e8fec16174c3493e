// Human output helpers. JSON output never goes through here.
import stringWidth from 'string-width';

export function iso(ms: number | null | undefined): string | null {
  return ms && ms > 0 ? new Date(ms).toISOString() : null;
}

export function shortTime(ms: number | null | undefined): string {
  if (!ms) return '-';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms < 0) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "1 session", "2 sessions", "0 sessions"; `many` for irregular words ("directories"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One number in a sentence: 6153 → "6.2k", 58210 → "58k", 1.2e6 → "1.2M". */
export function compactNumber(n: number): string {
  const abs = Math.abs(n);
  const [div, unit] = abs >= 1e9 ? [1e9, 'B'] : abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'k'] : [1, ''];
  if (div === 1) return String(n);
  const v = n / div;
  return `${Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0)}${unit}`;
}

/**
 * A column of counts in one format: the unit (k, M, B) is chosen by the column's largest value
 * and every cell uses it with the same number of decimals, so that the column reads top to
 * bottom (6153 and 58210 become "6.2k" and "58.2k", never "6153" above "58k").
 */
export function numberColumn(values: number[]): string[] {
  const max = Math.max(0, ...values.map((v) => Math.abs(v)));
  const [div, unit] = max >= 1e10 ? [1e9, 'B'] : max >= 1e7 ? [1e6, 'M'] : max >= 1e4 ? [1e3, 'k'] : [1, ''];
  if (div === 1) return values.map((v) => String(v));
  const decimals = max / div < 100 ? 1 : 0;
  return values.map((v) => (v === 0 ? '0' : `${(v / div).toFixed(decimals)}${unit}`));
}

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return '?';
  return v < 0.01 && v > 0 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}

/** A column of costs in one format: four decimals only when some non-zero cost is under a cent. */
export function usdColumn(values: (number | null | undefined)[]): string[] {
  const small = values.some((v) => v !== null && v !== undefined && v > 0 && v < 0.01);
  return values.map((v) => (v === null || v === undefined ? '?' : `$${v.toFixed(small ? 4 : 2)}`));
}

/** Display width in terminal cells (wide CJK characters count 2, combining marks 0). */
export function displayWidth(s: string): number {
  return stringWidth(s);
}

/** `s` cut to at most `width` cells, ending in "…" when something was cut. */
export function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return '';
  if (width === 1) return '…';
  let out = '';
  let used = 0;
  for (const ch of s) {
    const w = displayWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}…`;
}

function pad(s: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return right ? fill + s : s + fill;
}

export interface TableOptions {
  /** Column indexes aligned right (numbers). */
  rightAlign?: number[];
  /**
   * The terminal's width in cells: the widest text columns are cut (with "…") until each line
   * fits, then the `drop` columns are left out, in that order, if it still does not. Undefined or
   * Infinity: no limit (output piped to another program keeps every byte).
   */
  width?: number;
  /** Columns never cut (ids people copy, say); right-aligned columns are never cut either. */
  keep?: number[];
  /** Columns that may be left out on a narrow terminal, least important first. */
  drop?: number[];
}

const GAP = 2;
/** A column is not cut below this many cells (or its header's width, when that is shorter). */
const MIN_CUT_WIDTH = 8;

/** Fits `natural` widths into `limit` by cutting the widest cuttable columns, one cell at a time. */
function fitWidths(natural: number[], headers: string[], keep: Set<number>, limit: number): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  // Take one cell at a time from the widest column that may still shrink: the columns end up as
  // even as the content allows, and narrow columns are left whole.
  while (total() > limit) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (keep.has(i)) continue;
      const floor = Math.min(natural[i]!, Math.max(MIN_CUT_WIDTH, displayWidth(headers[i]!)));
      if (widths[i]! <= floor) continue;
      if (widest < 0 || widths[i]! > widths[widest]!) widest = i;
    }
    if (widest < 0) break;
    widths[widest]! -= 1;
  }
  return widths;
}

export function table(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const limit = opts.width ?? Infinity;
  const natural = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const right = new Set(opts.rightAlign ?? []);
  const keepAll = new Set([...(opts.keep ?? []), ...right]);
  // Leave out optional columns, least important first, until the cut table fits.
  let shown = headers.map((_, i) => i);
  const dropped: number[] = [];
  const widthOf = (cols: number[]) => {
    const w = fitWidths(
      cols.map((i) => natural[i]!),
      cols.map((i) => headers[i]!),
      new Set(cols.flatMap((i, k) => (keepAll.has(i) ? [k] : []))),
      limit,
    );
    return { w, total: w.reduce((a, b) => a + b, 0) + GAP * (w.length - 1) };
  };
  let fit = widthOf(shown);
  for (const d of opts.drop ?? []) {
    if (fit.total <= limit) break;
    shown = shown.filter((i) => i !== d);
    dropped.push(d);
    fit = widthOf(shown);
  }
  const line = (cells: string[]) =>
    shown
      .map((i, k) => pad(truncate(cells[i] ?? '', fit.w[k]!), fit.w[k]!, right.has(i)))
      .join(' '.repeat(GAP))
      .trimEnd();
  const rule = fit.w.map((w) => '-'.repeat(w)).join(' '.repeat(GAP));
  const out = [line(headers), rule, ...rows.map(line)];
  if (dropped.length > 0) out.push(truncate(`(${dropped.map((i) => headers[i]).join(', ')} left out to fit ${limit} columns; --json has every field)`, limit));
  return out.join('\n');
}

/** `text` broken into lines of at most `width` cells, every line after the first indented by `indent`. */
export function wrap(text: string, width: number, indent: number): string {
  if (!Number.isFinite(width) || displayWidth(text) + indent <= width) return text;
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && displayWidth(line) + 1 + displayWidth(w) > width - indent) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}
