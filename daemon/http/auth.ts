// Who may use the web console. Everything it serves is what the user's agents saw, so access needs
// the per-install secret (a 0600 file in the data dir), never just "being on this machine": other
// local users and any web page the browser has open can reach a loopback port.
//
// - `rbk ui` asks the daemon for a one-time login URL (a nonce, an expiry and an HMAC); using it
//   sets an HttpOnly, SameSite=Strict cookie and burns the nonce.
// - The cookie is itself signed (issue time + HMAC), so it survives daemon restarts and is revoked
//   for everyone by deleting ui-secret.
// - Mutating requests also carry a CSRF token derived from the cookie, which only a page served
//   by the console can read (no CORS).
import crypto from 'node:crypto';
import { loadOrCreateSecret } from '../../common/secret-file.js';

/** A login link is for the browser `rbk ui` opens now, not for later. */
export const LOGIN_TTL_MS = 5 * 60_000;
export const SESSION_COOKIE = 'rbk_console';

export class UiAuth {
  private readonly key: Buffer;
  /** Nonces already used, until they would have expired anyway. */
  private readonly usedLogins = new Map<string, number>();

  constructor(
    secretFile: string,
    private readonly loginMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(loadOrCreateSecret(secretFile, 'console secret (every console login is signed out when it changes)'), 'hex');
  }

  private mac(what: string): string {
    return crypto.createHmac('sha256', this.key).update(what).digest('base64url');
  }

  /** A token for one login, valid for LOGIN_TTL_MS. */
  mintLogin(): string {
    const nonce = crypto.randomBytes(16).toString('base64url');
    const expires = this.now() + LOGIN_TTL_MS;
    return `${nonce}.${expires}.${this.mac(`login|${nonce}|${expires}`)}`;
  }

  /** True once per valid, unexpired token. */
  redeemLogin(token: string): boolean {
    const m = /^([A-Za-z0-9_-]{22})\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return false;
    const [, nonce = '', expiresText = '', mac = ''] = m;
    const expires = Number(expiresText);
    if (!safeEqual(mac, this.mac(`login|${nonce}|${expires}`))) return false;
    const now = this.now();
    for (const [n, exp] of this.usedLogins) if (exp < now) this.usedLogins.delete(n);
    if (expires < now || this.usedLogins.has(nonce)) return false;
    this.usedLogins.set(nonce, expires);
    return true;
  }

  /** The cookie value a login sets. */
  issueSession(): string {
    const issued = this.now();
    return `s1.${issued}.${this.mac(`session|${issued}`)}`;
  }

  checkSession(value: string | undefined): boolean {
    if (!value) return false;
    const m = /^s1\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const issued = Number(m[1]);
    const now = this.now();
    return safeEqual(m[2] ?? '', this.mac(`session|${issued}`)) && issued <= now + 60_000 && now - issued < this.loginMs;
  }

  /** The CSRF token that goes with a session cookie. */
  csrfFor(session: string): string {
    return this.mac(`csrf|${session}`);
  }

  checkCsrf(session: string, token: string | undefined): boolean {
    return typeof token === 'string' && safeEqual(token, this.csrfFor(session));
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** The secret, created on first use (0600, exclusive create so two starts cannot race). */
/** Cookie header → the console's session cookie value. */
export function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}
