// Every built-in detector: the value-shaped rules (rules.ts: vendor formats, hand-written and from
// gitleaks' catalogue; assignments; PII), the context rules (context-rules.ts), and the rejoining
// of vendor tokens that a terminal or a string concatenation broke across lines.
import { CONTEXT_DETECTORS } from './context-rules.js';
import { LiteralAutomaton } from './literal-scan.js';
import { RULE_DETECTORS, VENDOR_PRIORITY, type Detector, type RuleInfo } from './rules.js';
import { isAlnumCode } from './rules/values.js';

// Detectors of tokens with a format of their own (prefix, length, charset): the ones a line break
// can cut in two.
const VENDOR_DETECTORS = RULE_DETECTORS.filter((d) => d.anchors.length > 0 && d.rules.every((r) => r.kind === 'secret' && r.priority >= VENDOR_PRIORITY - 10));

// A break between two runs of token characters: a terminal wrap (\n), a string concatenation
// ("…"\n    "…", '…' + '…'), a shell continuation (\\\n). Only the break itself is removed.
const BREAK_AT = /(?:\n|\\n|["'][ \t]*(?:\+[ \t]*)?(?:\n|\\n)[ \t]*(?:\+[ \t]*)?["']|\\\n[ \t]*)(?=[A-Za-z0-9_+/=-]{4})/y;
const MAX_TOKEN = 300;

function isTokenCode(c: number): boolean {
  return isAlnumCode(c) || c === 95 || c === 45 || c === 43 || c === 47 || c === 61 || c === 46 || c === 126;
}

// One pass finds every vendor anchor; only where a run of token characters from one reaches a
// line break is the text rejoined and the anchor's detectors run on the joined window.
const ANCHORS = [...new Set(VENDOR_DETECTORS.flatMap((d) => d.anchors))];
const DETECTORS_BY_ANCHOR = ANCHORS.map((a) => VENDOR_DETECTORS.filter((d) => d.anchors.includes(a)));
let anchorScanner: LiteralAutomaton | null = null;

function rejoinDetect(text: string, emit: (ruleId: string, start: number, end: number) => void): void {
  if (!text.includes('\n') && !text.includes('\\n')) return; // no raw and no escaped line break
  const scanner = (anchorScanner ??= new LiteralAutomaton(ANCHORS.map((literal) => ({ literal }))));
  const hits: [number, number][] = [];
  scanner.scan(text, (id, end) => hits.push([id, end - scanner.lengths[id]!]));
  let doneUntil = -1;
  for (const [id, at] of hits) {
    if (at < doneUntil) continue;
    let j = at;
    while (j < text.length && j - at < MAX_TOKEN && isTokenCode(text.charCodeAt(j))) j++;
    BREAK_AT.lastIndex = j;
    const b = BREAK_AT.exec(text);
    if (!b || j - at < 4) continue;
    const gap = b[0].length;
    const joint = j;
    const from = at;
    const to = Math.min(text.length, joint + gap + MAX_TOKEN);
    const view = text.slice(from, joint) + text.slice(joint + gap, to);
    const cut = joint - from;
    for (const d of DETECTORS_BY_ANCHOR[id]!) {
      // A token that is already whole before the break is not broken by it ("dckr_pat_…\nLogin
      // Succeeded": the next line is other text).
      let whole = false;
      d.detect(view.slice(0, cut), (_ruleId, _s, e) => {
        if (e >= cut - 1) whole = true;
      });
      if (whole) continue;
      d.detect(view, (_ruleId, s, e) => {
        // Only tokens that span the joint: the others are found in the text itself.
        if (!(s < cut && e > cut)) return;
        emit('wrapped-token', from + s, joint);
        emit('wrapped-token', joint + gap, joint + gap + (e - cut));
        doneUntil = joint + gap + (e - cut);
      });
    }
  }
}

const rejoinedTokens: Detector = {
  name: 'rejoined-tokens',
  revision: 1,
  rules: [
    {
      id: 'wrapped-token',
      kind: 'secret',
      priority: VENDOR_PRIORITY - 3,
      description: 'Vendor tokens broken across lines (terminal wraps, string concatenation, shell continuations), both halves',
    },
  ],
  anchors: ANCHORS,
  detect: rejoinDetect,
};

// ---------------------------------------------------------------------------------------------
// Vendor tokens inside base64 blobs (`echo -n "ghp_…" | base64`, a Basic auth header of a token,
// a .dockerconfigjson). Decoding every base64 run would cost a pass over every image in a
// transcript; instead the anchors are the base64 spellings of the vendor prefixes themselves, at
// the three byte alignments, so only a blob that encodes a prefix is decoded and scanned.

const MIN_BLOB = 24; // shorter runs cannot hold a prefix plus a token body
const MAX_BLOB = 256 * 1024; // larger runs are images and archives; the window around the hit is decoded

/** The base64 characters that depend only on `literal`'s bytes, for each of the three alignments. */
export function base64Spellings(literal: string): string[] {
  const bytes = Buffer.from(literal, 'latin1');
  const out: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    const first = Math.ceil((8 * pad) / 6);
    const last = Math.floor((8 * (pad + bytes.length)) / 6);
    const spelling = encoded.slice(first, last);
    if (spelling.length >= 4) out.push(spelling);
  }
  return out;
}

// Prefixes of 4+ characters: shorter ones ('sk-', 'AC') spell 4 base64 characters, which random
// base64 (every image) contains all the time.
const B64_SOURCES = ANCHORS.filter((a) => a.length >= 4 && /^[\x20-\x7e]+$/.test(a));
const B64_ANCHORS = [...new Set(B64_SOURCES.flatMap(base64Spellings))];

function isBase64Code(c: number): boolean {
  return isAlnumCode(c) || c === 43 || c === 47 || c === 45 || c === 95; // + / and the URL-safe - _
}

let b64Scanner: LiteralAutomaton | null = null;

function base64Detect(text: string, emit: (ruleId: string, start: number, end: number) => void): void {
  const scanner = (b64Scanner ??= new LiteralAutomaton(B64_ANCHORS.map((literal) => ({ literal }))));
  const hits: number[] = [];
  scanner.scan(text, (id, end) => hits.push(end - scanner.lengths[id]!));
  let doneUntil = -1;
  for (const at of hits) {
    if (at < doneUntil) continue;
    let start = at;
    while (start > 0 && at - start < MAX_BLOB && isBase64Code(text.charCodeAt(start - 1))) start--;
    let end = at;
    while (end < text.length && end - at < MAX_BLOB && isBase64Code(text.charCodeAt(end))) end++;
    doneUntil = end;
    if (end - start < MIN_BLOB) continue;
    let padded = end;
    while (padded < text.length && padded - end < 2 && text.charCodeAt(padded) === 61) padded++; // '=' padding
    // Decode a window around the hit, aligned to the run's 4-character groups.
    const from = Math.max(start, start + Math.floor((at - start - 400) / 4) * 4);
    const to = Math.min(end, at + 1200);
    const decoded = Buffer.from(text.slice(from, to).replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
    let found = false;
    for (const d of VENDOR_DETECTORS) {
      if (found) break;
      if (!d.anchors.some((a) => decoded.includes(a))) continue;
      d.detect(decoded, () => {
        found = true;
      });
    }
    if (found) emit('base64-token', start, padded);
  }
}

const base64Tokens: Detector = {
  name: 'base64-tokens',
  revision: 1,
  rules: [{ id: 'base64-token', kind: 'secret', priority: VENDOR_PRIORITY - 4, description: 'Base64 blobs that decode to a vendor token (the whole blob)' }],
  anchors: B64_ANCHORS,
  detect: base64Detect,
};

export const BUILTIN_DETECTORS: readonly Detector[] = [...RULE_DETECTORS, ...CONTEXT_DETECTORS, rejoinedTokens, base64Tokens];

export const BUILTIN_RULES: readonly RuleInfo[] = BUILTIN_DETECTORS.flatMap((d) => d.rules);
