// Entry point: npx vite-node test/e2e/support/capture-fixtures.ts [scenario ...]
// Captures real Claude Code artifacts into test/fixtures/claude-code/e2e-captured/ (see capture.ts).
import path from 'node:path';
import { REPO_ROOT, findClaudeBinary } from './claude.js';
import { DEFAULT_SCENARIOS, captureScenario, writeTopReadme } from './capture.js';

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : DEFAULT_SCENARIOS;
await findClaudeBinary();
writeTopReadme();
for (const name of names) {
  const out = await captureScenario(name);
  process.stdout.write(`captured ${name} -> ${path.relative(REPO_ROOT, out)}\n`);
}
