// Time arguments and time-zone arithmetic for the query side. No dependencies beyond Intl: the
// CLI loads this to turn --since/--until into Unix ms, the daemon to bucket usage by local day.
/** A --since/--until/--tz the person must fix; `kind` is the daemon's error kind (daemon/errors.ts). */
export class TimeArgError extends Error {
  readonly kind = 'invalid' as const;
}

/** Throws TimeArgError unless `tz` is an IANA zone this runtime knows (or "UTC"). */
export function checkTimeZone(tz: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new TimeArgError(`unknown time zone "${tz}"; use an IANA name such as UTC, Europe/Berlin or America/New_York`);
  }
}

export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(tz, f);
  }
  return f;
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time in `tz` at the instant `ms`. */
export function wallClock(ms: number, tz: string): WallClock {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(tz).formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** Offset of `tz` from UTC at the instant `ms`, in ms (positive east of Greenwich). */
export function offsetMs(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The instant at which the wall clock in `tz` shows the given local time. In a DST gap the
 * later side is used; in an overlap, the earlier instant.
 */
export function zonedToUtc(year: number, month: number, day: number, hour: number, minute: number, second: number, tz: string): number {
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  // Two passes settle the offset on either side of a transition.
  let guess = local - offsetMs(local, tz);
  guess = local - offsetMs(guess, tz);
  const earlier = local - offsetMs(guess - 3 * 3600_000, tz);
  if (earlier !== guess && wallKey(earlier, tz) === wallKey(guess, tz)) return Math.min(earlier, guess);
  return guess;
}

function wallKey(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  return `${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}:${w.second}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** YYYY-MM-DD of the instant in `tz`. */
export function dateKey(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** Start (in `tz`) of the day that contains `ms`, as a Unix ms instant. */
export function startOfDay(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  return zonedToUtc(w.year, w.month, w.day, 0, 0, 0, tz);
}

/** Adds whole calendar days to a YYYY-MM-DD key. */
export function addDays(key: string, days: number): string {
  const [y, m, d] = key.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The first day (YYYY-MM-DD) of the week containing the day `key`; weeks start on `weekStart` (0 = Sunday, 1 = Monday). */
export function weekKey(key: string, weekStart: number): string {
  const [y, m, d] = key.split('-').map(Number) as [number, number, number];
  const dow = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return addDays(key, -((dow - weekStart + 7) % 7));
}

const RELATIVE = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|hours?|d|days?|w|wk|weeks?)$/i;
const DATE_ONLY = /^(\d{4})-?(\d{2})-?(\d{2})$/;
const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

function unitOf(u: string): number {
  const l = u.toLowerCase();
  if (l.startsWith('mi') || l === 'm') return UNIT_MS.m!;
  if (l.startsWith('s')) return UNIT_MS.s!;
  if (l.startsWith('h')) return UNIT_MS.h!;
  if (l.startsWith('d')) return UNIT_MS.d!;
  return UNIT_MS.w!;
}

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/**
 * Parses a --since/--until value into Unix ms.
 * - relative: `30m`, `12h`, `7d`, `2w` (that long before now);
 * - `now`, `today`, `yesterday` (days start at local midnight in `tz`);
 * - a date `2026-05-01` or `20260501` (ccusage's form), a day in `tz`;
 * - a local date-time `2026-05-01T14:30[:00]` in `tz`, or any ISO time with Z or an offset.
 * Day-valued arguments mean the start of the day for --since and the end of it (the start of the
 * next day, exclusive) for --until, so `--since 2026-05-01 --until 2026-05-01` is that whole day.
 */
export function parseTimeArg(value: string, opts: { tz: string; now?: number; bound: 'since' | 'until' }): number {
  const v = value.trim();
  const now = opts.now ?? Date.now();
  const tz = opts.tz;
  const dayBound = (key: string) => {
    const k = opts.bound === 'until' ? addDays(key, 1) : key;
    const [y, m, d] = k.split('-').map(Number) as [number, number, number];
    return zonedToUtc(y, m, d, 0, 0, 0, tz);
  };
  const lower = v.toLowerCase();
  if (lower === 'now') return now;
  if (lower === 'today') return dayBound(dateKey(now, tz));
  if (lower === 'yesterday') return dayBound(addDays(dateKey(now, tz), -1));
  const rel = RELATIVE.exec(v);
  if (rel) return Math.round(now - Number(rel[1]) * unitOf(rel[2]!));
  const dm = DATE_ONLY.exec(v);
  if (dm) {
    const [y, m, d] = [Number(dm[1]), Number(dm[2]), Number(dm[3])];
    if (!validDate(y, m, d)) throw new TimeArgError(`"${value}" is not a calendar date`);
    return dayBound(`${dm[1]}-${dm[2]}-${dm[3]}`);
  }
  const lt = LOCAL_DATETIME.exec(v);
  if (lt) {
    const [y, m, d] = [Number(lt[1]), Number(lt[2]), Number(lt[3])];
    if (!validDate(y, m, d)) throw new TimeArgError(`"${value}" is not a calendar date`);
    return zonedToUtc(y, m, d, Number(lt[4]), Number(lt[5]), Number(lt[6] ?? 0), tz);
  }
  if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new TimeArgError(
    `cannot read "${value}" as a time; use a date (2026-05-01 or 20260501), a date-time (2026-05-01T14:30, or with Z/+02:00), today, yesterday, or a relative time such as 30m, 12h, 7d, 2w`,
  );
}

/**
 * A fast dateKey for many instants in one zone: the zone's offset is looked up twice per UTC
 * day (Intl is slow) and reused for every instant of a day without a transition.
 */
export function dateKeyer(tz: string): (ms: number) => string {
  const DAY = 86_400_000;
  const offsets = new Map<number, number | null>();
  return (ms) => {
    const day = Math.floor(ms / DAY);
    let off = offsets.get(day);
    if (off === undefined) {
      const a = offsetMs(day * DAY, tz);
      const b = offsetMs(day * DAY + DAY - 1, tz);
      off = a === b ? a : null;
      offsets.set(day, off);
    }
    if (off === null) return dateKey(ms, tz);
    const t = new Date(ms + off);
    return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
  };
}
