import { PROTOCOL_VERSION, RBK_VERSION } from '../../common/version.js';
import { call } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { STARTED_BY_TEXT, type StartedBy } from '../daemon-control.js';
import { duration, iso, plural } from '../format.js';
import type { Io } from '../io.js';
import type { Sent } from '../wire.js';
import type { StatusResponse__Output } from '../../common/wire/rbk/v1/StatusResponse.js';

type StatusResponse = Sent<StatusResponse__Output>;

function healthLine(h: StatusResponse['store']): string {
  if (h.condition === 'damaged')
    return `DAMAGED since ${iso(Number(h.damagedSinceUnixMs))} (found by ${h.foundBy}): ${h.damage}. rbkd writes nothing to it; hook events spool. Run: rbk recover`;
  const c = h.lastCheck;
  if (!c) return 'not checked since the daemon started (integrity.startBudgetMs is 0); the integrity job checks it';
  const what = c.complete ? 'all tables' : `${c.tablesChecked} of ${c.tablesTotal} tables (the rest at the next start)`;
  return `ok (${c.kind} check of ${what}, ${duration(Number(c.durationMs))}, ${iso(Number(c.finishedUnixMs))})`;
}

function otelLine(o: StatusResponse['otel']): string {
  if (!o?.enabled) return 'off (otel.enabled: false)';
  if (!o.url) return `not serving: ${o.error ?? 'unknown reason'}`;
  const since =
    Number(o.exports) > 0
      ? `; since start ${plural(Number(o.stored), 'record')} stored, ${Number(o.duplicates)} repeated, ${Number(o.skipped)} skipped, ${Number(o.refused)} refused`
      : '';
  return `${o.url} (${plural(Number(o.events), 'event')} stored${since})`;
}

function uiLine(ui: StatusResponse['ui']): string {
  if (!ui.enabled) return 'off (ui.enabled: false)';
  if (ui.url) return `${ui.url} (open it logged in: rbk ui)${ui.auth ? '' : '; ui.auth is off'}`;
  return `not serving: ${ui.error ?? 'unknown reason'}`;
}

export async function statusCommand(io: Io, opts: { json: boolean }): Promise<number> {
  const s = await call<StatusResponse>('Admin', 'Status', {});
  if (s.protocolVersion !== PROTOCOL_VERSION) {
    throw new CliError(
      `rbkd speaks protocol ${s.protocolVersion} but this rbk speaks ${PROTOCOL_VERSION}; restart the daemon from the same rbk version`,
      EXIT.failure,
    );
  }
  if (opts.json) {
    io.json({
      running: true,
      daemonVersion: s.daemonVersion,
      cliVersion: RBK_VERSION,
      protocolVersion: s.protocolVersion,
      pid: s.pid,
      startedAt: iso(s.startedUnixMs),
      startedBy: s.startedBy || 'foreground',
      logFile: s.logFile || null,
      paths: s.paths,
      config: s.configSource,
      counts: s.countsError === undefined ? s.counts : null,
      countsError: s.countsError ?? null,
      dbBytes: s.dbBytes,
      store: {
        condition: s.store.condition,
        damage: s.store.damage ? { detail: s.store.damage, foundBy: s.store.foundBy ?? null, since: iso(Number(s.store.damagedSinceUnixMs)) } : null,
        lastCheck: s.store.lastCheck
          ? {
              kind: s.store.lastCheck.kind,
              at: iso(Number(s.store.lastCheck.finishedUnixMs)),
              durationMs: Number(s.store.lastCheck.durationMs),
              tablesChecked: s.store.lastCheck.tablesChecked,
              tablesTotal: s.store.lastCheck.tablesTotal,
              complete: s.store.lastCheck.complete,
              result: s.store.lastCheck.result,
            }
          : null,
      },
      writeError: s.writeError ? { message: s.writeError, since: iso(Number(s.writeErrorSinceUnixMs)) } : null,
      ui: { enabled: s.ui.enabled, url: s.ui.url ?? null, error: s.ui.error ?? null, auth: s.ui.auth },
      otel: s.otel
        ? {
            enabled: s.otel.enabled,
            url: s.otel.url ?? null,
            error: s.otel.error ?? null,
            events: Number(s.otel.events),
            sinceStart: {
              exports: Number(s.otel.exports),
              stored: Number(s.otel.stored),
              duplicates: Number(s.otel.duplicates),
              skipped: Number(s.otel.skipped),
              refused: Number(s.otel.refused),
              forwardFailures: Number(s.otel.forwardFailures),
            },
          }
        : null,
    });
    return s.store.condition === 'damaged' ? EXIT.failure : EXIT.ok;
  }
  io.out(
    [
      `rbkd ${s.daemonVersion} running (pid ${s.pid}, up ${duration(Date.now() - s.startedUnixMs)}, protocol ${s.protocolVersion})`,
      `  started    ${STARTED_BY_TEXT[(s.startedBy || 'foreground') as StartedBy] ?? s.startedBy}${s.logFile ? `; log ${s.logFile}` : ''}`,
      `  socket     ${s.paths.socket}`,
      `  database   ${s.paths.db} (${(s.dbBytes / 1024 / 1024).toFixed(1)} MB)`,
      `  config     ${s.configSource}`,
      `  health     ${healthLine(s.store)}`,
      ...(s.countsError !== undefined
        ? [`  counts     unreadable: ${s.countsError}`]
        : [
            `  sessions   ${s.counts.sessions}${Number(s.counts.unannouncedSessions) > 0 ? ` (${plural(Number(s.counts.unannouncedSessions), 'session')} found only by the sweep: see rbk doctor)` : ''}`,
            `  stored     ${plural(Number(s.counts.hookEvents), 'hook event')}, ${plural(Number(s.counts.interactions), 'interaction')}, ${plural(Number(s.counts.transcripts), 'transcript')}`,
            `  search     ${Number(s.counts.searchIndexPending ?? 0) === 0 ? 'complete' : `${plural(Number(s.counts.searchIndexPending), 'row')} still being indexed`}`,
          ]),
      `  spool      ${Number(s.counts.spoolBacklog) === 0 ? 'empty' : `${plural(Number(s.counts.spoolBacklog), 'event')} waiting`}`,
      `  console    ${uiLine(s.ui)}`,
      `  telemetry  ${otelLine(s.otel)}`,
      ...(s.writeError ? [`  WRITES FAILING since ${iso(Number(s.writeErrorSinceUnixMs))}: ${s.writeError}`] : []),
    ].join('\n'),
  );
  return s.store.condition === 'damaged' ? EXIT.failure : EXIT.ok;
}
