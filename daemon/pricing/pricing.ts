// Embedded price table (Claude, and OpenAI's models for Codex sessions), so that cost works offline and every stored cost can say which
// table produced it (PRICING_VERSION). Prices are USD per million tokens, taken from Anthropic's
// pricing page (platform.claude.com/docs/en/about-claude/pricing) as mirrored in 2026.
//
// Rules encoded here:
// - cache write 5m = 1.25x input, cache write 1h = 2x input, cache read = 0.1x input, except
//   where Anthropic lists other numbers (Haiku 3, Opus 5.5, Sonnet 5.5, Fable/Mythos 5.1);
// - long-context tier: when a request's input (input + cache writes + cache reads) exceeds the
//   threshold, every token of that request is billed at the tier's prices. Sonnet 4 and 4.5 had
//   one above 200k; Haiku 5.5 prices prompts above 100k at 5x. Opus 4.6 and Sonnet 4.6 are
//   priced flat across their 1M window here, as the current price list shows (the Feb 2026
//   launch briefly had a >200k premium; override if you need to reproduce those bills);
// - an unknown model costs null, never 0, so unpriced usage stays visible; `<synthetic>`
//   (Claude Code's locally generated messages) costs 0.
// Bare aliases ("opus", "sonnet") are ambiguous across generations and priced as unknown.
//
// OpenAI (Codex CLI sessions): USD per million tokens from openai.com/api/pricing as mirrored in
// 2026. OpenAI bills cached input at its own rate and cache writes not at all, so Codex usage is
// stored as input = uncached input, cacheRead = cached input; cacheWrite prices equal input.
// Reasoning tokens are part of output, billed at the output price.
import type { UsageRecord } from '../ingest/transcripts/types.js';

export const PRICING_VERSION = '2026-12-03';

function openai(input: number, cachedInput: number, output: number): ModelPrice {
  return { input, output, cacheWrite5m: input, cacheWrite1h: input, cacheRead: cachedInput };
}

/** OpenAI models by their undated id. */
const OPENAI_TABLE: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.1-codex-max': openai(1.25, 0.125, 10),
  'gpt-5.1-codex-mini': openai(0.25, 0.025, 2),
  'gpt-5.1-codex': openai(1.25, 0.125, 10),
  'gpt-5.1': openai(1.25, 0.125, 10),
  'gpt-5-codex': openai(1.25, 0.125, 10),
  'gpt-5': openai(1.25, 0.125, 10),
  'gpt-5-mini': openai(0.25, 0.025, 2),
  'gpt-5-nano': openai(0.05, 0.005, 0.4),
  'gpt-4.1': openai(2, 0.5, 8),
  'gpt-4.1-mini': openai(0.4, 0.1, 1.6),
  'gpt-4.1-nano': openai(0.1, 0.025, 0.4),
  'gpt-4o': openai(2.5, 1.25, 10),
  'gpt-4o-mini': openai(0.15, 0.075, 0.6),
  o3: openai(2, 0.5, 8),
  'o4-mini': openai(1.1, 0.275, 4.4),
  'codex-mini-latest': openai(1.5, 0.375, 6),
};

/** The OpenAI table key for a model id (dated ids such as gpt-4.1-2025-04-14 included), or null. */
export function canonicalOpenAiModel(model: string): string | null {
  const s = model
    .trim()
    .toLowerCase()
    .replace(/^openai\//, '')
    .replace(/-\d{4}-\d{2}-\d{2}$/, '');
  return Object.hasOwn(OPENAI_TABLE, s) ? s : null;
}

/**
 * Server-side web search, per request, whatever the model: $10 per 1,000 searches (Anthropic's
 * pricing page, "Web search tool"). `pricing.webSearchPerRequest` overrides it.
 */
export const WEB_SEARCH_USD_PER_REQUEST = 0.01;

/**
 * The web searches a response is billed for: what it reports, else what its WebSearch results ran.
 * The same rule as the generated column message_usage.web_search_requests (migrations/0012), for
 * the cost the ingester computes before the row is written.
 */
export function webSearchesOf(reported: number, linked: number): number {
  return reported > 0 ? reported : linked;
}

export interface TierPrice {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

export interface ModelPrice extends TierPrice {
  /** Prices for requests whose input exceeds thresholdInputTokens. */
  longContext?: TierPrice & { thresholdInputTokens: number };
}

export interface ResolvedPrice extends ModelPrice {
  /** Canonical table key, e.g. "opus-4-6", or the override key that supplied the price. */
  key: string;
}

// Rounded so that derived prices read exactly as published (0.1 * 3 is 0.30000000000000004).
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

function std(input: number, output: number, cacheRead = input * 0.1): TierPrice {
  return { input, output, cacheWrite5m: round(input * 1.25), cacheWrite1h: round(input * 2), cacheRead: round(cacheRead) };
}

const OPUS_45: ModelPrice = std(5, 25);
const OPUS_4: ModelPrice = std(15, 75);
const SONNET: ModelPrice = std(3, 15);
const SONNET_LONG: ModelPrice = { ...std(3, 15), longContext: { ...std(6, 22.5), thresholdInputTokens: 200_000 } };
const FABLE_5: ModelPrice = std(10, 50, 1);
const FABLE_51: ModelPrice = std(10, 50, 0.25);

/** Keyed by `<family>-<major>[-<minor>]`, minor omitted when 0. */
const TABLE: Readonly<Record<string, ModelPrice>> = {
  'fable-5-1': FABLE_51,
  'mythos-5-1': FABLE_51,
  'fable-5': FABLE_5,
  'mythos-5': FABLE_5,
  'opus-5-5': std(4, 20, 0.2),
  'opus-5': OPUS_45,
  'opus-4-8': OPUS_45,
  'opus-4-7': OPUS_45,
  'opus-4-6': OPUS_45,
  'opus-4-5': OPUS_45,
  'opus-4-1': OPUS_4,
  'opus-4': OPUS_4,
  'opus-3': OPUS_4,
  'sonnet-5-5': std(2, 10, 0.1),
  'sonnet-5': std(2, 10),
  'sonnet-4-6': SONNET,
  'sonnet-4-5': SONNET_LONG,
  'sonnet-4': SONNET_LONG,
  'sonnet-3-7': SONNET,
  'sonnet-3-5': SONNET,
  'sonnet-3': SONNET,
  'haiku-5-5': { ...std(0.1, 0.5), longContext: { ...std(0.5, 2.5), thresholdInputTokens: 100_000 } },
  'haiku-4-5': std(1, 5),
  'haiku-3-5': std(0.8, 4),
  'haiku-3': { input: 0.25, output: 1.25, cacheWrite5m: 0.3, cacheWrite1h: 0.5, cacheRead: 0.03 },
};

const NEW_STYLE = /^claude-(opus|sonnet|haiku|fable|mythos)-(\d{1,2})(?:-(\d{1,2}))?$/;
const OLD_STYLE = /^claude-(\d)(?:-(\d))?-(opus|sonnet|haiku)$/;

/**
 * The table key for a model id, or null. Accepts dated ids (claude-sonnet-4-5-20250929), undated
 * aliases (claude-opus-4-6, claude-3-5-sonnet-latest), the Claude Code "[1m]" suffix, and
 * Bedrock / Vertex spellings (us.anthropic.claude-…-v1:0, claude-…@20250929).
 */
export function canonicalModel(model: string): string | null {
  let s = model.trim().toLowerCase();
  const bracket = s.indexOf('[');
  if (bracket !== -1) s = s.slice(0, bracket);
  const at = s.indexOf('claude-');
  if (at === -1) return null;
  s = s.slice(at);
  s = s
    .replace(/@\d{8}$/, '')
    .replace(/-v\d+(?::\d+)?$/, '')
    .replace(/-\d{8}$/, '')
    .replace(/-latest$/, '');
  let family: string;
  let major: string;
  let minor: string | undefined;
  const m = NEW_STYLE.exec(s);
  if (m) {
    family = m[1] as string;
    major = m[2] as string;
    minor = m[3];
  } else {
    const o = OLD_STYLE.exec(s);
    if (!o) return null;
    major = o[1] as string;
    minor = o[2];
    family = o[3] as string;
  }
  const key = minor === undefined || minor === '0' ? `${family}-${major}` : `${family}-${major}-${minor}`;
  return key in TABLE ? key : null;
}

/** The embedded price of a model, or null when unknown. `<synthetic>` is priced at 0. */
export function priceFor(model: string): ResolvedPrice | null {
  if (model === '<synthetic>') return { key: '<synthetic>', ...std(0, 0) };
  const openaiKey = canonicalOpenAiModel(model);
  if (openaiKey !== null) return { key: openaiKey, ...(OPENAI_TABLE[openaiKey] as ModelPrice) };
  const key = canonicalModel(model);
  if (key === null) return null;
  return { key, ...(TABLE[key] as ModelPrice) };
}

function validNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/**
 * Applies a price override. Overrides are looked up by the exact model id first, then by the
 * canonical key ("sonnet-4-5"). A partial override patches the embedded price; for a model the
 * table does not know, input and output are required and cache prices default to the standard
 * multipliers. Invalid numbers are ignored.
 */
function resolve(model: string, overrides?: Readonly<Record<string, Partial<ModelPrice>>>): ResolvedPrice | null {
  const base = priceFor(model);
  if (!overrides) return base;
  const canonical = base?.key ?? canonicalModel(model) ?? canonicalOpenAiModel(model);
  const ov = overrides[model] ?? (canonical !== null ? overrides[canonical] : undefined);
  if (!ov) return base;
  let merged: ResolvedPrice;
  if (base) {
    merged = { ...base };
  } else {
    if (!validNumber(ov.input) || !validNumber(ov.output)) return null;
    merged = { key: model, ...std(ov.input, ov.output) };
  }
  for (const f of ['input', 'output', 'cacheWrite5m', 'cacheWrite1h', 'cacheRead'] as const) {
    const v = ov[f];
    if (validNumber(v)) merged[f] = v;
  }
  // An explicit longContext key replaces the tier; an invalid or undefined one removes it.
  if (Object.hasOwn(ov, 'longContext')) {
    const lc = ov.longContext;
    if (
      lc &&
      validNumber(lc.thresholdInputTokens) &&
      validNumber(lc.input) &&
      validNumber(lc.output) &&
      validNumber(lc.cacheWrite5m) &&
      validNumber(lc.cacheWrite1h) &&
      validNumber(lc.cacheRead)
    ) {
      merged.longContext = { ...lc };
    } else {
      delete merged.longContext;
    }
  }
  return merged;
}

export type CostUsage = Pick<
  UsageRecord,
  'model' | 'inputTokens' | 'outputTokens' | 'cacheCreationTokens' | 'cacheCreation5mTokens' | 'cacheCreation1hTokens' | 'cacheReadTokens'
>;

/**
 * USD cost of one (deduplicated) usage record, or null when the model has no price.
 * Cache writes not covered by the 5m/1h split are billed at the 5-minute rate.
 */
export function costOf(usage: CostUsage, overrides?: Readonly<Record<string, Partial<ModelPrice>>>): number | null {
  const price = resolve(usage.model, overrides);
  if (price === null) return null;
  const write1h = usage.cacheCreation1hTokens;
  const write5m = Math.max(usage.cacheCreation5mTokens, usage.cacheCreationTokens - write1h);
  const promptTokens = usage.inputTokens + usage.cacheCreationTokens + usage.cacheReadTokens;
  const tier: TierPrice = price.longContext && promptTokens > price.longContext.thresholdInputTokens ? price.longContext : price;
  return (
    (usage.inputTokens * tier.input +
      usage.outputTokens * tier.output +
      write5m * tier.cacheWrite5m +
      write1h * tier.cacheWrite1h +
      usage.cacheReadTokens * tier.cacheRead) /
    1_000_000
  );
}
