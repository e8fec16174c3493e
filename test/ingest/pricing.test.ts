import { describe, expect, it } from 'vitest';
import { canonicalModel, costOf, priceFor, PRICING_VERSION, type CostUsage } from '../../daemon/pricing/pricing.js';

const usage = (model: string, o: Partial<CostUsage> = {}): CostUsage => ({
  model,
  inputTokens: 0,
  outputTokens: 0,
  cacheCreationTokens: 0,
  cacheCreation5mTokens: 0,
  cacheCreation1hTokens: 0,
  cacheReadTokens: 0,
  ...o,
});

const M = 1_000_000;

describe('priceFor', () => {
  it('matches dated ids, aliases and provider spellings', () => {
    const cases: [string, string][] = [
      ['claude-opus-4-6', 'opus-4-6'],
      ['claude-opus-4-5-20251101', 'opus-4-5'],
      ['claude-opus-4-1-20250805', 'opus-4-1'],
      ['claude-opus-4-20250514', 'opus-4'],
      ['claude-opus-4-0', 'opus-4'],
      ['claude-sonnet-4-5-20250929', 'sonnet-4-5'],
      ['claude-sonnet-4-5', 'sonnet-4-5'],
      ['claude-sonnet-4-20250514', 'sonnet-4'],
      ['claude-sonnet-4-6[1m]', 'sonnet-4-6'],
      ['claude-3-7-sonnet-20250219', 'sonnet-3-7'],
      ['claude-3-7-sonnet-latest', 'sonnet-3-7'],
      ['claude-3-5-sonnet-20241022', 'sonnet-3-5'],
      ['claude-haiku-4-5-20251001', 'haiku-4-5'],
      ['claude-3-5-haiku-20241022', 'haiku-3-5'],
      ['claude-3-haiku-20240307', 'haiku-3'],
      ['claude-3-opus-20240229', 'opus-3'],
      ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'sonnet-4-5'],
      ['anthropic.claude-3-5-haiku-20241022-v1:0', 'haiku-3-5'],
      ['claude-opus-4-1@20250805', 'opus-4-1'],
      ['Claude-Opus-4-6', 'opus-4-6'],
    ];
    for (const [id, key] of cases) expect([id, canonicalModel(id)]).toEqual([id, key]);
  });

  it('returns null for unknown or ambiguous models', () => {
    for (const id of ['gpt-9-imaginary', 'gpt', 'opus', 'sonnet', 'claude-opus-4-9', 'claude-2.1', 'claude-instant-1', '', 'claude-sonnet-4-5-fast']) {
      expect(priceFor(id)).toBeNull();
    }
  });

  it('has the published prices and cache multipliers', () => {
    expect(priceFor('claude-opus-4-6')).toMatchObject({ input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5 });
    expect(priceFor('claude-opus-4-1')).toMatchObject({ input: 15, output: 75, cacheWrite5m: 18.75, cacheWrite1h: 30, cacheRead: 1.5 });
    expect(priceFor('claude-sonnet-4-5')).toMatchObject({ input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3 });
    expect(priceFor('claude-haiku-4-5')).toMatchObject({ input: 1, output: 5, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 });
    expect(priceFor('claude-3-5-haiku')).toMatchObject({ input: 0.8, output: 4, cacheWrite5m: 1, cacheWrite1h: 1.6 });
    expect(priceFor('claude-3-haiku')).toMatchObject({ input: 0.25, output: 1.25, cacheWrite5m: 0.3, cacheRead: 0.03 });
    expect(PRICING_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("prices OpenAI's models (Codex sessions): cached input at its own rate, no cache-write charge", () => {
    expect(priceFor('gpt-5')).toMatchObject({ key: 'gpt-5', input: 1.25, output: 10, cacheRead: 0.125, cacheWrite5m: 1.25 });
    expect(priceFor('gpt-5-codex')).toMatchObject({ input: 1.25, output: 10, cacheRead: 0.125 });
    expect(priceFor('gpt-4.1-mini-2025-04-14')).toMatchObject({ key: 'gpt-4.1-mini', input: 0.4, output: 1.6, cacheRead: 0.1 });
    expect(priceFor('o4-mini')).toMatchObject({ input: 1.1, output: 4.4, cacheRead: 0.275 });
    // 1,000 uncached + 4,000 cached input and 500 output tokens of gpt-5.
    const usage = {
      model: 'gpt-5',
      inputTokens: 1000,
      outputTokens: 500,
      cacheCreationTokens: 0,
      cacheCreation5mTokens: 0,
      cacheCreation1hTokens: 0,
      cacheReadTokens: 4000,
    };
    expect(costOf(usage)).toBeCloseTo((1000 * 1.25 + 4000 * 0.125 + 500 * 10) / 1e6, 12);
  });
});

describe('costOf', () => {
  it('prices each token class', () => {
    const c = costOf(
      usage('claude-opus-4-6', {
        inputTokens: M,
        outputTokens: M,
        cacheCreationTokens: 3 * M,
        cacheCreation5mTokens: M,
        cacheCreation1hTokens: 2 * M,
        cacheReadTokens: M,
      }),
    );
    expect(c).toBeCloseTo(5 + 25 + 6.25 + 20 + 0.5, 9);
  });

  it('bills cache writes missing from the TTL split at the 5-minute rate', () => {
    const c = costOf(usage('claude-sonnet-4', { cacheCreationTokens: 100_000, cacheCreation5mTokens: 0, cacheCreation1hTokens: 0 }));
    expect(c).toBeCloseTo(0.375, 9);
    const partial = costOf(usage('claude-opus-4-6', { cacheCreationTokens: M, cacheCreation5mTokens: 0, cacheCreation1hTokens: 600_000 }));
    expect(partial).toBeCloseTo(0.4 * 6.25 + 0.6 * 10, 9);
  });

  it('applies the long-context tier to the whole request above 200k input', () => {
    const below = costOf(usage('claude-sonnet-4-5-20250929', { inputTokens: 10_000, cacheReadTokens: 190_000, outputTokens: 1000 }));
    expect(below).toBeCloseTo((10_000 * 3 + 190_000 * 0.3 + 1000 * 15) / M, 12);
    const above = costOf(usage('claude-sonnet-4-5-20250929', { inputTokens: 10_000, cacheReadTokens: 190_001, outputTokens: 1000 }));
    expect(above).toBeCloseTo((10_000 * 6 + 190_001 * 0.6 + 1000 * 22.5) / M, 12);
    // Opus 4.6 is flat across its 1M window.
    expect(costOf(usage('claude-opus-4-6', { inputTokens: 500_000 }))).toBeCloseTo(2.5, 9);
  });

  it('returns null for unknown models and 0 for synthetic messages', () => {
    expect(costOf(usage('mystery-model', { inputTokens: 100 }))).toBeNull();
    expect(costOf(usage('<synthetic>', { inputTokens: 100, outputTokens: 100 }))).toBe(0);
    expect(costOf(usage('', { inputTokens: 100 }))).toBeNull();
  });

  it('applies overrides by exact id or canonical key, and prices unknown models only with input and output', () => {
    expect(costOf(usage('claude-opus-4-6', { inputTokens: M }), { 'claude-opus-4-6': { input: 1 } })).toBeCloseTo(1, 9);
    expect(costOf(usage('claude-opus-4-6-20260205', { outputTokens: M }), { 'opus-4-6': { output: 10 } })).toBeCloseTo(10, 9);
    expect(costOf(usage('my-proxy-model', { inputTokens: M, cacheReadTokens: M }), { 'my-proxy-model': { input: 2, output: 4 } })).toBeCloseTo(2.2, 9);
    expect(costOf(usage('my-proxy-model', { inputTokens: M }), { 'my-proxy-model': { input: 2 } })).toBeNull();
    expect(costOf(usage('claude-opus-4-6', { inputTokens: M }), { 'claude-opus-4-6': { input: -1 } })).toBeCloseTo(5, 9);
    // Dropping a long-context tier with an incomplete override.
    expect(costOf(usage('claude-sonnet-4', { inputTokens: 300_000 }), { 'sonnet-4': { longContext: undefined } })).toBeCloseTo(0.9, 9);
  });
});
