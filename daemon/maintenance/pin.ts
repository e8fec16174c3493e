// Pinning: a pinned session is never expired by retention.
import type { Db } from '../store/db.js';
import { SessionStore } from '../store/session-store.js';
import type { SessionQueries } from '../store/sessions.js';

export interface PinResult {
  sessionId: string;
  pinned: boolean;
  /** False when the session already was so. */
  changed: boolean;
  /** When retention removed its history, or null. */
  expiredAt: number | null;
}

/** Pins or unpins a session named by its id or a unique prefix (NotFoundError / AmbiguousIdError otherwise). */
export function setPinned(db: Db, sessions: SessionQueries, idOrPrefix: string, pinned: boolean, now: number): PinResult {
  const id = sessions.resolveId(idOrPrefix);
  const changed = new SessionStore(db).setPinned(id, pinned, now);
  const expiredAt = db.prepare('SELECT expired_at FROM sessions WHERE id = ?').pluck().get(id) as number | null;
  return { sessionId: id, pinned, changed, expiredAt: expiredAt ?? null };
}
