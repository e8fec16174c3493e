// Generates daemon/redact/gitleaks-rules.ts from gitleaks' rule catalogue (config/gitleaks.toml,
// MIT, https://github.com/gitleaks/gitleaks): the rules anchored on a token's own format (a
// vendor prefix such as `glpat-`, `dckr_pat_`, `hvs.`), not the keyword-driven generic ones,
// whose job rbk's assignment and context rules do.
//
// Go's RE2 syntax is translated to JavaScript: inline (?i) and (?i:…) become case-folded
// classes and literals (Node 20's RegExp has no inline modifiers), (?s:.) becomes [\s\S],
// (?P<name> becomes (?<name>, POSIX classes are spelled out, \z is $. The anchors (literals
// without which a rule cannot match; the engine skips a rule whose anchors are all absent) come
// from each rule's own leading literal, in every case the regex accepts.
//
// Usage: node scripts/gitleaks-rules.mjs <gitleaks checkout or bare mirror>
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/gitleaks-rules.mjs <gitleaks checkout>');
  process.exit(2);
}
const bare = !fs.existsSync(path.join(dir, '.git'));
const git = (...args) => execFileSync('git', ['--git-dir', bare ? dir : path.join(dir, '.git'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
const commit = git('rev-parse', 'HEAD').trim();
const toml = parseToml(git('show', 'HEAD:config/gitleaks.toml'));

// Left out, with the reason:
const SKIP = {
  'generic-api-key': 'keyword-driven; the assignment rules do this job',
  'private-key': 'rbk has its own PEM detector (truncated blocks, JSON-escaped bodies)',
  jwt: 'rbk has its own JWT detector',
  'jwt-base64': 'base64 of a JWT: the base64 scan finds it',
  'kubernetes-secret-yaml': 'structure: rbk decodes Secret data: values instead',
  'pkcs12-file': 'a path rule, not content',
  'curl-auth-header': 'rbk has its own Authorization header rule',
  'curl-auth-user': 'rbk has its own curl -u rule',
  'vault-service-token': "its s.<24> form matches ordinary text (`s.` anchors everywhere); rbk's vault rule keeps hvs.",
  'sourcegraph-access-token': 'its bare 40-hex alternative matches every git commit id; rbk keeps the sgp_ forms',
  'twilio-api-key': "rbk's twilio rule adds the account-SID context",
  'facebook-access-token': "rbk's facebook rule requires the app id's digits before '|'",
  'gitlab-session-cookie': 'the cookie rule does this',
  'aws-access-token': 'rbk has its own AWS key id rule (documented example keys allowed)',
  'slack-webhook-url': "rbk's slack-webhook rule redacts the path and keeps the host readable",
};

function foldCase(src) {
  // Case-fold a regex source fragment: letters in classes get both cases, literal letters become
  // [xX]. Escapes (\w, \d, \x60, \n) are left alone.
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      if (src[i + 1] === 'x') {
        out += src.slice(i + 2, i + 4);
        i += 2;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
        continue;
      }
      // a-z → a-zA-Z
      if (/[a-zA-Z]/.test(c) && src[i + 1] === '-' && /[a-zA-Z]/.test(src[i + 2] ?? '')) {
        const lo = c;
        const hi = src[i + 2];
        out += `${lo}-${hi}${lo === lo.toLowerCase() ? lo.toUpperCase() : lo.toLowerCase()}-${lo === lo.toLowerCase() ? hi.toUpperCase() : hi.toLowerCase()}`;
        i += 2;
        continue;
      }
      out += /[a-zA-Z]/.test(c) ? c.toLowerCase() + c.toUpperCase() : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (c === '{') {
      // quantifier {n,m}: copy as is
      const end = src.indexOf('}', i);
      out += src.slice(i, end + 1);
      i = end;
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const m = /^\(\?(?::|=|!|<=|<!|<[A-Za-z]\w*>)/.exec(src.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    out += /[a-zA-Z]/.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return out;
}

/** Finds the group that starts at `open` (an index of '('), returns the index of its ')'. */
function groupEnd(src, open) {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return src.length - 1;
}

export function goToJs(go) {
  let s = go
    .replace(/\[\[:alnum:\]\]/g, '[A-Za-z0-9]')
    .replace(/\[:alnum:\]/g, 'A-Za-z0-9')
    .replace(/\[:alpha:\]/g, 'A-Za-z')
    .replace(/\[:digit:\]/g, '0-9')
    .replace(/\\z/g, '$')
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?s:\.\)/g, '[\\s\\S]')
    .replace(/\(\?-i:([^()]*)\)/g, '(?:$1)');
  let flags = '';
  // A leading (?i) applies to all of it: the i flag.
  if (s.startsWith('(?i)')) {
    s = s.slice(4);
    flags += 'i';
  }
  // (?i:…) groups: fold their content.
  for (let k = s.indexOf('(?i:'); k >= 0; k = s.indexOf('(?i:')) {
    const end = groupEnd(s, k);
    s = `${s.slice(0, k)}(?:${foldCase(s.slice(k + 4, end))}${s.slice(end)}`;
  }
  // A (?i) in the middle applies to the rest of its group: fold to the group's end.
  for (let k = s.indexOf('(?i)'); k >= 0; k = s.indexOf('(?i)')) {
    let depth = 0;
    let end = s.length;
    for (let i = k + 4; i < s.length; i++) {
      if (s[i] === '\\') {
        i++;
        continue;
      }
      if (s[i] === '(') depth++;
      else if (s[i] === ')') {
        if (depth === 0) {
          end = i;
          break;
        }
        depth--;
      }
    }
    s = s.slice(0, k) + foldCase(s.slice(k + 4, end)) + s.slice(end);
  }
  new RegExp(s, `${flags}gd`); // throws if the translation is not valid JavaScript
  return { source: s, flags };
}

/** The literal a match must contain, taken from the regex's start, in each case it accepts. */
function anchorsOf(js, keywords) {
  const s = js.source.replace(/^(?:\\b|\(\?:|\(|\^)+/, '');
  let lit = '';
  for (let i = 0; i < s.length && lit.length < 16; i++) {
    const c = s[i];
    if (c === '\\' && /[.\-_~/]/.test(s[i + 1] ?? '')) {
      lit += s[i + 1];
      i++;
      continue;
    }
    if (/[A-Za-z0-9_\-~]/.test(c)) {
      // a quantifier or alternation right after makes the last char optional
      if (/[?*{|]/.test(s[i + 1] ?? '')) break;
      lit += c;
      continue;
    }
    if (c === '[' && /^\[([a-zA-Z])\1?([a-zA-Z])\]/.test(s.slice(i))) break;
    break;
  }
  if (lit.length >= 3) {
    if (js.flags.includes('i')) return [...new Set([lit, lit.toLowerCase(), lit.toUpperCase()])];
    return [lit];
  }
  // No leading literal: the rule's keywords, as written and upper-cased.
  return [...new Set((keywords ?? []).flatMap((k) => [k, k.toUpperCase()]))].filter((k) => k.length >= 2);
}

const rules = [];
const skipped = [];
for (const r of toml.rules) {
  if (SKIP[r.id]) {
    skipped.push(`${r.id}: ${SKIP[r.id]}`);
    continue;
  }
  if (!r.regex || r.regex.includes('[\\w.-]{0,50}?')) {
    skipped.push(`${r.id}: keyword-driven (an identifier before the value); the assignment rules do this job`);
    continue;
  }
  let js;
  try {
    js = goToJs(r.regex);
  } catch (err) {
    skipped.push(`${r.id}: does not translate (${err.message})`);
    continue;
  }
  const anchors = anchorsOf(js, r.keywords);
  if (anchors.length === 0) {
    skipped.push(`${r.id}: no literal to anchor on`);
    continue;
  }
  rules.push({ id: r.id, description: r.description, source: js.source, flags: js.flags, secretGroup: r.secretGroup ?? 0, entropy: r.entropy ?? 0, anchors });
}

const out = `// GENERATED by scripts/gitleaks-rules.mjs from gitleaks ${commit} config/gitleaks.toml; do not edit.
// gitleaks is MIT-licensed: Copyright (c) 2019 Zachary Rice. These are its rules anchored on a
// token's own format, translated to JavaScript. Left out (${skipped.length}):
${skipped.map((x) => `//   ${x}`).join('\n')}

export interface GitleaksRule {
  id: string;
  description: string;
  source: string;
  flags: string;
  /** gitleaks' secretGroup; 0 = the first capture group if there is one, else the whole match. */
  secretGroup: number;
  /** gitleaks' minimum Shannon entropy of the secret; 0 = none. */
  entropy: number;
  /** Case-sensitive literals, one of which every match contains. */
  anchors: string[];
}

export const GITLEAKS_COMMIT = ${JSON.stringify(commit)};

export const GITLEAKS_RULES: GitleaksRule[] = ${JSON.stringify(rules, null, 2)};
`;
fs.writeFileSync(path.join(ROOT, 'daemon', 'redact', 'gitleaks-rules.ts'), out);
console.log(`${rules.length} rules written, ${skipped.length} left out`);
