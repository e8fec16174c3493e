// The literal automaton that decides which redaction detectors run, and where the assignment
// rules look for keywords. A miss here is a missed secret, so it is checked against a plain
// indexOf search over random texts built to contain overlapping and nested literals.
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../daemon/redact/index.js';
import { ascendingUnique, LiteralAutomaton, type LiteralPattern } from '../../daemon/redact/literal-scan.js';
import { BUILTIN_DETECTORS } from '../../daemon/redact/detectors.js';
import { ASSIGNMENT_KEYWORD, SQL_PASSWORD } from '../../daemon/redact/rules.js';
import { Fake } from './fakes.js';

/** Every occurrence as "pattern@end", found with indexOf (and lower-casing for ignoreCase). */
function naive(patterns: readonly LiteralPattern[], text: string): string[] {
  const found: [number, number][] = [];
  patterns.forEach((p, id) => {
    const hay = p.ignoreCase ? asciiLower(text) : text;
    const needle = p.ignoreCase ? asciiLower(p.literal) : p.literal;
    for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) found.push([id, at + needle.length]);
  });
  return found.sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id, end]) => `${id}@${end}`);
}

function scanned(automaton: LiteralAutomaton, text: string): string[] {
  const found: [number, number][] = [];
  automaton.scan(text, (id, end) => found.push([id, end]));
  // Ends arrive in order; patterns ending at the same place may come in any order.
  for (let i = 1; i < found.length; i++) expect(found[i]![1]).toBeGreaterThanOrEqual(found[i - 1]![1]);
  return found.sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id, end]) => `${id}@${end}`);
}

/** What a JavaScript regex's `i` flag folds without `u`: ASCII letters only. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

describe('LiteralAutomaton', () => {
  const patterns: LiteralPattern[] = [
    { literal: 'sk-' },
    { literal: 'sk-ant-' },
    { literal: 'ant' },
    { literal: 'xox' },
    { literal: 'oxo' },
    { literal: 'aaa' },
    { literal: 'key', ignoreCase: true },
    { literal: 'pas', ignoreCase: true },
    { literal: 'Pas' },
    { literal: 'a-k', ignoreCase: true },
  ];
  const automaton = new LiteralAutomaton(patterns);

  it('finds every occurrence, overlapping and nested ones included, like indexOf', () => {
    const f = new Fake(11);
    let occurrences = 0;
    // An alphabet close to the literals, so that partial matches and fallbacks happen all the time.
    const alphabet = ['s', 'k', '-', 'a', 'n', 't', 'x', 'o', 'K', 'E', 'y', 'Y', 'P', 'p', 'S', 'é', '€', '\u212a', '\u017f', ' ', '\n'];
    for (let n = 0; n < 2000; n++) {
      let text = '';
      const len = f.int(81);
      while (text.length < len) {
        if (f.int(2) === 0) {
          text += f.pick(alphabet);
          continue;
        }
        // A literal or a prefix of one, its letters' case flipped at random.
        const literal = f.pick(patterns).literal;
        for (const ch of literal.slice(0, 1 + f.int(literal.length))) text += f.int(3) === 0 ? ch.toUpperCase() : ch;
      }
      const expected = naive(patterns, text);
      occurrences += expected.length;
      expect(scanned(automaton, text), JSON.stringify(text)).toEqual(expected);
    }
    expect(occurrences).toBeGreaterThan(1000);
  });

  it('folds ASCII case only, as the keyword regex does', () => {
    // The Kelvin sign and the long s do not fold to k and s without the regex `u` flag.
    expect(scanned(automaton, 'KEY kEy \u212aey pa\u017f PAS')).toEqual(naive(patterns, 'KEY kEy \u212aey pa\u017f PAS'));
    expect(scanned(automaton, '\u212aey pa\u017f')).toEqual([]);
  });

  it('gives the start offsets of literals of different lengths ascending and once each', () => {
    const mixed = new LiteralAutomaton([{ literal: 'sk-ant-' }, { literal: 'ant' }, { literal: 'sk-' }]);
    const starts: number[] = [];
    mixed.scan('xsk-ant-y ant', (id, end) => starts.push(end - mixed.lengths[id]!));
    // By end: 'sk-' (1), 'ant' (4), 'sk-ant-' (1, again), 'ant' (10).
    expect(starts).toEqual([1, 4, 1, 10]);
    expect(ascendingUnique(starts)).toEqual([1, 4, 10]);
  });

  it('rejects literals it cannot match as asked', () => {
    expect(() => new LiteralAutomaton([{ literal: '' }])).toThrow(/empty/);
    expect(() => new LiteralAutomaton([{ literal: 'clé' }])).toThrow(/not ASCII/);
    expect(() => new LiteralAutomaton([{ literal: 'abcdefghijklmnop', ignoreCase: true }])).toThrow(/too long/);
  });
});

describe('assignment keywords found by the shared scan', () => {
  const assignments = BUILTIN_DETECTORS.find((d) => d.name === 'assignments')!;
  const starts = new LiteralAutomaton(assignments.startLiterals!.map((literal) => ({ literal, ignoreCase: true })));
  const redactor = createRedactor({ key: Buffer.alloc(32, 3) });

  it('has a start at every place the keyword and SQL regexes can match', () => {
    const f = new Fake(5);
    const pieces = [
      'password',
      'PASSWD',
      'DB_PASS',
      'bypass',
      'passphrase',
      'token',
      'tokens',
      'api-key',
      'ApiKey',
      'apikey',
      'monkey',
      'key',
      'secret_key_base',
      'auth',
      '_auth',
      'auth.key',
      'pwd',
      'private_key',
      'Signing-Key',
      'encryptionkey',
      'MASTER_KEY',
      'access.key',
      'ldap_bind_pw',
      'DB_PW',
      'IDENTIFIED  BY',
      'identified by',
      'CREATE USER bob',
      'passpass',
      'pas',
      'ke',
    ];
    const seps = ['=', ': ', '="', "='", ' = ', ' is ', '\\":\\"', ' ', ''];
    const values = ['hunter2x9', 's3cr3t-P4ssw0rd!', "'pw1234xyz'", f.hex(40), '${TOKEN}'];
    let matches = 0;
    for (let n = 0; n < 3000; n++) {
      let text = '';
      for (let k = 1 + f.int(6); k > 0; k--) text += `${f.pick(pieces)}${f.pick(seps)}${f.pick(values)}${f.pick([' ', '\n', ', ', '"', ''])}`;
      const found = new Set<number>();
      starts.scan(text, (id, end) => found.add(end - starts.lengths[id]!));
      for (const re of [new RegExp(ASSIGNMENT_KEYWORD.source, 'gi'), new RegExp(SQL_PASSWORD.source, 'gi')]) {
        for (const m of text.matchAll(re)) {
          matches++;
          expect(found.has(m.index), `${re.source.slice(0, 20)}… at ${m.index} of ${JSON.stringify(text)}`).toBe(true);
        }
      }
    }
    expect(matches).toBeGreaterThan(10_000);
  });

  it('redacts through the engine what the detector finds on its own', () => {
    const text = 'DB_PASSWORD=s3cr3t-P4ssw0rd! and CREATE USER bob IDENTIFIED BY \'pw1234xyz\'; api_key: "k9Fq2LzX8vR4mT7w"';
    const own: string[] = [];
    assignments.detect(text, (_rule, start, end) => own.push(text.slice(start, end)));
    expect(own).toEqual(['s3cr3t-P4ssw0rd!', 'k9Fq2LzX8vR4mT7w', 'pw1234xyz']);
    const redacted = redactor.redactText(text).text;
    for (const secret of own) expect(redacted).not.toContain(secret);
    expect(redacted).toContain('CREATE USER bob IDENTIFIED BY');
  });
});
