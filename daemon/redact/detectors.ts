// Every built-in detector: the value-shaped rules (rules.ts: vendor formats, hand-written and from
// gitleaks' catalogue; assignments; PII), the context rules (context-rules.ts), and the rejoining
// of vendor tokens that a terminal or a string concatenation broke across lines.
import { CONTEXT_DETECTORS } from './context-rules.js';
import { RULE_DETECTORS, VENDOR_PRIORITY, type Detector, type RuleInfo } from './rules.js';

// Detectors of tokens with a format of their own (prefix, length, charset): the ones a line break
// can cut in two.
const VENDOR_DETECTORS = RULE_DETECTORS.filter((d) => d.anchors.length > 0 && d.rules.every((r) => r.kind === 'secret' && r.priority >= VENDOR_PRIORITY - 10));

// A break between two runs of token characters: a terminal wrap (\n), a string concatenation
// ("…"\n    "…", '…' + '…'), a shell continuation (\\\n). Only the break itself is removed.
const BREAK = /[A-Za-z0-9_+/=.-]{6}(\n|\\n|["'][ \t]*(?:\+[ \t]*)?(?:\n|\\n)[ \t]*(?:\+[ \t]*)?["']|\\\n[ \t]*)(?=[A-Za-z0-9_+/=-]{4})/g;
const WINDOW = 300;

function rejoinDetect(text: string, emit: (ruleId: string, start: number, end: number) => void): void {
  BREAK.lastIndex = 0;
  for (let m = BREAK.exec(text); m; m = BREAK.exec(text)) {
    const joint = m.index + 6; // where the break starts
    const gap = m[1]!.length;
    const from = Math.max(0, joint - WINDOW);
    const to = Math.min(text.length, joint + gap + WINDOW);
    const left = text.slice(from, joint);
    const right = text.slice(joint + gap, to);
    const view = left + right;
    const cut = left.length; // view offset of the joint
    for (const d of VENDOR_DETECTORS) {
      if (!d.anchors.some((a) => view.includes(a))) continue;
      d.detect(view, (_ruleId, s, e) => {
        // Only tokens that span the joint: the others are found in the text itself.
        if (!(s < cut && e > cut)) return;
        emit('wrapped-token', from + s, joint);
        emit('wrapped-token', joint + gap, joint + gap + (e - cut));
      });
    }
  }
}

const rejoinedTokens: Detector = {
  name: 'rejoined-tokens',
  revision: 1,
  rules: [{ id: 'wrapped-token', kind: 'secret', priority: VENDOR_PRIORITY - 3, description: 'Vendor tokens broken across lines (terminal wraps, string concatenation, shell continuations), both halves' }],
  anchors: [...new Set(VENDOR_DETECTORS.flatMap((d) => d.anchors))],
  detect: rejoinDetect,
};

export const BUILTIN_DETECTORS: readonly Detector[] = [...RULE_DETECTORS, ...CONTEXT_DETECTORS, rejoinedTokens];

export const BUILTIN_RULES: readonly RuleInfo[] = BUILTIN_DETECTORS.flatMap((d) => d.rules);
