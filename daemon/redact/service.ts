// How the daemon applies redaction: one Redactor built from config and the installation key,
// applied to parsed JSON values (not to JSON text, where escapes such as "\nAWS_SECRET…" hide
// word boundaries from the rules) before anything derived from them is stored.
import path from 'node:path';
import type { RbkConfig } from '../config/schema.js';
import { createRedactor, loadOrCreateRedactionKey, type Redactor } from './index.js';

export interface RedactionService {
  readonly redactor: Redactor;
  readonly version: string;
  readonly mode: 'ingest' | 'cron';
  /** Matches by rule since the daemon started (exported as a metric). */
  readonly totals: Map<string, number>;
  /** What the service was built from, so that a worker thread can build the same one. */
  readonly settings: { config: RbkConfig; dataDir: string };
  /** Redacts every string in a parsed JSON value; returns the same object when nothing matched. */
  redactValue<T>(value: T): { value: T; count: number };
  /** Redacts stored JSON text (valid JSON stays valid JSON); plain text otherwise. */
  redactStoredText(text: string): { text: string; count: number };
}

export const KEY_FILE = 'redaction.key';

export function createRedactionService(config: RbkConfig, dataDir: string): RedactionService {
  const key = loadOrCreateRedactionKey(path.join(dataDir, KEY_FILE));
  const redactor = createRedactor({
    key,
    ipAddresses: config.redaction.ipAddresses,
    allowlist: config.redaction.allowlist,
    publicPlaceholders: config.redaction.publicPlaceholders,
    customRules: config.redaction.customRules,
    disabledRules: config.redaction.disabledRules,
  });
  const totals = new Map<string, number>();
  const tally = (byRule: Record<string, number>) => {
    for (const [rule, n] of Object.entries(byRule)) totals.set(rule, (totals.get(rule) ?? 0) + n);
  };
  const redactValue = <T>(value: T): { value: T; count: number } => {
    const r = redactor.redactJson(value);
    if (r.count === 0) return { value, count: 0 };
    tally(r.byRule);
    return { value: r.value, count: r.count };
  };
  return {
    redactor,
    version: redactor.version,
    mode: config.redaction.mode,
    totals,
    settings: { config, dataDir },
    redactValue,
    redactStoredText(text) {
      const t = text.trimStart();
      if (t.startsWith('{') || t.startsWith('[') || t.startsWith('"')) {
        try {
          const r = redactValue(JSON.parse(text) as unknown);
          return r.count === 0 ? { text, count: 0 } : { text: JSON.stringify(r.value), count: r.count };
        } catch {
          /* not JSON after all: redact as text */
        }
      }
      const r = redactor.redactText(text);
      if (r.matches.length === 0) return { text, count: 0 };
      const byRule: Record<string, number> = {};
      for (const m of r.matches) byRule[m.rule] = (byRule[m.rule] ?? 0) + 1;
      tally(byRule);
      return { text: r.text, count: r.matches.length };
    },
  };
}
