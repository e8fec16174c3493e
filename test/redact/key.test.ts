import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadOrCreateRedactionKey } from '../../daemon/redact/key.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-redact-key-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const posixOnly = process.platform === 'win32' ? it.skip : it;

describe('loadOrCreateRedactionKey', () => {
  posixOnly('creates 32 random bytes with mode 0600, in a 0700 directory if it has to create one', () => {
    const file = path.join(dir, 'nested', 'keys', 'redaction.key');
    const key = loadOrCreateRedactionKey(file);
    expect(key).toHaveLength(32);
    expect(fs.readFileSync(file).equals(key)).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    // No temp files left behind.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['redaction.key']);
  });

  it('returns the same key on later calls and different keys for different files', () => {
    const a = loadOrCreateRedactionKey(path.join(dir, 'a.key'));
    expect(loadOrCreateRedactionKey(path.join(dir, 'a.key')).equals(a)).toBe(true);
    expect(loadOrCreateRedactionKey(path.join(dir, 'b.key')).equals(a)).toBe(false);
  });

  posixOnly('refuses a key file that group or others can read', () => {
    const file = path.join(dir, 'redaction.key');
    loadOrCreateRedactionKey(file);
    fs.chmodSync(file, 0o644);
    expect(() => loadOrCreateRedactionKey(file)).toThrow(/accessible by group or others \(mode 0644\).*chmod 600/);
    fs.chmodSync(file, 0o640);
    expect(() => loadOrCreateRedactionKey(file)).toThrow(/mode 0640/);
    fs.chmodSync(file, 0o600);
    expect(loadOrCreateRedactionKey(file)).toHaveLength(32);
  });

  it('accepts an operator-provisioned hex key and rejects a corrupt one', () => {
    const hexFile = path.join(dir, 'hex.key');
    const hex = 'ab'.repeat(32);
    fs.writeFileSync(hexFile, `${hex}\n`, { mode: 0o600 });
    expect(loadOrCreateRedactionKey(hexFile).toString('hex')).toBe(hex);

    const badFile = path.join(dir, 'bad.key');
    fs.writeFileSync(badFile, 'short', { mode: 0o600 });
    expect(() => loadOrCreateRedactionKey(badFile)).toThrow(/corrupt/);
  });

  it('keeps the key another process created first (no clobbering in a race)', () => {
    const file = path.join(dir, 'raced.key');
    const winner = Buffer.alloc(32, 7);
    const realLink = fs.linkSync.bind(fs);
    // The other process finishes between our existence check and our link().
    vi.spyOn(fs, 'linkSync').mockImplementationOnce((src, dest) => {
      fs.writeFileSync(dest, winner, { mode: 0o600 });
      realLink(src, dest);
    });
    expect(loadOrCreateRedactionKey(file).equals(winner)).toBe(true);
    expect(fs.readFileSync(file).equals(winner)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['raced.key']);
  });
});
