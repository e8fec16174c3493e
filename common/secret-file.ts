// Per-install secrets (the console's signing key, the OTLP receiver's token): 32 random bytes as
// hex in a 0600 file of the data dir, made on first use by whichever process needs it first (the
// daemon, or `rbk install` writing the token into Claude Code's settings). 'wx' makes the creation
// atomic, so two processes racing both end up with the one secret that was written.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SECRET_BYTES = 32;

/** The secret as 64 hex digits; `what` names it in the error a damaged file gives. */
export function loadOrCreateSecret(file: string, what: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${crypto.randomBytes(SECRET_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new Error(`${file} is not an rbk ${what} (64 hex digits); delete it and restart rbkd to make a new one`);
  }
  return hex;
}
