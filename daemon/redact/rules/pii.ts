// PII: email addresses, phone numbers, payment cards, SSNs, IBANs and (opt-in) IP addresses.
import { isIPv4, isIPv6 } from 'node:net';
import type { Detector, Emit } from './types.js';
import { IBAN_LENGTHS, cardIssuerValid, ibanValid, isAlnumCode, isDigitCode, luhnValid } from './values.js';

// ---------------------------------------------------------------------------------------------
// PII: email addresses

// Extensions that look like TLDs in "logo@2x.png" or "pkg@scope.js".
export const NON_TLD = new Set(
  'png jpg jpeg gif svg webp ico bmp avif js mjs cjs ts tsx jsx mts cts json map css scss sass less html htm md mdx txt py pyc rb go rs java kt kts swift c h cc cpp hpp cs php sh bash zsh yml yaml toml ini cfg conf lock log xml vue svelte wasm zip gz tgz tar bz2 xz so dll exe bin dat db sqlite csv tsv pdf min test spec d local internal localhost lan invalid'.split(
    ' ',
  ),
);

export function isLocalPartCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
}
export function isDomainCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 45;
}

export const email: Detector = {
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

export function validEmail(text: string, start: number, at: number, end: number): boolean {
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
export const NUMBER_CANDIDATE = /[+(]?\d[\d ().-]{7,40}\d/g;

export const PHONE_INTERNATIONAL = /(?<![\w+.])\+[1-9]\d{0,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,6}){1,6}(?![\w.+]|:\d)/g;
export const PHONE_US = /(?<![\w.+-])(?:1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}([ .-]))[2-9]\d{2}([ .-])\d{4}(?![\w.+]|-\d|:\d)/g;
export const PHONE_NATIONAL = /(?<![\w.+:/-])(?<!\d[ -])0[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}(?![\w.+:/]|[ -]\d|-[A-Za-z])/g;
export const CARD = /(?<![\w.+-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -]?)\d{6}\2\d{4,5})(?![\w.+]|-\d)/g;
export const US_SSN = /(?<![\w.+-])(\d{3})-(\d{2})-(\d{4})(?![\w.+]|-\d)/g;

export function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (isDigitCode(s.charCodeAt(i))) n++;
  return n;
}

export const numericPii: Detector = {
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
export function scanValidated(
  re: RegExp,
  text: string,
  accept: (m: RegExpExecArray) => [number, number] | null,
  onMatch: (start: number, end: number) => void,
): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const span = accept(m);
    if (span) onMatch(span[0], span[1]);
    else re.lastIndex = m.index + 1;
  }
}

export const whole = (m: RegExpExecArray): [number, number] => [m.index, m.index + m[0].length];

export function scanNumberRegion(region: string, offset: number, emit: Emit): void {
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

export const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;

export const iban: Detector = {
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

export const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)/g;
export const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g;

export const ipAddress: Detector = {
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
