// Built-in detectors for secrets and PII.
//
// Each detector reports spans of the *secret part* of a match (the value after `password=`, the
// password inside a URL, the body of a PEM block), so the engine can keep the surrounding structure.
// Speed comes from doing little per byte: most detectors declare literal anchors and are skipped
// when none occurs (the engine checks all anchors in one pass); the few that must look at every
// text (assignments, numbers, IBANs) run one cheap candidate regex and validate only candidates.
// Every scan is linear: searches from a candidate stay inside a bounded window, because a
// quadratic scanner turns one pathological line into minutes of CPU.
//
// Changing what a detector matches changes which bytes leave the machine, so every detector has a
// `revision`: bump it with any behavioural change and Redactor.version changes with it, which
// makes stored rows eligible for re-redaction.
import { isIPv4, isIPv6 } from 'node:net';
import { GITLEAKS_COMMIT, GITLEAKS_RULES, type GitleaksRule } from './gitleaks-rules.js';
import { ascendingUnique, LiteralAutomaton } from './literal-scan.js';

export type RedactionKind = 'secret' | 'pii';

export interface RuleInfo {
  readonly id: string;
  readonly kind: RedactionKind;
  /** When spans of different rules overlap, the merged span is named after the highest priority. */
  readonly priority: number;
  readonly description: string;
}

export type Emit = (ruleId: string, start: number, end: number) => void;

export interface Detector {
  readonly name: string;
  readonly revision: number;
  readonly rules: readonly RuleInfo[];
  /** Case-sensitive literals; if none occurs in a text the detector cannot match there. Empty = always run. */
  readonly anchors: readonly string[];
  /**
   * The anchors occur in most texts ('@', '://'). The engine checks rare anchors of all detectors
   * in one combined scan; frequent ones would make that scan stop constantly, so they get includes().
   */
  readonly frequentAnchors?: boolean;
  /** Detectors that only run when the named option is on. */
  readonly optIn?: 'ipAddresses';
  /**
   * ASCII literals, matched ignoring case, at one of which every match of the detector starts.
   * The engine finds them in its combined scan, runs the detector only where one occurs, and
   * passes their start offsets (ascending) to detect(); called without them, the detector finds
   * them itself.
   */
  readonly startLiterals?: readonly string[];
  detect(text: string, emit: Emit, starts?: readonly number[]): void;
}

// ---------------------------------------------------------------------------------------------
// Character helpers (char codes keep the hand-written scanners allocation-free)

function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isWordCode(c: number): boolean {
  return isAlnumCode(c) || c === 95; // '_'
}
function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpaceOrTab(c: number): boolean {
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
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
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

const PLACEHOLDER_EXACT =
  /^(?:x+|\*+|\.+|…+|-+|_+|#+|\?+|changeme|change[_-]?me|change[_-]?it|change[_-]?this|example|sample|placeholder|password|passwd|pass|pwd|secret|secrets|token|apikey|api[_-]?key|key|value|redacted|dummy|fake|foo|bar|baz|foobar|none|null|nil|undefined|true|false|yes|no|on|off|empty|todo|tbd|fixme|n\/a|na|required|optional|hidden|masked|omitted|removed|unset|not[_ -]?set|string|str|number|int|integer|bool|boolean|any|unknown|never|object|bytes|buffer|text|varchar|char|secretstr|optional\[str\]|env|environment|os|config|settings|self|this|args|opts|options|params|props|ctx|context|req|request|res|response|data|input|get|set|new|return|const|let|var|function|await|async)$/i;
// Runs of five x's in one case: random tokens contain "xXx" or "XXXX" far too often to count it.
const PLACEHOLDER_FRAGMENT =
  /x{5}|X{5}|\*\*\*|changeme|change_me|change-me|example|placeholder|your[_-]|your\s|\byour[A-Z]|<[^>]*>|\{\{|\}\}|\$\{|%\(|\[redacted|REDACTED|\.\.\.|…|dummy|fake[_-]|replace[_-]?me|insert[_-]|enter[_ -]your/gi;

/**
 * A placeholder word is written in one case ("dummy", "DUMMY", "Dummy", "yourToken"); random
 * base64 spells them in mixed case ("DUmMy" inside a private key), which is not a placeholder.
 */
function writtenInOneCase(word: string): boolean {
  const letters = word.replace(/[^A-Za-z]/g, '');
  return letters === letters.toLowerCase() || letters === letters.toUpperCase() || /^[A-Z][a-z]+$/.test(letters);
}

export function isPlaceholderValue(value: string): boolean {
  if (PLACEHOLDER_EXACT.test(value)) return true;
  for (const m of value.matchAll(PLACEHOLDER_FRAGMENT)) if (/^your[A-Z]$/.test(m[0]) || writtenInOneCase(m[0])) return true;
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

const PATH_VALUE = /^(?:~|\.{1,2})?(?:\/[\w.@+-]+)+\/?$/;

function isPathValue(value: string): boolean {
  if (!PATH_VALUE.test(value)) return false;
  if (!(value.startsWith('~') || value.startsWith('.') || value.split('/').length >= 3)) return false;
  // A base64 secret can start with '/', a path rarely has a long random segment.
  return !value.split('/').some((seg) => seg.length >= 12 && /[a-z]/.test(seg) && /[A-Z]/.test(seg) && /\d/.test(seg));
}

/** Unquoted right-hand sides that are code: calls, member access, types, other identifiers. */
function isCodeValue(value: string, envStyle: boolean): boolean {
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

// ---------------------------------------------------------------------------------------------
// Regex-driven detectors

export interface RegexRuleSpec {
  id: string;
  kind: RedactionKind;
  priority: number;
  description: string;
  revision: number;
  anchors: readonly string[];
  /** Must have the g flag; the d flag when `secretGroup` is set. */
  pattern: RegExp;
  secretGroup?: number;
  accept?: (secret: string, text: string, start: number) => boolean;
}

// Masked or x-ed out tokens: real tokens never look like this. Documentation keys such as
// AKIAIOSFODNN7EXAMPLE are redacted all the same: they have the exact shape of a live key, sessions
// use them as stand-ins for real ones, and hiding a harmless example costs nothing.
const VENDOR_MASK = /x{5}|X{5}|[<>]|\*\*\*/;
const REPEATED_RUN = /(.)\1{3,}/g;

/**
 * A masked token, or one made mostly of repeated characters (AKIA0000000000000000). A single run
 * is not enough: a live Slack token's numeric ids can hold six equal digits in a row
 * (xoxb-…-2688888852596-…), and fuzzing found exactly such a token left in the clear.
 */
// Test fixtures spell it out: …Ntest, …STRINGHERE, hf_FakeFakeFake….
const PLACEHOLDER_TOKEN_WORDS = /(?:test|example|sample|dummy|here|fake|placeholder)$|(fake|test|example|dummy)(?:\1){2}/i;

export function isPlaceholderToken(secret: string): boolean {
  // OpenAI keys carry base64("OpenAI"); with it, a key is real whatever its test-like suffix.
  if (secret.includes('T3BlbkFJ')) return false;
  if (VENDOR_MASK.test(secret)) return true;
  if (PLACEHOLDER_TOKEN_WORDS.test(secret)) return true;
  // Runs of the characters people mask with (0000, ...., ----, ####); a token of other repeated
  // letters (sk_live_AAAA…, tskey-api-AAAA…) is a test fixture with a real token's shape, and
  // redacting it costs nothing.
  let repeated = 0;
  for (const m of secret.matchAll(REPEATED_RUN)) if ('0.-#_'.includes(m[1]!)) repeated += m[0].length;
  return repeated * 2 >= secret.length;
}

export function regexDetector(spec: RegexRuleSpec): Detector {
  const rule: RuleInfo = { id: spec.id, kind: spec.kind, priority: spec.priority, description: spec.description };
  const { pattern, secretGroup, accept } = spec;
  return {
    name: spec.id,
    revision: spec.revision,
    rules: [rule],
    anchors: spec.anchors,
    detect(text, emit) {
      pattern.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = pattern.exec(text)) !== null) {
        if (m[0].length === 0) {
          pattern.lastIndex++;
          continue;
        }
        let start = m.index;
        let end = start + m[0].length;
        if (secretGroup !== undefined) {
          const span = m.indices?.[secretGroup];
          if (!span) continue;
          [start, end] = span;
        }
        if (end <= start) continue;
        const secret = text.slice(start, end);
        if (isPlaceholderToken(secret)) continue;
        if (accept && !accept(secret, text, start)) continue;
        emit(spec.id, start, end);
      }
    },
  };
}

export const VENDOR_PRIORITY = 100;

const awsAccessKeyId = regexDetector({
  id: 'aws-access-key-id',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'AWS access key id (AKIA…/ASIA…)',
  revision: 2,
  anchors: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
});

const awsSecretAccessKey = regexDetector({
  id: 'aws-secret-access-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY - 5,
  description: 'AWS secret access key next to its name (aws_secret_access_key=…, "SecretAccessKey": "…")',
  revision: 1,
  anchors: ['ecret', 'ECRET'],
  pattern: /(?:secret_?access_?key|secretkey|aws_?secret(?:_?key)?)(?:\\?["'])?[ \t]*(?:[:=]|=>)[ \t]*(?:\\?["'])?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/dgi,
  secretGroup: 1,
});

const githubToken = regexDetector({
  id: 'github-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
  revision: 2,
  anchors: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})(?![A-Za-z0-9_])/g,
});

const gitlabToken = regexDetector({
  id: 'gitlab-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'GitLab tokens (glpat-, gldt-, glrt-, …)',
  revision: 2,
  anchors: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'glimt-', 'gloas-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])(?:glpat|gldt|glrt|glptt|glcbt|glimt|gloas)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*/g,
});

const slackToken = regexDetector({
  id: 'slack-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Slack tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xapp-)',
  revision: 2,
  anchors: ['xox', 'xapp-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])(?:xox[abposre]|xapp)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+/g,
  accept: (secret) => secret.length >= 15 && /\d/.test(secret),
});

const slackWebhook = regexDetector({
  id: 'slack-webhook',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Slack incoming-webhook URL path',
  revision: 1,
  anchors: ['hooks.slack.com'],
  pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([A-Za-z0-9_/-]{16,})/dg,
  secretGroup: 1,
});

const discordWebhook = regexDetector({
  id: 'discord-webhook',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Discord webhook URL token',
  revision: 1,
  anchors: ['/api/webhooks/'],
  pattern: /discord(?:app)?\.com\/api\/webhooks\/\d+\/([A-Za-z0-9_-]{30,})/dg,
  secretGroup: 1,
});

const stripeKey = regexDetector({
  id: 'stripe-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Stripe secret/restricted keys and webhook secrets',
  revision: 2,
  anchors: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,}|whsec_[A-Za-z0-9+/=]{24,})(?![A-Za-z0-9_])/g,
});

const anthropicKey = regexDetector({
  id: 'anthropic-api-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY + 1,
  description: 'Anthropic API keys (sk-ant-…)',
  revision: 2,
  anchors: ['sk-ant-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g,
});

const openaiKey = regexDetector({
  id: 'openai-api-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'OpenAI API keys (sk-…, sk-proj-…)',
  revision: 2,
  anchors: ['sk-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g,
  // Kebab-case identifiers such as CSS classes also start with "sk-"; keys are random.
  accept: (secret) => {
    const body = secret.replace(/^sk-(?:proj-|svcacct-|admin-|None-)?/, '');
    return /\d/.test(body) && /[A-Za-z]/.test(body) && shannonEntropy(body) >= 3.5;
  },
});

const googleApiKey = regexDetector({
  id: 'google-api-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Google API keys (AIza…)',
  revision: 2,
  anchors: ['AIza'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
});

const npmToken = regexDetector({
  id: 'npm-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'npm access tokens (npm_…)',
  revision: 2,
  anchors: ['npm_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g,
});

const huggingfaceToken = regexDetector({
  id: 'huggingface-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Hugging Face tokens (hf_…)',
  revision: 2,
  anchors: ['hf_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])hf_[A-Za-z0-9]{30,40}(?![A-Za-z0-9_])/g,
  accept: (secret) => /[A-Z]/.test(secret) && /[a-z]/.test(secret.slice(3)),
});

const sendgridKey = regexDetector({
  id: 'sendgrid-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'SendGrid API keys (SG.…)',
  revision: 2,
  anchors: ['SG.'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
});

const pypiToken = regexDetector({
  id: 'pypi-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'PyPI upload tokens',
  revision: 1,
  anchors: ['pypi-AgE'],
  pattern: /pypi-AgE[A-Za-z0-9_-]{50,}/g,
});

const digitaloceanToken = regexDetector({
  id: 'digitalocean-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'DigitalOcean tokens (dop_v1_…)',
  revision: 2,
  anchors: ['_v1_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])do[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])/g,
});

const telegramBotToken = regexDetector({
  id: 'telegram-bot-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Telegram bot tokens',
  revision: 1,
  anchors: [':AA'],
  pattern: /(?<![0-9:])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
});

const azureStorageKey = regexDetector({
  id: 'azure-storage-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Azure storage account keys in connection strings (AccountKey=…)',
  revision: 1,
  anchors: ['AccountKey='],
  pattern: /AccountKey=([A-Za-z0-9+/]{40,}={0,2})/dg,
  secretGroup: 1,
});

const googleOauthToken = regexDetector({
  id: 'google-oauth-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Google OAuth access tokens (ya29.…)',
  revision: 2,
  anchors: ['ya29.'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])ya29\.[0-9A-Za-z_-]{20,}/g,
});

const shopifyToken = regexDetector({
  id: 'shopify-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Shopify access tokens (shpat_, shpss_, shpca_, shppa_)',
  revision: 2,
  anchors: ['shpat_', 'shpss_', 'shpca_', 'shppa_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])shp(?:at|ss|ca|pa)_[A-Za-z0-9]{32,40}(?![A-Za-z0-9_])/g,
});

const ageSecretKey = regexDetector({
  id: 'age-secret-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'age encryption secret keys',
  revision: 1,
  anchors: ['AGE-SECRET-KEY-1'],
  pattern: /AGE-SECRET-KEY-1[0-9A-Z]{58}/g,
});

// Vendors whose tokens carry their own prefix and that neither the rules above nor gitleaks'
// format-anchored rules cover (gitleaks-rules.ts), from each vendor's documentation.
const B = String.raw`(?<!(?<!\\)[A-Za-z0-9_-])`;
const E = String.raw`(?![A-Za-z0-9_-])`;
const vendor = (id: string, description: string, anchors: string[], body: string, secretGroup?: number) =>
  regexDetector({
    id,
    kind: 'secret',
    priority: VENDOR_PRIORITY,
    description,
    revision: 1,
    anchors,
    pattern: new RegExp(`${B}${body}${E}`, secretGroup ? 'dg' : 'g'),
    ...(secretGroup ? { secretGroup } : {}),
  });

const moreVendors: Detector[] = [
  vendor(
    'docker-hub-token',
    'Docker Hub personal/organization access tokens (dckr_pat_, dckr_oat_)',
    ['dckr_'],
    String.raw`dckr_(?:pat|oat)_[A-Za-z0-9_-]{20,}`,
  ),
  vendor(
    'vault-token',
    'HashiCorp Vault service, batch and recovery tokens (hvs., hvb., hvr.)',
    ['hvs.', 'hvb.', 'hvr.'],
    String.raw`hv[sbr]\.[A-Za-z0-9_-]{20,}`,
  ),
  vendor(
    'sidekiq-credentials',
    'Sidekiq Enterprise/Pro gem credentials (BUNDLE_…__CONTRIBSYS__COM)',
    ['CONTRIBSYS__COM'],
    String.raw`BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM["']?\s*[:=]\s*["']?([a-f0-9]{8}:[a-f0-9]{8})`,
    1,
  ),
  regexDetector({
    id: 'tailscale-key',
    kind: 'secret',
    priority: VENDOR_PRIORITY,
    description: 'Tailscale auth, API, OAuth client and webhook keys (tskey-…)',
    revision: 1,
    anchors: ['tskey-'],
    // MY_tskey-…, 0tskey-…: only a letter before it makes it part of another word.
    pattern: /(?<![A-Za-z])tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{16,}(?![A-Za-z0-9_-])/g,
  }),
  vendor('vercel-token', 'Vercel tokens (vcp_, vci_, vca_, vcr_, vck_)', ['vcp_', 'vci_', 'vca_', 'vcr_', 'vck_'], String.raw`vc[pikar]_[A-Za-z0-9]{24,}`),
  vendor('groq-api-key', 'Groq API keys (gsk_ + 52)', ['gsk_'], String.raw`gsk_[A-Za-z0-9]{52}`),
  vendor(
    'cloudflare-token',
    'Cloudflare account and user API tokens (cfat_, cfut_, cfk_)',
    ['cfat_', 'cfut_', 'cfk_'],
    String.raw`cf(?:at|ut|k)_[A-Za-z0-9_-]{30,}`,
  ),
  vendor(
    'github-installation-token',
    'GitHub App installation tokens in the JWT-bearing form (ghs_<id>_eyJ…)',
    ['ghs_'],
    String.raw`ghs_\d+_eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`,
  ),
  vendor('sourcegraph-token', 'Sourcegraph access tokens (sgp_)', ['sgp_'], String.raw`sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}`),
  vendor('twilio-key', 'Twilio API keys (SK + 32 hex)', ['SK'], String.raw`SK[0-9a-fA-F]{32}`),
  vendor(
    'new-relic-key',
    'New Relic user, insights, browser keys and license keys (NRAK-, NRII-, NRJS-, …NRAL)',
    ['NRAK-', 'NRII-', 'NRIQ-', 'NRJS-', 'NRAL'],
    String.raw`(?:NRAK-[A-Z0-9]{27}|NRI[IQ]-[A-Za-z0-9_-]{32}|NRJS-[a-f0-9]{19}|[a-f0-9]{36}NRAL)`,
  ),
  vendor(
    'supabase-key',
    'Supabase personal access tokens and secret keys (sbp_, sb_secret_)',
    ['sbp_', 'sb_secret_'],
    String.raw`(?:sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,})`,
  ),
  vendor('mailchimp-key', 'Mailchimp API keys (32 hex, -us<dc>)', ['-us'], String.raw`[0-9a-f]{32}-us\d{1,2}`),
  vendor('mailgun-key', 'Mailgun private API keys (key-…) and webhook signing keys', ['key-'], String.raw`key-[0-9a-f]{32}`),
  vendor('okta-token', 'Okta API tokens (00…, 42 chars) after SSWS', ['SSWS'], String.raw`SSWS\s+(00[A-Za-z0-9_-]{40})`, 1),
  vendor('atlassian-token', 'Atlassian API tokens (ATATT3…) and Jira/Confluence PATs', ['ATATT3', 'ATCTT3'], String.raw`AT[AC]TT3[A-Za-z0-9_=-]{100,}`),
  vendor('fly-token', 'Fly.io macaroon tokens (FlyV1 fm2_…)', ['FlyV1 '], String.raw`FlyV1 (fm\d[a-z]?_[A-Za-z0-9+/=,_-]{40,})`, 1),
  vendor(
    'doppler-token',
    'Doppler tokens (dp.pt., dp.st., dp.sa., dp.ct., dp.scim., dp.audit.)',
    ['dp.'],
    String.raw`dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_.-]{40,}`,
  ),
  vendor('databricks-token', 'Databricks personal access tokens (dapi…, dose…)', ['dapi', 'dose'], String.raw`(?:dapi|dose)[a-fA-F0-9]{32}(?:-\d)?`),
  vendor('huggingface-org-token', 'Hugging Face organization API tokens (api_org_)', ['api_org_'], String.raw`api_org_[A-Za-z]{34}`),
  vendor('onepassword-token', '1Password service account tokens (ops_eyJ…)', ['ops_eyJ'], String.raw`ops_eyJ[A-Za-z0-9+/=_-]{40,}`),
  vendor(
    'facebook-token',
    'Facebook app access tokens (app id|secret) and page tokens (EAA…)',
    ['|', 'EAA'],
    String.raw`(?:\d{15,16}\|[0-9A-Za-z_-]{27,40}|EAA[A-Za-z0-9]{100,})`,
  ),
  vendor('azure-ad-client-secret', 'Azure AD (Entra ID) client secrets (…8Q~…)', ['Q~'], String.raw`[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}`),
];

const jsonWebToken = regexDetector({
  id: 'jwt',
  kind: 'secret',
  priority: VENDOR_PRIORITY - 10,
  description: 'JSON Web Tokens (eyJ….eyJ….…)',
  revision: 2,
  anchors: ['eyJ'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?/g,
});

// ---------------------------------------------------------------------------------------------
// PEM private keys

const PEM_HEADER = /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_FOOTER = /-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/g;
// Body of a block whose END marker never came (output cut off): the base64 run, raw or JSON-escaped.
const PEM_TRUNCATED_BODY = /(?:[A-Za-z0-9+/=\s]|\\[nr])*/y;
const PEM_MAX_BODY = 65536;

function trimPemBody(text: string, start: number, end: number): [number, number] {
  for (;;) {
    if (start < end && /\s/.test(text[start]!)) start++;
    else if (start + 1 < end && text[start] === '\\' && (text[start + 1] === 'n' || text[start + 1] === 'r')) start += 2;
    else break;
  }
  for (;;) {
    if (end > start && /\s/.test(text[end - 1]!)) end--;
    else if (end - 1 > start && text[end - 2] === '\\' && (text[end - 1] === 'n' || text[end - 1] === 'r')) end -= 2;
    else break;
  }
  return [start, end];
}

/**
 * A documentation block, not a key: "...", "***", "xxx", "<your key here>", or a body too short to
 * be any key (the smallest, Ed25519 in PKCS#8, is 64 base64 characters) that decodes to text.
 */
function isPlaceholderPemBody(body: string): boolean {
  const compact = body.replace(/\s+|\\[nr]/g, '');
  if (compact.length === 0 || /^[.*x…<>-]+$/i.test(compact) || /^(.)\1+$/.test(compact)) return true;
  // A base64 body is a key, whatever words its random letters happen to spell, unless it is too
  // short to be one and decodes to text.
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    if (compact.length >= 64) return false;
    return /^[\x20-\x7e]+$/.test(Buffer.from(compact, 'base64').toString('latin1'));
  }
  return isPlaceholderValue(compact);
}

const privateKey: Detector = {
  name: 'private-key',
  revision: 1,
  rules: [{ id: 'private-key', kind: 'secret', priority: VENDOR_PRIORITY + 10, description: 'PEM private key blocks' }],
  anchors: ['-----BEGIN'],
  detect(text, emit) {
    PEM_HEADER.lastIndex = 0;
    let header: RegExpExecArray | null;
    // The next footer at or after some position; reused so headers without footers stay linear.
    let footer: RegExpExecArray | null | undefined;
    while ((header = PEM_HEADER.exec(text)) !== null) {
      const bodyStart = header.index + header[0].length;
      if (footer === undefined || (footer !== null && footer.index < bodyStart)) {
        PEM_FOOTER.lastIndex = bodyStart;
        footer = PEM_FOOTER.exec(text);
      }
      let bodyEnd: number;
      if (footer && footer.index - bodyStart <= PEM_MAX_BODY) {
        bodyEnd = footer.index;
        PEM_HEADER.lastIndex = footer.index + footer[0].length;
      } else {
        PEM_TRUNCATED_BODY.lastIndex = bodyStart;
        PEM_TRUNCATED_BODY.exec(text);
        bodyEnd = PEM_TRUNCATED_BODY.lastIndex;
      }
      const [s, e] = trimPemBody(text, bodyStart, bodyEnd);
      if (e > s && !isPlaceholderPemBody(text.slice(s, e))) emit('private-key', s, e);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Credentials inside URLs: scheme://user:PASSWORD@host

const URL_USERINFO = /:\/\/([^\s:/?#@"'<>\\]*):([^\s/?#"'<>\\]+)@(?=[A-Za-z0-9[_-])/dg;

const urlCredentials: Detector = {
  name: 'url-credentials',
  revision: 1,
  rules: [{ id: 'url-credentials', kind: 'secret', priority: 80, description: 'Passwords in URLs (postgres://user:pass@host, https://user:token@host)' }],
  anchors: ['://'],
  frequentAnchors: true,
  detect(text, emit) {
    URL_USERINFO.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = URL_USERINFO.exec(text)) !== null) {
      const span = m.indices?.[2];
      if (!span) continue;
      // The scheme must precede "://" directly; "://" alone is not a URL.
      if (m.index === 0 || !/[A-Za-z0-9+.-]/.test(text[m.index - 1]!)) continue;
      const password = m[2] ?? '';
      if (isReferenceValue(password) || /^(?:(?:my)?password|pass|pwd|secret|\*+|x+)$/i.test(password) || PLACEHOLDER_FRAGMENT.test(password)) continue;
      // Documentation shapes: a password equal to the user name (mongodb:mongodb), too short or one
      // repeated character to be a real one (abc, 1111), "replace with …".
      if (password === m[1] || password.length < 4 || /^(.)\1+$/.test(password) || /replace[_-]?with|^(?:user|db)?pass(?:word)?\d?$/i.test(password)) continue;
      emit('url-credentials', span[0], span[1]);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Authorization headers (HTTP, curl -H, JSON header objects) and bare Bearer/Basic credentials

const AUTH_ANCHOR = /authorization|bearer|basic/gi;
const AUTH_SCHEME = /(bearer|basic|token|digest|bot|negotiate|ntlm|apikey|api-key|jwt|dpop|ssws|aws4-hmac-sha256)[ \t]+/iy;
const TOKEN68 = /[A-Za-z0-9._~+/=:-]+/y;

function readTo(text: string, start: number, stop: (c: number) => boolean, limit = 8192): number {
  let i = start;
  const max = Math.min(text.length, start + limit);
  while (i < max && !stop(text.charCodeAt(i))) i++;
  return i;
}

/** Where a quoted value ends: its closing quote, else the end of the line, else `limit` chars on. */
function endOfQuoted(text: string, start: number, quote: string, escapedQuote: boolean, limit = 65536): number {
  // Every search stays inside the window: unbounded searches from each of many keywords in a long
  // line would make scanning quadratic.
  const windowEnd = Math.min(text.length, start + limit);
  if (escapedQuote) {
    const window = text.slice(start, windowEnd);
    const close = window.indexOf(`\\${quote}`);
    const eol = window.indexOf('\n');
    if (close < 0) return start + (eol < 0 ? window.length : eol);
    return start + (eol >= 0 && eol < close ? eol : close);
  }
  let i = start;
  const q = quote.charCodeAt(0);
  while (i < windowEnd) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) {
      i += 2;
      continue;
    }
    if (c === q || c === 10) break;
    i++;
  }
  return Math.min(i, windowEnd);
}

/** Padded base64 of words and spaces ("dummy text data"): sample data, not a key. */
function base64DecodesToProse(value: string): boolean {
  if (value.length < 12 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[A-Za-z]+(?: [A-Za-z]+){2,}\.?$/.test(decoded);
}

function base64DecodesToUserPass(value: string): boolean {
  if (value.length < 8 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded);
}

const authorizationHeader: Detector = {
  name: 'authorization-header',
  revision: 1,
  rules: [{ id: 'authorization-header', kind: 'secret', priority: 85, description: 'Authorization: Bearer/Basic/… credentials' }],
  // Every spelling of "authorization", "bearer" and "basic" contains one of these.
  anchors: ['uthorization', 'UTHORIZATION', 'earer', 'EARER', 'asic', 'ASIC'],
  detect(text, emit) {
    AUTH_ANCHOR.lastIndex = 0;
    let coveredUntil = -1;
    let m: RegExpExecArray | null;
    while ((m = AUTH_ANCHOR.exec(text)) !== null) {
      const at = m.index;
      if (at < coveredUntil) continue;
      if (at > 0 && isAlnumCode(text.charCodeAt(at - 1))) continue;
      const word = m[0].toLowerCase();
      if (word === 'authorization') {
        let p = at + m[0].length;
        if (isWordCode(text.charCodeAt(p))) continue;
        if (text[p] === '\\' && (text[p + 1] === '"' || text[p + 1] === "'")) p += 2;
        else if (text[p] === '"' || text[p] === "'") p++;
        while (isSpaceOrTab(text.charCodeAt(p))) p++;
        if (text[p] !== ':' && text[p] !== '=') continue;
        p++;
        while (isSpaceOrTab(text.charCodeAt(p))) p++;
        let quote = '';
        let escapedQuote = false;
        if (text[p] === '\\' && (text[p + 1] === '"' || text[p + 1] === "'")) {
          quote = text[p + 1]!;
          escapedQuote = true;
          p += 2;
        } else if (text[p] === '"' || text[p] === "'" || text[p] === '`') {
          quote = text[p]!;
          p++;
        }
        AUTH_SCHEME.lastIndex = p;
        const scheme = AUTH_SCHEME.exec(text);
        if (scheme) p = AUTH_SCHEME.lastIndex;
        const schemeName = scheme?.[1]?.toLowerCase() ?? '';
        let end: number;
        if (schemeName === '' || ['bearer', 'basic', 'token', 'bot', 'jwt', 'apikey', 'api-key', 'dpop', 'ssws'].includes(schemeName)) {
          end = readTo(text, p, (c) => c <= 32 || c === 34 || c === 39 || c === 96 || c === 92 || c === 44 || c === 59);
        } else if (quote) {
          end = endOfQuoted(text, p, quote, escapedQuote);
        } else {
          end = readTo(text, p, (c) => c === 10 || c === 13);
          // In JSON-escaped text the line ends at a literal "\n".
          const escapedEol = text.slice(p, end).indexOf('\\n');
          if (escapedEol >= 0) end = p + escapedEol;
        }
        const credential = text.slice(p, end);
        if (credential.length === 0 || isReferenceValue(credential) || isPlaceholderValue(credential)) continue;
        if (schemeName === '' && (!looksRandom(credential, 8) || isCodeValue(credential, false))) continue;
        if (schemeName !== '' && credential.length < 3) continue;
        emit('authorization-header', p, end);
        coveredUntil = end;
        AUTH_ANCHOR.lastIndex = Math.max(AUTH_ANCHOR.lastIndex, end);
      } else {
        // A bare scheme word is prose as often as it is a header, so the credential must look real.
        let p = at + m[0].length;
        if (!isSpaceOrTab(text.charCodeAt(p))) continue;
        while (isSpaceOrTab(text.charCodeAt(p))) p++;
        TOKEN68.lastIndex = p;
        const token = TOKEN68.exec(text);
        if (!token) continue;
        const credential = token[0].replace(/[.:]+$/, '');
        const ok = word === 'bearer' ? looksRandom(credential, 16) && !isPlaceholderValue(credential) : base64DecodesToUserPass(credential);
        if (!ok) continue;
        emit('authorization-header', p, p + credential.length);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Cookies: session ids are bearer credentials. Only random-looking values go (theme=dark stays).

const COOKIE_HEADER = /(?<![\w-])(?:(set-)?cookie(?:\\?["'])?[ \t]*:|--cookie[ \t=]|-b[ \t])[ \t]*(?:\\?["'])?/gi;
const COOKIE_PAIR = /[ \t]*([^=;\s"'\\,]+)=([^;\s"'\\,]*)/y;

const cookieHeader: Detector = {
  name: 'cookie',
  revision: 1,
  rules: [{ id: 'cookie', kind: 'secret', priority: 55, description: 'Session cookies in Cookie/Set-Cookie headers and curl -b' }],
  anchors: ['ookie', 'OOKIE', 'curl'],
  detect(text, emit) {
    COOKIE_HEADER.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = COOKIE_HEADER.exec(text)) !== null) {
      const flag = m[0].trimStart().startsWith('-');
      if (flag && !/\bcurl\b/.test(lineAround(text, m.index))) continue;
      const setCookie = m[1] !== undefined;
      let p = m.index + m[0].length;
      for (let pairs = 0; pairs < 64; pairs++) {
        COOKIE_PAIR.lastIndex = p;
        const pair = COOKIE_PAIR.exec(text);
        if (!pair) break;
        const value = pair[2] ?? '';
        const valueStart = COOKIE_PAIR.lastIndex - value.length;
        if (looksRandom(value, 16) && !isPlaceholderValue(value)) emit('cookie', valueStart, COOKIE_PAIR.lastIndex);
        p = COOKIE_PAIR.lastIndex;
        // Set-Cookie carries one cookie; what follows are attributes (Path, Expires, …).
        if (setCookie || text[p] !== ';') break;
        p++;
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Credentials on command lines: curl -u user:pass, mysql -pPASS, sshpass -p PASS

const CURL_USER = /(?<![\w-])(?:-u|--user|--proxy-user|--http-user)(?:=|[ \t]+)(\\?["']?)([^\s"':\\]+):([^\s"'\\]+)/dg;
const MYSQL_PASSWORD = /(?<![\w-])-p(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\-][^\s"'\\]*))/dg;
const SSHPASS_PASSWORD = /sshpass[ \t]+-p[ \t]*(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\]+))/dg;
const DOCKER_LOGIN_PASSWORD = /docker[ \t]+login\b[^\n]*?[ \t]-p[ \t]+(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\-][^\s"'\\]*))/dg;
// redis-cli -a <password> / --pass <password>; htpasswd -b[c…] <file> <user> <password> (-n: no file)
const REDIS_PASSWORD = /redis-cli\b[^\n]*?[ \t](?:-a|--pass|--askpass-no)[ \t]+(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\-][^\s"'\\]*))/dg;
const HTPASSWD_PASSWORD = /htpasswd[ \t]+-(?=[a-zA-Z]*b)([a-zA-Z]+)[ \t]+((?:[^\s"']+[ \t]+)?)[^\s"']+[ \t]+(?:(\\?["'])([^"'\\\n]+)\3|([^\s"'\\]+))/dg;

/** The text from the start of the line (raw or JSON-escaped newline) up to `index`, at most 500 chars. */
function lineAround(text: string, index: number): string {
  // Search only the window: lastIndexOf over a long text without newlines would make callers quadratic.
  const window = text.slice(Math.max(0, index - 500), index);
  const rawStart = window.lastIndexOf('\n') + 1;
  const escStart = window.lastIndexOf('\\n');
  return window.slice(Math.max(rawStart, escStart >= 0 ? escStart + 2 : 0));
}

/** The shell command around `index`, continuation lines (ending in a backslash) included. */
function commandAround(text: string, index: number): string {
  let start = Math.max(0, index - 2000);
  const window = text.slice(start, index);
  // Walk back over lines that the previous line continues with a trailing backslash.
  let lineStart = window.lastIndexOf('\n');
  while (lineStart > 0 && /\\[ \t]*$/.test(window.slice(Math.max(0, window.lastIndexOf('\n', lineStart - 1) + 1), lineStart))) {
    lineStart = window.lastIndexOf('\n', lineStart - 1);
  }
  start += lineStart + 1;
  return text.slice(start, index);
}

function emitCliValue(m: RegExpExecArray, groups: number[], emit: Emit): void {
  for (const g of groups) {
    const span = m.indices?.[g];
    const value = m[g];
    if (!span || value === undefined) continue;
    if (isReferenceValue(value) || isPlaceholderValue(value)) return;
    emit('cli-credentials', span[0], span[1]);
    return;
  }
}

const cliCredentials: Detector = {
  name: 'cli-credentials',
  revision: 1,
  rules: [
    {
      id: 'cli-credentials',
      kind: 'secret',
      priority: 60,
      description: 'Passwords in command lines (curl -u, mysql -p, sshpass, docker login -p, redis-cli -a, htpasswd -b)',
    },
  ],
  anchors: ['curl', 'wget', 'mysql', 'mariadb', 'sshpass', 'docker', 'redis-cli', 'htpasswd'],
  detect(text, emit) {
    let m: RegExpExecArray | null;
    if (text.includes('curl') || text.includes('wget')) {
      CURL_USER.lastIndex = 0;
      while ((m = CURL_USER.exec(text)) !== null) {
        if (!/\b(?:curl|wget)\b/.test(commandAround(text, m.index))) continue;
        emitCliValue(m, [3], emit);
      }
    }
    if (text.includes('mysql') || text.includes('mariadb')) {
      MYSQL_PASSWORD.lastIndex = 0;
      while ((m = MYSQL_PASSWORD.exec(text)) !== null) {
        if (!/\b(?:mysql|mysqldump|mysqladmin|mariadb)\b/.test(lineAround(text, m.index))) continue;
        emitCliValue(m, [2, 3], emit);
      }
    }
    if (text.includes('sshpass')) {
      SSHPASS_PASSWORD.lastIndex = 0;
      while ((m = SSHPASS_PASSWORD.exec(text)) !== null) emitCliValue(m, [2, 3], emit);
    }
    if (text.includes('docker')) {
      DOCKER_LOGIN_PASSWORD.lastIndex = 0;
      while ((m = DOCKER_LOGIN_PASSWORD.exec(text)) !== null) emitCliValue(m, [2, 3], emit);
    }
    if (text.includes('redis-cli')) {
      REDIS_PASSWORD.lastIndex = 0;
      while ((m = REDIS_PASSWORD.exec(text)) !== null) emitCliValue(m, [2, 3], emit);
    }
    if (text.includes('htpasswd')) {
      HTPASSWD_PASSWORD.lastIndex = 0;
      while ((m = HTPASSWD_PASSWORD.exec(text)) !== null) {
        // -n writes to stdout and takes no file: then the "file" we skipped was the user.
        const noFile = m[1]!.includes('n');
        if (noFile && !m[2]) continue;
        emitCliValue(m, [4, 5], emit);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Generic `name = value` assignments: env files, YAML, JSON, code, CLI flags, query strings

export type AssignmentClass = 'password' | 'secret' | 'token' | 'api-key';

const ASSIGNMENT_RULES: Record<AssignmentClass, RuleInfo> = {
  password: { id: 'password-assignment', kind: 'secret', priority: 50, description: 'password/passwd/pwd/passphrase = value' },
  secret: { id: 'secret-assignment', kind: 'secret', priority: 50, description: 'secret/client_secret/secret_key/private_key = value' },
  token: { id: 'token-assignment', kind: 'secret', priority: 50, description: 'token/access_token/auth_token = value' },
  'api-key': { id: 'api-key-assignment', kind: 'secret', priority: 50, description: 'api_key/apikey/access_key = value' },
};

export const ASSIGNMENT_KEYWORD =
  /passw(?:or)?d|passphrase|pass|pwd|pw|auth(?![_.-]?key)|secret(?:[_.-]?key(?:[_.-]?base)?)?|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key|(?:signing|encryption|master)[_.-]?key|key/gi;

function classifyKeyword(keyword: string): AssignmentClass {
  const k = keyword.toLowerCase();
  if (k.startsWith('pass') || k === 'pwd' || k === 'pw') return 'password';
  if (k === 'token' || k === 'auth') return 'token';
  if (k === 'key') return 'api-key';
  if (k.startsWith('api') || k.startsWith('access') || k.startsWith('auth')) return 'api-key';
  return 'secret';
}

function isKeyCode(c: number): boolean {
  return isWordCode(c) || c === 45 || c === 46; // '-', '.'
}

/**
 * Object keys / header names that hold credentials, for key-aware redaction of JSON values
 * (`{"password": "hunter2"}` has no `=` for the text rules to see once the key is gone).
 */
export function classifyCredentialKey(key: string): { ruleId: string; assignmentClass: AssignmentClass | null; strict?: boolean } | null {
  if (/^(?:proxy-)?authorization$/i.test(key)) return { ruleId: 'authorization-header', assignmentClass: null };
  if (key.length > 80) return null;
  ASSIGNMENT_KEYWORD.lastIndex = 0;
  let last: RegExpExecArray | null = null;
  let m: RegExpExecArray | null;
  while ((m = ASSIGNMENT_KEYWORD.exec(key)) !== null) last = m;
  if (!last || last.index + last[0].length !== key.length) return null;
  const keyword = last[0];
  if (/^pass$/i.test(keyword) && last.index > 0) {
    const before = key.charCodeAt(last.index - 1);
    const segmentStart = before === 95 || before === 45 || before === 46 || (keyword[0] === 'P' && before >= 97 && before <= 122);
    if (!segmentStart) return null;
  }
  if (/^(?:old)?pwd$/i.test(key)) return null;
  if (/^auth$/i.test(keyword) && !/^[_.-]*auth$/i.test(key)) return null;
  const weakKey = /^key$/i.test(keyword);
  if (weakKey && !isCredentialKeyName(key, last.index)) return null;
  const assignmentClass = classifyKeyword(keyword);
  return { ruleId: ASSIGNMENT_RULES[assignmentClass].id, assignmentClass, strict: weakKey };
}

// "STRIPE_KEY", "mapboxKey" hold credentials; most other "…_KEY" names hold ids, column names or paths.
const NON_CREDENTIAL_KEY =
  /(?:^|[_.-])(?:public|pub|primary|foreign|sort|partition|cache|row|hash|range|idempotency|lookup|map|dict|object|unique|composite|i18n|translation|message|locale|storage|ssh|gpg|pgp|host|ca|cert|tls|ssl|license|group|route|query|react|list|item|index|dedupe|shard|routing|metric|label)[_.-]?key$/i;

function isCredentialKeyName(key: string, keywordIndex: number): boolean {
  if (keywordIndex === 0) return false; // a bare "key" names anything
  const before = key.charCodeAt(keywordIndex - 1);
  const segmentStart = before === 95 || before === 45 || before === 46 || (key[keywordIndex] === 'K' && before >= 97 && before <= 122);
  if (!segmentStart) return false; // "monkey", "turnkey"
  return !NON_CREDENTIAL_KEY.test(key.replace(/([a-z])([A-Z])/g, '$1_$2'));
}

export interface AssignmentContext {
  cls: AssignmentClass;
  quoted: boolean;
  /** The key name only hints at a credential ("STRIPE_KEY"), so the value itself must look random. */
  strict?: boolean;
  /** `const x = y`, `x = y`, `f(x=y, …)`: an unquoted bare identifier on the right is a variable. */
  codeStyle?: boolean;
  /** KEY=value with an UPPER_SNAKE key: a config file, not code, so plain words count as values. */
  envStyle: boolean;
  colonSeparator: boolean;
  followedByWords: boolean;
}

const CLASS_WORD: Record<AssignmentClass, string> = { password: 'pass', secret: 'secret', token: 'token', 'api-key': 'key' };

export function acceptAssignmentValue(raw: string, ctx: AssignmentContext): boolean {
  const value = ctx.quoted ? raw.trim() : raw;
  if (value.length === 0 || value.length > 4096) return false;
  if (/^[,;)+]/.test(value)) return false; // text between a closing and an opening quote
  if (value.startsWith('[REDACTED:')) return false;
  if (isPlaceholderValue(value) || isReferenceValue(value)) return false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return false; // URLs: url-credentials handles passwords in them
  if (isPathValue(value)) return false;
  if (!/\d/.test(value) && value.toLowerCase().includes(CLASS_WORD[ctx.cls])) return false; // "dbpassword", "passed"
  if (/\s/.test(value) && /\b(?:password|passphrase|secret|token|key)\b/i.test(value)) return false; // a description
  if (!ctx.quoted) {
    if (value.startsWith('<')) return false; // <github-token>, with the '>' cut off by the value scanner
    if (isCodeValue(value, ctx.envStyle)) return false;
    if (ctx.codeStyle && /^[A-Za-z_$][\w$]*$/.test(value) && !/\d/.test(value)) return false;
    // "token: used to sign …" is prose; a random-looking value is a value whatever follows it.
    if (ctx.colonSeparator && ctx.followedByWords && !ctx.envStyle && /^[a-z]+$/.test(value)) return false;
    if (ctx.colonSeparator && value.startsWith('!')) return false; // YAML tag such as "!vault |"
  }
  if (ctx.cls === 'password') {
    if (/^\d+$/.test(value)) return value.length >= 4 && ctx.quoted;
    if (/\s/.test(value)) return ctx.quoted && value.length <= 128 && (value.match(/\s+/g)?.length ?? 0) <= 5;
    return value.length >= 3;
  }
  // A long number under a token/secret name is one (Discord, Asana and Twitter ids and secrets).
  if (/^\d+$/.test(value)) return value.length >= 16 && !ctx.strict; // a number literal is never a variable
  if (/\s/.test(value)) return false;
  if (base64DecodesToProse(value)) return false; // base64("dummy text data data"): a fixture
  if (ctx.strict) return looksRandom(value, 16);
  if (ctx.envStyle) return value.length >= 6;
  if (base64DecodesToUserPass(value)) return true; // docker/npm "auth": base64(user:pass)
  return looksRandom(value, 8);
}

const NAME_FIELD_BEFORE = /(?:^|[^\w])(?:\\?["'])?name(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?$/i;
const NAME_VALUE_FOLLOW = /(?:[ \t,]|\r|\n|\\[rn])+(?:-[ \t]+)?(?:\\?["'])?value(?:\\?["'])?[ \t]*(?=[:=])/iy;

// .netrc / _netrc: "machine host login user password secret" has no separator at all.
const NETRC_TAIL = /^login[ \t]+\S+[ \t]+$/;

function isNetrcLine(line: string): boolean {
  const login = line.lastIndexOf('login');
  return login > 0 && /\b(?:machine|default)\b/.test(line.slice(0, login)) && NETRC_TAIL.test(line.slice(login));
}
// CREATE USER … PASSWORD '…', ALTER ROLE … WITH PASSWORD '…', IDENTIFIED BY '…'
export const SQL_PASSWORD = /\b(?:PASSWORD|IDENTIFIED\s+BY)\s+(\\?')([^'\\\n]+)\1/dgi;
const SQL_CONTEXT = /\b(?:USER|ROLE|LOGIN)\b/i;

function endsUnquotedValue(ch: number): boolean {
  // whitespace " ' ` , ; \ ) ] } >
  return ch <= 32 || ch === 34 || ch === 39 || ch === 96 || ch === 44 || ch === 59 || ch === 92 || ch === 41 || ch === 93 || ch === 125 || ch === 62;
}
function endsEnvValue(ch: number): boolean {
  return ch <= 32 || ch === 34 || ch === 39 || ch === 96 || ch === 92; // whitespace " ' ` \
}
function endsQueryValue(ch: number): boolean {
  return endsUnquotedValue(ch) || ch === 38 || ch === 35; // & #
}

const PROSE_SEPARATOR = /[ \t]+(?:is|was|set to|changed to)[ \t]*:?[ \t]*(?=\S)/y;

const ARN_BEFORE = /\barn:aws[\w-]*:[\w-]+:[\w-]*:\d*:$/;
const KEY_AS_FIRST_ARGUMENT = /[\w$\]]\([ \t]*\\?["']$/;
const PHP_ASSIGN = /^[ \t]*\.?=[^=]/;
const COMPOUND_ASSIGN = /(?:\?|::?:?|\.|\+|\|\|)=(?!=)/y;
const TYPE_BEFORE_EQUALS = /[ \t]*(?::[ \t]*)?[A-Za-z_][\w.]*(?:\[\])?\??(?=[ \t]*=[^=])/y;
const DECLARATION_BEFORE = /\b(?:const|let|var|val|auto|my|local|final|readonly|private|public|protected|static)\s+$/;

// Every keyword above, and the SQL forms below (PASSWORD, IDENTIFIED BY), begins with one of these.
const ASSIGNMENT_START_LITERALS = ['pas', 'pw', 'aut', 'sec', 'tok', 'api', 'acc', 'pri', 'sig', 'enc', 'mas', 'key', 'ide'];
const ASSIGNMENT_KEYWORD_AT = new RegExp(ASSIGNMENT_KEYWORD.source, 'iy');
let assignmentStartScanner: LiteralAutomaton | null = null;

function assignmentStarts(text: string): number[] {
  const scanner = (assignmentStartScanner ??= new LiteralAutomaton(ASSIGNMENT_START_LITERALS.map((literal) => ({ literal, ignoreCase: true }))));
  const starts: number[] = [];
  scanner.scan(text, (id, end) => starts.push(end - scanner.lengths[id]!));
  return ascendingUnique(starts);
}

/**
 * `starts`: where a keyword may begin (see ASSIGNMENT_START_LITERALS). Trying the keyword regex
 * at each of them, in order, finds exactly the matches a global search would.
 */
function assignmentDetect(text: string, emit: Emit, starts: readonly number[] = assignmentStarts(text)): void {
  // Where the search goes on: after the last keyword, or past a long rejected value.
  let resumeAt = 0;
  for (const start of starts) {
    if (start < resumeAt) continue;
    ASSIGNMENT_KEYWORD_AT.lastIndex = start;
    const m = ASSIGNMENT_KEYWORD_AT.exec(text);
    if (m === null) continue;
    const kwStart = start;
    const kwEnd = kwStart + m[0].length;
    resumeAt = kwEnd;
    // The keyword must end the key: "tokens", "passwordHash", "token_type" are other things.
    const next = text.charCodeAt(kwEnd);
    if (isWordCode(next)) continue;
    if ((next === 45 || next === 46) && isAlnumCode(text.charCodeAt(kwEnd + 1))) continue;

    let keyStart = kwStart;
    while (keyStart > 0 && kwEnd - keyStart < 80 && isKeyCode(text.charCodeAt(keyStart - 1))) keyStart--;
    const key = text.slice(keyStart, kwEnd);
    const keyword = m[0];
    if (/^pass$/i.test(keyword) && kwStart > keyStart) {
      // "bypass", "compass": only a segment of its own ("DB_PASS", "dbPass") is a password.
      const before = text.charCodeAt(kwStart - 1);
      const segmentStart = before === 95 || before === 45 || before === 46 || (keyword[0] === 'P' && before >= 97 && before <= 122);
      if (!segmentStart && !/requirepass$/i.test(key)) continue;
    }
    // "pw" only as a segment of its own: ldap_bind_pw, DB_PW, rootPw ("npw", "cpw" are other things).
    if (/^pw$/i.test(keyword) && kwStart > keyStart) {
      const before = text.charCodeAt(kwStart - 1);
      if (!(before === 95 || before === 45 || before === 46 || (keyword[0] === 'P' && before >= 97 && before <= 122))) continue;
    }
    // "auth" alone is too common a word; only docker/npm credential fields ("auth", "_auth").
    if (/^auth$/i.test(keyword) && !/^[-_.]*auth$/i.test(key.replace(/^-+/, ''))) continue;
    const strict = /^key$/i.test(keyword);
    if (strict && !isCredentialKeyName(key, kwStart - keyStart)) continue;
    if (/^(?:old)?pwd$/i.test(key)) continue; // the shell's working directory
    const beforeKey = keyStart > 0 ? text[keyStart - 1] : '';
    // $TOKEN, %TOKEN%, ${TOKEN} are references; PHP's `$apiToken = "…"` and `$apiToken .= "…"` assign.
    if (beforeKey === '%' || (beforeKey === '{' && text[keyStart - 2] === '$')) continue;
    if (beforeKey === '$' && !PHP_ASSIGN.test(text.slice(kwEnd, kwEnd + 6))) continue;
    if (beforeKey === '/' && text[keyStart - 2] === '/') continue; // https://x-access-token:…@host is url-credentials' job
    // arn:aws:secretsmanager:…:secret:prod/db-AbCdEf names a secret, it is not one.
    if (beforeKey === ':' && ARN_BEFORE.test(text.slice(Math.max(0, keyStart - 80), keyStart))) continue;
    const cliFlag = key.startsWith('-');

    let p = kwEnd;
    let keyQuoted = false;
    if (text[p] === '\\' && (text[p + 1] === '"' || text[p + 1] === "'")) {
      p += 2;
      keyQuoted = true;
    } else if (text[p] === '"' || text[p] === "'") {
      p++;
      keyQuoted = true;
    }
    if (text[p] === ']') p++;

    if (!keyQuoted && text[p] === '>' && text[keyStart - 1] === '<') {
      // <password>value</password>
      let valueStart = p + 1;
      const close = text.slice(valueStart, valueStart + 4097).indexOf('<');
      let valueEnd = close < 0 ? -1 : valueStart + close;
      // <apiToken>\n    value\n</apiToken>: pretty-printed XML puts the value on a line of its own.
      while (valueStart < valueEnd && /\s/.test(text[valueStart]!)) valueStart++;
      while (valueEnd > valueStart && /\s/.test(text[valueEnd - 1]!)) valueEnd--;
      if (valueEnd > valueStart) {
        const value = text.slice(valueStart, valueEnd);
        const ctx = { cls: classifyKeyword(keyword), quoted: true, envStyle: false, colonSeparator: false, followedByWords: false };
        if (!value.includes('\n') && acceptAssignmentValue(value, ctx)) emit(ASSIGNMENT_RULES[ctx.cls].id, valueStart, valueEnd);
      }
      continue;
    }
    // {"name": "DB_PASSWORD", "value": "…"}, Kubernetes env lists, AWS CLI Name=…,Value=…
    let viaNameValue = false;
    if (NAME_FIELD_BEFORE.test(text.slice(Math.max(0, keyStart - 24), keyStart))) {
      NAME_VALUE_FOLLOW.lastIndex = p;
      if (NAME_VALUE_FOLLOW.exec(text)) {
        p = NAME_VALUE_FOLLOW.lastIndex; // on the ':' or '=' of "value"
        viaNameValue = true;
      }
    }
    // Typed declarations: `var apiToken string = "…"` (Go), `val apiToken: String = "…"`
    // (Kotlin, Swift, TypeScript): the type sits between the name and the '='.
    if (!keyQuoted && (text[p] === ' ' || text[p] === ':') && DECLARATION_BEFORE.test(text.slice(Math.max(0, keyStart - 12), keyStart))) {
      TYPE_BEFORE_EQUALS.lastIndex = p;
      if (TYPE_BEFORE_EQUALS.exec(text)) p = TYPE_BEFORE_EQUALS.lastIndex;
    }
    const sepStart = p;
    while (isSpaceOrTab(text.charCodeAt(p))) p++;
    const spacesBefore = p - sepStart;
    let colonSeparator = false;
    let proseSeparator = false;
    let commaSeparator = false;
    let c = text[p];
    // Make's `?=`, `::=`, `:::=`, PHP's `.=`, `+=`, `||=`: assignments all the same.
    COMPOUND_ASSIGN.lastIndex = p;
    if (COMPOUND_ASSIGN.exec(text)) {
      p = COMPOUND_ASSIGN.lastIndex - 1;
      c = '=';
    }
    if (c === '=') {
      const n = text[p + 1];
      if (n === '=' || n === '~') continue;
      p += n === '>' ? 2 : 1;
    } else if (c === ':') {
      const n = text[p + 1];
      if (n === ':') continue;
      if (n === '=') p += 2;
      else {
        p += 1;
        colonSeparator = true;
      }
    } else if (c === '?' && text[p + 1] === ':') {
      p += 2;
      colonSeparator = true;
    } else if (c === ',' && keyQuoted && KEY_AS_FIRST_ARGUMENT.test(text.slice(Math.max(0, keyStart - 24), keyStart))) {
      // System.setProperty("DB_PASSWORD", "…"), os.environ.setdefault('API_TOKEN', '…'),
      // config.put("token", "…"): a call's name argument, then its value.
      p += 1;
      commaSeparator = true;
    } else if (spacesBefore > 0 && !keyQuoted && (cliFlag || isNetrcLine(lineAround(text, keyStart)))) {
      // separated by whitespace only: --password hunter2, .netrc
    } else {
      // "Your new password is: hunter2"
      PROSE_SEPARATOR.lastIndex = sepStart;
      if (classifyKeyword(keyword) !== 'password' || !PROSE_SEPARATOR.exec(text)) continue;
      p = PROSE_SEPARATOR.lastIndex;
      proseSeparator = true;
    }
    const afterSep = p;
    while (isSpaceOrTab(text.charCodeAt(p))) p++;
    const spacesAfter = p - afterSep;
    if (cliFlag && spacesBefore > 0 && afterSep === sepStart + spacesBefore && text[p] === '-') continue;
    // KEY=value / KEY: value with an UPPER_SNAKE key is a config file, not code: words are values
    // and only whitespace ends an unquoted value.
    const envStyle = !keyQuoted && !viaNameValue && spacesBefore === 0 && (c === '=' ? spacesAfter === 0 : spacesAfter > 0) && /^[A-Z][A-Z0-9_]*$/.test(key);

    let valueStart = p;
    let valueEnd: number;
    let quoted = false;
    let unquotedStop: ((ch: number) => boolean) | null = null;
    let inQueryString = false;
    const q = text[p];
    if (q === '\\' && (text[p + 1] === '"' || text[p + 1] === "'")) {
      valueStart = p + 2;
      valueEnd = endOfQuoted(text, valueStart, text[p + 1]!, true);
      quoted = true;
    } else if (q === '"' || q === "'" || q === '`') {
      // prompt('Password: ') — the key sits inside a string and this quote closes it.
      if (!keyQuoted && text[keyStart - 1] === q) continue;
      valueStart = p + 1;
      valueEnd = endOfQuoted(text, valueStart, q, false);
      quoted = true;
    } else {
      // '&' separates query parameters (?token=…&x=1) but is an ordinary character in a password.
      const inQuery = keyStart > 0 && '?&#'.includes(text[keyStart - 1]!);
      inQueryString = inQuery;
      unquotedStop = inQuery ? endsQueryValue : envStyle ? endsEnvValue : endsUnquotedValue;
      valueEnd = readTo(text, p, unquotedStop, 4096);
    }
    if (valueEnd <= valueStart) continue;
    if (commaSeparator && !quoted) continue;
    let after = valueEnd + (quoted ? 1 : 0);
    const afterSpaces = after;
    while (isSpaceOrTab(text.charCodeAt(after))) after++;
    const followedByWords = after > afterSpaces && /[A-Za-z]/.test(text[after] ?? '');
    const cls = classifyKeyword(keyword);
    const value = text.slice(valueStart, valueEnd);
    const nextAfterValue = text[valueEnd] ?? '';
    // Connection strings ("Password=word;Encrypt=true") continue with another key=value: data, not code.
    const connectionString = (nextAfterValue === ';' || nextAfterValue === ',') && /^[ \t]*[\w .-]+=/.test(text.slice(valueEnd + 1, valueEnd + 41));
    const codeStyle =
      (c === '=' && spacesBefore > 0 && spacesAfter > 0) ||
      (!quoted && !connectionString && (nextAfterValue === ',' || nextAfterValue === ')' || nextAfterValue === ';')) ||
      DECLARATION_BEFORE.test(text.slice(Math.max(0, keyStart - 12), keyStart));
    const accepted =
      // "the password is incorrect" is prose; "the password is hunter2" is not.
      !(proseSeparator && /^[A-Za-z]+[.:,;!?]?$/.test(value)) &&
      // "Using --password via the CLI is insecure": a flag named in prose.
      !(cliFlag && !quoted && c !== '=' && /^[a-z]+$/.test(value) && followedByWords) &&
      // Query-string values are data whatever their charset (?token=uBTTeydLetARjNtc).
      acceptAssignmentValue(value, {
        cls,
        quoted,
        envStyle: envStyle || connectionString || inQueryString,
        codeStyle: codeStyle && !inQueryString,
        strict,
        colonSeparator,
        followedByWords,
      });
    if (!accepted) {
      // Keywords inside a long rejected run (minified code, blobs) would each re-read the same run:
      // skip it to stay linear.
      if (valueEnd - valueStart > 256) resumeAt = Math.max(resumeAt, valueEnd);
      continue;
    }
    // The value was judged on its first 4096 characters; all of it goes.
    if (unquotedStop && valueEnd - valueStart === 4096) valueEnd = readTo(text, valueEnd, unquotedStop, Number.MAX_SAFE_INTEGER);
    emit(ASSIGNMENT_RULES[cls].id, valueStart, valueEnd);
    resumeAt = Math.max(resumeAt, valueEnd);
  }
  if (text.includes("'")) {
    SQL_PASSWORD.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = SQL_PASSWORD.exec(text)) !== null) {
      const span = m.indices?.[2];
      const value = m[2] ?? '';
      if (!span || !SQL_CONTEXT.test(lineAround(text, m.index))) continue;
      if (isPlaceholderValue(value) || isReferenceValue(value)) continue;
      emit(ASSIGNMENT_RULES.password.id, span[0], span[1]);
    }
  }
}

const assignments: Detector = {
  name: 'assignments',
  revision: 1,
  rules: Object.values(ASSIGNMENT_RULES),
  anchors: [],
  startLiterals: ASSIGNMENT_START_LITERALS,
  detect: assignmentDetect,
};

// ---------------------------------------------------------------------------------------------
// PII: email addresses

// Extensions that look like TLDs in "logo@2x.png" or "pkg@scope.js".
const NON_TLD = new Set(
  'png jpg jpeg gif svg webp ico bmp avif js mjs cjs ts tsx jsx mts cts json map css scss sass less html htm md mdx txt py pyc rb go rs java kt kts swift c h cc cpp hpp cs php sh bash zsh yml yaml toml ini cfg conf lock log xml vue svelte wasm zip gz tgz tar bz2 xz so dll exe bin dat db sqlite csv tsv pdf min test spec d local internal localhost lan invalid'.split(
    ' ',
  ),
);

function isLocalPartCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
}
function isDomainCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 45;
}

const email: Detector = {
  name: 'email',
  revision: 1,
  rules: [{ id: 'email', kind: 'pii', priority: 30, description: 'Email addresses' }],
  anchors: ['@'],
  frequentAnchors: true,
  detect(text, emit) {
    let at = text.indexOf('@');
    while (at >= 0) {
      const nextAt = text.indexOf('@', at + 1);
      let start = at;
      while (start > 0 && at - start < 64 && isLocalPartCode(text.charCodeAt(start - 1))) start--;
      while (start < at && text[start] === '.') start++;
      let end = at + 1;
      while (end < text.length && end - at < 254 && isDomainCode(text.charCodeAt(end))) end++;
      while (end > at + 1 && (text[end - 1] === '.' || text[end - 1] === '-')) end--;
      if (start < at && end > at + 1 && validEmail(text, start, at, end)) emit('email', start, end);
      at = nextAt;
    }
  },
};

function validEmail(text: string, start: number, at: number, end: number): boolean {
  const local = text.slice(start, at);
  const domain = text.slice(at + 1, end);
  if (local.endsWith('.') || local.includes('..')) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1]!;
  if (!/^(?:[A-Za-z]{2,24}|xn--[a-z0-9-]+)$/.test(tld) || NON_TLD.has(tld.toLowerCase())) return false;
  if (labels.some((l) => l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-'))) return false;
  const before = start > 0 ? text[start - 1]! : '';
  if (before === '/' || before === '@') return false; // https://user@host, a@b@c
  if (before === ':') {
    // user:password@host is a URL credential, but mailto:alice@example.com is an address.
    if (!/mailto:$/i.test(text.slice(Math.max(0, start - 7), start))) return false;
  }
  // git@github.com:org/repo.git is an SSH remote, not a person.
  if (local === 'git' && text[end] === ':') return false;
  if (text[end] === '@') return false;
  // your-service@your-project.iam.gserviceaccount.com, you@your-domain.com: documentation.
  if (/^your[-_.]/i.test(local) || /(?:^|\.)your[-_]/i.test(domain)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// PII: numbers (phones, payment cards, SSNs) share one cheap candidate scan

// A run of digits and the separators used in phone/card/SSN formats, with at least 9 digits of
// content once separators are dropped. Timestamps, versions and ids are filtered by the validators.
const NUMBER_CANDIDATE = /[+(]?\d[\d ().-]{7,40}\d/g;

const PHONE_INTERNATIONAL = /(?<![\w+.])\+[1-9]\d{0,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,6}){1,6}(?![\w.+]|:\d)/g;
const PHONE_US = /(?<![\w.+-])(?:1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}([ .-]))[2-9]\d{2}([ .-])\d{4}(?![\w.+]|-\d|:\d)/g;
const PHONE_NATIONAL = /(?<![\w.+:/-])(?<!\d[ -])0[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}(?![\w.+:/]|[ -]\d|-[A-Za-z])/g;
const CARD = /(?<![\w.+-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -]?)\d{6}\2\d{4,5})(?![\w.+]|-\d)/g;
const US_SSN = /(?<![\w.+-])(\d{3})-(\d{2})-(\d{4})(?![\w.+]|-\d)/g;

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (isDigitCode(s.charCodeAt(i))) n++;
  return n;
}

const numericPii: Detector = {
  name: 'numeric-pii',
  revision: 1,
  rules: [
    { id: 'credit-card', kind: 'pii', priority: 35, description: 'Payment card numbers (Luhn and issuer checked)' },
    { id: 'us-ssn', kind: 'pii', priority: 32, description: 'US social security numbers' },
    { id: 'phone-number', kind: 'pii', priority: 20, description: 'Phone numbers (E.164, US, European national formats)' },
  ],
  anchors: [],
  detect(text, emit) {
    NUMBER_CANDIDATE.lastIndex = 0;
    let cand: RegExpExecArray | null;
    while ((cand = NUMBER_CANDIDATE.exec(text)) !== null) {
      if (digitCount(cand[0]) < 9) continue;
      // Re-scan the candidate with one character of context on each side so boundary checks work.
      const from = Math.max(0, cand.index - 1);
      const region = text.slice(from, cand.index + cand[0].length + 2);
      scanNumberRegion(region, from, emit);
    }
  },
};

/**
 * Runs a candidate regex whose matches still need validating. After a rejected candidate the scan
 * resumes one character later, not after it: "1234 4111 1111 1111 1111" fails as a whole but
 * contains a card number.
 */
function scanValidated(re: RegExp, text: string, accept: (m: RegExpExecArray) => [number, number] | null, onMatch: (start: number, end: number) => void): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const span = accept(m);
    if (span) onMatch(span[0], span[1]);
    else re.lastIndex = m.index + 1;
  }
}

const whole = (m: RegExpExecArray): [number, number] => [m.index, m.index + m[0].length];

function scanNumberRegion(region: string, offset: number, emit: Emit): void {
  const emitAs = (rule: string) => (start: number, end: number) => emit(rule, offset + start, offset + end);
  scanValidated(
    CARD,
    region,
    (m) => {
      const digits = m[0].replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && cardIssuerValid(digits) && luhnValid(digits) ? whole(m) : null;
    },
    emitAs('credit-card'),
  );
  scanValidated(
    US_SSN,
    region,
    (m) => {
      const area = m[1]!;
      return area === '000' || area === '666' || area[0] === '9' || m[2] === '00' || m[3] === '0000' ? null : whole(m);
    },
    emitAs('us-ssn'),
  );
  scanValidated(
    PHONE_INTERNATIONAL,
    region,
    (m) => {
      const n = digitCount(m[0]);
      return n < 8 || n > 15 || /^\+\d+\.\d+$/.test(m[0]) ? null : whole(m); // +35236450.6 is a decimal
    },
    emitAs('phone-number'),
  );
  scanValidated(
    PHONE_US,
    region,
    (m) => {
      // "555-123-4567" and "555.123.4567" use one separator throughout; mixed ones are usually not phones.
      if (m[1] !== undefined && m[2] !== undefined && m[1] !== m[2]) return null;
      // "1 234 567 8901" is more likely a grouped number than a phone.
      if (m[2] === ' ' && m[1] === ' ' && /\d $/.test(region.slice(Math.max(0, m.index - 2), m.index))) return null;
      return whole(m);
    },
    emitAs('phone-number'),
  );
  scanValidated(
    PHONE_NATIONAL,
    region,
    (m) => {
      const n = digitCount(m[0]);
      return n < 9 || n > 12 ? null : whole(m);
    },
    emitAs('phone-number'),
  );
}

// ---------------------------------------------------------------------------------------------
// PII: IBANs

const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;

const iban: Detector = {
  name: 'iban',
  revision: 1,
  rules: [{ id: 'iban', kind: 'pii', priority: 35, description: 'IBANs (country length and mod-97 checked)' }],
  anchors: [],
  detect(text, emit) {
    scanValidated(
      IBAN_CANDIDATE,
      text,
      (m) => {
        const raw = m[0];
        const expected = IBAN_LENGTHS[raw.slice(0, 2)];
        if (expected === undefined) return null;
        // Take exactly the country's length so a following word does not spoil the checksum.
        let taken = 0;
        let i = 0;
        while (i < raw.length && taken < expected) {
          if (raw[i] !== ' ') taken++;
          i++;
        }
        if (taken !== expected || !ibanValid(raw.slice(0, i).replace(/ /g, ''))) return null;
        return [m.index, m.index + i];
      },
      (start, end) => emit('iban', start, end),
    );
  },
};

// ---------------------------------------------------------------------------------------------
// PII: IP addresses (opt-in)

const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)/g;
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g;

const ipAddress: Detector = {
  name: 'ip-address',
  revision: 1,
  rules: [{ id: 'ip-address', kind: 'pii', priority: 10, description: 'IPv4 and IPv6 addresses (only with ipAddresses: true)' }],
  anchors: [],
  optIn: 'ipAddresses',
  detect(text, emit) {
    let m: RegExpExecArray | null;
    if (text.includes('.')) {
      IPV4.lastIndex = 0;
      while ((m = IPV4.exec(text)) !== null) {
        const ip = m[0];
        if (!isIPv4(ip) || ip === '0.0.0.0' || ip.startsWith('127.') || ip === '255.255.255.255') continue;
        emit('ip-address', m.index, m.index + ip.length);
      }
    }
    if (text.includes(':')) {
      IPV6_CANDIDATE.lastIndex = 0;
      while ((m = IPV6_CANDIDATE.exec(text)) !== null) {
        const ip = m[0];
        if (ip.length < 6 || !/\d/.test(ip) || !isIPv6(ip) || ip === '::1') continue;
        emit('ip-address', m.index, m.index + ip.length);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------

/** In a fixed order: the order only matters for reporting, priorities decide overlaps. */
// ---------------------------------------------------------------------------------------------
// gitleaks' format-anchored rules (gitleaks-rules.ts, generated from its catalogue)

// gitleaks ends a token at a quote, whitespace, ';' or a literal \n; a session also has tokens
// followed by ',', ')', '&', '<' and '.': any character that cannot continue the token ends it.
const GITLEAKS_END = String.raw`(?:[\x60'"\s;]|\\[nr]|$)`;

function gitleaksDetector(rule: GitleaksRule): Detector {
  const source = rule.source.split(GITLEAKS_END).join(String.raw`(?![A-Za-z0-9+/_-])`);
  const pattern = new RegExp(source, `${rule.flags}gd`);
  const groups = new RegExp(`${source}|`).exec('')!.length - 1;
  const secretGroup = rule.secretGroup || (groups > 0 ? 1 : 0);
  const info: RuleInfo = { id: rule.id, kind: 'secret', priority: VENDOR_PRIORITY - 2, description: `${rule.description} (gitleaks)` };
  return {
    name: `gitleaks:${rule.id}`,
    // The rules change with the gitleaks commit they were generated from.
    revision: Number.parseInt(GITLEAKS_COMMIT.slice(0, 7), 16),
    rules: [info],
    anchors: rule.anchors,
    detect(text, emit) {
      pattern.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = pattern.exec(text)) !== null) {
        if (m[0].length === 0) {
          pattern.lastIndex++;
          continue;
        }
        const span: readonly [number, number] | undefined = secretGroup > 0 ? m.indices?.[secretGroup] : [m.index, m.index + m[0].length];
        if (!span || span[1] <= span[0]) continue;
        const [start, end] = span;
        const secret = text.slice(start, end);
        if (isPlaceholderToken(secret)) continue;
        if (rule.entropy > 0 && shannonEntropy(secret) < rule.entropy) continue;
        // GLC_CreateLightmapTextures(…): a C identifier, not a token (tokens have digits or mixed case).
        if (!/\d/.test(secret) && !looksRandom(secret, 8)) continue;
        emit(rule.id, start, end);
      }
    },
  };
}

const HAND_WRITTEN: readonly Detector[] = [
  privateKey,
  awsAccessKeyId,
  awsSecretAccessKey,
  githubToken,
  gitlabToken,
  slackToken,
  slackWebhook,
  discordWebhook,
  stripeKey,
  anthropicKey,
  openaiKey,
  googleApiKey,
  npmToken,
  huggingfaceToken,
  sendgridKey,
  pypiToken,
  digitaloceanToken,
  telegramBotToken,
  azureStorageKey,
  googleOauthToken,
  shopifyToken,
  ageSecretKey,
  ...moreVendors,
  jsonWebToken,
  authorizationHeader,
  urlCredentials,
  cliCredentials,
  cookieHeader,
  assignments,
  email,
  numericPii,
  iban,
  ipAddress,
];

const HAND_WRITTEN_IDS = new Set(HAND_WRITTEN.flatMap((d) => d.rules.map((r) => r.id)));

/** The value-shaped detectors; detectors.ts adds the context rules (context-rules.ts). */
export const RULE_DETECTORS: readonly Detector[] = [
  ...HAND_WRITTEN,
  // Where a hand-written rule has the same id, it wins (it knows more about the format).
  ...GITLEAKS_RULES.filter((r) => !HAND_WRITTEN_IDS.has(r.id)).map(gitleaksDetector),
];
