// The package root, found by walking up from this file: the same answer whether the code runs
// compiled from dist/ or as TypeScript source under vitest.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && fs.existsSync(path.join(dir, 'migrations'))) return (cached = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the rbk package root (package.json beside migrations/)');
    dir = parent;
  }
}
