// Builds the configured StorageBackend. `local` (the default) needs no account; `s3` uses the AWS
// default credential chain; mirrorLocal keeps a local copy beside s3.
import path from 'node:path';
import type { RbkPaths } from '../../../common/paths.js';
import type { RbkConfig } from '../../config/schema.js';
import type { StorageBackend } from '../backend.js';
import { LocalBackend } from './local.js';
import { normalizePrefix } from './keys.js';
import { MirroredBackend } from './mirror.js';
import type { S3BackendOptions } from './s3.js';

export { LocalBackend, ChecksumMismatchError, sha256Hex } from './local.js';
export { MirroredBackend } from './mirror.js';
export { InvalidKeyError } from './keys.js';

/** <dataDir>/<localBaseDir>; an absolute localBaseDir is used as it is. */
export function localBaseDir(config: RbkConfig, paths: Pick<RbkPaths, 'dataDir'>): string {
  return path.resolve(paths.dataDir, config.integrations.claude.sessionStorage.localBaseDir);
}

export function createBackend(config: RbkConfig, paths: Pick<RbkPaths, 'dataDir'>): StorageBackend {
  const s = config.integrations.claude.sessionStorage;
  const local = () => new LocalBackend(localBaseDir(config, paths));
  if (s.backend === 'local') return local();
  if (!s.s3.bucket) throw new Error('integrations.claude.sessionStorage.s3.bucket is required when backend is "s3"');
  const s3 = new DeferredS3Backend({
    bucket: s.s3.bucket,
    prefix: s.s3.prefix,
    region: s.s3.region,
    endpoint: s.s3.endpoint,
    forcePathStyle: s.s3.forcePathStyle,
    sse: s.s3.sse,
    kmsKeyId: s.s3.kmsKeyId,
  });
  return s.mirrorLocal ? new MirroredBackend(s3, local()) : s3;
}

/**
 * The s3 backend, loading the AWS SDK on first use: the SDK costs every daemon start about
 * 22 MB of RSS and 130 ms, and most installations keep the default local backend.
 */
class DeferredS3Backend implements StorageBackend {
  readonly name = 's3';
  readonly location: string;
  private real: Promise<StorageBackend> | null = null;

  constructor(private readonly opts: S3BackendOptions) {
    const prefix = normalizePrefix(opts.prefix);
    this.location = `s3://${opts.bucket}/${prefix ? `${prefix}/` : ''}`;
  }

  private backend(): Promise<StorageBackend> {
    return (this.real ??= import('./s3.js').then(({ S3Backend }) => new S3Backend(this.opts)));
  }

  async put(key: string, body: Uint8Array, opts: { sha256: string; contentType: string }) {
    return (await this.backend()).put(key, body, opts);
  }

  async get(key: string) {
    return (await this.backend()).get(key);
  }

  async list(prefix: string) {
    return (await this.backend()).list(prefix);
  }

  async delete(keys: string[]) {
    return (await this.backend()).delete(keys);
  }

  async close() {
    if (this.real) await (await this.real).close();
  }
}
