// Deferred full-text indexing through the real daemon and CLI (daemon/ingest/search-backlog.ts,
// migrations/0007_import.sql). While `rbk import` runs, new interactions are left out of
// interactions_fts; the daemon indexes them before the last import reports done, and a daemon
// killed meanwhile finishes that at its next start. Each test checks, with the real `rbk sessions
// search`, that words from every stored file are found, and, in the database, that the index holds
// exactly the indexable rows, each once, and passes FTS5's integrity check.
//
// "Each once" needs FTS5's own row total: an external-content index keeps one _docsize row per
// rowid (REPLACE), and MATCH and fts5vocab merge duplicate postings, so only the total in the
// averages record (interactions_fts_data, id 1), which every insert adds one to, shows a row that
// was indexed twice.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  hookPayload,
  makeDataDir,
  queryAll,
  queryOne,
  runCli,
  runHook,
  searchIndexComplete,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { importJson, jsonlFiles, lines, uuidFor } from './support.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/claude-code/transcripts', import.meta.url));
/** The rows 0003_search.sql and 0007_import.sql index: visible conversation rows. */
const INDEXABLE = `hidden = 0 AND kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')`;

const dirs: TempRbk[] = [];
const daemons: DaemonProcess[] = [];
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill9()));
  for (const t of dirs) t.cleanup();
});

async function freshDaemon(): Promise<{ t: TempRbk; d: DaemonProcess }> {
  const t = makeDataDir({ config: 'metrics:\n  enabled: false\n' });
  dirs.push(t);
  const d = await startDaemon(t);
  daemons.push(d);
  return { t, d };
}

// ---------------------------------------------------------------------------------------------
// A synthetic corpus, big enough that an import of it is still running while the tests act.
// ---------------------------------------------------------------------------------------------

const CORPUS_FILES = 24;
const CORPUS_LINES = 1000;
/** On every synthetic line: counting its matches counts the indexed synthetic rows. */
const COMMON_WORD = 'quokka';
/** The one word of a synthetic line no other line has (letters and digits are one FTS token). */
const lineWord = (file: number, line: number) => `zq${file}x${line}`;
const corpusSession = (file: number) => uuidFor(0x5b0000 + file, 0xffff);
const FILLER =
  'harbor lantern copper meadow signal thunder orchard velvet glacier prism summit canyon ember falcon willow quarry tundra beacon cobalt saffron'.split(' ');

let corpus: string;
let corpusBytes = 0;
beforeAll(() => {
  assertBuilt();
  const t = makeDataDir();
  dirs.push(t);
  corpus = path.join(t.root, 'corpus', '-home-dev-app');
  fs.mkdirSync(corpus, { recursive: true });
  for (let f = 0; f < CORPUS_FILES; f++) {
    const sid = corpusSession(f);
    let out = '';
    for (let i = 0; i < CORPUS_LINES; i++) {
      const filler = Array.from({ length: 120 }, (_, k) => FILLER[(i * 7 + k * 3 + f) % FILLER.length]).join(' ');
      const text = `${lineWord(f, i)} ${COMMON_WORD} ${filler}`;
      out += i % 2 === 0 ? lines.user(sid, uuidFor(0xa0000 + f, i), i, text) : lines.assistant(sid, uuidFor(0xa0000 + f, i), i, text);
    }
    fs.writeFileSync(path.join(corpus, `${sid}.jsonl`), out);
    corpusBytes += Buffer.byteLength(out);
  }
});
const CORPUS_ROWS = CORPUS_FILES * CORPUS_LINES;

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** SQLite's varint (FTS5 uses the same encoding for the averages record). */
function readVarint(buf: Buffer): number {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    const b = buf[i]!;
    if (i === 8) return v * 256 + b;
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return v;
  }
  return v;
}

interface IndexState {
  /** Rows that 0003/0007 say belong in the index. */
  indexable: number;
  /** Distinct rowids in the index. */
  docs: number;
  /** Rows FTS5 counts as inserted (one more per insert, so a row indexed twice counts twice). */
  total: number;
  /** The deferral watermark, if a backlog is open. */
  backlogFromId: number | null;
  integrity: string;
}

function indexState(t: TempRbk): IndexState {
  // integrity-check is an INSERT, so it needs a writable connection (WAL: the daemon is not blocked).
  const db = new Database(t.db, { fileMustExist: true, timeout: 10_000 });
  try {
    let integrity = 'ok';
    try {
      db.prepare(`INSERT INTO interactions_fts(interactions_fts, rank) VALUES('integrity-check', 0)`).run();
    } catch (err) {
      integrity = (err as Error).message;
    }
    return db.transaction(() => {
      const averages = db.prepare('SELECT block FROM interactions_fts_data WHERE id = 1').pluck().get() as Buffer | undefined;
      return {
        indexable: db.prepare(`SELECT count(*) FROM interactions WHERE ${INDEXABLE}`).pluck().get() as number,
        docs: db.prepare('SELECT count(*) FROM interactions_fts_docsize').pluck().get() as number,
        total: averages ? readVarint(averages) : 0,
        backlogFromId: (db.prepare('SELECT from_id FROM search_index_backlog WHERE id = 1').pluck().get() as number | undefined) ?? null,
        integrity,
      };
    })();
  } finally {
    db.close();
  }
}

/** The index holds every indexable row, exactly once, and nothing is left in a backlog. */
function expectFullyIndexed(t: TempRbk): IndexState {
  const s = indexState(t);
  expect(s.integrity).toBe('ok');
  expect(s.backlogFromId).toBeNull();
  expect(s.indexable).toBeGreaterThan(0);
  expect({ docs: s.docs, total: s.total }).toEqual({ docs: s.indexable, total: s.indexable });
  return s;
}

/** Indexed synthetic rows, by the word every one of them has. */
function commonWordMatches(t: TempRbk): number {
  return queryOne<{ n: number }>(t, `SELECT count(*) AS n FROM interactions_fts WHERE interactions_fts MATCH ?`, COMMON_WORD)!.n;
}

interface Hit {
  sessionId: string;
  interactionUuid: string;
}

async function search(t: TempRbk, query: string): Promise<Hit[]> {
  const r = await runCli(t, ['sessions', 'search', query, '--limit', '1000', '--json']);
  if (r.code !== 0) throw new Error(`rbk sessions search ${query} exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { hits: Hit[] }).hits;
}

/** The synthetic line with the highest id stored so far: its word and uuid. */
function newestCorpusRow(t: TempRbk): { word: string; uuid: string } {
  const row = queryOne<{ text: string; uuid: string }>(t, `SELECT text, uuid FROM interactions WHERE text LIKE 'zq%' ORDER BY id DESC LIMIT 1`)!;
  return { word: /^zq\d+x\d+/.exec(row.text)![0], uuid: row.uuid };
}

/** The newest stored line of every synthetic file is found, by the real CLI, by its own word. */
async function expectCorpusSearchable(t: TempRbk): Promise<void> {
  const newest = queryAll<{ text: string; uuid: string }>(
    t,
    `SELECT text, uuid FROM interactions WHERE id IN (SELECT max(id) FROM interactions WHERE text LIKE 'zq%' GROUP BY session_id)`,
  );
  expect(newest.length).toBeGreaterThan(0);
  for (const row of newest) {
    const word = /^zq\d+x\d+/.exec(row.text)![0];
    expect(
      (await search(t, word)).map((h) => h.interactionUuid),
      word,
    ).toEqual([row.uuid]);
  }
}

/**
 * Per fixture file (visible conversation files only: warmup and compaction runs are hidden and
 * not indexed), the word of its conversation (prompts, text, thinking, tool inputs and outputs)
 * that is rarest across every string in the fixtures, with the uuids of the file's lines.
 */
function fixtureTerms(): { file: string; word: string; uuids: Set<string> }[] {
  const files = jsonlFiles(FIXTURES).filter((f) => !/agent-acompact|agent-awarmup/.test(f));
  const wordsOf = (s: string) => new Set(s.toLowerCase().match(/\b[a-z]{6,20}\b/g) ?? []);
  const filesPerWord = new Map<string, number>();
  const occurrences = new Map<string, number>();
  const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);
  for (const f of jsonlFiles(FIXTURES)) {
    const all = fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => strings(JSON.parse(l)))
      .join(' ')
      .toLowerCase();
    for (const w of wordsOf(all)) filesPerWord.set(w, (filesPerWord.get(w) ?? 0) + 1);
    for (const w of all.match(/\b[a-z]{6,20}\b/g) ?? []) occurrences.set(w, (occurrences.get(w) ?? 0) + 1);
  }
  return files.map((file) => {
    const uuids = new Set<string>();
    const conversation: string[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const o = JSON.parse(line);
      if (typeof o.uuid === 'string') uuids.add(o.uuid);
      if (o.isMeta === true || o.isCompactSummary === true) continue;
      const content = o.message?.content;
      if (typeof content === 'string') conversation.push(content);
      for (const c of Array.isArray(content) ? content : []) {
        if (c?.type === 'text') conversation.push(String(c.text));
        if (c?.type === 'thinking') conversation.push(String(c.thinking));
        if (c?.type === 'tool_use') conversation.push(JSON.stringify(c.input));
        if (c?.type === 'tool_result' && typeof c.content === 'string') conversation.push(c.content);
      }
    }
    // The rarest: fewest files, then fewest occurrences (a subagent's words also reach the main
    // transcript through its Task result, so not every file has a word of its own).
    const rarity = (w: string) => filesPerWord.get(w)! * 1e6 + occurrences.get(w)!;
    const word = [...wordsOf(conversation.join(' '))].sort((a, b) => rarity(a) - rarity(b) || a.localeCompare(b))[0];
    if (!word) throw new Error(`no words in ${file}`);
    return { file, word, uuids };
  });
}

// ---------------------------------------------------------------------------------------------

describe('deferred full-text indexing (search backlog)', () => {
  it('after `rbk import` returns, the index catches up in the background: a word from every imported file is found and every indexable row is indexed once', async () => {
    const { t } = await freshDaemon();
    const terms = fixtureTerms();
    expect(terms).toHaveLength(6);
    const summary = await importJson(t, [FIXTURES], 120_000, { waitForSearch: false });
    expect(summary.errors).toEqual([]);
    expect(summary.interactionsAdded).toBe(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n);
    // The import said how many rows were left to index, and status counts them down to 0 within 60 s.
    expect(summary.searchIndexPending).toBeGreaterThanOrEqual(0);
    expect(summary.searchIndexPending).toBeLessThanOrEqual(summary.interactionsAdded);
    const waited = Date.now();
    await searchIndexComplete(t);
    expect(Date.now() - waited).toBeLessThan(60_000);
    for (const { file, word, uuids } of terms) {
      const hits = await search(t, word);
      expect(
        hits.some((h) => uuids.has(h.interactionUuid)),
        `"${word}" from ${path.relative(FIXTURES, file)}`,
      ).toBe(true);
    }
    const s = expectFullyIndexed(t);
    // Hidden rows (the compaction run) and bookkeeping kinds exist and stay out of the index.
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBeGreaterThan(s.indexable);
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions WHERE hidden = 1')!.n).toBeGreaterThan(0);

    // A second import reads nothing and changes nothing in the index.
    const again = await importJson(t, [FIXTURES]);
    expect(again.interactionsAdded).toBe(0);
    expect(expectFullyIndexed(t)).toEqual(s);
  }, 60_000);

  it('two overlapping imports of different folders both complete, and every row is searchable and indexed exactly once', async () => {
    const { t } = await freshDaemon();
    const terms = fixtureTerms();
    const big = runCli(t, ['import', corpus, '--json'], { timeoutMs: 120_000, waitForSearch: false });
    // The second starts once the first is visibly storing rows, so the two really overlap.
    await waitFor('the corpus import to store rows', () => (queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')?.n ?? 0) > 0, 30_000, 5);
    const small = runCli(t, ['import', FIXTURES, '--json'], { timeoutMs: 120_000, waitForSearch: false });
    const rs = await small;
    // The small import reports done while the big one still runs: its rows become searchable
    // without waiting for the big one (its index catch-up stops at the rows stored so far).
    const bigStillRunning = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n < CORPUS_ROWS + JSON.parse(rs.stdout).interactionsAdded;
    expect(bigStillRunning, 'the corpus import should still be running when the fixture import returns').toBe(true);
    for (const { word, uuids } of terms)
      await waitFor(`${word} searchable after the small import`, async () => (await search(t, word)).some((h) => uuids.has(h.interactionUuid)), 60_000, 50);
    const rb = await big;
    expect(rb.code, rb.stderr).toBe(0);
    expect(rs.code, rs.stderr).toBe(0);
    const sb = JSON.parse(rb.stdout) as { interactionsAdded: number; bytes: number };
    const ss = JSON.parse(rs.stdout) as { interactionsAdded: number };
    expect(sb).toMatchObject({ interactionsAdded: CORPUS_ROWS, bytes: corpusBytes });
    // They overlapped: the small one started before the big one had stored everything.
    expect(rs.startedAt).toBeLessThan(rb.endedAt);

    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBe(CORPUS_ROWS + ss.interactionsAdded);
    const s = expectFullyIndexed(t);
    expect(commonWordMatches(t)).toBe(CORPUS_ROWS);
    expect(s.indexable).toBeGreaterThan(CORPUS_ROWS);
    for (const { word, uuids } of terms)
      expect(
        (await search(t, word)).some((h) => uuids.has(h.interactionUuid)),
        word,
      ).toBe(true);
    for (const [f, line] of [
      [0, 0],
      [CORPUS_FILES - 1, CORPUS_LINES - 1],
      [CORPUS_FILES >> 1, 1],
    ] as const) {
      expect((await search(t, lineWord(f, line))).map((h) => h.interactionUuid)).toEqual([uuidFor(0xa0000 + f, line)]);
    }
  }, 120_000);

  it('live rows that arrive while an import runs are searchable when it is done', async () => {
    const { t, d } = await freshDaemon();
    const sid = uuidFor(0x11fe, 1);
    const live = path.join(t.root, 'live', '-home-dev-app', `${sid}.jsonl`);
    fs.mkdirSync(path.dirname(live), { recursive: true });
    fs.writeFileSync(live, lines.user(sid, uuidFor(0x11fe, 10), 0, 'please refactor the wombatron module'));

    const imp = runCli(t, ['import', corpus, '--json'], { timeoutMs: 120_000 });
    await waitFor('the import to store rows', () => (queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')?.n ?? 0) > 0, 30_000, 5);
    // Claude Code names the transcript in its hooks; the daemon follows it from then on.
    const hook = await runHook(t, hookPayload('UserPromptSubmit', sid, { transcript_path: live, prompt: 'please refactor the wombatron module' }));
    expect(hook.code, hook.stderr).toBe(0);
    fs.appendFileSync(live, lines.assistant(sid, uuidFor(0x11fe, 11), 1, 'the wombatron module now uses the snorkelwick cache'));
    const liveRows = await waitFor(
      'the live rows to be stored',
      () => {
        const rows = queryAll<{ id: number }>(t, 'SELECT id FROM interactions WHERE session_id = ? ORDER BY id', sid);
        return rows.length === 2 ? rows : null;
      },
      30_000,
      5,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${d.log().slice(-3000)}`);
    });
    // The live rows landed while the import deferred indexing (else this test proves nothing).
    const during = indexState(t);
    expect(during.backlogFromId).not.toBeNull();
    expect(during.backlogFromId!).toBeLessThanOrEqual(liveRows[0]!.id);

    const r = await imp;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ interactionsAdded: CORPUS_ROWS });
    // It returned before its rows were all searchable (the index trails an import; runCli waited
    // for status to report the index complete before the searches below).
    expect(JSON.parse(r.stdout).searchIndexPending).toBeGreaterThan(CORPUS_ROWS / 2);
    expect((await search(t, 'wombatron')).map((h) => h.sessionId)).toEqual([sid, sid]);
    expect((await search(t, 'snorkelwick')).map((h) => h.interactionUuid)).toEqual([uuidFor(0x11fe, 11)]);
    expectFullyIndexed(t);
    expect(commonWordMatches(t)).toBe(CORPUS_ROWS);

    // Still followed after the import: a later append is indexed by the trigger, once.
    fs.appendFileSync(live, lines.user(sid, uuidFor(0x11fe, 12), 2, 'and document the quibblefrost flag'));
    await waitFor('the later live row to be searchable', async () => (await search(t, 'quibblefrost')).length === 1, 30_000, 100);
    expectFullyIndexed(t);
  }, 120_000);

  it('kill -9 mid-import: the restarted daemon indexes the backlog by itself, and a second import completes the rest exactly once', async () => {
    const { t, d } = await freshDaemon();
    const imp = runCli(t, ['import', corpus, '--json'], { timeoutMs: 120_000 });
    // Mid-way: some files stored, far from all.
    await waitFor(
      'the import to be a fifth of the way through',
      () => (queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')?.n ?? 0) >= CORPUS_ROWS / 5,
      60_000,
      5,
    );
    expect((await d.kill9()).signal).toBe('SIGKILL');
    const r = await imp;
    expect(r.code, 'the CLI must fail when the daemon dies under it').not.toBe(0);

    const atKill = indexState(t);
    const storedAtKill = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n;
    expect(storedAtKill).toBeLessThan(CORPUS_ROWS);
    // Rows were stored but not indexed yet: a backlog for the next start.
    expect(atKill.backlogFromId).not.toBeNull();
    expect(atKill.docs).toBeLessThan(atKill.indexable);
    const newest = newestCorpusRow(t);
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions_fts WHERE interactions_fts MATCH ?', `"${newest.word}"`)!.n).toBe(0);

    // Restart, no import: the daemon catches up on its own.
    const d2 = await startDaemon(t);
    daemons.push(d2);
    await waitFor('the search backlog to be indexed', () => indexState(t).backlogFromId === null, 30_000, 100).catch((err) => {
      throw new Error(`${(err as Error).message}\n${d2.log().slice(-3000)}`);
    });
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBe(storedAtKill);
    expectFullyIndexed(t);
    expect(commonWordMatches(t)).toBe(storedAtKill);
    expect((await search(t, newest.word)).map((h) => h.interactionUuid)).toEqual([newest.uuid]);
    await expectCorpusSearchable(t);

    // The rest, exactly once.
    const rest = await importJson(t, [corpus]);
    expect(rest.errors).toEqual([]);
    expect(rest.interactionsAdded).toBe(CORPUS_ROWS - storedAtKill);
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBe(CORPUS_ROWS);
    expect(queryOne<{ n: number }>(t, 'SELECT count(DISTINCT uuid) AS n FROM interactions')!.n).toBe(CORPUS_ROWS);
    expectFullyIndexed(t);
    expect(commonWordMatches(t)).toBe(CORPUS_ROWS);
    await expectCorpusSearchable(t);
  }, 180_000);
});
