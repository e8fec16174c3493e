#!/usr/bin/env node
// `rbk hook` skips the CLI entirely: it runs on every Claude Code event and must start fast.
if (process.argv[2] === 'hook') {
  process.on('uncaughtException', () => process.exit(0));
  const { runHook } = await import('../dist/hook/main.js');
  await runHook(process.argv.slice(3)).catch(() => {});
  process.exit(0);
} else {
  const { main } = await import('../dist/cli/main.js');
  await main();
}
