// OTLP/HTTP request bodies (logs, traces, metrics) → plain records, for both encodings the spec
// allows: application/x-protobuf and application/json.
//
// Protobuf is decoded by protobufjs against the OpenTelemetry project's own .proto files
// (proto/otel, opentelemetry-proto v1.9.0, vendored unchanged). The OpenTelemetry JS packages do
// not fit here: @opentelemetry/otlp-transformer 0.2xx+ only encodes requests (it is an exporter's
// library) and decodes nothing but export responses. protobufjs is already in the tree under
// @grpc/proto-loader, and its reflection decoder needs no generated code.
//
// JSON bodies are checked by one zod schema of the OTLP/JSON shape (lowerCamelCase keys, ids as
// hex, 64-bit integers as strings) and flattened by one normalizer. Protobuf traces and metrics are
// turned into that same shape and take the same path. Protobuf logs, the volume path (Claude Code
// sends every event as one), are read straight from the decoded messages: the decoder has already
// enforced every type, and the detour through toObject and zod cost three quarters of the time
// (bench/otlp.mjs). test/otel checks that both encodings store the same rows.
import path from 'node:path';
import protobuf from 'protobufjs';
import { z } from 'zod';
import { PROTO_ROOT } from '../../../common/protos.js';

export type OtlpSignal = 'logs' | 'traces' | 'metrics';

/** An attribute value as OTLP carries it, made plain (arrays and kvlists become arrays and objects). */
export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export interface OtlpLogRecord {
  resource: Attrs;
  scope: string;
  timeMs: number | null;
  /** LogRecord.event_name (OTLP 1.5+), else the event.name attribute, else null. */
  eventName: string | null;
  body: AttrValue;
  attributes: Attrs;
  traceId: string | null;
  spanId: string | null;
  severity: string | null;
}

export interface OtlpSpanEvent {
  name: string;
  timeMs: number | null;
  attributes: Attrs;
}

export interface OtlpSpan {
  resource: Attrs;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  startMs: number | null;
  endMs: number | null;
  attributes: Attrs;
  events: OtlpSpanEvent[];
  statusCode: number;
  statusMessage: string | null;
}

export type DecodedOtlp =
  | { signal: 'logs'; records: OtlpLogRecord[] }
  | { signal: 'traces'; spans: OtlpSpan[] }
  | { signal: 'metrics'; dataPoints: number; metricNames: string[] };

/** The body is not a valid OTLP request of this signal; the message says what was wrong. */
export class OtlpDecodeError extends Error {}

// ---------------------------------------------------------------------------------------------
// The OTLP/JSON shape (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding)
// ---------------------------------------------------------------------------------------------

// Attribute nesting deeper than this is refused: a hostile body must not recurse the stack away.
const MAX_DEPTH = 16;
const int64 = z.union([z.string().regex(/^-?\d{1,20}$/), z.number().int()]);
const hexId = z.string().regex(/^[0-9a-fA-F]*$/, 'must be hex');

type AnyValueJson = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
};
type KeyValueJson = { key: string; value?: AnyValueJson };

const anyValue: z.ZodType<AnyValueJson> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: int64.optional(),
    doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).optional(),
    bytesValue: z.string().optional(),
    arrayValue: z.object({ values: z.array(anyValue).optional() }).optional(),
    kvlistValue: z.object({ values: z.array(keyValue).optional() }).optional(),
  }),
);
const keyValue: z.ZodType<KeyValueJson> = z.lazy(() => z.object({ key: z.string().max(1024), value: anyValue.optional() }));
const attributes = z.array(keyValue).optional();
const resource = z.object({ attributes }).optional();
const scope = z.object({ name: z.string().optional(), version: z.string().optional() }).optional();

const logRecord = z.object({
  timeUnixNano: int64.optional(),
  observedTimeUnixNano: int64.optional(),
  severityText: z.string().optional(),
  body: anyValue.optional(),
  attributes,
  traceId: hexId.optional(),
  spanId: hexId.optional(),
  eventName: z.string().optional(),
});
const logsRequest = z.object({
  resourceLogs: z.array(z.object({ resource, scopeLogs: z.array(z.object({ scope, logRecords: z.array(logRecord).optional() })).optional() })).optional(),
});

const span = z.object({
  traceId: hexId,
  spanId: hexId,
  parentSpanId: hexId.optional(),
  name: z.string(),
  kind: z.union([z.number().int(), z.string()]).optional(),
  startTimeUnixNano: int64.optional(),
  endTimeUnixNano: int64.optional(),
  attributes,
  events: z.array(z.object({ timeUnixNano: int64.optional(), name: z.string(), attributes })).optional(),
  status: z.object({ code: z.union([z.number().int(), z.string()]).optional(), message: z.string().optional() }).optional(),
});
const tracesRequest = z.object({
  resourceSpans: z.array(z.object({ resource, scopeSpans: z.array(z.object({ scope, spans: z.array(span).optional() })).optional() })).optional(),
});

const points = z.object({ dataPoints: z.array(z.unknown()).optional() }).optional();
const metric = z.object({ name: z.string(), sum: points, gauge: points, histogram: points, exponentialHistogram: points, summary: points });
const metricsRequest = z.object({
  resourceMetrics: z.array(z.object({ resource, scopeMetrics: z.array(z.object({ scope, metrics: z.array(metric).optional() })).optional() })).optional(),
});

// ---------------------------------------------------------------------------------------------
// Protobuf → the JSON shape
// ---------------------------------------------------------------------------------------------

const REQUEST_TYPES: Record<OtlpSignal, string> = {
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
};

let protoRoot: protobuf.Root | null = null;
/** Loaded on the first protobuf request, not at daemon start: most installs only ever get JSON or nothing. */
function requestType(signal: OtlpSignal): protobuf.Type {
  if (!protoRoot) {
    const root = new protobuf.Root();
    const otelDir = path.join(PROTO_ROOT, 'otel');
    root.resolvePath = (_origin, target) => path.join(otelDir, target);
    root.loadSync(
      [
        'opentelemetry/proto/collector/logs/v1/logs_service.proto',
        'opentelemetry/proto/collector/trace/v1/trace_service.proto',
        'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
      ],
      { keepCase: false },
    );
    root.resolveAll();
    protoRoot = root;
  }
  return protoRoot.lookupType(REQUEST_TYPES[signal]);
}

/** toObject with ids as hex (OTLP/JSON's rule for trace and span ids) and other bytes as base64. */
function protobufToJson(signal: OtlpSignal, body: Buffer): unknown {
  const type = requestType(signal);
  let message: protobuf.Message;
  try {
    message = type.decode(body);
  } catch (err) {
    throw new OtlpDecodeError(`not a valid OTLP ${signal} protobuf body: ${(err as Error).message}`);
  }
  const object = type.toObject(message, { longs: String, enums: Number, bytes: Buffer, defaults: false, arrays: true });
  return bytesToText(object, 0);
}

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
function bytesToText(value: unknown, depth: number, key = ''): unknown {
  if (depth > MAX_DEPTH * 3) throw new OtlpDecodeError(`attributes nest deeper than ${MAX_DEPTH} levels`);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return ID_FIELDS.has(key) ? Buffer.from(value).toString('hex') : Buffer.from(value).toString('base64');
  }
  if (Array.isArray(value)) return value.map((v) => bytesToText(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = bytesToText(v, depth + 1, k);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The JSON shape → records
// ---------------------------------------------------------------------------------------------

function nanosToMs(v: string | number | undefined): number | null {
  if (v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n <= 0) return null;
  return Math.floor(n / 1e6);
}

function plainValue(v: AnyValueJson | undefined, depth: number): AttrValue {
  if (!v) return null;
  if (depth > MAX_DEPTH) throw new OtlpDecodeError(`attributes nest deeper than ${MAX_DEPTH} levels`);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : String(v.intValue);
  }
  if (v.doubleValue !== undefined) return typeof v.doubleValue === 'number' ? v.doubleValue : String(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => plainValue(x, depth + 1));
  if (v.kvlistValue) return plainAttrs(v.kvlistValue.values, depth + 1);
  return null;
}

function plainAttrs(list: KeyValueJson[] | undefined, depth = 0): Attrs {
  const out: Attrs = Object.create(null);
  for (const kv of list ?? []) out[kv.key] = plainValue(kv.value, depth + 1);
  return out;
}

function parseShape<T>(schema: z.ZodType<T>, value: unknown, signal: OtlpSignal): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new OtlpDecodeError(`not an OTLP ${signal} request: ${issue ? `${issue.path.join('.') || '(body)'} ${issue.message}` : 'invalid'}`);
}

function toRecords(signal: OtlpSignal, json: unknown): DecodedOtlp {
  if (signal === 'logs') {
    const req = parseShape(logsRequest, json, signal);
    const records: OtlpLogRecord[] = [];
    for (const rl of req.resourceLogs ?? []) {
      const res = plainAttrs(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) {
        for (const r of sl.logRecords ?? []) {
          const attrs = plainAttrs(r.attributes);
          const eventAttr = attrs['event.name'];
          records.push({
            resource: res,
            scope: sl.scope?.name ?? '',
            timeMs: nanosToMs(r.timeUnixNano) ?? nanosToMs(r.observedTimeUnixNano),
            eventName: r.eventName || (typeof eventAttr === 'string' ? eventAttr : null),
            body: plainValue(r.body, 0),
            attributes: attrs,
            traceId: r.traceId || null,
            spanId: r.spanId || null,
            severity: r.severityText ?? null,
          });
        }
      }
    }
    return { signal, records };
  }
  if (signal === 'traces') {
    const req = parseShape(tracesRequest, json, signal);
    const spans: OtlpSpan[] = [];
    for (const rs of req.resourceSpans ?? []) {
      const res = plainAttrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          if (!s.traceId || !s.spanId) throw new OtlpDecodeError('not an OTLP traces request: a span has no traceId or spanId');
          spans.push({
            resource: res,
            scope: ss.scope?.name ?? '',
            traceId: s.traceId.toLowerCase(),
            spanId: s.spanId.toLowerCase(),
            parentSpanId: s.parentSpanId ? s.parentSpanId.toLowerCase() : null,
            name: s.name,
            kind: typeof s.kind === 'number' ? s.kind : 0,
            startMs: nanosToMs(s.startTimeUnixNano),
            endMs: nanosToMs(s.endTimeUnixNano),
            attributes: plainAttrs(s.attributes),
            events: (s.events ?? []).map((e) => ({ name: e.name, timeMs: nanosToMs(e.timeUnixNano), attributes: plainAttrs(e.attributes) })),
            statusCode: typeof s.status?.code === 'number' ? s.status.code : 0,
            statusMessage: s.status?.message || null,
          });
        }
      }
    }
    return { signal, spans };
  }
  const req = parseShape(metricsRequest, json, signal);
  let dataPoints = 0;
  const names = new Set<string>();
  for (const rm of req.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        names.add(m.name);
        for (const p of [m.sum, m.gauge, m.histogram, m.exponentialHistogram, m.summary]) dataPoints += p?.dataPoints?.length ?? 0;
      }
    }
  }
  return { signal, dataPoints, metricNames: [...names] };
}

export type OtlpEncoding = 'json' | 'protobuf';

/** Which encoding a Content-Type names, or null when it is neither OTLP/HTTP encoding. */
export function encodingOf(contentType: string | undefined): OtlpEncoding | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  return null;
}

// --- protobuf logs, read directly --------------------------------------------------------------

interface PbLong {
  toNumber(): number;
  toString(): string;
}
type PbInt = number | PbLong;
interface PbAnyValue {
  /** The oneof's virtual field: which of the value fields is set. */
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: PbInt;
  doubleValue?: number;
  bytesValue?: Uint8Array;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue | null;
}
interface PbLogRecord {
  timeUnixNano?: PbInt;
  observedTimeUnixNano?: PbInt;
  severityText?: string;
  body?: PbAnyValue | null;
  attributes?: PbKeyValue[];
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  eventName?: string;
}
interface PbLogsRequest {
  resourceLogs?: { resource?: { attributes?: PbKeyValue[] } | null; scopeLogs?: { scope?: { name?: string } | null; logRecords?: PbLogRecord[] }[] }[];
}

function pbInt(v: PbInt | undefined): number | string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : v.toString();
}

function pbNanosToMs(v: PbInt | undefined): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : v.toNumber();
  return Number.isFinite(n) && n > 0 ? Math.floor(n / 1e6) : null;
}

function pbValue(v: PbAnyValue | null | undefined, depth: number): AttrValue {
  if (!v) return null;
  if (depth > MAX_DEPTH) throw new OtlpDecodeError(`attributes nest deeper than ${MAX_DEPTH} levels`);
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue === true;
    case 'intValue':
      return pbInt(v.intValue);
    case 'doubleValue':
      return v.doubleValue ?? 0;
    case 'bytesValue':
      return Buffer.from(v.bytesValue ?? []).toString('base64');
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map((x) => pbValue(x, depth + 1));
    case 'kvlistValue':
      return pbAttrs(v.kvlistValue?.values, depth + 1);
    default:
      return null;
  }
}

function pbAttrs(list: PbKeyValue[] | undefined, depth = 0): Attrs {
  const out: Attrs = Object.create(null);
  for (const kv of list ?? []) out[kv.key] = pbValue(kv.value, depth + 1);
  return out;
}

const hex = (b: Uint8Array | undefined): string | null => (b && b.length > 0 ? Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex') : null);

function protobufLogs(body: Buffer): DecodedOtlp {
  let req: PbLogsRequest;
  try {
    req = requestType('logs').decode(body) as unknown as PbLogsRequest;
  } catch (err) {
    throw new OtlpDecodeError(`not a valid OTLP logs protobuf body: ${(err as Error).message}`);
  }
  const records: OtlpLogRecord[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const res = pbAttrs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        const attrs = pbAttrs(r.attributes);
        const eventAttr = attrs['event.name'];
        records.push({
          resource: res,
          scope: sl.scope?.name ?? '',
          timeMs: pbNanosToMs(r.timeUnixNano) ?? pbNanosToMs(r.observedTimeUnixNano),
          eventName: r.eventName || (typeof eventAttr === 'string' ? eventAttr : null),
          body: pbValue(r.body, 0),
          attributes: attrs,
          traceId: hex(r.traceId),
          spanId: hex(r.spanId),
          severity: r.severityText || null,
        });
      }
    }
  }
  return { signal: 'logs', records };
}

export function decodeOtlp(signal: OtlpSignal, encoding: OtlpEncoding, body: Buffer): DecodedOtlp {
  if (encoding === 'protobuf' && signal === 'logs') return protobufLogs(body);
  let json: unknown;
  if (encoding === 'json') {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new OtlpDecodeError(`not valid JSON: ${(err as Error).message}`);
    }
  } else {
    json = protobufToJson(signal, body);
  }
  return toRecords(signal, json);
}
