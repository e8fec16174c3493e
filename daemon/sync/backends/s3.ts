// The `s3` backend (@aws-sdk/client-s3). Credentials come only from the AWS default chain
// (environment, shared profile, SSO, container or instance role): the config has no place for
// them. Every PUT carries the body's SHA-256 (x-amz-checksum-sha256), which S3 verifies before it
// stores anything (BadDigest otherwise); we then check what S3 says it stored: its returned
// ChecksumSHA256, or, from stores that do not implement checksums, the MD5 ETag of a plain PUT.
import crypto from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { ObjectInfo, PutResult, StorageBackend } from '../backend.js';
import { checkKey, checkPrefix, normalizePrefix } from './keys.js';

export { normalizePrefix };
import { ChecksumMismatchError, sha256Hex } from './local.js';

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing "/" ("" = bucket root). */
  prefix: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** Injected by tests that need their own client settings; the daemon never sets it. */
  client?: S3Client;
}

// DeleteObjects takes at most 1000 keys per request.
const DELETE_BATCH = 1000;

export class S3Backend implements StorageBackend {
  readonly name = 's3';
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;

  constructor(private readonly opts: S3BackendOptions) {
    this.bucket = opts.bucket;
    const prefix = normalizePrefix(opts.prefix);
    this.root = prefix ? `${prefix}/` : '';
    this.location = `s3://${opts.bucket}/${this.root}`;
    this.client =
      opts.client ??
      new S3Client({
        // The SDK insists on a region even for S3-compatible endpoints that ignore it.
        region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        endpoint: opts.endpoint,
        forcePathStyle: opts.forcePathStyle ?? false,
        // Our own backoff (daemon/sync) retries for hours; the SDK's retries cover blips only.
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 5000, requestTimeout: 60_000 },
      });
  }

  private fullKey(key: string): string {
    return this.root + checkKey(key);
  }

  async put(key: string, body: Uint8Array, opts: { sha256: string; contentType: string }): Promise<PutResult> {
    const actual = sha256Hex(body);
    if (actual !== opts.sha256) throw new ChecksumMismatchError(`refusing to upload ${key}: its bytes hash to ${actual}, not the expected ${opts.sha256}`);
    const checksum = Buffer.from(opts.sha256, 'hex').toString('base64');
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: this.fullKey(key),
      Body: body,
      ContentType: opts.contentType,
      ContentLength: body.length,
      ChecksumSHA256: checksum,
    };
    if (this.opts.sse) input.ServerSideEncryption = this.opts.sse;
    if (this.opts.sse === 'aws:kms' && this.opts.kmsKeyId) input.SSEKMSKeyId = this.opts.kmsKeyId;
    const res = await this.client.send(new PutObjectCommand(input));
    if (res.ChecksumSHA256) {
      if (res.ChecksumSHA256 !== checksum)
        throw new ChecksumMismatchError(`S3 stored ${key} with sha256 ${Buffer.from(res.ChecksumSHA256, 'base64').toString('hex')}, not ${opts.sha256}`);
    } else {
      // A store without checksum support: a single-part, non-KMS PUT has the body's MD5 as ETag.
      const etag = (res.ETag ?? '').replace(/"/g, '');
      const md5 = crypto.createHash('md5').update(body).digest('hex');
      if (!/^[0-9a-f]{32}$/.test(etag))
        throw new ChecksumMismatchError(
          `the store confirmed ${key} with neither a sha256 checksum nor an MD5 ETag (ETag ${JSON.stringify(etag.slice(0, 80))}); cannot verify the upload`,
        );
      if (etag !== md5) throw new ChecksumMismatchError(`the store's ETag for ${key} is ${etag}, not the body's MD5 ${md5}`);
    }
    return { sha256: opts.sha256, bytes: body.length };
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (
        err instanceof NoSuchKey ||
        (err as { name?: string }).name === 'NoSuchKey' ||
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      )
        return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        if (!o.Key?.startsWith(this.root)) continue;
        out.push({ key: o.Key.slice(this.root.length), bytes: o.Size ?? 0, ...(o.ETag ? { version: o.ETag } : {}) });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH).map((k) => ({ Key: this.fullKey(k) }));
      const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }));
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(`S3 refused to delete ${failed.length} of ${batch.length} objects (first: ${first.Key}: ${first.Code} ${first.Message ?? ''})`);
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
