// Reads rows out of a damaged SQLite file page by page, as the sqlite3 shell's `.recover` does,
// without the shell: a fresh machine has Node and npm and nothing else, and better-sqlite3 is not
// built with SQLite's recovery extension or the sqlite_dbpage table. The format is SQLite's
// documented file format (https://www.sqlite.org/fileformat2.html); only what rbk's schema uses is
// read: UTF-8 text, rowid tables (the one WITHOUT ROWID table, usage_rollup, is derived and rebuilt).
//
// How rows are found:
// 1. each table's b-tree is walked from its root page (from sqlite_schema, read by SQLite itself
//    when page 1 is sound); a page that does not parse is counted as lost and its subtree skipped;
// 2. every other page that is a table leaf (not on the free list, not a pointer-map page, not an
//    overflow page) is an orphan: its parent was damaged. Its rows go to the one table whose
//    columns they fit (count, types, NOT NULL); a page that fits none or several is counted, not
//    guessed.
import fs from 'node:fs';
import Database from 'better-sqlite3';

export interface TableShape {
  name: string;
  /** Root page in the damaged file; 0 when unknown (page 1 unreadable). */
  rootPage: number;
  columns: { name: string; type: string; notNull: boolean }[];
  /** The INTEGER PRIMARY KEY column, whose value is the rowid (stored as NULL in the record). */
  rowidColumn: number | null;
}

export type SqlValue = null | number | bigint | string | Buffer;

export interface SalvagedRows {
  table: string;
  columns: string[];
  rows: SqlValue[][];
  fromOrphanPages: number;
}

export interface SalvageStats {
  pageSize: number;
  pages: number;
  /** Pages reached from a root (or scanned as orphans) that did not parse: their rows are lost. */
  pagesUnreadable: number;
  /** Table leaf pages no tree reached, attributed to a table by the shape of their rows. */
  orphanPagesAttributed: number;
  /** Orphan table leaves that fit no table, or more than one: counted, not guessed. */
  orphanPagesUnattributed: number;
  orphanRowsUnattributed: number;
  /** Cells on readable pages whose record did not decode. */
  cellsUnreadable: number;
  /** False when page 1 was lost: pages freed before the damage cannot be told from orphans, so deleted rows may come back. */
  freeListKnown: boolean;
  /** Where the table list came from: the damaged file's own schema, or (page 1 lost) the caller's. */
  schemaFrom: 'file' | 'expected';
}

class PageError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A SQLite varint at buf[off]: returns [value, bytes]. 9 bytes at most; values beyond 2^53 come back as bigint. */
function varint(buf: Buffer, off: number): [number | bigint, number] {
  let v = 0n;
  for (let i = 0; i < 8; i++) {
    if (off + i >= buf.length) throw new PageError('varint past the end of the page');
    const b = buf[off + i]!;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) return [v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v, i + 1];
  }
  if (off + 8 >= buf.length) throw new PageError('varint past the end of the page');
  v = (v << 8n) | BigInt(buf[off + 8]!);
  return [v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : BigInt.asIntN(64, v), 9];
}

function num(v: number | bigint, what: string): number {
  if (typeof v === 'bigint' || v < 0 || v > 2 ** 31) throw new PageError(`${what} out of range`);
  return v;
}

/** Decodes a record (https://www.sqlite.org/fileformat2.html#record_format). */
function decodeRecord(payload: Buffer): SqlValue[] {
  const [hdrLen, n0] = varint(payload, 0);
  const headerEnd = num(hdrLen, 'record header size');
  if (headerEnd > payload.length || headerEnd < n0) throw new PageError('record header size past the payload');
  const types: number[] = [];
  for (let p = n0; p < headerEnd; ) {
    const [t, n] = varint(payload, p);
    types.push(num(t, 'serial type'));
    p += n;
  }
  const values: SqlValue[] = [];
  let p = headerEnd;
  for (const t of types) {
    const need = (len: number) => {
      if (p + len > payload.length) throw new PageError('record body past the payload');
    };
    if (t === 0) values.push(null);
    else if (t >= 1 && t <= 6) {
      const len = [0, 1, 2, 3, 4, 6, 8][t]!;
      need(len);
      if (len === 8) {
        const v = payload.readBigInt64BE(p);
        values.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
      } else values.push(payload.readIntBE(p, len));
      p += len;
    } else if (t === 7) {
      need(8);
      values.push(payload.readDoubleBE(p));
      p += 8;
    } else if (t === 8) values.push(0);
    else if (t === 9) values.push(1);
    else if (t === 10 || t === 11) throw new PageError('reserved serial type');
    else {
      const len = t % 2 === 0 ? (t - 12) / 2 : (t - 13) / 2;
      need(len);
      if (t % 2 === 0) values.push(Buffer.from(payload.subarray(p, p + len)));
      else {
        // rbk writes only valid UTF-8: bytes that do not decode are damage, not text.
        try {
          values.push(utf8.decode(payload.subarray(p, p + len)));
        } catch {
          throw new PageError('text that is not UTF-8');
        }
      }
      p += len;
    }
  }
  return values;
}

/** Does a decoded record fit this table's columns? (used only to place rows of orphan pages) */
function fits(values: SqlValue[], t: TableShape): boolean {
  if (values.length === 0 || values.length > t.columns.length) return false;
  for (let i = 0; i < t.columns.length; i++) {
    const c = t.columns[i]!;
    const v = i < values.length ? values[i] : undefined;
    if (i === t.rowidColumn) {
      if (v !== null && v !== undefined) return false;
      continue;
    }
    if (v === undefined) continue; // a column added later (ALTER TABLE … ADD COLUMN): its default applies
    if (v === null) {
      if (c.notNull) return false;
      continue;
    }
    const type = c.type.toUpperCase();
    if (type.includes('INT') && typeof v !== 'number' && typeof v !== 'bigint') return false;
    if ((type.includes('TEXT') || type.includes('CHAR')) && typeof v !== 'string') return false;
    if (type.includes('REAL') && typeof v !== 'number') return false;
  }
  return true;
}

export class DamagedFileReader {
  readonly pageSize: number;
  readonly usable: number;
  readonly pages: number;
  /** Page 1 does not hold a SQLite header: sizes are assumed and the free list is unknown. */
  readonly headerLost: boolean;
  private readonly fd: number;
  /** Pages that are not b-tree pages of any table: the free list, pointer maps, overflow chains, the lock-byte page. */
  private readonly notTree = new Set<number>();
  private readonly visited = new Set<number>();
  readonly stats: Omit<SalvageStats, 'schemaFrom'>;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'r');
    const header = Buffer.alloc(100);
    fs.readSync(this.fd, header, 0, 100, 0);
    const raw = header.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    this.headerLost =
      header.toString('latin1', 0, 16) !== 'SQLite format 3\0' || pageSize < 512 || (pageSize & (pageSize - 1)) !== 0 || header.readUInt32BE(56) > 1;
    // Page 1 overwritten: assume what rbk's files always have (4 KiB pages, no reserved bytes,
    // UTF-8). The free list is lost with it, so pages freed before the damage can look like
    // orphans, and rows deleted long ago can come back: the report says so.
    this.pageSize = this.headerLost ? 4096 : pageSize;
    this.usable = this.headerLost ? 4096 : this.pageSize - header[20]!;
    this.pages = Math.floor(fs.fstatSync(this.fd).size / this.pageSize);
    this.stats = {
      pageSize: this.pageSize,
      pages: this.pages,
      pagesUnreadable: this.headerLost ? 1 : 0,
      orphanPagesAttributed: 0,
      orphanPagesUnattributed: 0,
      orphanRowsUnattributed: 0,
      cellsUnreadable: 0,
      freeListKnown: !this.headerLost,
    };
    this.notTree.add(1);
    if (this.headerLost) return;
    this.notTree.delete(1);
    this.markFreeList(header.readUInt32BE(32));
    // Auto-vacuum files (rbk's are: auto_vacuum = INCREMENTAL) keep pointer-map pages at fixed places.
    if (header.readUInt32BE(52) !== 0) {
      const step = Math.floor(this.usable / 5) + 1;
      for (let p = 2; p <= this.pages; p += step) this.notTree.add(p);
    }
    const lockBytePage = Math.floor(1073741824 / this.pageSize) + 1;
    if (lockBytePage <= this.pages) this.notTree.add(lockBytePage);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private page(n: number): Buffer {
    if (n < 1 || n > this.pages) throw new PageError(`page ${n} is outside the file (1..${this.pages})`);
    const buf = Buffer.alloc(this.pageSize);
    fs.readSync(this.fd, buf, 0, this.pageSize, (n - 1) * this.pageSize);
    return buf;
  }

  private markFreeList(firstTrunk: number): void {
    let trunk = firstTrunk;
    const seen = new Set<number>();
    while (trunk !== 0 && !seen.has(trunk) && trunk <= this.pages) {
      seen.add(trunk);
      this.notTree.add(trunk);
      let buf: Buffer;
      try {
        buf = this.page(trunk);
      } catch {
        return;
      }
      const leaves = buf.readUInt32BE(4);
      if (leaves > (this.usable - 8) / 4) return; // a damaged trunk: stop; its leaves may be scanned as orphans
      for (let i = 0; i < leaves; i++) this.notTree.add(buf.readUInt32BE(8 + i * 4));
      trunk = buf.readUInt32BE(0);
    }
  }

  /** The b-tree page header: its type, cell count and where the cell pointers start. */
  private header(buf: Buffer, n: number): { type: number; cells: number; pointers: number; right: number } {
    const h = n === 1 ? 100 : 0;
    const type = buf[h]!;
    if (type !== 2 && type !== 5 && type !== 10 && type !== 13) throw new PageError(`page ${n} is not a b-tree page (type ${type})`);
    const cells = buf.readUInt16BE(h + 3);
    const interior = type === 2 || type === 5;
    const pointers = h + (interior ? 12 : 8);
    if (pointers + cells * 2 > this.usable) throw new PageError(`page ${n}: ${cells} cells do not fit`);
    return { type, cells, pointers, right: interior ? buf.readUInt32BE(h + 8) : 0 };
  }

  /** A table leaf cell's rowid and record, following its overflow chain. */
  private leafCell(buf: Buffer, off: number): { rowid: number | bigint; record: Buffer } {
    if (off < 8 || off >= this.usable) throw new PageError('cell pointer outside the page');
    const [size, n1] = varint(buf, off);
    const [rowid, n2] = varint(buf, off + n1);
    const total = num(size, 'payload size');
    if (total > 1_000_000_000) throw new PageError('payload size beyond SQLite limits');
    const start = off + n1 + n2;
    const X = this.usable - 35;
    let local = total;
    if (total > X) {
      const M = Math.floor(((this.usable - 12) * 32) / 255) - 23;
      const K = M + ((total - M) % (this.usable - 4));
      local = K <= X ? K : M;
    }
    if (start + local > this.usable) throw new PageError('cell payload past the page');
    if (local === total) return { rowid, record: buf.subarray(start, start + total) };
    const out = Buffer.alloc(total);
    buf.copy(out, 0, start, start + local);
    let filled = local;
    let next = buf.readUInt32BE(start + local);
    const chain = new Set<number>();
    while (filled < total) {
      if (next === 0 || chain.has(next)) throw new PageError('overflow chain ends early or loops');
      chain.add(next);
      this.notTree.add(next);
      const ov = this.page(next);
      const take = Math.min(this.usable - 4, total - filled);
      ov.copy(out, filled, 4, 4 + take);
      filled += take;
      next = ov.readUInt32BE(0);
    }
    // The last overflow page points nowhere; one that points on was overwritten, and so was what
    // it holds: the row's text would be garbage, so the row is counted as lost instead.
    if (next !== 0) throw new PageError('overflow chain does not end where the payload does');
    return { rowid, record: out };
  }

  /** Rows of one table leaf page; cells that do not decode are counted and skipped. */
  private leafRows(buf: Buffer, hdr: { cells: number; pointers: number }): { rowid: number | bigint; values: SqlValue[] }[] {
    const rows: { rowid: number | bigint; values: SqlValue[] }[] = [];
    for (let i = 0; i < hdr.cells; i++) {
      try {
        const { rowid, record } = this.leafCell(buf, buf.readUInt16BE(hdr.pointers + i * 2));
        rows.push({ rowid, values: decodeRecord(record) });
      } catch (err) {
        if (!(err instanceof PageError)) throw err;
        this.stats.cellsUnreadable += 1;
      }
    }
    return rows;
  }

  /**
   * Marks the pages of a tree whose rows are not kept (derived tables, the full-text index, WITHOUT
   * ROWID tables) as seen, so that the orphan scan does not take its leaves for lost rows.
   */
  skipTree(root: number): void {
    const stack = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (this.visited.has(n) || n < 1 || n > this.pages) continue;
      this.visited.add(n);
      try {
        const buf = this.page(n);
        const hdr = this.header(buf, n);
        if (hdr.type === 10 || hdr.type === 13) continue;
        for (let i = 0; i < hdr.cells; i++) {
          const off = buf.readUInt16BE(hdr.pointers + i * 2);
          if (off + 4 <= this.usable) stack.push(buf.readUInt32BE(off));
        }
        stack.push(hdr.right);
      } catch (err) {
        if (!(err instanceof PageError)) throw err;
      }
    }
  }

  /** Every row reachable from a table's root. */
  walk(root: number, onRows: (rows: { rowid: number | bigint; values: SqlValue[] }[]) => void): void {
    const stack = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (this.visited.has(n)) continue;
      this.visited.add(n);
      let buf: Buffer;
      let hdr: ReturnType<DamagedFileReader['header']>;
      try {
        buf = this.page(n);
        hdr = this.header(buf, n);
        if (hdr.type !== 5 && hdr.type !== 13) throw new PageError(`page ${n} is an index page inside a table tree`);
      } catch (err) {
        if (!(err instanceof PageError)) throw err;
        this.stats.pagesUnreadable += 1;
        continue;
      }
      if (hdr.type === 13) {
        onRows(this.leafRows(buf, hdr));
        continue;
      }
      const children: number[] = [];
      try {
        for (let i = 0; i < hdr.cells; i++) {
          const off = buf.readUInt16BE(hdr.pointers + i * 2);
          if (off + 4 > this.usable) throw new PageError(`page ${n}: cell ${i} outside the page`);
          children.push(buf.readUInt32BE(off));
        }
        children.push(hdr.right);
      } catch (err) {
        if (!(err instanceof PageError)) throw err;
        this.stats.pagesUnreadable += 1;
      }
      for (const c of children.reverse()) if (c >= 1 && c <= this.pages) stack.push(c);
    }
  }

  /** Table leaf pages no walk reached: their rows go to the one table they fit. */
  orphans(tables: TableShape[], onRows: (table: TableShape, rows: { rowid: number | bigint; values: SqlValue[] }[]) => void): void {
    for (let n = 1; n <= this.pages; n++) {
      if (this.visited.has(n) || this.notTree.has(n)) continue;
      let buf: Buffer;
      try {
        buf = this.page(n);
      } catch {
        continue;
      }
      const h = n === 1 ? 100 : 0;
      if (buf[h] !== 13) continue; // index pages are rebuilt; interior pages hold no rows
      let rows: { rowid: number | bigint; values: SqlValue[] }[];
      try {
        rows = this.leafRows(buf, this.header(buf, n));
      } catch (err) {
        if (!(err instanceof PageError)) throw err;
        this.stats.pagesUnreadable += 1;
        continue;
      }
      if (rows.length === 0) continue;
      const candidates = tables.filter((t) => rows.every((r) => fits(r.values, t)));
      // Several tables can take rows of few columns; the one whose width they fill exactly wins.
      const exact = candidates.filter((t) => rows.every((r) => r.values.length === t.columns.length));
      const pick = candidates.length === 1 ? candidates[0] : exact.length === 1 ? exact[0] : undefined;
      if (!pick) {
        this.stats.orphanPagesUnattributed += 1;
        this.stats.orphanRowsUnattributed += rows.length;
        continue;
      }
      this.stats.orphanPagesAttributed += 1;
      onRows(pick, rows);
    }
  }
}

/** The tables of the damaged file as SQLite itself reads them; null when it cannot (page 1 or the schema is damaged). */
export function readSchema(file: string): TableShape[] | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const tables = db
      .prepare(`SELECT name, rootpage FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE 'sqlite_%'`)
      .all() as { name: string; rootpage: number }[];
    return tables.map((t) => shapeOf(db!, t.name, t.rootpage));
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** A table's columns and rowid alias, from PRAGMA table_info. */
export function shapeOf(db: Database.Database, name: string, rootPage: number): TableShape {
  const cols = db.prepare('SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?)').all(name) as {
    name: string;
    type: string;
    nn: number;
    pk: number;
  }[];
  const pks = cols.filter((c) => c.pk > 0);
  const withoutRowid = (db.prepare(`SELECT sql FROM sqlite_schema WHERE name = ?`).pluck().get(name) as string | undefined)?.match(/WITHOUT\s+ROWID/i);
  const alias = !withoutRowid && pks.length === 1 && pks[0]!.type.toUpperCase() === 'INTEGER' ? cols.indexOf(pks[0]!) : null;
  return { name, rootPage, columns: cols.map((c) => ({ name: c.name, type: c.type, notNull: c.nn === 1 })), rowidColumn: alias };
}
