// One small interface per storage backend (after Litestream's ReplicaClient): the sync engine,
// pull, S3 compaction and S3 retention speak only this, so that local, s3 and a future github
// backend are interchangeable. Keys are always built by layout.ts from validated ids, never from
// raw input, and are relative to the backend's root (the s3 prefix or the local base dir).

export interface PutResult {
  /** Hex sha256 of the bytes stored, as verified by the backend (S3: the ChecksumSHA256 it returned). */
  sha256: string;
  bytes: number;
}

export interface ObjectInfo {
  key: string;
  bytes: number;
  /**
   * Changes whenever the object is replaced (S3: the ETag; local: inode, size and mtime), so a
   * reader can tell an object it has already read from a new one without reading it. Absent when
   * the backend cannot tell.
   */
  version?: string;
}

export interface StorageBackend {
  /** 'local' | 's3' | ...: shown in `rbk sync status` and metrics labels. */
  readonly name: string;
  /** Where the data goes, for people: "s3://bucket/prefix" or a directory. Never holds a credential. */
  readonly location: string;
  /**
   * Stores `body` under `key`, replacing any object there, atomically: a reader sees the old
   * object or the new one, never part of one. Resolves only once the backend has confirmed the
   * bytes with a checksum matching `sha256`; rejects otherwise.
   */
  put(key: string, body: Uint8Array, opts: { sha256: string; contentType: string }): Promise<PutResult>;
  /** The object's bytes, or null when there is no object under `key`. */
  get(key: string): Promise<Uint8Array | null>;
  /** Every key under `prefix` (a layout prefix ending in "/"), in lexical order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the keys; keys that do not exist are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}
