// Builds the configured StorageBackend. `local` (the default) needs no account; `s3` uses the AWS
// default credential chain; mirrorLocal keeps a local copy beside s3.
import path from 'node:path';
import type { RbkPaths } from '../../../common/paths.js';
import type { RbkConfig } from '../../config/schema.js';
import type { StorageBackend } from '../backend.js';
import { LocalBackend } from './local.js';
import { MirroredBackend } from './mirror.js';
import { S3Backend } from './s3.js';

export { LocalBackend, ChecksumMismatchError, sha256Hex } from './local.js';
export { S3Backend } from './s3.js';
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
  const s3 = new S3Backend({
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
