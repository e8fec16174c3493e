// The s3 backend against s3rver, through the loopback proxy so that the requests themselves can
// be checked: each PUT carries the body's sha256 and the configured SSE headers, a store that
// confirms other bytes is refused, listings stay under their prefix and follow continuation tokens
// past 1,000 keys, deletes go 1,000 per request.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, sha256Hex } from '../../daemon/sync/backends/create.js';
import { S3Backend } from '../../daemon/sync/backends/s3.js';
import { startFaultProxy, startS3rver, startS3rverProcess, testS3Client, type FaultProxy, type S3Server } from './support.js';

let s3: S3Server;
let proxy: FaultProxy;

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'rbk-backend' });
  proxy = await startFaultProxy(s3.endpoint);
});

afterAll(async () => {
  await proxy?.close();
  await s3?.dispose();
});

function backend(opts: Partial<ConstructorParameters<typeof S3Backend>[0]> = {}): S3Backend {
  return new S3Backend({ bucket: s3.bucket, prefix: 'unit', client: testS3Client(proxy.endpoint), ...opts });
}

describe('S3Backend over s3rver', () => {
  it('PUT carries x-amz-checksum-sha256 of the body and the SSE-KMS headers; get returns the bytes', async () => {
    const b = backend({ sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/test' });
    const body = crypto.randomBytes(2048);
    const sha = sha256Hex(body);
    proxy.requests.length = 0;
    await expect(b.put('v1/x/a.bin', body, { sha256: sha, contentType: 'application/gzip' })).resolves.toEqual({ sha256: sha, bytes: 2048 });
    const put = proxy.requests.find((r) => r.method === 'PUT')!;
    expect(put.path.split('?')[0]).toBe('/rbk-backend/unit/v1/x/a.bin');
    expect(put.headers['x-amz-checksum-sha256']).toBe(Buffer.from(sha, 'hex').toString('base64'));
    expect(put.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(put.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('arn:aws:kms:eu-west-1:111122223333:key/test');
    // Credentials come from the client (the default chain in the daemon), signed, never in the URL.
    expect(String(put.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);
    expect(Buffer.from((await b.get('v1/x/a.bin'))!).equals(body)).toBe(true);
    expect(await b.get('v1/x/missing.bin')).toBeNull();
    await b.close();
  });

  it('SSE-S3 sends AES256 and no key id', async () => {
    const b = backend({ sse: 'AES256' });
    const body = Buffer.from('x');
    proxy.requests.length = 0;
    await b.put('v1/x/b.bin', body, { sha256: sha256Hex(body), contentType: 'text/plain' });
    const put = proxy.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect(put.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBeUndefined();
    await b.close();
  });

  it('refuses an upload the store confirms with other bytes (ETag of a different body)', async () => {
    const b = backend();
    const body = Buffer.from('the real bytes');
    proxy.setFault(({ method }) =>
      method === 'PUT' ? { rewriteHeaders: { etag: `"${crypto.createHash('md5').update('other bytes').digest('hex')}"` } } : null,
    );
    try {
      await expect(b.put('v1/x/c.bin', body, { sha256: sha256Hex(body), contentType: 'text/plain' })).rejects.toBeInstanceOf(ChecksumMismatchError);
      // A returned sha256 checksum that differs is refused too.
      proxy.setFault(({ method }) =>
        method === 'PUT' ? { rewriteHeaders: { 'x-amz-checksum-sha256': crypto.createHash('sha256').update('nope').digest('base64') } } : null,
      );
      await expect(b.put('v1/x/c.bin', body, { sha256: sha256Hex(body), contentType: 'text/plain' })).rejects.toThrow(/S3 stored v1\/x\/c\.bin with sha256/);
    } finally {
      proxy.setFault(null);
    }
    // And refuses to send bytes that do not match the sha256 it was given.
    await expect(b.put('v1/x/c.bin', body, { sha256: sha256Hex(Buffer.from('else')), contentType: 'text/plain' })).rejects.toBeInstanceOf(
      ChecksumMismatchError,
    );
    await b.close();
  });

  it('lists in key order under the prefix only, and deletes 1,000 keys per request', async () => {
    const b = backend({ prefix: 'batches' });
    const keys = Array.from({ length: 1003 }, (_, i) => `v1/p/k-${String(i).padStart(5, '0')}`);
    const body = Buffer.from('.');
    // One at a time: s3rver's file store races on a shared directory under concurrent PUTs.
    for (const k of keys.slice(0, 990)) await b.put(k, body, { sha256: sha256Hex(body), contentType: 'text/plain' });
    await b.put('v1/q/other', body, { sha256: sha256Hex(body), contentType: 'text/plain' });
    proxy.requests.length = 0;
    const listed = await b.list('v1/p/');
    expect(listed.map((o) => o.key)).toEqual(keys.slice(0, 990));
    expect(listed.every((o) => o.bytes === 1)).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'GET').length).toBe(1);
    proxy.requests.length = 0;
    // 1,003 keys (13 of them never existed: not an error) in two DeleteObjects requests.
    await b.delete(keys);
    // (s3rver sometimes answers the first batch with a 500 that the SDK's own retry absorbs.)
    expect(proxy.requests.filter((r) => r.method === 'POST' && r.status === 200).length).toBe(2);
    expect(await b.list('v1/p/')).toEqual([]);
    expect((await b.list('v1/')).map((o) => o.key)).toEqual(['v1/q/other']);
    await b.close();
  }, 60_000);

  it('follows continuation tokens past 1,000 keys: every key once, in order, under the prefix only', async () => {
    // A separate s3rver whose truncated listings work (see startS3rverProcess), behind its own proxy
    // so that the LIST requests can be counted.
    const paged = await startS3rverProcess({ bucket: 'rbk-paging' });
    const pagedProxy = await startFaultProxy(paged.endpoint);
    try {
      const b = new S3Backend({ bucket: paged.bucket, prefix: 'team', client: testS3Client(pagedProxy.endpoint) });
      const keys = Array.from(
        { length: 2101 },
        (_, i) => `v1/interactions/date=2026-11-0${1 + (i % 3)}/host=h/session=s${String(i).padStart(5, '0')}/part-000001.ndjson.gz`,
      );
      const body = Buffer.from('..');
      // One at a time: s3rver's file store races on a shared directory under concurrent PUTs.
      for (const k of keys) await b.put(k, body, { sha256: sha256Hex(body), contentType: 'application/gzip' });
      // Keys beside the prefix, which a listing must not return.
      await b.put('v1/hook_events/x', body, { sha256: sha256Hex(body), contentType: 'text/plain' });
      pagedProxy.requests.length = 0;
      const listed = await b.list('v1/interactions/');
      expect(listed.map((o) => o.key)).toEqual([...keys].sort());
      expect(listed.every((o) => o.bytes === 2)).toBe(true);
      // Three pages: 1,000 + 1,000 + 101, the later two asked for with the token of the one before.
      const lists = pagedProxy.requests.filter((r) => r.method === 'GET');
      expect(lists).toHaveLength(3);
      expect(lists.map((r) => new URL(r.path, 'http://x').searchParams.has('continuation-token'))).toEqual([false, true, true]);
      // And deleting all of them empties the prefix, listed again over several pages.
      await b.delete(listed.map((o) => o.key));
      expect(await b.list('v1/interactions/')).toEqual([]);
      expect((await b.list('v1/')).map((o) => o.key)).toEqual(['v1/hook_events/x']);
      await b.close();
    } finally {
      await pagedProxy.close();
      await paged.dispose();
    }
  }, 120_000);
});
