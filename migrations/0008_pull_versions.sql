-- `rbk pull` re-reads only manifests that changed (daemon/sync/pull.ts). The listing already
-- says which: each object comes with a version that changes whenever it is replaced (S3's ETag,
-- the local backend's inode, size and mtime). The version listed before the last pull that
-- stored a manifest in full is kept here; a later pull that lists the same version skips the GET.
-- NULL (rows from before this migration, or a backend that cannot tell) means: GET it.
ALTER TABLE pull_sessions ADD COLUMN manifest_version TEXT;
