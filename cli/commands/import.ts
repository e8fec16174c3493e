import path from 'node:path';
import { stream } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { iso, plural } from '../format.js';
import type { Io } from '../io.js';
import type { WireImportProgress } from '../wire.js';

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

function bar(p: WireImportProgress, width = 24): string {
  const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
  const filled = Math.round(frac * width);
  const secs = Math.max((Date.now() - p.startedUnixMs) / 1000, 0.001);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.filesDone}/${p.filesTotal} files  ${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB  ${p.sessions} sessions  ${(p.bytesDone / 1024 / 1024 / secs).toFixed(1)} MB/s`;
}

export async function importCommand(io: Io, opts: { paths: string[]; json: boolean; progress: boolean }): Promise<number> {
  const paths = opts.paths.map((p) => path.resolve(p));
  let last: WireImportProgress | undefined;
  const tty = opts.progress && process.stderr.isTTY;
  const { done } = stream<WireImportProgress>('Ingest', 'Import', { paths }, (p) => {
    last = p;
    if (tty) process.stderr.write(`\r\x1b[2K${bar(p)}`);
  });
  const cancel = () => process.exit(130);
  process.once('SIGINT', cancel);
  try {
    await done;
  } finally {
    process.off('SIGINT', cancel);
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  if (!last) throw new CliError('the daemon ended the import without reporting anything; see its log', EXIT.failure);
  const secs = (Date.now() - last.startedUnixMs) / 1000;
  const summary = {
    roots: last.roots,
    files: last.filesDone,
    bytes: Number(last.bytesDone),
    sessions: last.sessions,
    interactionsAdded: Number(last.interactionsAdded),
    linesRead: Number(last.linesRead),
    skipped: Object.fromEntries(Object.entries(last.skipped).map(([k, v]) => [k, Number(v)])),
    errors: last.errors,
    seconds: Number(secs.toFixed(2)),
    // Rows not searchable yet: the daemon indexes them in the background after the import
    // returns (rbk status shows what is left; 0 = search covers everything).
    searchIndexPending: Number(last.searchIndexPending ?? 0),
    // Imported sessions the next retention run will delete (old backlogs); null when none.
    pastRetention:
      Number(last.pastRetentionSessions ?? 0) > 0
        ? {
            sessions: Number(last.pastRetentionSessions),
            oldestLastActivityAt: iso(Number(last.pastRetentionOldestUnixMs ?? 0)),
            retentionDays: Number(last.retentionDays ?? 0),
          }
        : null,
  };
  if (opts.json) {
    io.json(summary);
    return EXIT.ok;
  }
  const skipped = Object.entries(summary.skipped);
  io.out(
    [
      `Imported ${plural(summary.files, 'file')} (${mb(summary.bytes)} MB) from ${summary.roots.join(', ')} in ${summary.seconds}s`,
      `  sessions touched   ${summary.sessions}`,
      `  interactions added ${summary.interactionsAdded} (from ${summary.linesRead} new lines)`,
      `  skipped lines      ${skipped.length === 0 ? 'none' : skipped.map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `  search index       ${summary.searchIndexPending === 0 ? 'complete' : `${plural(summary.searchIndexPending, 'row')} being indexed in the background (rbk status shows what is left)`}`,
      ...summary.errors.map((e) => `  error  ${e.path}: ${e.error}`),
    ].join('\n'),
  );
  const past = summary.pastRetention;
  if (past) {
    io.err(
      `warning: ${plural(past.sessions, 'imported session')} ${past.sessions === 1 ? 'is' : 'are'} older than retention.local.days (${plural(past.retentionDays, 'day')}; the oldest was last active ${(past.oldestLastActivityAt ?? '').slice(0, 10)}), ` +
        'so the next retention run (rbk jobs shows when) deletes them. To keep them, raise retention.local.days in the config before then, or pin them: rbk sessions pin <id>.',
    );
  }
  return summary.errors.length > 0 ? EXIT.failure : EXIT.ok;
}
