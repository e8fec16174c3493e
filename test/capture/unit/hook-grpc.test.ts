// hook/grpc.ts encodes SubmitHookRequest by hand. Decode its bytes with protobufjs against the real
// proto/rbk/v1/ingest.proto and compare field by field, and check that protobufjs itself encodes
// the same message to the same bytes.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { encodeSubmitHookRequest, type SubmitHookRequest } from '../../../hook/grpc.js';
import { REPO_ROOT } from '../../support/rbk.js';

const root = protobuf.loadSync(path.join(REPO_ROOT, 'proto', 'rbk', 'v1', 'ingest.proto'));
const SubmitHookRequestType = root.lookupType('rbk.v1.SubmitHookRequest');

interface Decoded {
  eventId: string;
  eventName: string;
  payload: Buffer;
  hookStartedUnixMs: string;
  sentUnixMs: string;
  clientVersion: string;
}

function decode(bytes: Buffer): Decoded {
  const msg = SubmitHookRequestType.decode(bytes);
  // longs as decimal strings so that no precision is lost in the comparison.
  const obj = SubmitHookRequestType.toObject(msg, { longs: String, bytes: Buffer, defaults: true }) as Decoded;
  return { ...obj, payload: Buffer.from(obj.payload) };
}

function viaProtobufjs(r: SubmitHookRequest): Buffer {
  const msg = SubmitHookRequestType.fromObject({ ...r, payload: r.payload });
  return Buffer.from(SubmitHookRequestType.encode(msg).finish());
}

const base: SubmitHookRequest = {
  eventId: '01a1fcf2-586a-7865-a1ec-cc18ed0a889a',
  eventName: 'PreToolUse',
  payload: Buffer.from('{"session_id":"abc","hook_event_name":"PreToolUse"}'),
  hookStartedUnixMs: 1_795_245_137_077,
  sentUnixMs: 1_795_245_137_086,
  clientVersion: '0.1.0',
};

describe('encodeSubmitHookRequest', () => {
  it('decodes to the same fields, and matches protobufjs byte for byte', () => {
    const bytes = encodeSubmitHookRequest(base);
    expect(decode(bytes)).toEqual({
      eventId: base.eventId,
      eventName: 'PreToolUse',
      payload: base.payload,
      hookStartedUnixMs: '1795245137077',
      sentUnixMs: '1795245137086',
      clientVersion: '0.1.0',
    });
    expect(bytes.equals(viaProtobufjs(base))).toBe(true);
  });

  it('encodes int64 timestamps exactly across varint byte boundaries up to 2^53 - 1', () => {
    for (const t of [1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 35 - 1, 2 ** 35, 1_795_245_137_077, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      const r = { ...base, hookStartedUnixMs: t, sentUnixMs: t + (t < Number.MAX_SAFE_INTEGER ? 1 : 0) };
      const bytes = encodeSubmitHookRequest(r);
      const d = decode(bytes);
      expect(d.hookStartedUnixMs, String(t)).toBe(BigInt(t).toString());
      expect(d.sentUnixMs).toBe(BigInt(r.sentUnixMs).toString());
      expect(bytes.equals(viaProtobufjs(r)), String(t)).toBe(true);
    }
  });

  it('omits zero and empty fields, as proto3 does, and they decode as defaults', () => {
    const r: SubmitHookRequest = { eventId: 'e1', eventName: '', payload: Buffer.alloc(0), hookStartedUnixMs: 0, sentUnixMs: 0, clientVersion: '' };
    const bytes = encodeSubmitHookRequest(r);
    expect(bytes.equals(Buffer.from([0x0a, 0x02, 0x65, 0x31]))).toBe(true);
    expect(decode(bytes)).toEqual({ eventId: 'e1', eventName: '', payload: Buffer.alloc(0), hookStartedUnixMs: '0', sentUnixMs: '0', clientVersion: '' });
    // (protobufjs writes explicitly-set defaults, so no byte comparison here: both encodings are valid.)
  });

  it('carries arbitrary bytes (invalid UTF-8, NUL) in payload unchanged, and UTF-8 strings', () => {
    const payload = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0x80]);
    const r = { ...base, payload, eventName: 'Notification', eventId: 'ünï-çødé' };
    const d = decode(encodeSubmitHookRequest(r));
    expect(d.payload.equals(payload)).toBe(true);
    expect(d.eventId).toBe('ünï-çødé');
    expect(encodeSubmitHookRequest(r).equals(viaProtobufjs(r))).toBe(true);
  });

  it('lengths across varint boundaries (127/128, 16383/16384 bytes) decode exactly', () => {
    for (const n of [1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const payload = randomBytes(n);
      const r = { ...base, payload };
      const bytes = encodeSubmitHookRequest(r);
      expect(decode(bytes).payload.equals(payload), String(n)).toBe(true);
      expect(bytes.equals(viaProtobufjs(r)), String(n)).toBe(true);
    }
  });

  it('a 20 MB payload round-trips byte for byte', () => {
    const payload = randomBytes(20 * 1024 * 1024);
    const r = { ...base, payload };
    const bytes = encodeSubmitHookRequest(r);
    // tag (1) + 4-byte length varint for 20 MiB + the payload + the small fields.
    expect(bytes.length).toBeGreaterThan(payload.length);
    expect(bytes.length).toBeLessThan(payload.length + 200);
    const d = decode(bytes);
    expect(d.payload.length).toBe(payload.length);
    expect(d.payload.equals(payload)).toBe(true);
    expect(d.eventId).toBe(base.eventId);
    expect(d.hookStartedUnixMs).toBe(String(base.hookStartedUnixMs));
    expect(d.clientVersion).toBe('0.1.0');
  });
});
