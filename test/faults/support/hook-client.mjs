// One hook client process for the hook storm (test/faults/hook-storm.test.ts). It runs the real
// hook delivery code (deliverHookEvent from dist/hook/main.js: send over the raw HTTP/2 client,
// else spool) in a loop, because 10,000 separate node processes would take minutes on two cores.
//
//   node hook-client.mjs <clientIndex> <events> <pauseMs>
//
// Environment: RBK_DATA_DIR (and RBK_HOOK_TIMEOUT_MS) as for the real hook.
// Prints one JSON line at the end: the event ids it generated, per-outcome counts and the
// slowest delivery, so the test can count every id in SQLite.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { deliverHookEvent } = await import(pathToFileURL(path.join(root, 'dist', 'hook', 'main.js')).href);

const [clientArg, eventsArg, pauseArg] = process.argv.slice(2);
const client = Number(clientArg);
const events = Number(eventsArg);
const pauseMs = Number(pauseArg);
const sessionId = `storm-session-${client}`;
const EVENTS = ['PreToolUse', 'PostToolUse', 'UserPromptSubmit', 'Notification', 'Stop'];

const ids = [];
const outcomes = { direct: 0, spooled: 0, lost: 0 };
const lostReasons = [];
// Why events were spooled, with the volatile parts (paths, sizes) cut off: ENOENT, ECONNREFUSED, timeout, ...
const spoolReasons = {};
let slowestMs = 0;
for (let i = 0; i < events; i++) {
  const eventName = EVENTS[i % EVENTS.length];
  const payload = Buffer.from(
    JSON.stringify({
      session_id: sessionId,
      cwd: '/tmp/rbk-storm',
      hook_event_name: eventName,
      tool_name: 'Bash',
      tool_use_id: `toolu_${client}_${i}`,
      storm_seq: `${client}-${i}`,
    }),
  );
  const started = Date.now();
  const r = await deliverHookEvent({ payload, eventName, started });
  slowestMs = Math.max(slowestMs, Date.now() - started);
  ids.push(r.eventId);
  outcomes[r.outcome] += 1;
  if (r.outcome === 'lost' && lostReasons.length < 5) lostReasons.push(r.reason);
  if (r.outcome === 'spooled') {
    const reason = String(r.reason);
    const why = /\bE[A-Z]{3,}\b/.exec(reason)?.[0] ?? reason.replace(/\d+/g, 'N').split(' ').slice(0, 4).join(' ');
    spoolReasons[why] = (spoolReasons[why] ?? 0) + 1;
  }
  if (pauseMs > 0) await new Promise((res) => setTimeout(res, Math.random() * 2 * pauseMs));
}
process.stdout.write(`${JSON.stringify({ client, ids, outcomes, slowestMs, lostReasons, spoolReasons })}\n`);
