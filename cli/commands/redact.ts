import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';

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
  const byRule = Object.fromEntries(Object.entries(r.byRule).map(([k, v]) => [k, Number(v)]).sort((a, b) => Number(b[1]) - Number(a[1])));
  const view = { dryRun: true, mode: r.mode, version: r.version, rowsScanned: Number(r.rowsScanned), rowsWithMatches: Number(r.rowsWithMatches), pendingRows: Number(r.pendingRows), byRule };
  if (opts.json) {
    io.json(view);
    return EXIT.ok;
  }
  io.out(`Scanned ${view.rowsScanned} stored rows with rule set ${view.version} (redaction.mode: ${view.mode}).`);
  io.out(`${view.rowsWithMatches} rows still hold text the current rules would redact; ${view.pendingRows} rows were redacted with another rule set (or not at all).`);
  const rows = Object.entries(byRule).map(([rule, n]) => [rule, String(n)]);
  if (rows.length > 0) io.out(`\n${table(['RULE', 'MATCHES'], rows, { rightAlign: [1] })}`);
  if (view.pendingRows > 0 || view.rowsWithMatches > 0) io.out('\nRun `rbk jobs run redact` to redact them now.');
  return EXIT.ok;
}
