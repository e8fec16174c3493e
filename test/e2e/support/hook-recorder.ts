// A stand-in hook: a tiny node script that appends each hook's stdin (one JSON payload) as one
// line to a log file and prints nothing, so that tests can see exactly what Claude Code sends.
import fs from 'node:fs';
import path from 'node:path';

export interface HookPayload {
  session_id: string;
  transcript_path: string;
  cwd: string;
  hook_event_name: string;
  [field: string]: unknown;
}

export interface HookRecorder {
  /** The command to register (absolute node + script path, shell-quoted). */
  command: string;
  script: string;
  logFile: string;
  /** The payloads logged so far, in the order the hooks finished. */
  read(): HookPayload[];
}

/** Quotes a string for /bin/sh. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_/.,:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const SCRIPT = `import fs from 'node:fs';
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const raw = Buffer.concat(chunks).toString('utf8');
  let line;
  try { line = JSON.stringify(JSON.parse(raw)); } catch { line = JSON.stringify({ unparsed: raw }); }
  fs.appendFileSync(process.argv[2], line + '\\n');
});
`;

/** Writes the recorder script into `dir` and returns the command that runs it. */
export function createHookRecorder(dir: string, logName = 'hooks.jsonl'): HookRecorder {
  fs.mkdirSync(dir, { recursive: true });
  const script = path.join(dir, 'record-hook.mjs');
  const logFile = path.join(dir, logName);
  fs.writeFileSync(script, SCRIPT);
  return {
    command: [process.execPath, script, logFile].map(shellQuote).join(' '),
    script,
    logFile,
    read: () =>
      fs.existsSync(logFile)
        ? fs
            .readFileSync(logFile, 'utf8')
            .split('\n')
            .filter((l) => l.trim().length > 0)
            .map((l) => JSON.parse(l) as HookPayload)
        : [],
  };
}
