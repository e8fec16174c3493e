// This machine's name as rbk records it (sessions.host, the central copy's host= partition).
// RBK_HOSTNAME overrides it: for tests that run two "machines" on one, and for hosts whose name
// changes (DHCP, laptops) but should keep one identity in the bucket.
import os from 'node:os';

export function localHostname(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.RBK_HOSTNAME?.trim();
  return fromEnv && fromEnv.length > 0 ? fromEnv.slice(0, 253) : os.hostname();
}
