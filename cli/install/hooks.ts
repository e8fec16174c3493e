// Which Claude Code hooks rbk registers, and how they are added to and removed from a
// settings.json without touching anything else in it.
//
// rbk's entries are recognised by their command: it runs a file named rbk-hook.cjs (or is one of
// the exact commands the install manifest recorded). Everything else is the user's.
import { isDeepStrictEqual } from 'node:util';
import {
  appendElementEdit,
  appendMemberEdit,
  applyEdit,
  DEFAULT_STYLE,
  detectStyle,
  isInline,
  member,
  parseTree,
  removeEdit,
  serialize,
  type JsonNode,
} from './json-edit.js';
import { shellQuote } from './shell.js';

/**
 * Every event rbk stores. All of them block by default: with `"async": true`, Claude Code 2.1.197
 * kills background hooks still running when it exits, and under load the last tool's event and
 * SessionEnd were lost without reaching even the spool (test/ops/e2e.test.ts, run beside another
 * e2e file, reproduced it). `rbk install --async` opts the tool-level events into background runs
 * for those who trade that risk for ~70 ms per tool call.
 */
export const HOOK_EVENTS = [
  'SessionStart',
  'UserPromptSubmit',
  'PreToolUse',
  'PermissionRequest',
  'PermissionDenied',
  'PostToolUse',
  'PostToolUseFailure',
  'Notification',
  'SubagentStart',
  'SubagentStop',
  'PreCompact',
  'PostCompact',
  'Stop',
  'StopFailure',
  'SessionEnd',
] as const;
export type HookEventName = (typeof HOOK_EVENTS)[number];

export const ASYNC_EVENTS: ReadonlySet<string> = new Set(['PreToolUse', 'PermissionRequest', 'PermissionDenied', 'PostToolUse', 'PostToolUseFailure']);

/**
 * Seconds Claude Code lets one hook run. The hook itself gives the daemon 2 s and then spools, so
 * 5 s covers node's start, the wait and the spool write with room to spare. On SessionEnd the
 * largest configured timeout also becomes Claude Code's exit budget (1.5 s by default).
 */
export const HOOK_TIMEOUT_SECONDS = 5;
/** SessionEnd's hook waits at most this long for the daemon before spooling, to fit a 1.5 s budget. */
export const SESSION_END_DAEMON_WAIT_MS = 1000;

export interface HookEntry {
  type: 'command';
  command: string;
  timeout: number;
  async?: boolean;
}
export interface HookGroup {
  matcher: string;
  hooks: HookEntry[];
}
export type DesiredHooks = Record<string, HookGroup>;

/** `[NAME=value ...] node /abs/rbk-hook.cjs`, each word quoted for the shell when needed. */
export function hookCommand(nodePath: string, hookScript: string, env: Record<string, string> = {}): string {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...assignments, shellQuote(nodePath), shellQuote(hookScript)].join(' ');
}

export function desiredHooks(opts: { nodePath: string; hookScript: string; env: Record<string, string>; async: boolean }): DesiredHooks {
  const out: DesiredHooks = {};
  for (const event of HOOK_EVENTS) {
    const env = event === 'SessionEnd' ? { ...opts.env, RBK_HOOK_TIMEOUT_MS: String(SESSION_END_DAEMON_WAIT_MS) } : opts.env;
    const entry: HookEntry = { type: 'command', command: hookCommand(opts.nodePath, opts.hookScript, env), timeout: HOOK_TIMEOUT_SECONDS };
    if (opts.async && ASYNC_EVENTS.has(event)) entry.async = true;
    out[event] = { matcher: '*', hooks: [entry] };
  }
  return out;
}

const MARKER = /(^|[\s/'"=])rbk-hook\.cjs(?=$|[\s'"])/;

/** Is this hook entry one of rbk's? */
export function isRbkHook(entry: unknown, known: ReadonlySet<string> = new Set()): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  const command = (entry as { command?: unknown }).command;
  return typeof command === 'string' && (known.has(command) || MARKER.test(command));
}

export class SettingsError extends Error {}

/** What install added to one settings file, so that uninstall can take exactly that away. */
export interface SettingsFootprint {
  createdFile: boolean;
  createdHooksKey: boolean;
  createdEventKeys: string[];
  commands: string[];
}

export interface SettingsPlan {
  /** Resulting text; null means the file should not exist. */
  after: string | null;
  changed: boolean;
  footprint: SettingsFootprint;
}

function parseSettings(text: string, file: string): { tree: JsonNode; value: Record<string, unknown> } {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    let where = '';
    try {
      parseTree(text);
    } catch (e) {
      where = `: ${(e as Error).message}`;
    }
    throw new SettingsError(
      `${file} is not valid JSON${where || `: ${(err as Error).message}`}. Fix it (or move it away) and run rbk install again; nothing was changed.`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SettingsError(`${file} must hold a JSON object ({ ... }) at the top level; nothing was changed.`);
  }
  const tree = parseTree(text);
  const hooks = (value as Record<string, unknown>).hooks;
  if (hooks !== undefined && (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks))) {
    throw new SettingsError(`${file}: "hooks" must be an object mapping event names to lists; nothing was changed.`);
  }
  for (const [event, groups] of Object.entries((hooks ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(groups)) throw new SettingsError(`${file}: "hooks.${event}" must be a list of matcher groups; nothing was changed.`);
  }
  return { tree, value: value as Record<string, unknown> };
}

type Groups = Record<string, unknown[]>;

function hooksOf(value: Record<string, unknown>): Groups {
  return (value.hooks ?? {}) as Groups;
}

function groupHooks(group: unknown): unknown[] {
  const hooks = (group as { hooks?: unknown } | null)?.hooks;
  return Array.isArray(hooks) ? hooks : [];
}

/** True when the file already holds exactly the desired rbk entries and no stale ones. */
export function isInstalled(value: Record<string, unknown>, desired: DesiredHooks, known: ReadonlySet<string>): boolean {
  const hooks = hooksOf(value);
  for (const [event, groups] of Object.entries(hooks)) {
    const ours = groups.filter((g) => groupHooks(g).some((h) => isRbkHook(h, known)));
    const want = desired[event];
    if (!want) {
      if (ours.length > 0) return false;
      continue;
    }
    if (ours.length !== 1 || !isDeepStrictEqual(JSON.parse(JSON.stringify(ours[0])), want)) return false;
  }
  return Object.keys(desired).every((e) => Array.isArray(hooks[e]));
}

/** Removes every rbk entry, then the keys install created if they are now empty. */
export function planUninstall(text: string, file: string, footprint: Omit<SettingsFootprint, 'commands'> & { commands?: string[] }): SettingsPlan {
  const known = new Set(footprint.commands ?? []);
  let cur = text;
  for (let guard = 0; guard < 10_000; guard++) {
    const { tree, value } = parseSettings(cur, file);
    const edit = nextRemoval(tree, value, known, footprint);
    if (!edit) break;
    cur = applyEdit(cur, edit);
  }
  let after: string | null = cur;
  if (footprint.createdFile) {
    const { value } = parseSettings(cur, file);
    if (Object.keys(value).length === 0) after = null;
  }
  return { after, changed: after !== text, footprint: { createdFile: false, createdHooksKey: false, createdEventKeys: [], commands: [] } };
}

function nextRemoval(tree: JsonNode, value: Record<string, unknown>, known: ReadonlySet<string>, footprint: Omit<SettingsFootprint, 'commands'>) {
  const hooksMember = member(tree, 'hooks');
  if (hooksMember?.value.type !== 'object') return null;
  const hooksNode = hooksMember.value;
  const hooks = hooksOf(value);
  for (const m of hooksNode.members) {
    if (m.value.type !== 'array' || hooks[m.key] === undefined || member(hooksNode, m.key) !== m) continue;
    const groups = hooks[m.key]!;
    for (let gi = 0; gi < groups.length; gi++) {
      const entries = groupHooks(groups[gi]);
      const hi = entries.findIndex((h) => isRbkHook(h, known));
      if (hi < 0) continue;
      const groupNode = m.value.items[gi]!;
      const entriesNode = member(groupNode, 'hooks')?.value;
      if (entries.length === 1 || !entriesNode || entriesNode.type !== 'array') return removeEdit(m.value, gi);
      return removeEdit(entriesNode, hi);
    }
  }
  for (const [i, m] of hooksNode.members.entries()) {
    if (footprint.createdEventKeys.includes(m.key) && m.value.type === 'array' && m.value.items.length === 0 && hooks[m.key] !== undefined) {
      return removeEdit(hooksNode, i);
    }
  }
  if (footprint.createdHooksKey && hooksNode.members.length === 0 && tree.type === 'object') {
    return removeEdit(tree, tree.members.indexOf(hooksMember));
  }
  return null;
}

/** Adds the desired entries to a file that has none of rbk's. */
function freshInstall(text: string | null, file: string, desired: DesiredHooks): { after: string; footprint: SettingsFootprint } {
  const commands = [...new Set(Object.values(desired).flatMap((g) => g.hooks.map((h) => h.command)))];
  const asSettings = Object.fromEntries(Object.entries(desired).map(([event, group]) => [event, [group]]));
  if (text === null) {
    return {
      after: `${serialize({ hooks: asSettings }, DEFAULT_STYLE, '')}\n`,
      footprint: { createdFile: true, createdHooksKey: true, createdEventKeys: Object.keys(desired), commands },
    };
  }
  const footprint: SettingsFootprint = { createdFile: false, createdHooksKey: false, createdEventKeys: [], commands };
  let cur = text;
  let { tree, value } = parseSettings(cur, file);
  const style = detectStyle(cur, tree);
  if (tree.type !== 'object') throw new SettingsError(`${file} must hold a JSON object`);
  if (!member(tree, 'hooks')) {
    cur = applyEdit(cur, appendMemberEdit(cur, tree, style, 'hooks', asSettings));
    footprint.createdHooksKey = true;
    footprint.createdEventKeys = Object.keys(desired);
    return { after: cur, footprint };
  }
  for (const [event, group] of Object.entries(desired)) {
    ({ tree, value } = parseSettings(cur, file));
    const hooksNode = member(tree, 'hooks')!.value;
    if (hooksNode.type !== 'object') throw new SettingsError(`${file}: "hooks" must be an object`);
    const eventMember = hooksOf(value)[event] !== undefined ? member(hooksNode, event) : undefined;
    if (!eventMember) {
      cur = applyEdit(cur, appendMemberEdit(cur, hooksNode, style, event, [group]));
      footprint.createdEventKeys.push(event);
    } else if (eventMember.value.type === 'array') {
      cur = applyEdit(cur, appendElementEdit(cur, eventMember.value, style, group, isInline(cur, hooksNode)));
    } else {
      throw new SettingsError(`${file}: "hooks.${event}" must be a list`);
    }
  }
  return { after: cur, footprint };
}

/**
 * Plans `rbk install` for one settings file. `previous` is what an earlier install recorded (if
 * any): stale rbk entries are taken out the way uninstall would, then the desired ones added.
 * The result is checked by undoing it: uninstalling the new text must give back exactly the text
 * it was installed onto, or nothing is written.
 */
export function planInstall(text: string | null, file: string, desired: DesiredHooks, previous?: SettingsFootprint): SettingsPlan {
  const prevCommands = new Set(previous?.commands ?? []);
  if (text !== null) {
    const { value } = parseSettings(text, file);
    if (isInstalled(value, desired, prevCommands)) {
      const commands = [...new Set(Object.values(desired).flatMap((g) => g.hooks.map((h) => h.command)))];
      return {
        after: text,
        changed: false,
        footprint: previous ? { ...previous, commands } : { createdFile: false, createdHooksKey: false, createdEventKeys: [], commands },
      };
    }
  }
  const base = text === null ? null : planUninstall(text, file, previous ?? { createdFile: false, createdHooksKey: false, createdEventKeys: [] }).after;
  const { after, footprint } = freshInstall(base, file, desired);
  // Self-check: the change must be exactly rbk's entries, and valid JSON.
  const { value } = parseSettings(after, file);
  if (!isInstalled(value, desired, new Set())) throw new SettingsError(`internal error: planned ${file} does not hold the expected hooks; nothing was changed`);
  const undone = planUninstall(after, file, footprint).after;
  // An emptied "{ }" comes back as "{}": the only difference an undo may leave is whitespace inside
  // a container rbk filled from empty.
  const same =
    undone === base ||
    (undone !== null &&
      base !== null &&
      isDeepStrictEqual(JSON.parse(undone.replace(/^\uFEFF/, '')), JSON.parse(base.replace(/^\uFEFF/, ''))) &&
      undone.replace(/\s/g, '') === base.replace(/\s/g, ''));
  if (!same) throw new SettingsError(`internal error: the planned change to ${file} would not undo cleanly; nothing was changed`);
  return { after, changed: after !== text, footprint };
}
