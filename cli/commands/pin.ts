// `rbk sessions pin|unpin <id|prefix>`: a pinned session is never expired by retention.
import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { iso } from '../format.js';
import type { Io } from '../io.js';
import type { WirePinResponse } from '../wire.js';

export async function pinCommand(io: Io, opts: { id: string; pinned: boolean; json: boolean }): Promise<number> {
  const r = await call<WirePinResponse>('Jobs', 'Pin', { sessionId: opts.id, pinned: opts.pinned });
  const expiredAt = iso(r.expiredUnixMs);
  if (opts.json) {
    io.json({ id: r.sessionId, pinned: r.pinned, changed: r.changed, expiredAt });
    return EXIT.ok;
  }
  const what = r.pinned ? 'pinned: retention will keep it' : 'unpinned: retention may expire it once it is old enough';
  io.out(`${r.sessionId} ${r.changed ? '' : 'was already '}${what}`);
  if (expiredAt && r.pinned) io.out(`note: its history was already removed by retention at ${expiredAt}; pinning keeps what arrives from now on`);
  return EXIT.ok;
}
