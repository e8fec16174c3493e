// Hook start-up cost: the hook runs on every Claude Code tool call. Measured as a ratio against a
// bare `node -e 0` in the same run, runs interleaved so machine noise hits both sides alike.
// Also measures the alternative a reader would reach for first (@grpc/grpc-js + proto-loader),
// to keep the choice in hook/grpc.ts honest.
import fs from 'node:fs';
import path from 'node:path';
import { median, percentile, ROOT, startDaemon, tempDataDir, wallMs, writeResult } from './lib.mjs';

const RUNS = Number(process.env.RBK_BENCH_HOOK_RUNS ?? 40);
const FLOOR = 1.3;

const dataDir = tempDataDir('hook');
const daemon = await startDaemon(dataDir);
const payload = JSON.stringify({
  session_id: '3f1c2a9e-0000-4000-8000-00000000b001',
  transcript_path: path.join(dataDir, 'none', 'bench.jsonl'),
  cwd: '/tmp/bench',
  hook_event_name: 'PreToolUse',
  tool_name: 'Bash',
  tool_use_id: 'toolu_bench',
  tool_input: { command: 'npm test', description: 'Run the tests' },
  permission_mode: 'default',
});
const hookBundle = path.join(ROOT, 'dist', 'hook', 'rbk-hook.cjs');
const grpcJsClient = path.join(dataDir, 'grpcjs-client.mjs');
fs.writeFileSync(
  grpcJsClient,
  `import { loadServices } from ${JSON.stringify(path.join(ROOT, 'dist', 'daemon', 'rpc', 'protos.js'))};
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
const payload = fs.readFileSync(0);
const c = new (loadServices().Ingest)('unix:' + process.env.RBK_SOCKET, grpc.credentials.createInsecure());
c.SubmitHook({ eventId: randomUUID(), eventName: 'PreToolUse', payload, hookStartedUnixMs: Date.now(), sentUnixMs: Date.now(), clientVersion: 'bench' }, (err) => process.exit(err ? 1 : 0));
`,
);
// The grpc-js client must resolve @grpc/grpc-js from the project.
fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dataDir, 'node_modules'));

const env = { ...daemon.env, RBK_SOCKET: daemon.socket };
const samples = { bare: [], hook: [], grpcJs: [] };
for (let i = 0; i < RUNS; i++) {
  samples.bare.push(wallMs(process.execPath, ['-e', '0']));
  samples.hook.push(wallMs(process.execPath, [hookBundle], { input: payload, env }));
  if (i % 4 === 0) samples.grpcJs.push(wallMs(process.execPath, [grpcJsClient], { input: payload, env }));
}
await daemon.stop();

const spooled = fs.existsSync(path.join(dataDir, 'spool')) ? fs.readdirSync(path.join(dataDir, 'spool')).filter((f) => f.endsWith('.json')).length : 0;
const bare = median(samples.bare);
const hook = median(samples.hook);
const grpcJs = median(samples.grpcJs);
const result = writeResult('hook', {
  runs: RUNS,
  bareNodeMedianMs: +bare.toFixed(1),
  hookMedianMs: +hook.toFixed(1),
  hookP95Ms: +percentile(samples.hook, 95).toFixed(1),
  grpcJsMedianMs: +grpcJs.toFixed(1),
  ratio: +(hook / bare).toFixed(3),
  grpcJsRatio: +(grpcJs / bare).toFixed(3),
  floor: FLOOR,
  spooledDuringBench: spooled,
  pass: hook / bare <= FLOOR && spooled === 0,
});
fs.rmSync(dataDir, { recursive: true, force: true });
console.log(
  `hook: median ${result.hookMedianMs} ms vs bare node ${result.bareNodeMedianMs} ms = ${result.ratio}x (floor ${FLOOR}x; grpc-js client ${result.grpcJsRatio}x) ${result.pass ? 'PASS' : 'FAIL'}`,
);
