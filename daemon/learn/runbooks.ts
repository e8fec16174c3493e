// Runbook update proposals: a unified diff per resolved failure, either appending an entry to
// the runbook in learning.runbookDir that is about the same thing, or creating a new runbook
// file. An entry carries a marker (<!-- rbk:sig_… -->), so a fix already in a runbook is not
// proposed twice and a second --apply-runbook-updates changes nothing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const RUNBOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.md$/;

export interface Runbook {
  file: string;
  content: string;
}

export interface RunbookEntry {
  signatureId: string;
  title: string;
  words: string[];
  checkKey: string;
  /** Markdown of the entry, starting with its "## " heading. */
  markdown: string;
  /** For a new runbook file. */
  slug: string;
}

export interface Proposal {
  signatureIds: string[];
  kind: 'update' | 'new';
  /** Path relative to the runbook dir (a validated runbook name or `<slug>.md`). */
  file: string;
  patch: string;
  base: string;
  baseSha256: string;
  result: string;
}

export function marker(signatureId: string): string {
  return `<!-- rbk:${signatureId} -->`;
}

/** The *.md files directly in dir whose names are safe to put in a patch; none when dir is missing. */
export function readRunbooks(dir: string): Runbook[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => RUNBOOK_NAME.test(n))
    .sort()
    .flatMap((file) => {
      try {
        const st = fs.lstatSync(path.join(dir, file));
        if (!st.isFile() || st.size > 2 * 1024 * 1024) return [];
        return [{ file, content: fs.readFileSync(path.join(dir, file), 'utf8') }];
      } catch {
        return [];
      }
    });
}

/** The runbook about the same thing: the check's command named, or most of the signature's words. */
function bestRunbook(entry: RunbookEntry, runbooks: Runbook[]): Runbook | undefined {
  let best: { rb: Runbook; score: number } | undefined;
  for (const rb of runbooks) {
    const text = rb.content.toLowerCase();
    const words = entry.words.filter((w) => text.includes(w)).length;
    const score = words + (entry.checkKey && text.includes(entry.checkKey.toLowerCase()) ? 3 : 0);
    const enough = score >= 3 && (entry.words.length === 0 || words * 2 >= Math.min(entry.words.length, 6) || score >= 5);
    if (enough && (!best || score > best.score)) best = { rb, score };
  }
  return best?.rb;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** A unified diff that appends `addition` (ending in "\n") to `old`. */
export function appendDiff(file: string, old: string, addition: string): string {
  const oldLines = splitLines(old);
  const add = splitLines(addition);
  const head = [`diff --git a/${file} b/${file}`, `--- a/${file}`, `+++ b/${file}`];
  if (oldLines.length === 0) return [...head, `@@ -0,0 +1,${add.length} @@`, ...add.map((l) => `+${l}`), ''].join('\n');
  const k = Math.min(3, oldLines.length);
  const start = oldLines.length - k + 1;
  const ctx = oldLines.slice(-k);
  const body: string[] = [];
  if (old.endsWith('\n')) {
    body.push(...ctx.map((l) => ` ${l}`), ...add.map((l) => `+${l}`));
    return [...head, `@@ -${start},${k} +${start},${k + add.length} @@`, ...body, ''].join('\n');
  }
  // The last line gains the newline it lacked: git shows it as removed and re-added.
  body.push(...ctx.slice(0, -1).map((l) => ` ${l}`), `-${ctx.at(-1)}`, '\\ No newline at end of file', `+${ctx.at(-1)}`, ...add.map((l) => `+${l}`));
  return [...head, `@@ -${start},${k} +${start},${k + add.length} @@`, ...body, ''].join('\n');
}

export function newFileDiff(file: string, content: string): string {
  const lines = splitLines(content);
  return [
    `diff --git a/${file} b/${file}`,
    'new file mode 100644',
    '--- /dev/null',
    `+++ b/${file}`,
    `@@ -0,0 +1,${lines.length} @@`,
    ...lines.map((l) => `+${l}`),
    '',
  ].join('\n');
}

/** Proposals for entries not yet in any runbook (by marker): one patch per target file. */
export function proposeRunbookUpdates(
  entries: RunbookEntry[],
  runbooks: Runbook[],
): { proposals: Proposal[]; alreadyPresent: { signatureId: string; file: string }[] } {
  const alreadyPresent: { signatureId: string; file: string }[] = [];
  const updates = new Map<string, { rb: Runbook; entries: RunbookEntry[] }>();
  const created: RunbookEntry[] = [];
  for (const entry of entries) {
    const present = runbooks.find((rb) => rb.content.includes(marker(entry.signatureId)));
    if (present) {
      alreadyPresent.push({ signatureId: entry.signatureId, file: present.file });
      continue;
    }
    const target = bestRunbook(entry, runbooks);
    if (!target) {
      created.push(entry);
      continue;
    }
    const u = updates.get(target.file) ?? { rb: target, entries: [] };
    u.entries.push(entry);
    updates.set(target.file, u);
  }
  const proposals: Proposal[] = [];
  for (const { rb, entries: list } of updates.values()) {
    const c = rb.content;
    const addition = `${c === '' || c.endsWith('\n\n') ? '' : '\n'}${list.map((e) => e.markdown).join('\n')}`;
    const result = `${c}${c !== '' && !c.endsWith('\n') ? '\n' : ''}${addition}`;
    proposals.push({
      signatureIds: list.map((e) => e.signatureId),
      kind: 'update',
      file: rb.file,
      patch: appendDiff(rb.file, c, addition),
      base: c,
      baseSha256: sha256(c),
      result,
    });
  }
  for (const entry of created) {
    let file = `${entry.slug}.md`;
    for (let i = 2; runbooks.some((rb) => rb.file === file) || proposals.some((p) => p.file === file); i++) file = `${entry.slug}-${i}.md`;
    // Titles from learn already mark their commands up (`./deploy.sh` fails: …); others are quoted whole.
    const content = `# Runbook: ${entry.title.includes('`') ? entry.title : `\`${entry.title}\``}\n\n${entry.markdown}`;
    proposals.push({ signatureIds: [entry.signatureId], kind: 'new', file, patch: newFileDiff(file, content), base: '', baseSha256: '', result: content });
  }
  return { proposals, alreadyPresent };
}

export interface ApplyReport {
  changed: { file: string; kind: 'update' | 'new' }[];
  conflicts: { file: string; reason: string }[];
}

/**
 * Applies every proposal or none: each target must still be exactly what the proposal was made
 * against (a new file must not exist). Files are written beside their target and renamed into
 * place; if a rename fails, the ones already renamed are put back.
 */
export function applyProposals(dir: string, proposals: Proposal[]): ApplyReport {
  const conflicts: ApplyReport['conflicts'] = [];
  for (const p of proposals) {
    const target = path.join(dir, p.file);
    let current: string | null = null;
    try {
      current = fs.readFileSync(target, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') conflicts.push({ file: p.file, reason: `cannot read it: ${(err as Error).message}` });
    }
    if (p.kind === 'new' && current !== null) conflicts.push({ file: p.file, reason: 'a file of that name appeared since the proposal was made' });
    if (p.kind === 'update' && current === null) conflicts.push({ file: p.file, reason: 'the runbook was removed since the proposal was made' });
    if (p.kind === 'update' && current !== null && sha256(current) !== p.baseSha256)
      conflicts.push({ file: p.file, reason: 'the runbook changed since the proposal was made; run rbk learn again to get a fresh proposal' });
  }
  if (conflicts.length > 0) return { changed: [], conflicts };
  fs.mkdirSync(dir, { recursive: true });
  const staged: { tmp: string; target: string; backup: string | null; p: Proposal }[] = [];
  try {
    for (const p of proposals) {
      const target = path.join(dir, p.file);
      const tmp = path.join(dir, `.${p.file}.rbk-${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`);
      fs.writeFileSync(tmp, p.result, { mode: 0o644, flag: 'wx' });
      staged.push({ tmp, target, backup: p.kind === 'update' ? p.base : null, p });
    }
  } catch (err) {
    for (const s of staged) fs.rmSync(s.tmp, { force: true });
    throw err;
  }
  const done: typeof staged = [];
  try {
    for (const s of staged) {
      fs.renameSync(s.tmp, s.target);
      done.push(s);
    }
  } catch (err) {
    for (const s of done.reverse()) {
      if (s.backup === null) fs.rmSync(s.target, { force: true });
      else fs.writeFileSync(s.target, s.backup);
    }
    for (const s of staged) fs.rmSync(s.tmp, { force: true });
    throw err;
  }
  return { changed: proposals.map((p) => ({ file: p.file, kind: p.kind })), conflicts: [] };
}
