// Generic `name = value` assignments in env files, YAML, JSON, TOML, XML, code, CLI flags and query strings.
import { LiteralAutomaton, ascendingUnique } from '../literal-scan.js';
import { base64DecodesToProse, base64DecodesToUserPass, endOfQuoted, lineAround, readTo } from './credentials.js';
import type { Detector, Emit, RuleInfo } from './types.js';
import { isAlnumCode, isCodeValue, isPathValue, isPlaceholderValue, isReferenceValue, isSpaceOrTab, isWordCode, looksRandom } from './values.js';

// ---------------------------------------------------------------------------------------------
// Generic `name = value` assignments: env files, YAML, JSON, code, CLI flags, query strings

export type AssignmentClass = 'password' | 'secret' | 'token' | 'api-key';

export const ASSIGNMENT_RULES: Record<AssignmentClass, RuleInfo> = {
  password: { id: 'password-assignment', kind: 'secret', priority: 50, description: 'password/passwd/pwd/passphrase = value' },
  secret: { id: 'secret-assignment', kind: 'secret', priority: 50, description: 'secret/client_secret/secret_key/private_key = value' },
  token: { id: 'token-assignment', kind: 'secret', priority: 50, description: 'token/access_token/auth_token = value' },
  'api-key': { id: 'api-key-assignment', kind: 'secret', priority: 50, description: 'api_key/apikey/access_key = value' },
};

export const ASSIGNMENT_KEYWORD =
  /passw(?:or)?d|passphrase|pass|pwd|pw|auth(?![_.-]?key)|secret(?:[_.-]?key(?:[_.-]?base)?)?|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key|(?:signing|encryption|master)[_.-]?key|key/gi;

export function classifyKeyword(keyword: string): AssignmentClass {
  const k = keyword.toLowerCase();
  if (k.startsWith('pass') || k === 'pwd' || k === 'pw') return 'password';
  if (k === 'token' || k === 'auth') return 'token';
  if (k === 'key') return 'api-key';
  if (k.startsWith('api') || k.startsWith('access') || k.startsWith('auth')) return 'api-key';
  return 'secret';
}

export function isKeyCode(c: number): boolean {
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
export const NON_CREDENTIAL_KEY =
  /(?:^|[_.-])(?:public|pub|primary|foreign|sort|partition|cache|row|hash|range|idempotency|lookup|map|dict|object|unique|composite|i18n|translation|message|locale|storage|ssh|gpg|pgp|host|ca|cert|tls|ssl|license|group|route|query|react|list|item|index|dedupe|shard|routing|metric|label)[_.-]?key$/i;

export function isCredentialKeyName(key: string, keywordIndex: number): boolean {
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

export const CLASS_WORD: Record<AssignmentClass, string> = { password: 'pass', secret: 'secret', token: 'token', 'api-key': 'key' };

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

export const NAME_FIELD_BEFORE = /(?:^|[^\w])(?:\\?["'])?name(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?$/i;
export const NAME_VALUE_FOLLOW = /(?:[ \t,]|\r|\n|\\[rn])+(?:-[ \t]+)?(?:\\?["'])?value(?:\\?["'])?[ \t]*(?=[:=])/iy;

// .netrc / _netrc: "machine host login user password secret" has no separator at all.
export const NETRC_TAIL = /^login[ \t]+\S+[ \t]+$/;

export function isNetrcLine(line: string): boolean {
  const login = line.lastIndexOf('login');
  return login > 0 && /\b(?:machine|default)\b/.test(line.slice(0, login)) && NETRC_TAIL.test(line.slice(login));
}
// CREATE USER … PASSWORD '…', ALTER ROLE … WITH PASSWORD '…', IDENTIFIED BY '…'
export const SQL_PASSWORD = /\b(?:PASSWORD|IDENTIFIED\s+BY)\s+(\\?')([^'\\\n]+)\1/dgi;
export const SQL_CONTEXT = /\b(?:USER|ROLE|LOGIN)\b/i;

export function endsUnquotedValue(ch: number): boolean {
  // whitespace " ' ` , ; \ ) ] } >
  return ch <= 32 || ch === 34 || ch === 39 || ch === 96 || ch === 44 || ch === 59 || ch === 92 || ch === 41 || ch === 93 || ch === 125 || ch === 62;
}
export function endsEnvValue(ch: number): boolean {
  return ch <= 32 || ch === 34 || ch === 39 || ch === 96 || ch === 92; // whitespace " ' ` \
}
export function endsQueryValue(ch: number): boolean {
  return endsUnquotedValue(ch) || ch === 38 || ch === 35; // & #
}

export const PROSE_SEPARATOR = /[ \t]+(?:is|was|set to|changed to)[ \t]*:?[ \t]*(?=\S)/y;

export const ARN_BEFORE = /\barn:aws[\w-]*:[\w-]+:[\w-]*:\d*:$/;
export const KEY_AS_FIRST_ARGUMENT = /[\w$\]]\([ \t]*\\?["']$/;
export const PHP_ASSIGN = /^[ \t]*\.?=[^=]/;
export const COMPOUND_ASSIGN = /(?:\?|::?:?|\.|\+|\|\|)=(?!=)/y;
export const TYPE_BEFORE_EQUALS = /[ \t]*(?::[ \t]*)?[A-Za-z_][\w.]*(?:\[\])?\??(?=[ \t]*=[^=])/y;
export const DECLARATION_BEFORE = /\b(?:const|let|var|val|auto|my|local|final|readonly|private|public|protected|static)\s+$/;

// Every keyword above, and the SQL forms below (PASSWORD, IDENTIFIED BY), begins with one of these.
export const ASSIGNMENT_START_LITERALS = ['pas', 'pw', 'aut', 'sec', 'tok', 'api', 'acc', 'pri', 'sig', 'enc', 'mas', 'key', 'ide'];
export const ASSIGNMENT_KEYWORD_AT = new RegExp(ASSIGNMENT_KEYWORD.source, 'iy');
export let assignmentStartScanner: LiteralAutomaton | null = null;

export function assignmentStarts(text: string): number[] {
  const scanner = (assignmentStartScanner ??= new LiteralAutomaton(ASSIGNMENT_START_LITERALS.map((literal) => ({ literal, ignoreCase: true }))));
  const starts: number[] = [];
  scanner.scan(text, (id, end) => starts.push(end - scanner.lengths[id]!));
  return ascendingUnique(starts);
}

/**
 * `starts`: where a keyword may begin (see ASSIGNMENT_START_LITERALS). Trying the keyword regex
 * at each of them, in order, finds exactly the matches a global search would.
 */
export function assignmentDetect(text: string, emit: Emit, starts: readonly number[] = assignmentStarts(text)): void {
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

export const assignments: Detector = {
  name: 'assignments',
  revision: 1,
  rules: Object.values(ASSIGNMENT_RULES),
  anchors: [],
  startLiterals: ASSIGNMENT_START_LITERALS,
  detect: assignmentDetect,
};
