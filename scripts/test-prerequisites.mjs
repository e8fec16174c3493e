#!/usr/bin/env node
// The tools some tests check rbk's output with, which npm cannot bring: Debian's chromium (renders
// the HTML export), promtool (checks /metrics and the Grafana queries), systemd-analyze (verifies
// the unit `rbk install` writes), tmux and less (the CLI on a real terminal). `npm test` runs this
// first (pretest), so the README's `npm ci && npm test` passes on a fresh machine of the kind CI
// uses: when a tool is missing and this user is root, or has sudo without a password, it installs
// the Debian package and says so; otherwise it prints the command to run and exits 1, because the
// tests would fail later with less to go on.
//
//   node scripts/test-prerequisites.mjs [--check]     (--check: report only, install nothing)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TOOLS = [
  { command: 'chromium', path: '/usr/bin/chromium', pkg: 'chromium', why: 'renders the HTML export and the console in headless Chromium' },
  { command: 'promtool', pkg: 'prometheus', why: 'checks the Prometheus metrics and the Grafana queries' },
  { command: 'systemd-analyze', pkg: 'systemd', why: 'verifies the systemd unit rbk install writes' },
  { command: 'tmux', pkg: 'tmux', why: 'drives the CLI on a real terminal' },
  { command: 'less', pkg: 'less', why: 'the pager the CLI opens on a terminal' },
];

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const present = (t) => (t.path ? existsSync(t.path) : onPath(t.command));

const missing = TOOLS.filter((t) => !present(t));
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.map((t) => t.pkg))];
const manual = `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`;
const list = missing.map((t) => `  ${t.command} (Debian package ${t.pkg}): ${t.why}`).join('\n');

const checkOnly = process.argv.includes('--check');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = onPath('apt-get');
const sudoWorks = !isRoot && onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;

if (checkOnly || !hasApt || (!isRoot && !sudoWorks)) {
  const why = checkOnly
    ? ''
    : !hasApt
      ? ' (no apt-get here: install the equivalents with your package manager)'
      : ' (not root and no passwordless sudo, so not installed automatically)';
  console.error(`test prerequisites missing${why}:\n${list}\nInstall them with:\n  ${manual}`);
  process.exit(1);
}

console.log(`test prerequisites: installing Debian packages ${packages.join(' ')}:\n${list}`);
const prefix = isRoot ? [] : ['sudo', '-n'];
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['apt-get', 'update', '-qq'],
  // --reinstall: a package can be installed with its binary gone (a broken or trimmed image).
  ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', '--reinstall', ...packages],
]) {
  const cmd = [...prefix, ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) {
    console.error(`test prerequisites: \`${cmd.join(' ')}\` failed (exit ${r.status}). Install them by hand:\n  ${manual}`);
    process.exit(1);
  }
}
const still = TOOLS.filter((t) => !present(t));
if (still.length > 0) {
  console.error(`test prerequisites: still missing after apt-get: ${still.map((t) => t.command).join(', ')}`);
  process.exit(1);
}
console.log('test prerequisites: installed.');
