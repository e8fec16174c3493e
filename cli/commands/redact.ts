import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { plural, table } from '../format.js';
import type { Io } from '../io.js';
import type { Confirmation } from '../parse.js';

interface ScanResponse {
  rowsScanned: number;
  rowsWithMatches: number;
  byRule: Record<string, number>;
  version: string;
  pendingRows: number;
  mode: string;
}

/** `rbk redact --dry-run`: what the current rules would change in stored rows, per rule. */
export async function redactDryRunCommand(io: Io, opts: { session: string | undefined; json: boolean }): Promise<number> {
  const r = await call<ScanResponse>('Jobs', 'RedactScan', { sessionId: opts.session ?? '' }, 300_000);
  const byRule = Object.fromEntries(
    Object.entries(r.byRule)
      .map(([k, v]) => [k, Number(v)])
      .sort((a, b) => Number(b[1]) - Number(a[1])),
  );
  const view = {
    dryRun: true,
    mode: r.mode,
    version: r.version,
    rowsScanned: Number(r.rowsScanned),
    rowsWithMatches: Number(r.rowsWithMatches),
    pendingRows: Number(r.pendingRows),
    byRule,
  };
  if (opts.json) {
    io.json(view);
    return EXIT.ok;
  }
  io.out(`Scanned ${plural(view.rowsScanned, 'stored row')} with rule set ${view.version} (redaction.mode: ${view.mode}).`);
  io.out(
    `${plural(view.rowsWithMatches, 'row')} still ${view.rowsWithMatches === 1 ? 'holds' : 'hold'} text the current rules would redact; ${plural(view.pendingRows, 'row')} ${view.pendingRows === 1 ? 'was' : 'were'} redacted with another rule set (or not at all).`,
  );
  const rows = Object.entries(byRule).map(([rule, n]) => [rule, String(n)]);
  if (rows.length > 0) io.out(`\n${table(['RULE', 'MATCHES'], rows, { rightAlign: [1], width: io.columns })}`);
  if (view.pendingRows > 0 || view.rowsWithMatches > 0) io.out('\nRun `rbk redact` to redact them now.');
  return EXIT.ok;
}

/** What the redact job would rewrite, shown before `rbk redact` (or `rbk jobs run redact`) asks. */
export async function redactPreview(_io: Io): Promise<Confirmation> {
  const r = await call<ScanResponse>('Jobs', 'RedactScan', { sessionId: '' }, 300_000);
  const rows = Number(r.rowsWithMatches);
  const pending = Number(r.pendingRows);
  const top = Object.entries(r.byRule)
    .map(([k, v]) => [k, Number(v)] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([k, v]) => `${k} ${v}`);
  const lines = [
    `The redact job rewrites stored rows with rule set ${r.version}: ${plural(rows, 'row')} still ${rows === 1 ? 'holds' : 'hold'} text the rules would replace${top.length ? ` (${top.join(', ')})` : ''}; ${plural(pending, 'row')} ${pending === 1 ? 'was' : 'were'} redacted with another rule set.`,
    'What it replaces is gone for good: the store keeps only the redacted text.',
  ];
  return { text: lines.join('\n'), question: 'Rewrite them now?', nothingToDo: rows === 0 };
}
