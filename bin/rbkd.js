#!/usr/bin/env node
// rbkd, the daemon. --help and --version answer without starting anything.
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h') || argv.includes('--version') || argv.length > 0) {
  const { RBK_VERSION } = await import('../dist/common/version.js');
  if (argv.includes('--version')) {
    process.stdout.write(`${RBK_VERSION}\n`);
    process.exit(0);
  }
  const help = [
    `rbkd ${RBK_VERSION}: the rbk daemon, in the foreground. Ctrl-C (or SIGTERM) stops it.`,
    '',
    'It takes no options: configuration comes from the config file (RBK_CONFIG), the data dir',
    '(RBK_DATA_DIR) and the socket (RBK_SOCKET). To run it in the background use `rbk start`;',
    'to run it as a user service use `rbk install`. `rbk --help` lists every command.',
  ].join('\n');
  const asked = argv.includes('--help') || argv.includes('-h');
  (asked ? process.stdout : process.stderr).write(`${asked ? '' : `rbkd: unknown argument "${argv[0]}"\n\n`}${help}\n`);
  process.exit(asked ? 0 : 2);
}
const { main } = await import('../dist/daemon/main.js');
await main();
