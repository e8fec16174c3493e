#!/usr/bin/env node
// Builds the web console (ui/) into dist/ui: one minified script, one stylesheet and index.html,
// which the daemon serves itself (daemon/http/server.ts). Nothing is fetched at run time, so the
// console works offline and its Content-Security-Policy can allow this origin only.
// `npm run build` runs it (and so does `npm ci`, through prepare). Prints the gzipped sizes.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'ui');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(root, 'ui', 'src', 'main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  logLevel: 'warning',
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
});
fs.copyFileSync(path.join(root, 'ui', 'index.html'), path.join(out, 'index.html'));
fs.copyFileSync(path.join(root, 'ui', 'app.css'), path.join(out, 'app.css'));
if (process.argv.includes('--sizes')) {
  for (const f of fs.readdirSync(out)) {
    const b = fs.readFileSync(path.join(out, f));
    console.log(`${f}\t${b.length} B\t${zlib.gzipSync(b, { level: 9 }).length} B gzipped`);
  }
}
