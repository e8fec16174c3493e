// The committed wire types (common/wire, generated from proto/ by scripts/gen-wire.mjs) are what
// the generator makes from the protos as they are now: a .proto edited without `npm run gen:wire`
// fails here, before a handler or the CLI can drift from the wire.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const committed = path.join(root, 'common', 'wire');

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('generated wire types', () => {
  it('common/wire is what scripts/gen-wire.mjs generates from proto/ now', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-wire-'));
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-wire.mjs'), '--out', out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const fresh = files(out);
      expect(fresh.length).toBeGreaterThan(80);
      expect(files(committed)).toEqual(fresh);
      const stale = fresh.filter((f) => fs.readFileSync(path.join(out, f), 'utf8') !== fs.readFileSync(path.join(committed, f), 'utf8'));
      expect(stale, 'run npm run gen:wire and commit common/wire').toEqual([]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
