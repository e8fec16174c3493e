import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../daemon/redact/index.js';
import { Fake, groupEvery } from './fakes.js';

const redactor = createRedactor({ key: Buffer.alloc(32, 5) });
const TOKEN = /\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]/g;

/** A secret and the context that makes it recognisable; only `secret` must disappear. */
interface Embedded {
  kind: string;
  before: string;
  secret: string;
  after: string;
}

const KINDS: Record<string, (f: Fake) => Omit<Embedded, 'kind'>> = {
  'aws-access-key-id': (f) => ({ before: '', secret: f.awsKeyId(f.pick(['AKIA', 'ASIA'] as const)), after: '' }),
  'aws-secret-access-key': (f) => ({
    before: f.pick(['aws_secret_access_key = ', 'AWS_SECRET_ACCESS_KEY=', '"SecretAccessKey": "']),
    secret: f.awsSecret(),
    after: '',
  }),
  'github-token': (f) => ({ before: '', secret: f.pick([f.github('p'), f.github('o'), f.github('s'), f.githubPat()]), after: '' }),
  'gitlab-token': (f) => ({ before: '', secret: f.gitlab(), after: '' }),
  'slack-token': (f) => ({ before: '', secret: f.slack(f.pick(['b', 'p', 'a'] as const)), after: '' }),
  'slack-webhook': (f) => ({ before: 'https://hooks.slack.com/services/', secret: f.slackWebhookPath(), after: '' }),
  'stripe-key': (f) => ({ before: '', secret: f.stripe(f.pick(['sk_live', 'sk_test', 'rk_live'] as const)), after: '' }),
  'anthropic-api-key': (f) => ({ before: '', secret: f.anthropic(), after: '' }),
  'openai-api-key': (f) => ({ before: '', secret: f.openai(f.int(2) === 1), after: '' }),
  'google-api-key': (f) => ({ before: '', secret: f.google(), after: '' }),
  'npm-token': (f) => ({ before: '', secret: f.npm(), after: '' }),
  jwt: (f) => ({ before: '', secret: f.jwt(), after: '' }),
  'private-key': (f) => {
    const pem = f.pem(f.pick(['RSA ', 'EC ', 'OPENSSH ', ''] as const));
    const [header, , footer] = [pem.block.split('\n')[0]!, pem.body, pem.block.split('\n').at(-1)!];
    return { before: `${header}\n`, secret: pem.body, after: `\n${footer}` };
  },
  'authorization-header': (f) => ({
    before: f.pick(['Authorization: Bearer ', 'authorization: Basic ', '"Authorization": "Token ']),
    secret: f.alnum(32),
    after: '',
  }),
  'url-credentials': (f) => ({
    before: `${f.pick(['postgres', 'mysql', 'mongodb+srv', 'redis', 'amqp', 'https'])}://${f.pick(['app', 'admin', ''])}:`,
    secret: f.alnum(8 + f.int(16)),
    after: '@db.internal:5432/app',
  }),
  'password-assignment': (f) => ({
    before: f.pick(['DB_PASSWORD=', 'password: ', '"password": "', '--password=', 'export MYSQL_PWD=', "password='"]),
    secret: f.password(),
    after: '',
  }),
  'secret-assignment': (f) => ({ before: f.pick(['CLIENT_SECRET=', 'client_secret: ', '"client_secret": "']), secret: f.alnum(32), after: '' }),
  'token-assignment': (f) => ({ before: f.pick(['API_TOKEN=', '"access_token": "', 'auth_token: ']), secret: f.b64url(20) + f.alnum(12), after: '' }),
  'api-key-assignment': (f) => ({ before: f.pick(['MY_API_KEY=', '"apiKey": "', 'x-api-key: ']), secret: f.alnum(32), after: '' }),
  email: (f) => ({
    before: '',
    secret: `${f.chars('abcdefghijklmnopqrstuvwxyz', 3 + f.int(8))}${f.pick(['.', '_', '+', ''])}${f.chars('abcdefghijklmnopqrstuvwxyz0123456789', 2 + f.int(6))}@${f.pick(['gmail.com', 'example.org', 'mail.company.co.uk', 'uni.edu'])}`,
    after: '',
  }),
  'phone-number': (f) => ({
    before: '',
    secret: f.pick([
      `+1 ${2 + f.int(8)}${f.digits(2)}-${2 + f.int(8)}${f.digits(2)}-${f.digits(4)}`,
      `(${2 + f.int(8)}${f.digits(2)}) ${2 + f.int(8)}${f.digits(2)}-${f.digits(4)}`,
      `+44 20 ${f.digits(4)} ${f.digits(4)}`,
      `+49 30 ${f.digits(8)}`,
    ]),
    after: '',
  }),
  'credit-card': (f) => {
    const card = f.pick([f.card('4', 16), f.card('51', 16), f.card('6011', 16)]);
    return { before: '', secret: f.pick([card, groupEvery(card, 4), groupEvery(card, 4, '-')]), after: '' };
  },
  iban: (f) => {
    const iban = f.iban(f.pick(['DE', 'GB', 'FR', 'NL', 'ES'] as const));
    return { before: '', secret: f.int(2) ? iban : groupEvery(iban, 4), after: '' };
  },
  'us-ssn': (f) => ({ before: '', secret: f.ssn(), after: '' }),
};

const kindNames = Object.keys(KINDS);

const embeddedArb: fc.Arbitrary<Embedded> = fc
  .tuple(fc.constantFrom(...kindNames), fc.integer({ min: 1, max: 0x7fffffff }))
  .map(([kind, seed]) => ({ kind, ...KINDS[kind]!(new Fake(seed)) }));

/** Random printable text around the secret, separated from it the way text normally is. */
const fillerArb = fc.string({ maxLength: 40 });
const separatorArb = fc.constantFrom(' ', '\n', '\t', ' | ', '\n\n');

interface Sample {
  text: string;
  secrets: Embedded[];
}

const sampleArb: fc.Arbitrary<Sample> = fc.array(fc.tuple(fillerArb, separatorArb, embeddedArb, separatorArb), { minLength: 1, maxLength: 3 }).chain((parts) =>
  fillerArb.map((tail) => {
    let text = '';
    for (const [filler, sepBefore, e, sepAfter] of parts) {
      // A quoted context needs its closing quote.
      const closing = /"$/.test(e.before) ? '"' : /'$/.test(e.before) ? "'" : '';
      text += filler + sepBefore + e.before + e.secret + closing + e.after + sepAfter;
    }
    return { text: text + tail, secrets: parts.map(([, , e]) => e) };
  }),
);

/** Strings built from fragments that rules care about, to provoke near-misses and overlaps. */
const FRAGMENTS = [
  'password',
  'PASSWORD',
  'token',
  'secret',
  'api_key',
  'DB_PASS',
  'auth',
  '=',
  ':',
  ': ',
  ' = ',
  '"',
  "'",
  '\\"',
  '\\',
  '\\n',
  '\n',
  ' ',
  '@',
  '.',
  'com',
  'example',
  '://',
  'user',
  'Bearer ',
  'Basic ',
  'Authorization: ',
  '"Authorization": "Token ',
  'redis://app:',
  'postgres://u:',
  'changeme',
  '<token>',
  '@db.internal ',
  'Cookie: ',
  'AKIA',
  'ghp_',
  'sk-',
  'eyJ',
  'xoxb-',
  '-----BEGIN RSA PRIVATE KEY-----',
  '-----END RSA PRIVATE KEY-----',
  '+1 ',
  '415',
  '555',
  '-',
  '(',
  ')',
  '4111',
  '1111 ',
  '123-45-6789',
  'DE89',
  '3704',
  ' 0044',
  '[REDACTED:email:abcdef]',
  '[REDACTED:',
  ']',
  '$',
  '{',
  '}',
  ',',
  ';',
  '&',
  '?',
  '#',
  '<',
  '>',
  'x',
  'A',
  '0',
  '9',
  'curl -u ',
  'mysql -p',
  'name: ',
  'value: ',
  '<password>',
  '</password>',
];
const fragmentTextArb = fc
  .array(
    fc.oneof(
      fc.constantFrom(...FRAGMENTS),
      fc.string({ maxLength: 6 }),
      embeddedArb.map((e) => e.before + e.secret),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

function withoutTokens(s: string): string {
  return s.replace(TOKEN, '\u0000');
}

describe('redaction properties', () => {
  it('is idempotent over arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), fragmentTextArb), (text) => {
        const once = redactor.redactText(text).text;
        expect(redactor.redactText(once).text).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });

  it('is idempotent on the counterexample CI found (a placeholder test that left a shared regex mid-string)', () => {
    // Seed -100818604 of the property above: redacting the URL's password ran a /g regex's
    // .test(), whose lastIndex then made the header rule's placeholder check skip "[REDACTED".
    const text = 'redis://app:IZe3Plb8Mc9a8RsJanzzhpslrfoi@gmail.com"Authorization": "Token t3elChHcbof7nQ1WL0VpHQJGADbkn9Aexoxb-NL58 0599 2674 9441 42#';
    const fresh = createRedactor({ key: Buffer.alloc(32, 5) });
    const once = fresh.redactText(text).text;
    expect(once).not.toContain('t3elChHcbof7nQ1WL0VpHQJGADbkn9Aexoxb');
    expect(fresh.redactText(once).text).toBe(once);
  });

  it('gives the same result for a text whatever the redactor redacted before', () => {
    // Detectors share module-level regexes; any state one call leaves behind shows up here. The
    // rejection paths (a placeholder or an existing token where a credential would be) are where
    // a detector returns early, so credential contexts with such values come up often.
    const contextArb = fc.constantFrom(
      'redis://app:',
      'https://user:',
      'Authorization: Token ',
      '"Authorization": "Bearer ',
      'Cookie: sid=',
      'password=',
      'curl -u admin:',
    );
    const valueArb = fc.oneof(
      fc.constantFrom('changeme', '<token>', 'xxxxx', '${TOKEN}', 'example', '[REDACTED:email:abcdef]', '...', 'IZe3Plb8Mc9a8RsJanzzhpslrfoi'),
      fc.string({ maxLength: 8 }),
    );
    const credentialContextsArb = fc
      .array(fc.tuple(fc.string({ maxLength: 4 }), contextArb, valueArb, fc.string({ maxLength: 3 }), fc.constantFrom('@db.internal ', '"', ' ', '#', '')), {
        minLength: 1,
        maxLength: 3,
      })
      .map((parts) => parts.map((p) => p.join('')).join(''));
    const textArb = fc.oneof(
      fragmentTextArb,
      sampleArb.map((s) => s.text),
      credentialContextsArb,
    );
    fc.assert(
      fc.property(fc.array(textArb, { minLength: 1, maxLength: 4 }), textArb, (before, text) => {
        const fresh = createRedactor({ key: Buffer.alloc(32, 5) }).redactText(text);
        for (const earlier of before) {
          const once = redactor.redactText(earlier).text;
          redactor.redactText(once);
        }
        expect(redactor.redactText(text)).toEqual(fresh);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent over text with embedded secrets', () => {
    fc.assert(
      fc.property(sampleArb, ({ text }) => {
        const once = redactor.redactText(text).text;
        expect(redactor.redactText(once).text).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('lets no embedded secret survive, not even an 8-character piece of one', () => {
    fc.assert(
      fc.property(sampleArb, ({ text, secrets }) => {
        const out = withoutTokens(redactor.redactText(text).text);
        for (const { secret, kind } of secrets) {
          expect(out, `${kind} survived`).not.toContain(secret);
          // Pieces that also occur in the text outside the secret are not evidence of a leak.
          const elsewhere = text.split(secret).join('\u0000');
          for (let i = 0; i + 8 <= secret.length; i++) {
            const piece = secret.slice(i, i + 8);
            if (!elsewhere.includes(piece)) expect(out, `${kind}: ${piece} survived`).not.toContain(piece);
          }
        }
      }),
      { numRuns: 1500 },
    );
  });

  it.each(kindNames)('catches %s in isolation', (kind) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const e = KINDS[kind]!(new Fake(seed));
        const closing = /"$/.test(e.before) ? '"' : /'$/.test(e.before) ? "'" : '';
        const text = `${e.before}${e.secret}${closing}${e.after}`;
        expect(redactor.redactText(text).text, text).not.toContain(e.secret);
      }),
      { numRuns: 200 },
    );
  });

  it('reports matches that point at what was replaced', () => {
    fc.assert(
      fc.property(sampleArb, ({ text }) => {
        const { text: out, matches } = redactor.redactText(text);
        let rebuilt = '';
        let pos = 0;
        for (const m of matches) {
          expect(m.start).toBeGreaterThanOrEqual(pos);
          expect(m.end).toBeGreaterThan(m.start);
          rebuilt += `${text.slice(pos, m.start)}<${m.rule}>`;
          pos = m.end;
        }
        rebuilt += text.slice(pos);
        expect(out.replace(/\[REDACTED:([a-z0-9-]+):[0-9a-f]{6}\]/g, '<$1>')).toBe(rebuilt);
      }),
      { numRuns: 500 },
    );
  });

  it('redactJson preserves structure and leaves non-strings untouched', () => {
    const sameShape = (a: unknown, b: unknown): void => {
      if (typeof a === 'string') {
        expect(typeof b).toBe('string');
      } else if (Array.isArray(a)) {
        expect(Array.isArray(b)).toBe(true);
        expect((b as unknown[]).length).toBe(a.length);
        for (const [i, item] of a.entries()) sameShape(item, (b as unknown[])[i]);
      } else if (a !== null && typeof a === 'object') {
        expect(b !== null && typeof b === 'object' && !Array.isArray(b)).toBe(true);
        // Keys are data too and are redacted like any text (a random key can look like an email).
        const keys = Object.keys(a);
        const outKeys = Object.keys(b as object);
        expect(outKeys).toEqual(keys.map((k) => redactor.redactText(k).text));
        for (const [i, k] of keys.entries()) sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[outKeys[i]!]);
      } else {
        expect(b).toBe(a);
      }
    };
    const withSecrets = fc
      .tuple(fc.jsonValue(), fc.array(embeddedArb, { maxLength: 3 }), fc.array(fc.string(), { maxLength: 3 }))
      .map(([json, secrets, keys]) => {
        const value: Record<string, unknown> = { data: json };
        secrets.forEach((e, i) => {
          value[keys[i] ?? `k${i}`] = `${e.before}${e.secret}${/"$/.test(e.before) ? '"' : ''}${e.after}`;
        });
        return { value, secrets };
      });
    fc.assert(
      fc.property(withSecrets, ({ value, secrets }) => {
        const snapshot = JSON.stringify(value);
        const result = redactor.redactJson(value);
        expect(JSON.stringify(value)).toBe(snapshot); // input untouched
        sameShape(value, result.value);
        const strings: string[] = [];
        const collect = (v: unknown): void => {
          if (typeof v === 'string') strings.push(v);
          else if (Array.isArray(v)) v.forEach(collect);
          else if (v && typeof v === 'object') Object.values(v).forEach(collect);
        };
        collect(result.value);
        for (const { secret, kind } of secrets) {
          for (const s of strings) expect(s, kind).not.toContain(secret);
        }
        expect(redactor.redactJson(result.value).value).toEqual(result.value);
        expect(result.count).toBe(Object.values(result.byRule).reduce((a, b) => a + b, 0));
      }),
      { numRuns: 500 },
    );
  });
});
