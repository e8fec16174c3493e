#!/usr/bin/env node
// `rbk hook` skips the CLI entirely: it runs on every Claude Code event and must start fast.
// With --help it goes through the CLI like every other command, which prints help and sends nothing.
const argv = process.argv.slice(2);
if (argv[0] === 'hook' && !argv.includes('--help') && !argv.includes('-h')) {
  process.on('uncaughtException', () => process.exit(0));
  const { runHook } = await import('../dist/hook/main.js');
  await runHook(argv.slice(1)).catch(() => {});
  process.exit(0);
} else {
  const { main } = await import('../dist/cli/main.js');
  await main();
}
