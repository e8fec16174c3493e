// Character and value helpers the rule families share: entropy, randomness, placeholders, checksums (Luhn, card issuers, IBAN mod-97).

// ---------------------------------------------------------------------------------------------
// Character helpers (char codes keep the hand-written scanners allocation-free)

export function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
export function isWordCode(c: number): boolean {
  return isAlnumCode(c) || c === 95; // '_'
}
export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}
export function isSpaceOrTab(c: number): boolean {
  return c === 32 || c === 9;
}

export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  const total = value.length;
  for (const n of counts.values()) {
    const p = n / total;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Looks machine-generated rather than like a word, a name or a number. */
export function looksRandom(value: string, minLength: number): boolean {
  if (value.length < minLength) return false;
  if (/\s/.test(value)) return false;
  if (/^\d+$/.test(value)) return false;
  if (/^[a-z]+(?:[-_.][a-z]+)*$/.test(value)) return false; // lowercase words, kebab/snake names
  if (/\d/.test(value)) return shannonEntropy(value) >= 2.5;
  // Without digits, CamelCaseWords and CONSTANT_NAMES are names; machine tokens mix cases evenly.
  const letters = value.replace(/[^A-Za-z]/g, '').length;
  const uppers = value.replace(/[^A-Z]/g, '').length;
  if (uppers === letters || uppers <= letters * 0.3) return false;
  return shannonEntropy(value) >= 3.5;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and lengths of the major card networks; random digit runs rarely fit both. */
export function cardIssuerValid(digits: string): boolean {
  const n = digits.length;
  if (/^4/.test(digits)) return n === 13 || n === 16 || n === 19;
  if (/^5[1-5]/.test(digits)) return n === 16;
  if (/^2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)/.test(digits)) return n === 16;
  if (/^3[47]/.test(digits)) return n === 15;
  if (/^3(?:0[0-5]|[689])/.test(digits)) return n >= 14 && n <= 19;
  if (/^35(?:2[89]|[3-8]\d)/.test(digits)) return n >= 16 && n <= 19;
  if (/^6(?:011|5|4[4-9]|2)/.test(digits)) return n >= 16 && n <= 19;
  return false;
}

// ISO 13616 registry lengths; the length check rejects most accidental mod-97 passes.
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

export function ibanValid(compact: string): boolean {
  const expected = IBAN_LENGTHS[compact.slice(0, 2)];
  if (expected === undefined || compact.length !== expected) return false;
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const part = code >= 65 ? String(code - 55) : ch;
    for (const d of part) remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

// ---------------------------------------------------------------------------------------------
// Value classification shared by the context rules

export const PLACEHOLDER_EXACT =
  /^(?:x+|\*+|\.+|…+|-+|_+|#+|\?+|changeme|change[_-]?me|change[_-]?it|change[_-]?this|example|sample|placeholder|password|passwd|pass|pwd|secret|secrets|token|apikey|api[_-]?key|key|value|redacted|dummy|fake|foo|bar|baz|foobar|none|null|nil|undefined|true|false|yes|no|on|off|empty|todo|tbd|fixme|n\/a|na|required|optional|hidden|masked|omitted|removed|unset|not[_ -]?set|string|str|number|int|integer|bool|boolean|any|unknown|never|object|bytes|buffer|text|varchar|char|secretstr|optional\[str\]|env|environment|os|config|settings|self|this|args|opts|options|params|props|ctx|context|req|request|res|response|data|input|get|set|new|return|const|let|var|function|await|async)$/i;
// Runs of five x's in one case: random tokens contain "xXx" or "XXXX" far too often to count it.
// Module-private and only ever read through matchAll or the sticky-free copy below: a /g regex
// shared with .test() keeps its lastIndex between calls, so one caller's test made the next
// caller's matchAll start mid-string (redaction then depended on what it had redacted before).
const PLACEHOLDER_FRAGMENTS =
  /x{5}|X{5}|\*\*\*|changeme|change_me|change-me|example|placeholder|your[_-]|your\s|\byour[A-Z]|<[^>]*>|\{\{|\}\}|\$\{|%\(|\[redacted|REDACTED|\.\.\.|…|dummy|fake[_-]|replace[_-]?me|insert[_-]|enter[_ -]your/gi;
const PLACEHOLDER_FRAGMENT_ANYWHERE = new RegExp(PLACEHOLDER_FRAGMENTS.source, 'i');

/** Whether any placeholder fragment ("changeme", "<token>", "${", "…") occurs in the value. */
export function hasPlaceholderFragment(value: string): boolean {
  return PLACEHOLDER_FRAGMENT_ANYWHERE.test(value);
}

/**
 * A placeholder word is written in one case ("dummy", "DUMMY", "Dummy", "yourToken"); random
 * base64 spells them in mixed case ("DUmMy" inside a private key), which is not a placeholder.
 */
export function writtenInOneCase(word: string): boolean {
  const letters = word.replace(/[^A-Za-z]/g, '');
  return letters === letters.toLowerCase() || letters === letters.toUpperCase() || /^[A-Z][a-z]+$/.test(letters);
}

export function isPlaceholderValue(value: string): boolean {
  if (PLACEHOLDER_EXACT.test(value)) return true;
  for (const m of value.matchAll(PLACEHOLDER_FRAGMENTS)) if (/^your[A-Z]$/.test(m[0]) || writtenInOneCase(m[0])) return true;
  if (value.length >= 3 && /^(.)\1+$/.test(value)) return true; // "aaaa", "0000"
  return false;
}

/** `$VAR`, `${VAR}`, `$(cmd)`, `%VAR%`, `{{ var }}`, `<var>`, `{var}`, `%s`: the value is elsewhere. */
export function isReferenceValue(value: string): boolean {
  return (
    /^\$[{(A-Za-z_]/.test(value) ||
    /^%[A-Za-z_][\w]*%$/.test(value) ||
    /^\{\{[\s\S]*\}\}$/.test(value) ||
    /^<[^<>]*>$/.test(value) ||
    /^\{[A-Za-z_][\w.]*\}$/.test(value) ||
    /^%[sdr]$/.test(value) ||
    /^#\{/.test(value) ||
    /^\$\$?[A-Za-z_]/.test(value) ||
    /^[:@][A-Za-z_]+$/.test(value) || // SQL named parameters
    (/%[-#0 +]?\d*[sdifrx]|\{\w*\}/.test(value) && !/[A-Za-z0-9]/.test(value.replace(/%[-#0 +]?\d*[sdifrx]|\{\w*\}/g, ''))) // '%s:%s'
  );
}

export const PATH_VALUE = /^(?:~|\.{1,2})?(?:\/[\w.@+-]+)+\/?$/;

export function isPathValue(value: string): boolean {
  if (!PATH_VALUE.test(value)) return false;
  if (!(value.startsWith('~') || value.startsWith('.') || value.split('/').length >= 3)) return false;
  // A base64 secret can start with '/', a path rarely has a long random segment.
  return !value.split('/').some((seg) => seg.length >= 12 && /[a-z]/.test(seg) && /[A-Z]/.test(seg) && /\d/.test(seg));
}

/** Unquoted right-hand sides that are code: calls, member access, types, other identifiers. */
export function isCodeValue(value: string, envStyle: boolean): boolean {
  if (/[()[\]{}]/.test(value)) return true;
  if (envStyle) return false; // env files hold data: "hvs.CAES…" is a token, not member access
  // Member access (config.token, win32api.RegEnumKey) unless a segment is itself a random token.
  if (/^[A-Za-z_$][\w$]*(?:(?:\.|\?\.|::|->)[A-Za-z_$][\w$]*)+$/.test(value)) {
    if (!value.split(/\.|\?\.|::|->/).some((segment) => looksRandom(segment, 16))) return true;
  }
  if (/^!?[A-Za-z_$][\w$.]*(?:\|\||&&|\?\?)/.test(value)) return true; // c.token||"" in minified code
  if (/^[A-Za-z_$][\w$]*$/.test(value) && !/\d/.test(value)) {
    if (/[a-z][A-Z]/.test(value)) return true; // camelCase
    if (/^[A-Z][a-z]+(?:[A-Z][a-z]*)*$/.test(value)) return true; // PascalCase type names
    if (/^_*[a-z]+(?:_[a-z]+)+_*$/.test(value)) return true; // snake_case identifiers
    if (/^_*[A-Z]+(?:_[A-Z]+)+_*$/.test(value)) return true; // CONSTANT_NAMES, __WS_TOKEN__
  }
  return false;
}
