// Inputs that once made scanners quadratic (each candidate re-reading the rest of a long line).
// Linear scanning handles 1 MB of any of them in well under a second; the bound is generous so a
// loaded machine does not fail it, while quadratic behaviour (seconds to minutes) still does.
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../daemon/redact/index.js';

const MB = 1 << 20;
const redactor = createRedactor({ key: Buffer.alloc(32, 3), ipAddresses: true });

const inputs: Record<string, string> = {
  'keywords inside one long value': 'password='.repeat(MB / 9),
  'env assignments without whitespace': 'DB_PASSWORD=abc'.repeat(MB / 15),
  'generic *_KEY names': 'A_KEY='.repeat(MB / 6),
  'PEM headers without END': '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n'.repeat(MB / 37),
  'name/value pairs on one line': 'name: DB_PASSWORD '.repeat(MB / 18),
  'many curl -u credentials': 'curl -u a:b '.repeat(MB / 12),
  'JSON-escaped keys without newlines': '\\"password\\":\\"'.repeat(MB / 16),
  'Authorization without values': 'Authorization: Digest '.repeat(MB / 22),
  'many secrets and existing tokens': 'DB_PASSWORD=hunter2 jane@example.com [REDACTED:email:abcdef] '.repeat(MB / 62),
  'digit walls': '4111 1111 '.repeat(MB / 10),
};

describe('adversarial inputs stay linear', () => {
  it.each(Object.keys(inputs))('%s', (name) => {
    const text = inputs[name]!;
    const started = performance.now();
    const once = redactor.redactText(text).text;
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(8000);
    expect(redactor.redactText(once).text).toBe(once);
  });
});
