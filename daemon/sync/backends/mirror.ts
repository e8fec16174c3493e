// `mirrorLocal: true`: the primary (s3) is the central copy, and every object is also kept under
// localBaseDir. A put succeeds only when both hold the object, so the watermark never moves past
// what either has; reads and listings come from the primary.
import type { ObjectInfo, PutResult, StorageBackend } from '../backend.js';

export class MirroredBackend implements StorageBackend {
  readonly name: string;
  readonly location: string;

  constructor(
    readonly primary: StorageBackend,
    readonly mirror: StorageBackend,
  ) {
    this.name = primary.name;
    this.location = `${primary.location} (mirrored to ${mirror.location})`;
  }

  async put(key: string, body: Uint8Array, opts: { sha256: string; contentType: string }): Promise<PutResult> {
    const res = await this.primary.put(key, body, opts);
    await this.mirror.put(key, body, opts);
    return res;
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.primary.get(key);
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.primary.list(prefix);
  }

  async delete(keys: string[]): Promise<void> {
    await this.primary.delete(keys);
    await this.mirror.delete(keys);
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.mirror.close()]);
  }
}
