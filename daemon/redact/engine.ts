// The redaction engine: runs the detectors from rules.ts (plus user rules) over text or JSON and
// replaces every secret with a keyed, deterministic token.
//
// Guarantees the rest of rbk relies on:
//  * tokens look like [REDACTED:<rule-id>:<6 hex>] and no rule ever matches inside one, so
//    redacting twice changes nothing (redactText loops to a fixpoint to make that hold even when
//    a replacement changes the context another rule looks at);
//  * overlapping findings are merged into one span, so no character of any finding survives;
//  * the suffix is HMAC-SHA256(key, rule + ':' + value): equal secrets correlate within one
//    installation and cannot be brute-forced or correlated without the key.
import { createHash, createHmac } from 'node:crypto';
import { BUILTIN_DETECTORS } from './detectors.js';
import { acceptAssignmentValue, classifyCredentialKey, type Detector, type Emit, type RedactionKind, type RuleInfo } from './rules.js';
import { ascendingUnique, LiteralAutomaton, type LiteralPattern } from './literal-scan.js';

export type { RedactionKind, RuleInfo } from './rules.js';

export interface CustomRule {
  id: string;
  /** JavaScript regex source. A named group `secret` limits the replacement to that group. */
  pattern: string;
  flags?: string;
  kind?: 'secret' | 'pii';
}

export interface RedactorOptions {
  /** Per-installation HMAC key (see key.ts). */
  key: Buffer;
  /** Redact IPv4/IPv6 addresses (default false). */
  ipAddresses?: boolean;
  /** Values never redacted: exact strings, or "/regex/flags" strings tested against the secret value. */
  allowlist?: string[];
  /** Leave public placeholders alone (PUBLIC_PLACEHOLDERS: AWS's documented example keys, [FILTERED], …); default true. */
  publicPlaceholders?: boolean;
  customRules?: CustomRule[];
  /** Built-in rule ids to turn off; unknown ids are ignored. */
  disabledRules?: string[];
}

export interface RedactionMatch {
  rule: string;
  kind: 'secret' | 'pii';
  /** Offsets into the input text; [start, end) is what was replaced. */
  start: number;
  end: number;
}

export interface Redactor {
  /** Short hash of the effective rule set and options (not the key). */
  readonly version: string;
  readonly ruleIds: string[];
  redactText(text: string): { text: string; matches: RedactionMatch[] };
  scanText(text: string): RedactionMatch[];
  redactJson<T>(value: T): { value: T; count: number; byRule: Record<string, number> };
}

/** Bump when engine behaviour (merging, tokens, JSON handling) changes; rule changes bump their own revision. */
const ENGINE_REVISION = 5; // 2: object keys are redacted too; 3: one run of equal characters no longer makes a vendor token a placeholder; 4: public placeholders, gitleaks' rules, context and structure rules (issue 24); 5: placeholder words count only when written in one case (a private key spelling "DUmMy" was left whole)

/**
 * Values that are public by design and never a leak: AWS's documented example credentials (in
 * every AWS doc and SDK test), what other tools already put in place of a secret, and Stripe
 * publishable keys (meant for browsers). Turned off with redaction.publicPlaceholders: false.
 */
export const PUBLIC_PLACEHOLDERS: readonly string[] = [
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'AKIAI44QH8DHBEXAMPLE',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'ASIAIOSFODNN7EXAMPLE',
  '/^\\[(?:FILTERED|REDACTED|MASKED|HIDDEN)\\]$/i',
  '/^<(?:redacted|hidden|masked|secret)>$/i',
  '/^(?:\\*{3,}|\\.{3,}|…+)$/',
  '/^pk_(?:live|test)_[A-Za-z0-9]{10,}$/',
];
const CUSTOM_RULE_PRIORITY = 70;
/** A replacement can only change its neighbours' context a few times before nothing is left to change. */
const MAX_PASSES = 4;
/** Texts up to this long that had nothing to redact are remembered (at most CLEAN_CACHE_ENTRIES). */
const CLEAN_CACHE_MAX_CHARS = 64;
const CLEAN_CACHE_ENTRIES = 8192;
/** Strings at least this long are scanned once per JSON value however often they repeat in it. */
const REPEAT_MIN_CHARS = 512;

const RULE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const REDACTION_TOKEN_SOURCE = String.raw`\[REDACTED:[a-z0-9]+(?:-[a-z0-9]+)*:[0-9a-f]{6}\]`;
const TOKEN_IN_TEXT = new RegExp(REDACTION_TOKEN_SOURCE, 'g');
const WHOLE_TOKEN = new RegExp(`^${REDACTION_TOKEN_SOURCE}$`);

export function isRedactionToken(value: string): boolean {
  return WHOLE_TOKEN.test(value);
}

interface Span {
  start: number;
  end: number;
  rule: RuleInfo;
}

function customDetector(rule: CustomRule, builtinIds: ReadonlySet<string>): Detector {
  if (!RULE_ID.test(rule.id)) throw new Error(`custom redaction rule id ${JSON.stringify(rule.id)} must be kebab-case ([a-z0-9-])`);
  if (builtinIds.has(rule.id)) throw new Error(`custom redaction rule id "${rule.id}" collides with a built-in rule; pick another id`);
  const kind: RedactionKind = rule.kind ?? 'secret';
  if (kind !== 'secret' && kind !== 'pii') throw new Error(`custom redaction rule "${rule.id}": kind must be 'secret' or 'pii'`);
  const flags = normalizeFlags(rule.flags ?? '', 'gd');
  let pattern: RegExp;
  try {
    pattern = new RegExp(rule.pattern, flags);
  } catch (err) {
    throw new Error(`custom redaction rule "${rule.id}": invalid pattern: ${(err as Error).message}`);
  }
  const info: RuleInfo = { id: rule.id, kind, priority: CUSTOM_RULE_PRIORITY, description: `custom: /${rule.pattern}/${rule.flags ?? ''}` };
  return {
    name: `custom:${rule.id}`,
    revision: 1,
    rules: [info],
    anchors: [],
    detect(text, emit) {
      pattern.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = pattern.exec(text)) !== null) {
        if (m[0].length === 0) {
          pattern.lastIndex++;
          continue;
        }
        const span = m.indices?.groups?.secret ?? [m.index, m.index + m[0].length];
        if (span[1] > span[0]) emit(rule.id, span[0], span[1]);
      }
    },
  };
}

/** Drops stateful/irrelevant flags the caller may have passed and adds the ones the engine needs. */
function normalizeFlags(flags: string, required: string): string {
  const kept = new Set([...flags.replace(/[gyd]/g, ''), ...required]);
  return [...kept].sort().join('');
}

function compileAllowlist(entries: readonly string[]): (value: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const entry of entries) {
    const m = /^\/([\s\S]+)\/([a-z]*)$/.exec(entry);
    if (!m) {
      exact.add(entry);
      continue;
    }
    try {
      patterns.push(new RegExp(m[1]!, normalizeFlags(m[2] ?? '', '')));
    } catch (err) {
      throw new Error(`redaction allowlist entry ${JSON.stringify(entry)} is not a valid regex: ${(err as Error).message}`);
    }
  }
  if (exact.size === 0 && patterns.length === 0) return () => false;
  return (value) => exact.has(value) || patterns.some((p) => p.test(value));
}

function hasAnyAnchor(text: string, anchors: readonly string[]): boolean {
  for (const anchor of anchors) if (text.includes(anchor)) return true;
  return false;
}

interface Selection {
  /** For each detector, whether it can match the text at all. */
  run: boolean[];
  /** For detectors with start literals: where those occur, ascending. */
  starts: (number[] | undefined)[];
}

/**
 * Decides which detectors can possibly match a text, and where keyword-led detectors may start,
 * in one pass over it (literal-scan.ts) instead of one includes() per anchor or a regex each.
 */
class AnchorGate {
  private readonly automaton: LiteralAutomaton | null;
  /** Per literal of the automaton: the detectors whose rare anchor it is. */
  private readonly anchorOf: number[][] = [];
  /** Per literal of the automaton: the detector whose start literal it is, or -1. */
  private readonly startOf: number[] = [];

  constructor(private readonly detectors: readonly Detector[]) {
    const patterns: LiteralPattern[] = [];
    const anchorIds = new Map<string, number>();
    detectors.forEach((d, i) => {
      if (d.anchors.length === 0 || d.frequentAnchors) return;
      for (const anchor of d.anchors) {
        let id = anchorIds.get(anchor);
        if (id === undefined) {
          id = patterns.push({ literal: anchor }) - 1;
          anchorIds.set(anchor, id);
          this.anchorOf[id] = [];
          this.startOf[id] = -1;
        }
        if (!this.anchorOf[id]!.includes(i)) this.anchorOf[id]!.push(i);
      }
    });
    detectors.forEach((d, i) => {
      for (const literal of d.startLiterals ?? []) {
        const id = patterns.push({ literal, ignoreCase: true }) - 1;
        this.anchorOf[id] = [];
        this.startOf[id] = i;
      }
    });
    this.automaton = patterns.length > 0 ? new LiteralAutomaton(patterns) : null;
  }

  select(text: string): Selection {
    const run = this.detectors.map((d) => (d.anchors.length === 0 && !d.startLiterals) || (d.frequentAnchors === true && hasAnyAnchor(text, d.anchors)));
    const starts: (number[] | undefined)[] = this.detectors.map((d) => (d.startLiterals ? [] : undefined));
    const automaton = this.automaton;
    if (automaton) {
      const { anchorOf, startOf } = this;
      const lengths = automaton.lengths;
      let unsorted = false;
      automaton.scan(text, (id, end) => {
        const owner = startOf[id]!;
        if (owner < 0) {
          for (const i of anchorOf[id]!) run[i] = true;
          return;
        }
        run[owner] = true;
        const list = starts[owner]!;
        const start = end - lengths[id]!;
        if (list.length > 0 && start <= list[list.length - 1]!) unsorted = true;
        list.push(start);
      });
      if (unsorted) for (const list of starts) if (list) ascendingUnique(list);
    }
    return { run, starts };
  }
}

/** Index of the first of the sorted, disjoint `ranges` whose end lies after `position`. */
function firstEndingAfter(ranges: readonly (readonly number[])[], position: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![1]! <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function backslashesBefore(text: string, index: number): number {
  let n = 0;
  while (index - n - 1 >= 0 && text.charCodeAt(index - n - 1) === 92) n++;
  return n;
}

/**
 * Never split a string escape: a token pasted between "\" and "n" would turn `\n` into `\[`, which
 * corrupts JSON-encoded text. The escape letters are not part of any secret.
 */
function escapeSafeSpan(text: string, start: number, end: number): [number, number] {
  if (start > 0 && backslashesBefore(text, start) % 2 === 1) {
    start += text[start] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(start + 1, start + 5)) ? 5 : 1;
  }
  if (end > start && backslashesBefore(text, end) % 2 === 1) end -= 1;
  return [start, end];
}

/** Sorted, non-overlapping spans; overlapping findings are unioned and named after the highest priority. */
function resolveSpans(found: Span[]): Span[] {
  if (found.length <= 1) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  let current = { ...found[0]! };
  for (let i = 1; i < found.length; i++) {
    const next = found[i]!;
    if (next.start < current.end) {
      if (next.end > current.end) current.end = next.end;
      if (next.rule.priority > current.rule.priority) current.rule = next.rule;
    } else {
      out.push(current);
      current = { ...next };
    }
  }
  out.push(current);
  return out;
}

interface Rendered {
  text: string;
  /** For each kept (unreplaced) stretch of the output, in order: [outStart, outEnd] and where it came from. */
  kept: [number, number, number][];
}

class Engine {
  private readonly tokenCache = new Map<string, string>();
  /**
   * Short texts found clean. A transcript line is mostly short strings that recur on every line
   * (JSON keys, types, tool and model names): a lookup here costs a fraction of a scan.
   */
  private readonly cleanShortTexts = new Set<string>();
  private readonly gate: AnchorGate;

  constructor(
    private readonly detectors: readonly Detector[],
    private readonly enabled: ReadonlyMap<string, RuleInfo>,
    private readonly allowlisted: (value: string) => boolean,
    private readonly key: Buffer,
  ) {
    this.gate = new AnchorGate(detectors);
  }

  token(ruleId: string, value: string): string {
    const cacheKey = `${ruleId}:${value}`;
    let token = this.tokenCache.get(cacheKey);
    if (token === undefined) {
      const suffix = createHmac('sha256', this.key).update(cacheKey, 'utf8').digest('hex').slice(0, 6);
      token = `[REDACTED:${ruleId}:${suffix}]`;
      // Secrets repeat a lot (the same key in every env dump); keep the cache small and bounded.
      if (this.tokenCache.size >= 4096) this.tokenCache.clear();
      this.tokenCache.set(cacheKey, token);
    }
    return token;
  }

  detect(text: string): Span[] {
    const tokens: [number, number][] = [];
    if (text.includes('[REDACTED:')) {
      TOKEN_IN_TEXT.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = TOKEN_IN_TEXT.exec(text)) !== null) tokens.push([m.index, m.index + m[0].length]);
    }
    const found: Span[] = [];
    const { enabled, allowlisted } = this;
    const emit: Emit = (ruleId, rawStart, rawEnd) => {
      const rule = enabled.get(ruleId);
      if (!rule) return;
      const [start, end] = escapeSafeSpan(text, rawStart, rawEnd);
      if (end <= start || allowlisted(text.slice(start, end))) return;
      if (tokens.length === 0) {
        found.push({ start, end, rule });
        return;
      }
      // Existing tokens are never re-redacted; whatever else the finding covered still is.
      let pieceStart = start;
      for (let i = firstEndingAfter(tokens, start); i < tokens.length; i++) {
        const [ts, te] = tokens[i]!;
        if (ts >= end) break;
        if (ts > pieceStart) found.push({ start: pieceStart, end: ts, rule });
        pieceStart = Math.max(pieceStart, te);
      }
      if (pieceStart < end) found.push({ start: pieceStart, end, rule });
    };
    const { run, starts } = this.gate.select(text);
    for (let i = 0; i < this.detectors.length; i++) if (run[i]) this.detectors[i]!.detect(text, emit, starts[i]);
    return resolveSpans(found);
  }

  render(text: string, spans: readonly Span[]): Rendered {
    const parts: string[] = [];
    const kept: Rendered['kept'] = [];
    let inPos = 0;
    let outPos = 0;
    for (const span of spans) {
      const keptText = text.slice(inPos, span.start);
      kept.push([outPos, outPos + keptText.length, inPos]);
      parts.push(keptText);
      outPos += keptText.length;
      const token = this.token(span.rule.id, text.slice(span.start, span.end));
      parts.push(token);
      outPos += token.length;
      inPos = span.end;
    }
    const tail = text.slice(inPos);
    kept.push([outPos, outPos + tail.length, inPos]);
    parts.push(tail);
    return { text: parts.join(''), kept };
  }

  redact(text: string): { text: string; spans: Span[] } {
    const short = text.length <= CLEAN_CACHE_MAX_CHARS;
    if (short && this.cleanShortTexts.has(text)) return { text, spans: [] };
    let spans = this.detect(text);
    if (spans.length === 0) {
      if (short) {
        if (this.cleanShortTexts.size >= CLEAN_CACHE_ENTRIES) this.cleanShortTexts.clear();
        this.cleanShortTexts.add(text);
      }
      return { text, spans };
    }
    let rendered = this.render(text, spans);
    for (let pass = 1; pass < MAX_PASSES; pass++) {
      const extra = this.detect(rendered.text);
      if (extra.length === 0) break;
      // New findings lie outside tokens, i.e. inside kept stretches, so they map back to the input 1:1.
      const mapped: Span[] = [];
      for (const span of extra) {
        const seg = rendered.kept[firstEndingAfter(rendered.kept, span.start)];
        if (!seg || span.start < seg[0]) continue;
        const [outStart, outEnd, inStart] = seg;
        mapped.push({ start: inStart + span.start - outStart, end: inStart + Math.min(span.end, outEnd) - outStart, rule: span.rule });
      }
      if (mapped.length === 0) break;
      spans = resolveSpans([...spans, ...mapped]);
      rendered = this.render(text, spans);
    }
    return { text: rendered.text, spans };
  }
}

function toMatch(span: Span): RedactionMatch {
  return { rule: span.rule.id, kind: span.rule.kind, start: span.start, end: span.end };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function createRedactor(opts: RedactorOptions): Redactor {
  if (!Buffer.isBuffer(opts.key) || opts.key.length < 16) {
    throw new Error('createRedactor: key must be a Buffer of at least 16 bytes (use loadOrCreateRedactionKey)');
  }
  const disabled = new Set(opts.disabledRules ?? []);
  const builtinIds = new Set(BUILTIN_DETECTORS.flatMap((d) => d.rules.map((r) => r.id)));
  const customRules = opts.customRules ?? [];
  const seenCustom = new Set<string>();
  for (const rule of customRules) {
    if (seenCustom.has(rule.id)) throw new Error(`custom redaction rule id "${rule.id}" is defined twice`);
    seenCustom.add(rule.id);
  }

  const detectors: Detector[] = [];
  const enabled = new Map<string, RuleInfo>();
  for (const detector of BUILTIN_DETECTORS) {
    if (detector.optIn === 'ipAddresses' && !opts.ipAddresses) continue;
    const active = detector.rules.filter((r) => !disabled.has(r.id));
    if (active.length === 0) continue;
    for (const r of active) enabled.set(r.id, r);
    detectors.push(detector);
  }
  for (const rule of customRules) {
    const detector = customDetector(rule, builtinIds);
    for (const r of detector.rules) enabled.set(r.id, r);
    detectors.push(detector);
  }

  const allowlist = [...(opts.allowlist ?? []), ...(opts.publicPlaceholders === false ? [] : PUBLIC_PLACEHOLDERS)];
  const allowlisted = compileAllowlist(allowlist);
  const engine = new Engine(detectors, enabled, allowlisted, opts.key);
  const ruleIds = [...enabled.keys()];
  const version = createHash('sha256')
    .update(
      JSON.stringify({
        engine: ENGINE_REVISION,
        detectors: detectors.map((d) => [d.name, d.revision]),
        rules: ruleIds,
        ipAddresses: opts.ipAddresses === true,
        allowlist: [...new Set(allowlist)].sort(),
        custom: customRules.map((r) => [r.id, r.pattern, normalizeFlags(r.flags ?? '', ''), r.kind ?? 'secret']),
      }),
    )
    .digest('hex')
    .slice(0, 12);

  const redactText = (text: string): { text: string; matches: RedactionMatch[] } => {
    if (typeof text !== 'string') throw new TypeError('redactText expects a string');
    const result = engine.redact(text);
    return { text: result.text, matches: result.spans.map(toMatch) };
  };

  /** A JSON string value seen together with its object key (`{"password": "hunter2"}`). */
  const redactValueUnderKey = (value: string, key: string | null, plain = redactText): { text: string; matches: RedactionMatch[] } => {
    const credential = key === null ? null : classifyCredentialKey(key);
    if (credential === null || !enabled.has(credential.ruleId)) return plain(value);
    if (credential.assignmentClass === null) {
      // Header objects: reuse the header rule so "Bearer " stays and only the credential goes.
      const prefix = 'Authorization: ';
      const result = engine.redact(prefix + value);
      if (result.text.startsWith(prefix)) {
        return {
          text: result.text.slice(prefix.length),
          matches: result.spans.map((s) => ({ ...toMatch(s), start: s.start - prefix.length, end: s.end - prefix.length })),
        };
      }
      return redactText(value);
    }
    const wholeValueIsSecret =
      !value.includes('[REDACTED:') &&
      !allowlisted(value) &&
      acceptAssignmentValue(value, {
        cls: credential.assignmentClass,
        strict: credential.strict === true,
        quoted: true,
        envStyle: false,
        colonSeparator: false,
        followedByWords: false,
      });
    if (!wholeValueIsSecret) return redactText(value);
    const inner = engine.detect(value);
    const only = inner.length === 1 ? inner[0]! : undefined;
    // Prefer a specific rule's name when it already covers the whole value (a GitHub token under "token").
    const rule = only && only.start === 0 && only.end === value.length ? only.rule : enabled.get(credential.ruleId)!;
    return { text: engine.token(rule.id, value), matches: [{ rule: rule.id, kind: rule.kind, start: 0, end: value.length }] };
  };

  const redactJson = <T>(value: T): { value: T; count: number; byRule: Record<string, number> } => {
    let count = 0;
    const byRule: Record<string, number> = {};
    // Claude Code repeats big strings within one line (a tool's output is both the tool_result
    // content and toolUseResult.stdout or .file.content): scan each distinct long string once.
    // Matches still count once per occurrence, as if each had been scanned.
    const scanned = new Map<string, { text: string; matches: RedactionMatch[] }>();
    const plainOnce = (text: string): { text: string; matches: RedactionMatch[] } => {
      if (text.length < REPEAT_MIN_CHARS) return redactText(text);
      let result = scanned.get(text);
      if (result === undefined) {
        result = redactText(text);
        scanned.set(text, result);
      }
      return result;
    };
    const walk = (node: unknown, key: string | null): unknown => {
      if (typeof node === 'string') {
        const result = redactValueUnderKey(node, key, plainOnce);
        for (const m of result.matches) {
          count++;
          byRule[m.rule] = (byRule[m.rule] ?? 0) + 1;
        }
        return result.text;
      }
      // Go-style header maps hold arrays ({"Authorization": ["Bearer …"]}), so arrays keep the key.
      if (Array.isArray(node)) return node.map((item) => walk(item, key));
      if (isPlainObject(node)) {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(node)) {
          const v = walk(node[k], k);
          // Keys are data too ({"ghp_…": …} in a tool's JSON output): redacted like any text. The
          // value keeps the original key as context.
          const kr = redactText(k);
          for (const m of kr.matches) {
            count++;
            byRule[m.rule] = (byRule[m.rule] ?? 0) + 1;
          }
          let outKey = kr.text;
          // Two secrets whose tokens collide must not overwrite each other's value.
          for (let n = 2; kr.matches.length > 0 && Object.hasOwn(out, outKey); n++) outKey = `${kr.text}#${n}`;
          if (outKey === '__proto__') Object.defineProperty(out, outKey, { value: v, enumerable: true, writable: true, configurable: true });
          else out[outKey] = v;
        }
        return out;
      }
      return node;
    };
    return { value: walk(value, null) as T, count, byRule };
  };

  return {
    version,
    ruleIds,
    redactText,
    scanText: (text) => redactText(text).matches,
    redactJson,
  };
}
