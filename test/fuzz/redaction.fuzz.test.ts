// Redaction fuzzing that extends test/redact/properties.test.ts (which covers idempotence and
// survival over flat text, and redactJson's structure). Here the secrets sit where hook payloads
// and transcript lines put them: at any depth of arbitrary JSON, in arrays, as object keys, inside
// JSON that is itself a string (a tool result holding JSON), next to multi-byte and invisible
// characters. The property checked is on the serialized form, which is what gets stored and
// synced: no secret (not even an 8-character piece) survives, and a second pass changes nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../daemon/redact/index.js';
import { Fake } from '../redact/fakes.js';

const redactor = createRedactor({ key: Buffer.alloc(32, 9) });

/** Secrets recognisable on their own, without a key name or context around them. */
const secretArb = fc.tuple(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 0, max: 6 })).map(([seed, k]) => {
  const f = new Fake(seed);
  return [f.awsKeyId('AKIA'), f.github('p'), f.slack('b'), f.stripe('sk_live'), f.anthropic(), f.jwt(), f.npm()][k]!;
});

/** Characters that sit around secrets in real text and are easy to get wrong at a boundary. */
const neighbour = fc.constantFrom('', ' ', '\n', '"', "'", '日本', 'é', '😀', '\u200b', '\u00a0', '\t', '(', '`', '=', ': ');

/** Arbitrary JSON with secrets planted at random places (values, keys, array items, nested JSON text). */
const plantedArb = fc
  .tuple(
    fc.jsonValue({ maxDepth: 4 }),
    fc.array(fc.tuple(secretArb, neighbour, neighbour, fc.nat(), fc.constantFrom('value', 'key', 'item', 'json-string')), { minLength: 1, maxLength: 4 }),
  )
  .map(([base, plants]) => {
    const root: unknown = { base };
    for (const [secret, before, after, pick, where] of plants) {
      const text = `${before}${secret}${after}`;
      // Walk to a random object or array inside root and plant there.
      const containers: (Record<string, unknown> | unknown[])[] = [];
      const stack: unknown[] = [root];
      while (stack.length > 0) {
        const v = stack.pop();
        if (Array.isArray(v)) {
          containers.push(v);
          stack.push(...v);
        } else if (v && typeof v === 'object') {
          containers.push(v as Record<string, unknown>);
          stack.push(...Object.values(v));
        }
      }
      const c = containers[pick % containers.length]!;
      // JSON text held in a string (a tool result that is JSON): a secret right after an escape
      // such as \n or \t follows a letter ('n', 't'), which the rules' look-behinds must allow.
      const value = where === 'json-string' ? JSON.stringify({ output: text, nested: [text] }) : text;
      if (Array.isArray(c)) c.push(value);
      else if (where === 'key') c[text] = 1;
      else c[`k${pick}`] = where === 'item' ? [value] : value;
    }
    return { root, secrets: plants.map(([s]) => s) };
  });

function pieces(secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i++) out.push(secret.slice(i, i + 8));
  return out;
}

describe('fuzz: redaction of structured payloads', () => {
  it('no secret, nor an 8-character piece of one, survives anywhere in the serialized JSON', () => {
    fc.assert(
      fc.property(plantedArb, ({ root, secrets }) => {
        const out = JSON.stringify(redactor.redactJson(root).value);
        for (const s of secrets) {
          expect(out).not.toContain(s);
          for (const p of pieces(s)) expect(out, `piece ${p}`).not.toContain(p);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('is idempotent on structured payloads: a second pass finds nothing', () => {
    fc.assert(
      fc.property(plantedArb, ({ root }) => {
        const once = redactor.redactJson(root);
        const twice = redactor.redactJson(once.value);
        expect(twice.count).toBe(0);
        expect(JSON.stringify(twice.value)).toBe(JSON.stringify(once.value));
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves JSON without secrets exactly as it was', () => {
    // Values that look nothing like credentials (no long tokens, no key=value pairs).
    const plain = fc.jsonValue({ maxDepth: 4 }).filter((v) => !/[A-Za-z0-9_-]{16,}|@|=|:\/\/|\d{6,}/.test(JSON.stringify(v) ?? ''));
    fc.assert(
      fc.property(plain, (v) => {
        const r = redactor.redactJson(v);
        expect(r.count).toBe(0);
        expect(JSON.stringify(r.value)).toBe(JSON.stringify(v));
      }),
      { numRuns: 1000 },
    );
  });
});
