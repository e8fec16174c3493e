// Converting rows written before storage v2 (migration 0015) in place: their plain `raw` and
// `tool_use_result` become packed (line-codec.ts). One window of ids per transaction, and the
// window's end is saved in storage_pack in the same transaction, so a kill -9 at any moment leaves
// every row either as it was or packed, and the next run starts after the last committed window.
// Decoding a packed row gives back exactly the text it replaced (test/store/pack.test.ts hashes
// every row before and after). The job around it is daemon/maintenance/pack.ts.
import type { Db } from './db.js';
import { InteractionStore } from './interactions.js';
import { packInteraction, packText, type StoredBody } from './line-codec.js';

export interface PackProgress {
  /** Highest id written before storage v2. */
  untilId: number;
  /** Every row up to here is packed. */
  throughId: number;
  done: boolean;
}

export class PackStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      progress: db.prepare('SELECT until_id AS untilId, through_id AS throughId FROM storage_pack WHERE id = 1'),
      window: db.prepare(
        `SELECT id, rbk_text(text) AS text, typeof(text) = 'text' AS plain_text, tool_input, tool_use_result, raw FROM interactions
         WHERE id > @after AND id <= @until
           AND (typeof(raw) = 'text' OR typeof(tool_use_result) = 'text' OR (typeof(text) = 'text' AND length(text) >= 1024))
         ORDER BY id LIMIT @limit`,
      ),
      interactions: new InteractionStore(db),
      advance: db.prepare(
        'UPDATE storage_pack SET through_id = @through, started_at = COALESCE(started_at, @now), finished_at = CASE WHEN @through >= until_id THEN @now END WHERE id = 1',
      ),
    };
  }

  progress(): PackProgress {
    const p = this.stmts.progress.get() as { untilId: number; throughId: number } | undefined;
    if (!p) return { untilId: 0, throughId: 0, done: true };
    return { ...p, done: p.throughId >= p.untilId };
  }

  /**
   * Packs the next `limit` plain rows (at most) in one transaction. Returns the rows changed, the
   * bytes before and after, and where it stopped.
   */
  packNext(limit: number, now = Date.now()): { rows: number; bytesBefore: number; bytesAfter: number; throughId: number; done: boolean } {
    return this.db.transaction(() => {
      const p = this.progress();
      if (p.done) return { rows: 0, bytesBefore: 0, bytesAfter: 0, throughId: p.throughId, done: true };
      const rows = this.stmts.window.all({ after: p.throughId, until: p.untilId, limit }) as {
        id: number;
        text: string;
        plain_text: number;
        tool_input: string | null;
        tool_use_result: StoredBody;
        raw: StoredBody;
      }[];
      let bytesBefore = 0;
      let bytesAfter = 0;
      for (const r of rows) {
        // Only plain values are packed; a value already packed (or NULL) stays as it is.
        const toolUseResult = typeof r.tool_use_result === 'string' ? r.tool_use_result : null;
        const raw = typeof r.raw === 'string' ? r.raw : null;
        const packed = packInteraction({ text: r.text, toolInput: r.tool_input, toolUseResult, raw });
        const out = {
          text: r.plain_text ? packText(r.text) : null,
          toolUseResult: toolUseResult === null ? r.tool_use_result : packed.toolUseResult,
          raw: raw === null ? r.raw : packed.raw,
        };
        bytesBefore += (r.plain_text ? size(r.text) : 0) + size(r.tool_use_result) + size(r.raw);
        bytesAfter += (r.plain_text ? size(out.text) : 0) + size(out.toolUseResult) + size(out.raw);
        this.stmts.interactions.pack(r.id, out);
      }
      // Fewer rows than asked: nothing plain is left up to until_id.
      const through = rows.length < limit ? p.untilId : rows.at(-1)!.id;
      this.stmts.advance.run({ through, now });
      return { rows: rows.length, bytesBefore, bytesAfter, throughId: through, done: through >= p.untilId };
    })();
  }
}

function size(v: StoredBody): number {
  if (v === null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}
