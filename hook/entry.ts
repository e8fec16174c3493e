// Entry point that Claude Code runs. Built by esbuild into one CommonJS file,
// dist/hook/rbk-hook.cjs: a single CJS file skips the ESM loader and the module graph walk, which
// is most of the difference between 1.35x and 1.1x a bare `node -e 0` (docs/benchmarks.md).
import { runHook } from './main.js';

process.on('uncaughtException', () => process.exit(0));
process.on('unhandledRejection', () => process.exit(0));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  // Help goes to stderr: stdout of a hook is read by Claude Code. Nothing is sent.
  process.stderr.write(
    'rbk-hook: Claude Code runs this with one hook event as JSON on stdin; it forwards it to rbkd and always exits 0. See `rbk hook --help`.\n',
  );
  process.exit(0);
}
runHook().finally(() => process.exit(0));
