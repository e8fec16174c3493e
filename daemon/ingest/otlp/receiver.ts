// What an OTLP export does once the HTTP layer (daemon/http/otlp.ts) has let it in: decode, map to
// telemetry rows, redact, store in one transaction, and answer. The answer is sent only after the
// transaction commits, so an acknowledged export is on disk; an export that fails before that gets
// an error status, and OTLP exporters retry those (or drop them) on their side.
import { UserError } from '../../errors.js';
import type { StoreHealth } from '../../store/health.js';
import type { TelemetryStore } from '../../store/telemetry.js';
import { decodeOtlp, type OtlpEncoding, OtlpDecodeError, type OtlpSignal } from './decode.js';
import { mapTelemetry, type SkipReason } from './events.js';

export interface ExportResult {
  signal: OtlpSignal;
  received: number;
  stored: number;
  duplicates: number;
  skipped: Partial<Record<SkipReason, number>>;
  metricPoints: number;
}

export interface OtlpReceiverDeps {
  telemetry: TelemetryStore;
  health: StoreHealth;
  host: string;
  /** Redaction of each event's detail (always at ingest: the redact job does not rewrite telemetry). */
  redact: (value: unknown) => unknown;
}

export type ExportListener = (r: ExportResult) => void;

export class OtlpReceiver {
  private readonly listeners: ExportListener[] = [];
  /** Since start, for status and metrics. */
  readonly totals = { exports: 0, stored: 0, duplicates: 0, skipped: 0, metricPoints: 0, refused: 0 };

  constructor(private readonly deps: OtlpReceiverDeps) {}

  onExport(fn: ExportListener): void {
    this.listeners.push(fn);
  }

  /** Throws UserError (invalid) for a body that is not OTLP, (unavailable) when the store takes no writes. */
  export(signal: OtlpSignal, encoding: OtlpEncoding, body: Buffer): ExportResult {
    let decoded: ReturnType<typeof decodeOtlp>;
    try {
      decoded = decodeOtlp(signal, encoding, body);
    } catch (err) {
      this.totals.refused++;
      if (err instanceof OtlpDecodeError) throw new UserError(err.message, 'invalid');
      throw err;
    }
    const mapped = mapTelemetry(decoded);
    const received = decoded.signal === 'logs' ? decoded.records.length : decoded.signal === 'traces' ? decoded.spans.length : decoded.dataPoints;
    let stored = { stored: 0, duplicates: 0 };
    if (mapped.events.length > 0) {
      this.deps.health.assertWritable();
      try {
        stored = this.deps.telemetry.insert(mapped.events, { host: this.deps.host, redact: this.deps.redact });
      } catch (err) {
        this.deps.health.noteError(err, 'write');
        throw err;
      }
    }
    const result: ExportResult = {
      signal,
      received,
      stored: stored.stored,
      duplicates: stored.duplicates,
      skipped: mapped.skipped,
      metricPoints: mapped.metricPoints,
    };
    this.totals.exports++;
    this.totals.stored += result.stored;
    this.totals.duplicates += result.duplicates;
    this.totals.metricPoints += result.metricPoints;
    for (const n of Object.values(result.skipped)) this.totals.skipped += n ?? 0;
    for (const l of this.listeners) l(result);
    return result;
  }
}
