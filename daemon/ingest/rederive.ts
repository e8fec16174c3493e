// Re-derivation: when a rule that turns stored facts into derived values changes (a project name
// from a cwd, a user block's kind from its text), the stored rows are brought to the new rule once,
// at daemon start, so that an existing store answers as a fresh import by this version would.
// Each derivation runs in one IMMEDIATE transaction together with its row in `derivations`: a
// kill -9 midway leaves the old values and the next start runs it again.
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { InteractionStore } from '../store/interactions.js';
import { type StoredBody, unpackToolUseResult } from '../store/line-codec.js';
import { SessionStore } from '../store/session-store.js';
import { PROJECT_RULE_VERSION, projectOf } from './project.js';
import { contentKey } from './transcripts/identity.js';
import { LegacySidechains } from './legacy-sidechains.js';
import { contextOnly, webSearchCount } from './transcripts/parse.js';
import { WebSearchLinks } from './web-searches.js';
import { WEB_SEARCH_USD_PER_REQUEST } from '../pricing/pricing.js';

export interface DerivationOptions {
  now: number;
  /** USD per server-side web search (config pricing.webSearchPerRequest, else the embedded price). */
  webSearchPrice: number;
}

export interface Derivation {
  name: string;
  version: number;
  run(db: Db, opts: DerivationOptions): Record<string, number>;
}

/** Sessions whose project the current rule names differently (Windows paths, worktrees). */
function rederiveProjects(db: Db, { now }: DerivationOptions): Record<string, number> {
  const sessions = new SessionStore(db);
  let changed = 0;
  const rows = db.prepare('SELECT id, cwd, project FROM sessions WHERE cwd IS NOT NULL').all() as { id: string; cwd: string; project: string | null }[];
  for (const r of rows) {
    const project = projectOf(r.cwd);
    if (project !== null && project !== r.project) changed += sessions.setProject(r.id, project, now);
  }
  return { sessions: rows.length, changed };
}

/**
 * User blocks that are only IDE or system context (ide_opened_file, ide_selection, system-reminder),
 * stored as prompts by earlier versions: they become context, and their sessions' prompt counts drop.
 */
function reclassifyContext(db: Db, { now }: DerivationOptions): Record<string, number> {
  const candidates = db
    .prepare(
      `SELECT id, session_id, is_sidechain, rbk_text(text) AS text FROM interactions
       WHERE kind = 'user_prompt' AND (substr(ltrim(rbk_text(text), char(32, 9, 10, 13)), 1, 5) = '<ide_'
         OR substr(ltrim(rbk_text(text), char(32, 9, 10, 13)), 1, 17) = '<system-reminder>')`,
    )
    .all() as { id: number; session_id: string | null; is_sidechain: number; text: string }[];
  const interactions = new InteractionStore(db);
  const fewerPrompts = new Map<string, number>();
  let changed = 0;
  for (const c of candidates) {
    const subtype = contextOnly(c.text);
    if (!subtype || !interactions.reclassifyAsContext(c.id, subtype)) continue;
    changed++;
    if (c.session_id && !c.is_sidechain) fewerPrompts.set(c.session_id, (fewerPrompts.get(c.session_id) ?? 0) + 1);
  }
  const sessions = new SessionStore(db);
  for (const [id, n] of fewerPrompts) sessions.fewerPrompts(id, n, now);
  return { interactions: changed, sessions: fewerPrompts.size };
}

interface KeyRow {
  id: number;
  kind: string;
  subtype: string | null;
  tool_use_id: string | null;
  message_id: string | null;
  agent_id: string | null;
  ts: number | null;
  block_index: number;
  text: string;
  hidden: number;
  is_sidechain: number;
  is_error: number | null;
  content_key: Buffer | null;
}

/**
 * Rows stored before content identity (transcripts/identity.ts) get their key; a row whose content
 * an earlier row of the session already holds (a replay under new uuids) is removed, and the
 * session's counts drop by what it had added. The first occurrence (lowest id) is kept, as at
 * ingest. Session by session, so memory is bounded by the largest session.
 */
function keyReplays(db: Db, { now }: DerivationOptions): Record<string, number> {
  const sessions = db.prepare('SELECT DISTINCT session_id FROM interactions WHERE content_key IS NULL AND session_id IS NOT NULL').pluck().all() as string[];
  const rowsOf = db.prepare(
    `SELECT id, kind, subtype, tool_use_id, message_id, agent_id, ts, block_index, rbk_text(text) AS text, hidden, is_sidechain, is_error, content_key
     FROM interactions WHERE session_id = ? ORDER BY id`,
  );
  const interactions = new InteractionStore(db);
  const sessionRows = new SessionStore(db);
  let keyed = 0;
  let removed = 0;
  let sessionsChanged = 0;
  for (const sessionId of sessions) {
    const seen = new Set<string>();
    const toKey: [Buffer, number][] = [];
    const duplicates: KeyRow[] = [];
    for (const r of rowsOf.all(sessionId) as KeyRow[]) {
      const key =
        r.content_key ??
        contentKey({
          kind: r.kind,
          subtype: r.subtype,
          toolUseId: r.tool_use_id,
          messageId: r.message_id,
          agentId: r.agent_id,
          timestamp: r.ts,
          blockIndex: r.block_index,
          text: r.text,
        });
      if (!key) continue;
      const hex = key.toString('hex');
      if (seen.has(hex)) duplicates.push(r);
      else {
        seen.add(hex);
        if (!r.content_key) toKey.push([key, r.id]);
      }
    }
    // Duplicates first: a row keyed since (by a daemon that ingested before this ran) may hold a
    // key an older row is about to get; the older one is kept.
    const drop = { id: sessionId, interactions: 0, prompts: 0, toolCalls: 0, toolFailures: 0, now };
    for (const r of duplicates) {
      removed += interactions.removeReplay(r.id);
      if (r.hidden) continue;
      drop.interactions++;
      if (r.kind === 'user_prompt' && !r.is_sidechain) drop.prompts++;
      else if (r.kind === 'tool_use') drop.toolCalls++;
      else if (r.kind === 'tool_result' && r.is_error) drop.toolFailures++;
    }
    for (const [key, id] of toKey) keyed += interactions.setContentKey(id, key);
    if (drop.interactions > 0) {
      sessionRows.dropCounts(drop);
      sessionsChanged++;
    }
  }
  return { sessions: sessions.length, keyed, replaysRemoved: removed, sessionsChanged };
}

/**
 * WebSearch results stored before web searches were counted: each gets its count, the response
 * that called it gets the searches (and their cost, unless it reported its own), and the sessions'
 * totals are summed again. The same link the ingester makes (web-searches.ts).
 */
function linkStoredWebSearches(db: Db, { now, webSearchPrice }: DerivationOptions): Record<string, number> {
  const results = db
    .prepare(
      `SELECT id, session_id, tool_use_id, rbk_text(text) AS text, tool_use_result FROM interactions
       WHERE kind = 'tool_result' AND web_searches IS NULL AND tool_use_id IS NOT NULL
         AND (tool_use_result LIKE '%"query":%'
              -- packed (store/line-codec.ts): LIKE cannot see inside, so ask which tool it answered
              OR (typeof(tool_use_result) = 'blob' AND EXISTS (SELECT 1 FROM interactions c
                    WHERE c.tool_use_id = interactions.tool_use_id AND c.kind = 'tool_use' AND c.tool_name = 'WebSearch')))`,
    )
    .all() as { id: number; session_id: string | null; tool_use_id: string; text: string; tool_use_result: StoredBody }[];
  const interactions = new InteractionStore(db);
  const links = new WebSearchLinks(db, webSearchPrice);
  const sessions = new Set<string>();
  let searches = 0;
  let linked = 0;
  for (const r of results) {
    let n: number | null = null;
    try {
      n = webSearchCount(JSON.parse(unpackToolUseResult(r.text, r.tool_use_result) ?? ''));
    } catch {
      continue; // a bounded (cut) result: not JSON, nothing to count
    }
    if (n === null) continue;
    interactions.setWebSearches(r.id, n);
    if (n === 0) continue;
    searches += n;
    if (!links.link(r.tool_use_id, n)) continue;
    linked++;
    if (r.session_id) sessions.add(r.session_id);
  }
  const sessionRows = new SessionStore(db);
  for (const id of sessions) sessionRows.resumWebSearches(id, now);
  return { results: results.length, searches, responsesLinked: linked, sessions: sessions.size };
}

/** Inline sidechains of Claude Code ≤ 2.0.27 stored before they were attached to their Task calls. */
function attachLegacySidechains(db: Db, { now }: DerivationOptions): Record<string, number> {
  const sessions = db
    .prepare(
      `SELECT DISTINCT session_id FROM interactions INDEXED BY interactions_legacy_sidechain
       WHERE is_sidechain = 1 AND agent_id IS NULL AND hidden = 0 AND session_id IS NOT NULL`,
    )
    .pluck()
    .all() as string[];
  const legacy = new LegacySidechains(db);
  const total = { sessions: sessions.length, attributed: 0, unattributed: 0, agents: 0 };
  for (const id of sessions) {
    const r = legacy.attribute(id, now);
    total.attributed += r.attributed;
    total.unattributed += r.unattributed;
    total.agents += r.agents;
  }
  return total;
}

export const DERIVATIONS: Derivation[] = [
  { name: 'project', version: PROJECT_RULE_VERSION, run: rederiveProjects },
  { name: 'prompt_context', version: 1, run: reclassifyContext },
  // After prompt_context: the key includes the kind.
  { name: 'replay_identity', version: 1, run: keyReplays },
  // After replay_identity: a replayed WebSearch result is gone before its searches are counted.
  { name: 'web_search', version: 1, run: linkStoredWebSearches },
  // After replay_identity: a replayed chain is one chain.
  { name: 'legacy_sidechains', version: 1, run: attachLegacySidechains },
];

/** Runs every derivation this database has not had at its current version. */
export function rederive(
  db: Db,
  log: Logger,
  opts: { webSearchPrice?: number; now?: number } = {},
  derivations = DERIVATIONS,
): { name: string; counts: Record<string, number> }[] {
  const now = opts.now ?? Date.now();
  const run = { now, webSearchPrice: opts.webSearchPrice ?? WEB_SEARCH_USD_PER_REQUEST };
  const done = new Map(
    (db.prepare('SELECT name, version FROM derivations').all() as { name: string; version: number }[]).map((r) => [r.name, r.version] as const),
  );
  const record = db.prepare(
    `INSERT INTO derivations (name, version, applied_at, counts) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at, counts = excluded.counts`,
  );
  const ran: { name: string; counts: Record<string, number> }[] = [];
  for (const d of derivations) {
    if ((done.get(d.name) ?? 0) >= d.version) continue;
    const started = Date.now();
    // Said first: `rbk start` shows the log's last lines when the socket is slow to answer.
    log.info('re-deriving stored values under a new rule (once, after an upgrade; about a minute per 2 M interactions; hook events spool meanwhile)', {
      derivation: d.name,
      version: d.version,
    });
    const counts = db
      .transaction(() => {
        const c = d.run(db, run);
        record.run(d.name, d.version, now, JSON.stringify(c));
        return c;
      })
      .immediate();
    log.info('re-derived stored values under a new rule', { derivation: d.name, version: d.version, ...counts, ms: Date.now() - started });
    ran.push({ name: d.name, counts });
  }
  return ran;
}
