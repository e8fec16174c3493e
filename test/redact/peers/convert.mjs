// Converts the peers' own secret-scanner test cases into a labelled corpus for rbk's redaction
// (test/redact/peers/*.json.gz, scored by test/redact/independent.test.ts):
//
// - gitleaks (MIT, https://github.com/gitleaks/gitleaks): every rule's true positives (`tps`) and
//   false positives (`fps`) from cmd/generate/config/rules/*.go. Most are generated at run time
//   by Go expressions (utils.GenerateSampleSecrets("github", "ghp_"+secrets.NewSecret(utils.AlphaNumeric("36")))),
//   so this script evaluates that small subset of Go: string literals, +, []string{…},
//   map[string]string{…}, append, fmt.Sprintf, the utils pattern helpers and secrets.NewSecret
//   (randexp, seeded, in place of Go's reggen). The secret of a true positive is what the rule's
//   own regex (config/gitleaks.toml, secretGroup) captures in it, else the generated value.
// - secretlint (MIT, https://github.com/secretlint/secretlint): every rule package's test
//   snapshots: `ng.*` inputs with the ranges the rule reported (positives), `ok.*` inputs
//   (negatives).
//
// Usage (the repositories come from the search tool's fetch, or any clone):
//   node test/redact/peers/convert.mjs --gitleaks <gitleaks checkout> --secretlint <secretlint checkout>
// It writes test/redact/peers/{gitleaks,secretlint}.json.gz.
// The checkouts may be bare mirrors: files are read with `git show HEAD:<path>`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import RandExp from 'randexp';
import { parse as parseToml } from 'smol-toml';
import { prng as mulberry32 } from '../../../bench/corpus.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

// --- reading a checkout (work tree or bare mirror) ---------------------------------------------

function reader(dir) {
  const bare = !fs.existsSync(path.join(dir, '.git')) && fs.existsSync(path.join(dir, 'HEAD'));
  const git = (...args) => execFileSync('git', ['--git-dir', bare ? dir : path.join(dir, '.git'), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return {
    commit: git('rev-parse', 'HEAD').trim(),
    list: (prefix) => git('ls-tree', '-r', '--name-only', 'HEAD', prefix).split('\n').filter(Boolean),
    read: (file) => git('show', `HEAD:${file}`),
  };
}

// --- a seeded PRNG, so that the corpus is the same on every run ----------------------------------

const random = mulberry32(20261202);

function newSecret(regex) {
  const r = new RandExp(goRegexToJs(regex).source);
  r.randInt = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  // Open-ended repeats ({100,}, +, *) stop at 20 more than their minimum.
  r.max = 20;
  return r.gen();
}

/** Go RE2 → JS, for what the rules use: (?i) prefixes and groups, POSIX classes, \z. */
function goRegexToJs(src) {
  let s = src;
  let flags = '';
  if (s.includes('(?i')) {
    flags += 'i';
    s = s
      .replace(/\(\?i\)/g, '')
      .replace(/\(\?i:/g, '(?:')
      .replace(/\(\?-i:/g, '(?:');
  }
  s = s.replace(/\(\?s\)/g, '').replace(/\(\?s:/g, '(?:');
  if (src.includes('(?s')) flags += 's';
  s = s
    .replace(/\[\[:alnum:\]\]/g, '[A-Za-z0-9]')
    .replace(/\[:alnum:\]/g, 'A-Za-z0-9')
    .replace(/\[:alpha:\]/g, 'A-Za-z')
    .replace(/\[:digit:\]/g, '0-9')
    .replace(/\[:xdigit:\]/g, '0-9A-Fa-f')
    .replace(/\\z/g, '$')
    .replace(/\\A/g, '^')
    .replace(/\(\?P</g, '(?<');
  return new RegExp(s, flags);
}

// --- a tiny evaluator for the Go expressions the rule files use ----------------------------------

class Unsupported extends Error {}

function tokenize(src) {
  const tokens = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      tokens.push({ t: 'nl' });
      i++;
    } else if (/\s/.test(c)) i++;
    else if (src.startsWith('//', i)) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
    } else if (c === "'") {
      // A rune literal: 'a', '\'', '`'.
      const m = /^'(?:\\.|[^'\\])+'/.exec(src.slice(i));
      tokens.push({ t: 'op', v: m ? m[0] : c });
      i += m ? m[0].length : 1;
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new Unsupported('unterminated raw string');
      tokens.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const n = src[j + 1];
          const map = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', "'": "'", 0: '\0' };
          if (n === 'x') {
            v += String.fromCharCode(parseInt(src.slice(j + 2, j + 4), 16));
            j += 4;
            continue;
          }
          if (n === 'u') {
            v += String.fromCharCode(parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          v += map[n] ?? n;
          j += 2;
        } else v += src[j++];
      }
      tokens.push({ t: 'str', v });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*/.exec(src.slice(i));
      tokens.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (/\d/.test(c)) {
      const m = /^\d+/.exec(src.slice(i));
      tokens.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (src.startsWith(':=', i) || src.startsWith('...', i)) {
      tokens.push({ t: 'op', v: src.slice(i, src.startsWith(':=', i) ? i + 2 : i + 3) });
      i += src.startsWith(':=', i) ? 2 : 3;
    } else {
      tokens.push({ t: 'op', v: c });
      i++;
    }
  }
  return tokens;
}

/** A string value with the generated secrets inside it. */
const S = (v, secrets = []) => ({ kind: 'str', v, secrets });
const L = (items) => ({ kind: 'list', items });

function evaluateFunction(body) {
  const tokens = tokenize(body);
  const env = new Map();
  let p = 0;
  let skipped = 0;
  const peek = (o = 0) => tokens[p + o];
  const eat = (v) => {
    const tok = tokens[p];
    if (!tok || (v !== undefined && tok.v !== v)) throw new Unsupported(`expected ${v} at ${JSON.stringify(tok)}`);
    p++;
    return tok;
  };
  const skipNl = () => {
    while (peek()?.t === 'nl') p++;
  };

  function primary() {
    skipNl();
    const tok = peek();
    if (!tok) throw new Unsupported('end');
    if (tok.t === 'str') {
      p++;
      return S(tok.v);
    }
    if (tok.t === 'op' && tok.v === '[') {
      // []string{…} or []*T{…}
      eat('[');
      eat(']');
      const type = eat().v;
      if (type !== 'string') throw new Unsupported(`[]${type}`);
      return composite(false);
    }
    if (tok.t === 'id' && tok.v === 'map') {
      eat('map');
      eat('[');
      eat();
      eat(']');
      eat();
      return composite(true);
    }
    if (tok.t === 'id') {
      p++;
      if (peek()?.v === '(') return call(tok.v);
      if (env.has(tok.v)) return env.get(tok.v);
      throw new Unsupported(`unknown name ${tok.v}`);
    }
    throw new Unsupported(`token ${JSON.stringify(tok)}`);
  }

  function composite(isMap) {
    eat('{');
    const items = [];
    for (;;) {
      skipNl();
      if (peek()?.v === '}') break;
      let v = expr();
      if (isMap) {
        eat(':');
        v = expr();
      }
      if (v.kind === 'list') items.push(...v.items);
      else items.push(v);
      skipNl();
      if (peek()?.v === ',') p++;
    }
    eat('}');
    return L(items);
  }

  function args() {
    eat('(');
    const out = [];
    for (;;) {
      skipNl();
      if (peek()?.v === ')') break;
      const v = expr();
      if (peek()?.v === '...') p++;
      out.push(v);
      skipNl();
      if (peek()?.v === ',') p++;
    }
    eat(')');
    return out;
  }

  const str = (v) => {
    if (v.kind !== 'str') throw new Unsupported('expected a string');
    return v;
  };
  const PATTERNS = {
    'utils.Numeric': (n) => `[0-9]{${n}}`,
    'utils.Hex': (n) => `[a-f0-9]{${n}}`,
    'utils.AlphaNumeric': (n) => `[a-z0-9]{${n}}`,
    'utils.AlphaNumericExtendedShort': (n) => `[a-z0-9_-]{${n}}`,
    'utils.AlphaNumericExtended': (n) => `[a-z0-9=_\\-]{${n}}`,
    'utils.AlphaNumericExtendedLong': (n) => `[a-z0-9\\/=_\\+\\-]{${n}}`,
  };

  function call(name) {
    const a = args();
    if (PATTERNS[name]) return S(PATTERNS[name](str(a[0]).v));
    if (name === 'utils.Hex8_4_4_4_12') return S('[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}');
    if (name === 'secrets.NewSecret') {
      const v = newSecret(str(a[0]).v);
      return S(v, [v]);
    }
    if (name === 'utils.GenerateSampleSecrets') return L(SAMPLE_TEMPLATES.map((t) => sample(t, str(a[0]).v, str(a[1]))));
    if (name === 'utils.GenerateSampleSecret') return sample('{i}_api_token = "{s}"', str(a[0]).v, str(a[1]));
    if (name === 'strings.Repeat') return S(str(a[0]).v.repeat(a[1]?.kind === 'num' ? a[1].v : Number(a[1]?.v ?? 1)));
    if (name === 'fmt.Sprintf') {
      let i = 1;
      const secrets = [];
      const v = str(a[0]).v.replace(/%[sqv]/g, (m) => {
        const x = str(a[i++]);
        secrets.push(...x.secrets);
        return m === '%q' ? JSON.stringify(x.v) : x.v;
      });
      return S(v, secrets);
    }
    if (name === 'append') {
      const items = [];
      for (const x of a) {
        if (x.kind === 'list') items.push(...x.items);
        else items.push(x);
      }
      return L(items);
    }
    throw new Unsupported(`call ${name}`);
  }

  function sample(template, id, secret) {
    const v = template.replaceAll('{i}', id).replaceAll('{I}', id.toUpperCase()).replaceAll('{s}', secret.v);
    return { kind: 'str', v, secrets: [secret.v], sampleSecret: secret.v };
  }

  function expr() {
    let left = primary();
    for (;;) {
      if (peek()?.v !== '+') return left;
      p++;
      const right = primary();
      left = S(str(left).v + str(right).v, [...left.secrets, ...right.secrets]);
    }
  }

  // Statements: `name := expr` and `name = expr`; anything else is skipped to the end of its line.
  while (p < tokens.length) {
    skipNl();
    const start = p;
    const a = peek();
    const b = peek(1);
    if (a?.t === 'id' && (b?.v === ':=' || b?.v === '=') && !a.v.includes('.')) {
      p += 2;
      try {
        env.set(a.v, expr());
        continue;
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        if (a.v === 'tps' || a.v === 'fps') skipped++;
      }
    }
    // Skip this statement: to the next newline at bracket depth 0.
    p = start;
    let depth = 0;
    while (p < tokens.length) {
      const tok = tokens[p++];
      if (tok.t === 'op' && '([{'.includes(tok.v)) depth++;
      else if (tok.t === 'op' && ')]}'.includes(tok.v)) depth--;
      else if (tok.t === 'nl' && depth <= 0) break;
    }
  }
  const list = (name) => {
    const v = env.get(name);
    if (!v) return [];
    return v.kind === 'list' ? v.items.filter((x) => x.kind === 'str') : v.kind === 'str' ? [v] : [];
  };
  return { tps: list('tps'), fps: list('fps'), skipped };
}

// gitleaks' utils.GenerateSampleSecrets templates (cmd/generate/config/utils/generate.go).
const SAMPLE_TEMPLATES = [
  '{i}Token="{s}"',
  '{i}Token = "{s}"',
  '{i}Token={s}',
  '{i}Token = {s}',
  '{\n    "{i}_token": "{s}"\n}',
  '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
  '<{i}Token>\n    {s}\n</{i}Token>',
  '{i}_token: {s}',
  "{i}_token: '{s}'",
  '{i}_token: "{s}"',
  'string {i}Token = "{s}";',
  'var {i}Token string = "{s}"',
  '{i}Token := "{s}"',
  '{i}Token := `{s}`',
  'String {i}Token = "{s}";',
  'var {i}Token = "{s}"',
  '${i}Token .= "{s}"',
  "{i}Token = '{s}'",
  '{i}Token = "{s}"',
  'System.setProperty("{I}_TOKEN", "{s}")',
  '  "{i}Token" => "{s}"',
  '{i}_TOKEN = "{s}"',
  '{i}_TOKEN := "{s}"',
  '{i}_TOKEN ::= "{s}"',
  '{i}_TOKEN :::= "{s}"',
  '{i}_TOKEN ?= "{s}"',
];

function gitleaks(dir) {
  const repo = reader(dir);
  const toml = parseToml(repo.read('config/gitleaks.toml'));
  const rules = new Map(toml.rules.map((r) => [r.id, r]));
  const positives = [];
  const negatives = [];
  const report = { commit: repo.commit, rules: 0, functions: 0, skippedStatements: 0, noSecretFound: 0, unparsedFunctions: [] };
  for (const file of repo.list('cmd/generate/config/rules/').filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))) {
    const src = repo.read(file);
    // Each rule function runs to the next top-level func (a closing brace at a line start can be
    // inside a raw string).
    const starts = [...src.matchAll(/^func \w+\(\) \*config\.Rule \{\n/gm)];
    for (const fn of starts) {
      const next = src.slice(fn.index + fn[0].length).search(/^func /m);
      const body = next < 0 ? src.slice(fn.index + fn[0].length) : src.slice(fn.index + fn[0].length, fn.index + fn[0].length + next);
      const id = /RuleID:\s*"([^"]+)"/.exec(body)?.[1];
      if (!id) continue;
      report.functions++;
      if (process.env.DEBUG_CONVERT) console.error(file, id);
      let evaluated;
      try {
        evaluated = evaluateFunction(body);
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        report.unparsedFunctions.push(`${id}: ${err.message}`);
        continue;
      }
      const { tps, fps, skipped } = evaluated;
      report.skippedStatements += skipped;
      const rule = rules.get(id);
      let re = null;
      try {
        if (rule?.regex) re = goRegexToJs(rule.regex);
      } catch {
        re = null;
      }
      const seen = new Set();
      for (const tp of tps) {
        if (seen.has(tp.v)) continue;
        seen.add(tp.v);
        let secret = null;
        const m = re ? new RegExp(re.source, re.flags.replace('g', '')).exec(tp.v) : null;
        if (m) secret = (rule.secretGroup ? m[rule.secretGroup] : undefined) ?? m.slice(1).find((g) => g && g.length >= 6) ?? m[0];
        if (!secret || secret.length < 4) secret = tp.sampleSecret ?? tp.secrets.join('') ?? null;
        if (!secret) {
          report.noSecretFound++;
          continue;
        }
        positives.push({ source: `gitleaks:${id}`, text: tp.v, secrets: [secret] });
      }
      for (const fp of fps) if (!seen.has(fp.v)) negatives.push({ source: `gitleaks:${id}`, text: fp.v });
      report.rules++;
    }
  }
  return { report, positives, negatives };
}

// secretlint rule packages whose snapshots are not about secret values: comment filters,
// user-pattern and example rules, files that must not be committed whatever they hold (.env,
// home dirs, a Kubernetes Secret manifest as such), and the presets (copies of the rules' own
// snapshots). AWS account ids are not credentials (AWS documents them as safe to share).
const SECRETLINT_SKIP = /secretlint-rule-(?:preset-recommend|preset-canary|filter-comments|pattern|example|no-dotenv|no-homedir|no-k8s-kind-secret)\//;
const SECRETLINT_SKIP_MESSAGE = new Set(['AWSAccountID']);

function secretlint(dir) {
  const repo = reader(dir);
  const files = repo.list('packages/@secretlint/').filter((f) => /\/test\/snapshots\/[^/]+\/input(?:\.[^/]*)?$/.test(f) && !SECRETLINT_SKIP.test(f));
  const positives = [];
  const negatives = [];
  const report = { commit: repo.commit, cases: 0, skippedMessages: 0, notText: [], notSecret: [] };
  for (const input of files) {
    const caseDir = path.posix.dirname(input);
    const name = path.posix.basename(caseDir);
    const rule = /packages\/@secretlint\/([^/]+)\//.exec(input)[1].replace(/^secretlint-rule-/, '');
    const text = repo.read(input);
    let output;
    try {
      output = JSON.parse(repo.read(`${caseDir}/output.json`));
    } catch {
      continue;
    }
    // Cases that run the rule with non-default options (allows, disabled checks) test the option.
    const hasRc = repo.list(caseDir).some((f) => f.endsWith('.secretlintrc.json'));
    if (hasRc || name.startsWith('options')) continue;
    // Binary inputs (PKCS#12 files) are not text a session carries.
    if (text.includes('\u0000') || text.includes('\ufffd')) {
      report.notText.push(`${rule}/${name}`);
      continue;
    }
    // Azure tenant and client ids are identifiers, documented as not secret (like AWS account ids).
    if (/^ng\.(?:ad_tenant_id|azure_client_id|ad_client_id)$/.test(name)) {
      report.notSecret.push(`${rule}/${name}`);
      continue;
    }
    report.cases++;
    const messages = (output.messages ?? []).filter((m) => {
      if (SECRETLINT_SKIP_MESSAGE.has(m.messageId)) {
        report.skippedMessages++;
        return false;
      }
      return true;
    });
    if (name.startsWith('ok') || (output.messages ?? []).length === 0) negatives.push({ source: `secretlint:${rule}/${name}`, text });
    else if (messages.length > 0) {
      const secrets = [...new Set(messages.map((m) => text.slice(m.range[0], m.range[1])))].filter((s) => s.trim().length >= 4);
      if (secrets.length > 0) positives.push({ source: `secretlint:${rule}/${name}`, text, secrets });
    }
  }
  return { report, positives, negatives };
}

// Gzipped: the files hold thousands of token-shaped strings, and a repository holding them in
// clear text trips every secret scanner (GitHub push protection included).
const out = (name, data) => {
  fs.writeFileSync(path.join(HERE, `${name}.json.gz`), zlib.gzipSync(`${JSON.stringify(data)}\n`, { level: 9 }));
  console.log(`${name}: ${data.positives.length} positives, ${data.negatives.length} negatives ${JSON.stringify(data.report)}`);
};
const gl = arg('gitleaks');
const sl = arg('secretlint');
if (!gl && !sl) {
  console.error('usage: node test/redact/peers/convert.mjs --gitleaks <checkout> --secretlint <checkout>');
  process.exit(2);
}
if (gl) out('gitleaks', { license: 'MIT, (c) Zachary Rice and gitleaks contributors; test cases of cmd/generate/config/rules', ...gitleaks(gl) });
if (sl) out('secretlint', { license: 'MIT, (c) azu and secretlint contributors; rule test snapshots', ...secretlint(sl) });
