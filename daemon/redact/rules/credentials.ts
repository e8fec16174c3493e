// Credentials by their structure: PEM private keys, URL credentials, Authorization headers, cookies, CLI password flags.
import type { Detector, Emit } from './types.js';
import { hasPlaceholderFragment, isAlnumCode, isCodeValue, isPlaceholderValue, isReferenceValue, isSpaceOrTab, isWordCode, looksRandom } from './values.js';
import { VENDOR_PRIORITY } from './vendors.js';

// ---------------------------------------------------------------------------------------------
// PEM private keys

export const PEM_HEADER = /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/g;
export const PEM_FOOTER = /-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/g;
// Body of a block whose END marker never came (output cut off): the base64 run, raw or JSON-escaped.
export const PEM_TRUNCATED_BODY = /(?:[A-Za-z0-9+/=\s]|\\[nr])*/y;
export const PEM_MAX_BODY = 65536;

export function trimPemBody(text: string, start: number, end: number): [number, number] {
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
export function isPlaceholderPemBody(body: string): boolean {
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

export const privateKey: Detector = {
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

export const URL_USERINFO = /:\/\/([^\s:/?#@"'<>\\]*):([^\s/?#"'<>\\]+)@(?=[A-Za-z0-9[_-])/dg;

export const urlCredentials: Detector = {
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
      if (isReferenceValue(password) || /^(?:(?:my)?password|pass|pwd|secret|\*+|x+)$/i.test(password) || hasPlaceholderFragment(password)) continue;
      // Documentation shapes: a password equal to the user name (mongodb:mongodb), too short or one
      // repeated character to be a real one (abc, 1111), "replace with …".
      if (password === m[1] || password.length < 4 || /^(.)\1+$/.test(password) || /replace[_-]?with|^(?:user|db)?pass(?:word)?\d?$/i.test(password)) continue;
      emit('url-credentials', span[0], span[1]);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Authorization headers (HTTP, curl -H, JSON header objects) and bare Bearer/Basic credentials

export const AUTH_ANCHOR = /authorization|bearer|basic/gi;
export const AUTH_SCHEME = /(bearer|basic|token|digest|bot|negotiate|ntlm|apikey|api-key|jwt|dpop|ssws|aws4-hmac-sha256)[ \t]+/iy;
export const TOKEN68 = /[A-Za-z0-9._~+/=:-]+/y;

export function readTo(text: string, start: number, stop: (c: number) => boolean, limit = 8192): number {
  let i = start;
  const max = Math.min(text.length, start + limit);
  while (i < max && !stop(text.charCodeAt(i))) i++;
  return i;
}

/** Where a quoted value ends: its closing quote, else the end of the line, else `limit` chars on. */
export function endOfQuoted(text: string, start: number, quote: string, escapedQuote: boolean, limit = 65536): number {
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
export function base64DecodesToProse(value: string): boolean {
  if (value.length < 12 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[A-Za-z]+(?: [A-Za-z]+){2,}\.?$/.test(decoded);
}

export function base64DecodesToUserPass(value: string): boolean {
  if (value.length < 8 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded);
}

export const authorizationHeader: Detector = {
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

export const COOKIE_HEADER = /(?<![\w-])(?:(set-)?cookie(?:\\?["'])?[ \t]*:|--cookie[ \t=]|-b[ \t])[ \t]*(?:\\?["'])?/gi;
export const COOKIE_PAIR = /[ \t]*([^=;\s"'\\,]+)=([^;\s"'\\,]*)/y;

export const cookieHeader: Detector = {
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

export const CURL_USER = /(?<![\w-])(?:-u|--user|--proxy-user|--http-user)(?:=|[ \t]+)(\\?["']?)([^\s"':\\]+):([^\s"'\\]+)/dg;
export const MYSQL_PASSWORD = /(?<![\w-])-p(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\-][^\s"'\\]*))/dg;
export const SSHPASS_PASSWORD = /sshpass[ \t]+-p[ \t]*(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\]+))/dg;
export const DOCKER_LOGIN_PASSWORD = /docker[ \t]+login\b[^\n]*?[ \t]-p[ \t]+(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\-][^\s"'\\]*))/dg;
// redis-cli -a <password> / --pass <password>; htpasswd -b[c…] <file> <user> <password> (-n: no file)
export const REDIS_PASSWORD = /redis-cli\b[^\n]*?[ \t](?:-a|--pass|--askpass-no)[ \t]+(?:(\\?["'])([^"'\\\n]+)\1|([^\s"'\\-][^\s"'\\]*))/dg;
export const HTPASSWD_PASSWORD = /htpasswd[ \t]+-(?=[a-zA-Z]*b)([a-zA-Z]+)[ \t]+((?:[^\s"']+[ \t]+)?)[^\s"']+[ \t]+(?:(\\?["'])([^"'\\\n]+)\3|([^\s"'\\]+))/dg;

/** The text from the start of the line (raw or JSON-escaped newline) up to `index`, at most 500 chars. */
export function lineAround(text: string, index: number): string {
  // Search only the window: lastIndexOf over a long text without newlines would make callers quadratic.
  const window = text.slice(Math.max(0, index - 500), index);
  const rawStart = window.lastIndexOf('\n') + 1;
  const escStart = window.lastIndexOf('\\n');
  return window.slice(Math.max(rawStart, escStart >= 0 ? escStart + 2 : 0));
}

/** The shell command around `index`, continuation lines (ending in a backslash) included. */
export function commandAround(text: string, index: number): string {
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

export function emitCliValue(m: RegExpExecArray, groups: number[], emit: Emit): void {
  for (const g of groups) {
    const span = m.indices?.[g];
    const value = m[g];
    if (!span || value === undefined) continue;
    if (isReferenceValue(value) || isPlaceholderValue(value)) return;
    emit('cli-credentials', span[0], span[1]);
    return;
  }
}

export const cliCredentials: Detector = {
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
