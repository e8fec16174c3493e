import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUILTIN_RULES, createRedactor, isRedactionToken } from '../../daemon/redact/index.js';
import { cardIssuerValid, ibanValid, luhnValid } from '../../daemon/redact/rules.js';
import { Fake } from './fakes.js';

const KEY = Buffer.alloc(32, 9);
const redactor = createRedactor({ key: KEY });
const f = new Fake(7);

function token(rule: string, value: string, key = KEY): string {
  return `[REDACTED:${rule}:${createHmac('sha256', key).update(`${rule}:${value}`).digest('hex').slice(0, 6)}]`;
}

/** [text, the exact value that must be replaced, rule expected to name the token] */
type Positive = [string, string, string];

const positives: Positive[] = [
  [`AWS_ACCESS_KEY_ID=${f.awsKeyId()}`, '', 'aws-access-key-id'],
  [`aws_secret_access_key = SECRET`, f.awsSecret(), 'aws-secret-access-key'],
  [`"SecretAccessKey": "SECRET"`, f.awsSecret(), 'aws-secret-access-key'],
  [`token ${f.github('p')}`, '', 'github-token'],
  [`x ${f.github('s')} y`, '', 'github-token'],
  [`pat=${f.githubPat()}`, '', 'github-token'],
  [`${f.gitlab()}`, '', 'gitlab-token'],
  [`SLACK=${f.slack('b')}`, '', 'slack-token'],
  [`https://hooks.slack.com/services/SECRET`, f.slackWebhookPath(), 'slack-webhook'],
  [`key ${f.stripe('sk_live')}`, '', 'stripe-key'],
  [`key ${f.stripe('rk_live')}`, '', 'stripe-key'],
  [`key ${f.stripe('sk_test')}`, '', 'stripe-key'],
  [`${f.anthropic()}`, '', 'anthropic-api-key'],
  [`${f.openai()}`, '', 'openai-api-key'],
  [`${f.openai(true)}`, '', 'openai-api-key'],
  [`maps?key=${f.google()}`, '', 'google-api-key'],
  [`${f.npm()}`, '', 'npm-token'],
  [`Authorization: Bearer ${f.jwt()}`, '', 'jwt'],
  [`Authorization: Bearer SECRET`, f.alnum(30), 'authorization-header'],
  [`authorization: basic SECRET`, Buffer.from('u:p4ss').toString('base64'), 'authorization-header'],
  [`postgres://user:SECRET@host/db`, 'pa55word', 'url-credentials'],
  [`mongodb+srv://user:SECRET@cluster0.example.net`, f.alnum(12), 'url-credentials'],
  [`https://x-access-token:SECRET@github.com/a/b`, f.alnum(20), 'url-credentials'],
  [`DB_PASSWORD=SECRET`, 'hunter2', 'password-assignment'],
  [`"password": "SECRET"`, 'hunter2', 'password-assignment'],
  [`--password=SECRET`, 'hunter2', 'password-assignment'],
  [`--password SECRET`, 'hunter2', 'password-assignment'],
  [`password: SECRET`, 'hunter2', 'password-assignment'],
  [`client_secret=SECRET`, f.alnum(24), 'secret-assignment'],
  [`GITHUB_TOKEN=SECRET`, f.alnum(24), 'token-assignment'],
  [`"apiKey": "SECRET"`, f.alnum(24), 'api-key-assignment'],
  [`X-Api-Key: SECRET`, f.alnum(24), 'api-key-assignment'],
  [`mail SECRET now`, 'jane.doe@example.com', 'email'],
  [`call SECRET`, '+1 415-555-2671', 'phone-number'],
  [`call SECRET`, '(415) 555-2671', 'phone-number'],
  [`card SECRET`, '4111 1111 1111 1111', 'credit-card'],
  [`card SECRET`, '5555-5555-5555-4444', 'credit-card'],
  [`iban SECRET`, 'GB82 WEST 1234 5698 7654 32', 'iban'],
  [`ssn SECRET`, '123-45-6789', 'us-ssn'],
  [`curl -u admin:SECRET https://x`, 'Sup3rSecret', 'cli-credentials'],
  [`Server=db;User Id=sa;Password=SECRET;Encrypt=true`, 'Letmein', 'password-assignment'],
  [`DB_PASSWORD=SECRET`, `a${f.alnum(9000)}`, 'password-assignment'],
];

describe('built-in rules: true positives', () => {
  it.each(positives)('%s', (template, value, rule) => {
    // '' means the whole template is the secret's carrier and the secret is the rule's match.
    const text = value ? template.replace('SECRET', value) : template;
    const { text: out, matches } = redactor.redactText(text);
    expect(matches.map((m) => m.rule)).toContain(rule);
    if (value) {
      expect(out).toBe(template.replace('SECRET', token(rule, value)));
    } else {
      const m = matches.find((x) => x.rule === rule)!;
      expect(out).toContain(token(rule, text.slice(m.start, m.end)));
    }
  });
});

const negatives: string[] = [
  'password = getPassword()',
  'token: string',
  'secret=<your-secret>',
  'api_key=${TOKEN}',
  'const key = process.env.API_KEY;',
  'PASSWORD=changeme',
  'password: xxx',
  'token = "example"',
  'commit 3f9a2c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d',
  '550e8400-e29b-41d4-a716-446655440000',
  `integrity sha512-${'A'.repeat(10)}${f.b64(76)}==`,
  `sha256:${f.hex(64)}`,
  'getAccessTokenFromRefreshToken(refreshToken)',
  '/home/dev/.config/secrets/token.json',
  'v1.2.3 and 10.0.19045.3803',
  '2025-01-15T10:30:00.000Z',
  'localhost:8080',
  'color: #ff00aa',
  'src/index.ts:123:45',
  'git@github.com:acme/repo.git',
  'react@18.2.0',
  'Order 4111111111111112',
  'DE89 3704 0044 0532 0130 01',
  '666-12-3456',
  'Connecting to 192.168.1.10:6379',
  '"input_tokens": 1234',
  'max_tokens: 4096',
  'token_type: "Bearer"',
];

describe('built-in rules: true negatives', () => {
  it.each(negatives)('%s', (text) => {
    const { text: out, matches } = redactor.redactText(text);
    expect(matches).toEqual([]);
    expect(out).toBe(text);
  });
});

describe('tokens', () => {
  it('are HMAC-keyed, deterministic per value and differ between installations', () => {
    const text = 'DB_PASSWORD=hunter2';
    const a = redactor.redactText(text).text;
    expect(a).toBe(redactor.redactText(text).text);
    expect(a).toBe(`DB_PASSWORD=${token('password-assignment', 'hunter2')}`);
    const other = createRedactor({ key: Buffer.alloc(32, 1) }).redactText(text).text;
    expect(other).not.toBe(a);
    expect(isRedactionToken(a.slice('DB_PASSWORD='.length))).toBe(true);
  });

  it('correlate the same secret across contexts of the same rule', () => {
    const out = redactor.redactText('DB_PASSWORD=hunter2\nexport ADMIN_PASSWORD=hunter2').text;
    const tokens = out.match(/\[REDACTED:[^\]]+\]/g)!;
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
  });

  it('never match any rule themselves (idempotence)', () => {
    for (const rule of BUILTIN_RULES) {
      const t = token(rule.id, 'x');
      for (const text of [t, `password=${t}`, `"token": "${t}"`, `postgres://u:${t}@h`, `Authorization: Bearer ${t}`, `${t}@example.com`]) {
        const once = createRedactor({ key: KEY, ipAddresses: true }).redactText(text).text;
        expect(createRedactor({ key: KEY, ipAddresses: true }).redactText(once).text).toBe(once);
      }
      expect(redactor.scanText(t)).toEqual([]);
    }
  });
});

describe('redactText', () => {
  it('reports match positions in the input', () => {
    const text = 'a jane@example.com b DB_PASSWORD=hunter2';
    const { matches } = redactor.redactText(text);
    expect(matches.map((m) => text.slice(m.start, m.end))).toEqual(['jane@example.com', 'hunter2']);
    expect(matches.map((m) => m.kind)).toEqual(['pii', 'secret']);
  });

  it('keeps structure around context secrets', () => {
    expect(redactor.redactText('postgres://app:s3cret@db:5432/x').text).toMatch(/^postgres:\/\/app:\[REDACTED:url-credentials:[0-9a-f]{6}\]@db:5432\/x$/);
    expect(redactor.redactText('curl -H "Authorization: Bearer abc123def456"').text).toMatch(
      /^curl -H "Authorization: Bearer \[REDACTED:authorization-header:[0-9a-f]{6}\]"$/,
    );
    const pem = f.pem('RSA ');
    const out = redactor.redactText(pem.block).text;
    expect(out.startsWith('-----BEGIN RSA PRIVATE KEY-----\n[REDACTED:private-key:')).toBe(true);
    expect(out.endsWith(']\n-----END RSA PRIVATE KEY-----')).toBe(true);
  });

  it('merges overlapping findings so nothing of either survives', () => {
    const jwt = f.jwt();
    const { text, matches } = redactor.redactText(`token=${jwt}`);
    expect(matches).toHaveLength(1);
    expect(matches[0]!.rule).toBe('jwt'); // the more specific rule names the merged span
    expect(text).not.toContain(jwt.slice(0, 8));
  });

  it('does not break JSON string escapes', () => {
    const line = JSON.stringify({ content: 'X=1\njane@example.com\nDB_PASSWORD=hunter2\n' });
    const out = redactor.redactText(line).text;
    const parsed = JSON.parse(out) as { content: string };
    expect(parsed.content).toMatch(/^X=1\n\[REDACTED:email:[0-9a-f]{6}\]\nDB_PASSWORD=\[REDACTED:password-assignment:[0-9a-f]{6}\]\n$/);
  });

  it('handles empty and huge inputs', () => {
    expect(redactor.redactText('')).toEqual({ text: '', matches: [] });
    const big = `${'lorem ipsum 12345 '.repeat(200_000)}DB_PASSWORD=hunter2`;
    const out = redactor.redactText(big);
    expect(out.matches).toHaveLength(1);
    expect(out.text.endsWith(token('password-assignment', 'hunter2'))).toBe(true);
  });

  it('scanText reports the same matches without replacing', () => {
    const text = `GITHUB_TOKEN=${f.github('p')}`;
    expect(redactor.scanText(text)).toEqual(redactor.redactText(text).matches);
  });
});

describe('options', () => {
  it('redacts IP addresses only when asked', () => {
    const text = 'from 203.0.113.42 and 2001:db8::8a2e:370:7334 via 127.0.0.1';
    expect(redactor.redactText(text).matches).toEqual([]);
    const withIp = createRedactor({ key: KEY, ipAddresses: true }).redactText(text);
    expect(withIp.matches.map((m) => text.slice(m.start, m.end))).toEqual(['203.0.113.42', '2001:db8::8a2e:370:7334']);
  });

  it('allowlist skips exact values and /regex/ values', () => {
    const r = createRedactor({ key: KEY, allowlist: ['hunter2', '/^ci-[a-z]+@example\\.com$/i'] });
    const text = 'DB_PASSWORD=hunter2 mail CI-bot@example.com and jane@example.com';
    expect(r.redactText(text).matches.map((m) => text.slice(m.start, m.end))).toEqual(['jane@example.com']);
  });

  it('disabledRules turns built-ins off', () => {
    const r = createRedactor({ key: KEY, disabledRules: ['email', 'phone-number'] });
    expect(r.ruleIds).not.toContain('email');
    expect(r.redactText('jane@example.com +1 415-555-2671').matches).toEqual([]);
    expect(r.redactText('DB_PASSWORD=hunter2').matches).toHaveLength(1);
  });

  it('custom rules, with an optional `secret` group', () => {
    const r = createRedactor({
      key: KEY,
      customRules: [
        { id: 'employee-id', pattern: 'EMP-\\d{6}', kind: 'pii' },
        { id: 'internal-key', pattern: 'ikey:(?<secret>[a-z0-9]{12})', flags: 'i' },
      ],
    });
    const out = r.redactText('user EMP-123456 used IKEY:abcdef123456 today');
    expect(out.matches.map((m) => [m.rule, m.kind])).toEqual([
      ['employee-id', 'pii'],
      ['internal-key', 'secret'],
    ]);
    expect(out.text).toBe(`user ${token('employee-id', 'EMP-123456')} used IKEY:${token('internal-key', 'abcdef123456')} today`);
    expect(r.redactText(out.text).text).toBe(out.text);
  });

  it('rejects bad custom rules with clear errors', () => {
    expect(() => createRedactor({ key: KEY, customRules: [{ id: 'Bad Id', pattern: 'x' }] })).toThrow(/kebab-case/);
    expect(() => createRedactor({ key: KEY, customRules: [{ id: 'email', pattern: 'x' }] })).toThrow(/collides/);
    expect(() => createRedactor({ key: KEY, customRules: [{ id: 'bad', pattern: '(' }] })).toThrow(/invalid pattern/);
    expect(() => createRedactor({ key: Buffer.alloc(4) })).toThrow(/key/);
  });

  it('version changes with rules and options but not with the key', () => {
    const base = createRedactor({ key: KEY }).version;
    expect(base).toMatch(/^[0-9a-f]{12}$/);
    expect(createRedactor({ key: Buffer.alloc(32, 2) }).version).toBe(base);
    const variants = [
      createRedactor({ key: KEY, ipAddresses: true }),
      createRedactor({ key: KEY, allowlist: ['x'] }),
      createRedactor({ key: KEY, disabledRules: ['email'] }),
      createRedactor({ key: KEY, customRules: [{ id: 'c', pattern: 'x' }] }),
      createRedactor({ key: KEY, customRules: [{ id: 'c', pattern: 'y' }] }),
    ].map((r) => r.version);
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    expect(createRedactor({ key: KEY, disabledRules: ['no-such-rule'] }).version).toBe(base);
  });
});

describe('redactJson', () => {
  it('redacts nested strings, uses keys as context and leaves other values alone', () => {
    const input = {
      headers: { Authorization: 'Bearer abc123', 'X-Trace': 'ok' },
      db: { password: 'hunter2', port: 5432, ssl: true, note: null },
      users: [{ email: 'jane@example.com' }, { email: 'bob@example.org' }],
      env: ['DB_PASSWORD=hunter2', 'NODE_ENV=production'],
      token: 'hello', // not token-like: a word under a "token" key stays
      max_tokens: 4096,
    };
    const before = structuredClone(input);
    const { value, count, byRule } = redactor.redactJson(input);
    expect(input).toEqual(before); // not mutated
    expect(value.headers.Authorization).toBe(`Bearer ${token('authorization-header', 'abc123')}`);
    expect(value.headers['X-Trace']).toBe('ok');
    expect(value.db).toEqual({ password: token('password-assignment', 'hunter2'), port: 5432, ssl: true, note: null });
    expect(value.users.map((u) => u.email)).toEqual([token('email', 'jane@example.com'), token('email', 'bob@example.org')]);
    expect(value.env).toEqual([`DB_PASSWORD=${token('password-assignment', 'hunter2')}`, 'NODE_ENV=production']);
    expect(value.token).toBe('hello');
    expect(value.max_tokens).toBe(4096);
    expect(count).toBe(5);
    expect(byRule).toEqual({ 'authorization-header': 1, 'password-assignment': 2, email: 2 });
  });

  it('names a whole-value secret after the specific rule when one matches', () => {
    const gh = f.github('p');
    expect(redactor.redactJson({ token: gh }).value.token).toBe(token('github-token', gh));
  });

  it('is idempotent', () => {
    const once = redactor.redactJson({ password: 'hunter2', a: ['jane@example.com'] }).value;
    const twice = redactor.redactJson(once);
    expect(twice.value).toEqual(once);
    expect(twice.count).toBe(0);
  });

  it('keeps a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"password": "hunter2"}}') as Record<string, unknown>;
    const { value } = redactor.redactJson(input);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });
});

describe('validators', () => {
  it('luhn, issuer and iban checks', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(cardIssuerValid('4111111111111111')).toBe(true);
    expect(cardIssuerValid('1111111111111117')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('XX89370400440532013000')).toBe(false);
  });
});

describe('secrets right after a JSON escape', () => {
  // Tool results are often JSON text inside a JSON string: "\\tAKIA…" puts the escape's letter
  // right before the secret, which a plain word-boundary look-behind would take for a word.
  const fake = new Fake(7);
  it.each([
    ['\\t', fake.awsKeyId()],
    ['\\n', fake.awsKeyId('ASIA')],
    ['\\r', fake.github()],
    ['\\n', fake.npm()],
  ])('finds a secret after %s', (lineBreak, secret) => {
    const text = `{"output":"line one${lineBreak}${secret}"}`;
    const { text: out } = redactor.redactText(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(`line one${lineBreak}[REDACTED:`);
  });

  it('still refuses a secret-shaped run glued to ordinary letters', () => {
    const glued = `xAKIA${'A'.repeat(16)}`;
    expect(redactor.redactText(glued).text).toBe(glued);
  });
});

describe('placeholder words inside random values', () => {
  const r = createRedactor({ key: Buffer.alloc(32, 9) });
  // Found by the property test (seed 717423673): this private key's body spells "DUmMy".
  const body = [
    'kI+bjP13Uyr7zIONHjpa5soYa21SlP6TB3V51pHSZZPiZ5WZEelpD/OJ9vZHe8gx',
    'uUsg5MM0VGM1qhaylQAijPn2VoJS+XbyMjLFl+KWg4PrTPSDUmMyIA/Auv3F7dcy',
    'VVkLRPLX8F/t66MEi2a4jIWN4Z63gSVnTMqHwRJ+BmOM+LbhCW6gA9JDyVdVcVMk',
  ].join('\n');
  it('a private key whose base64 spells a placeholder word in mixed case is still redacted', () => {
    const text = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    expect(r.redactText(text).text).not.toContain('DUmMy');
  });
  it('a token assignment whose random value spells one is redacted; the word written as a word is not', () => {
    expect(r.redactText('API_TOKEN=q8Rf2DUmMyLw9Kx4Tz7Vb1Nc6Hs3Jp0').text).not.toContain('q8Rf2');
    expect(r.redactText('API_TOKEN=dummy-token-value').text).toContain('dummy-token-value');
    expect(r.redactText('-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----').text).toContain('...');
  });
});
