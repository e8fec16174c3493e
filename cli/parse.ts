// The engine behind the command table (cli/command-table.ts): finds the command named by the
// words of argv, answers --help before anything else, parses and checks every option and
// argument, and only then lets the command run. Help, the main usage and the parser all come
// from the same table, so they cannot drift apart.
import { parseArgs } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';
import { RBK_VERSION } from '../common/version.js';
import { CliError, EXIT } from './errors.js';
import { wrap } from './format.js';
import type { Io } from './io.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  /** The value's placeholder in help: N, T, DIR. */
  value?: string;
  help: string;
  /** Also accept --no-<name> (booleans whose default is true). */
  negatable?: boolean;
  /** Throws a CliError (usage) when the value is malformed; runs before the command. */
  check?: (value: string, flag: string) => void;
}

export interface ArgSpec {
  name: string;
  required?: boolean;
  /** Takes every remaining word. */
  variadic?: boolean;
  /** The only values accepted (checked before the command runs, with "did you mean"). */
  choices?: string[];
}

export interface Parsed {
  command: CommandSpec;
  values: Record<string, string | boolean | undefined>;
  /** The arguments by name (a variadic one joined by spaces); `positionals` keeps them as given. */
  args: Record<string, string | undefined>;
  positionals: string[];
}

export interface Confirmation {
  /** What will happen, printed before the question (and in --json, as "plan"). */
  text: string;
  question: string;
  /** Nothing would change: the command runs without asking. */
  nothingToDo?: boolean;
}

export interface CommandSpec {
  /** The words that name it: ["sessions", "show"]. */
  path: string[];
  /** Other words that name the same command ("sessions list" for "sessions"). */
  aliases?: string[][];
  summary: string;
  /** Paragraphs shown under the synopsis in its --help. */
  description?: string;
  args?: ArgSpec[];
  options?: Record<string, OptionSpec>;
  examples?: string[];
  /** Left out of the main usage (still has its own --help). */
  hidden?: boolean;
  /**
   * Deletes or rewrites what rbk stores (or removes what install set up). When this returns
   * true for the parsed arguments, the command gets --yes; on a terminal it shows `preview` and
   * asks; elsewhere it refuses to run without --yes.
   */
  destructive?: (p: Parsed) => boolean;
  preview?: (io: Io, p: Parsed) => Promise<Confirmation>;
  run: (io: Io, p: Parsed) => Promise<number>;
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };
const JSON_OPTION: OptionSpec = { type: 'boolean', default: false, help: 'print JSON (shapes in docs/cli-json.md)' };
const YES_OPTION: OptionSpec = { type: 'boolean', short: 'y', default: false, help: 'do it without asking (needed when not on a terminal)' };

/** Every option a command accepts: its own, then --json, --yes (destructive ones) and --help. */
export function allOptions(c: CommandSpec): Record<string, OptionSpec> {
  return { ...c.options, json: c.options?.json ?? JSON_OPTION, ...(c.destructive ? { yes: YES_OPTION } : {}), help: HELP_OPTION };
}

export function commandName(c: CommandSpec): string {
  return `rbk ${c.path.join(' ')}`;
}

function argWords(c: CommandSpec): string[] {
  return (c.args ?? []).map((a) => {
    const inner = `${a.choices ? a.choices.join('|') : a.name}${a.variadic ? '...' : ''}`;
    return a.required ? (a.choices ? inner : `<${inner}>`) : `[${a.choices ? inner : `<${inner}>`}]`;
  });
}

function synopsis(c: CommandSpec): string {
  const own = Object.keys(c.options ?? {}).length > 0;
  return [commandName(c), ...argWords(c), own ? '[options]' : '', '[--json]'].filter(Boolean).join(' ');
}

function optionLabel(name: string, o: OptionSpec): string {
  const long = o.negatable ? `--[no-]${name}` : `--${name}`;
  const flag = o.short ? `-${o.short}, ${long}` : `    ${long}`;
  return o.type === 'string' ? `${flag} ${o.value ?? 'VALUE'}` : flag;
}

/** Help is read on a terminal: wrapped to its width (100 columns when there is none). */
const helpWidth = (columns: number) => (Number.isFinite(columns) ? Math.max(60, columns) : 100);

/** The --help text of one command, with its subcommands when it heads a group. */
export function commandHelp(c: CommandSpec, table: CommandSpec[], columns = Infinity): string {
  const width = helpWidth(columns);
  const out = [`${synopsis(c)}`, '', wrap(c.summary, width, 0)];
  if (c.description) out.push('', wrap(c.description, width, 0));
  const opts = Object.entries(allOptions(c));
  const labels = opts.map(([n, o]) => optionLabel(n, o));
  const w = Math.max(...labels.map((l) => l.length)) + 2;
  out.push('', 'Options:');
  opts.forEach(([, o], i) => {
    const dflt = o.default !== undefined && o.default !== false && o.type === 'string' ? ` (default ${String(o.default)})` : '';
    out.push(`  ${labels[i]!.padEnd(w)}${wrap(`${o.help}${dflt}`, width, w + 2)}`);
  });
  const subs = table.filter((s) => !s.hidden && s !== c && s.path.length === c.path.length + 1 && c.path.every((w, i) => s.path[i] === w));
  if (subs.length > 0) {
    out.push('', 'Subcommands:');
    const sw = Math.max(...subs.map((s) => commandName(s).length)) + 2;
    for (const s of subs) out.push(`  ${commandName(s).padEnd(sw)}${wrap(s.summary, width, sw + 2)}`);
  }
  if (c.examples && c.examples.length > 0) out.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  if (c.destructive)
    out.push('', wrap('This command can delete or rewrite data: on a terminal it shows what it will do and asks; elsewhere pass --yes.', width, 0));
  return out.join('\n');
}

/** `rbk --help`: every visible command, one line each, from the same table. */
export function mainUsage(table: CommandSpec[], columns = Infinity): string {
  const width = helpWidth(columns);
  const visible = table.filter((c) => !c.hidden);
  const rows = visible.map((c) => [[commandName(c), ...argWords(c)].join(' '), c.summary] as const);
  const w = Math.min(Math.floor(width * 0.4), 44, Math.max(...rows.map(([l]) => l.length))) + 2;
  const lines = rows.map(([l, s]) => (l.length + 2 > w ? `  ${l}\n  ${' '.repeat(w)}${wrap(s, width, w + 2)}` : `  ${l.padEnd(w)}${wrap(s, width, w + 2)}`));
  return [
    `rbk ${RBK_VERSION}: keep and learn from Claude Code sessions`,
    '',
    "Usage: rbk <command> [options]     rbk <command> --help shows a command's options",
    '',
    'Commands:',
    ...lines,
    '',
    wrap('Every command takes --json. Environment: RBK_CONFIG, RBK_DATA_DIR, RBK_SOCKET override where rbk keeps its config, data and socket.', width, 0),
    wrap('Exit codes: 0 ok, 1 failure, 2 usage, 3 daemon not running, 4 not found.', width, 0),
  ].join('\n');
}

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: string[]): string | undefined {
  if (candidates.length === 0 || word.length === 0) return undefined;
  const best = closest(word, candidates);
  // Two neighbouring letters swapped ("shwo") is one slip, not the two edits Levenshtein counts.
  const swapped = candidates.find(
    (c) => c.length === word.length && [...c].some((_, i) => i > 0 && c === word.slice(0, i - 1) + word[i] + word[i - 1] + word.slice(i + 1)),
  );
  if (swapped) return swapped;
  const d = distance(word, best);
  // A prefix ("sess" for "sessions") or at most a third of the letters wrong.
  if (best.startsWith(word) && word.length >= 2) return best;
  return d <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Words before the first option or "--": the part of argv that names the command. */
function leadingWords(argv: string[]): string[] {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  return words;
}

function matches(path: string[], words: string[]): boolean {
  return path.length <= words.length && path.every((w, i) => words[i] === w);
}

export interface Resolved {
  command: CommandSpec;
  /** argv after the words that named the command. */
  rest: string[];
}

/** The command whose name (or alias) is the longest prefix of argv's leading words. */
export function resolve(argv: string[], table: CommandSpec[]): Resolved | undefined {
  const words = leadingWords(argv);
  let best: { c: CommandSpec; len: number } | undefined;
  for (const c of table) {
    for (const p of [c.path, ...(c.aliases ?? [])]) {
      if (matches(p, words) && (!best || p.length > best.len)) best = { c, len: p.length };
    }
  }
  if (!best) return undefined;
  return { command: best.c, rest: argv.slice(best.len) };
}

/** -h or --help anywhere before "--" (also inside grouped short flags such as -fh). */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
    if (/^-[A-Za-z]+$/.test(a) && a.includes('h') && a.length <= 4) return true;
  }
  return false;
}

/**
 * A usage error. With the command's help when the person may not know what it takes (an unknown
 * option or subcommand, a missing argument); with a pointer to it when only a value was wrong.
 */
function usageError(message: string, c: CommandSpec, table: CommandSpec[], withHelp = true): CliError {
  return new CliError(withHelp ? `${message}\n\n${commandHelp(c, table)}` : `${message}\n(${commandName(c)} --help shows every option)`, EXIT.usage);
}

/** Node's parser's message, in words a person can act on. */
function explainParseError(err: Error, c: CommandSpec, table: CommandSpec[]): CliError {
  const msg = err.message;
  const options = allOptions(c);
  const unknown = /Unknown option '(-{1,2})([^']*)'/.exec(msg);
  if (unknown) {
    const given = unknown[2]!.split('=')[0]!;
    const longs = Object.keys(options);
    const hint = suggest(given, [...longs, ...longs.filter((n) => options[n]!.negatable).map((n) => `no-${n}`)]);
    return usageError(`unknown option ${unknown[1]}${given} for ${commandName(c)}${hint ? `; did you mean --${hint}?` : ''}`, c, table);
  }
  const missing = /Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(msg);
  if (missing) return usageError(`--${missing[1]} needs a value (${options[missing[1]!]?.value ?? 'VALUE'})`, c, table, false);
  const notString = /Option '(?:-\w, )?--([\w-]+)' does not take an argument/.exec(msg);
  if (notString) return usageError(`--${notString[1]} is a switch and takes no value`, c, table, false);
  const ambiguous = /Option '(?:-\w, )?--([\w-]+)' argument is ambiguous/.exec(msg);
  if (ambiguous) return usageError(`the value of --${ambiguous[1]} starts with "-"; write it as --${ambiguous[1]}=VALUE`, c, table, false);
  return usageError(msg.split('\n')[0]!, c, table);
}

/** Parses `rest` for `c` and checks every value; throws a usage CliError before anything runs. */
export function parseFor(c: CommandSpec, rest: string[], table: CommandSpec[]): Parsed {
  const options = allOptions(c);
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const r = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(options).map(([n, o]) => [
          n,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}) },
        ]),
      ),
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
    values = { ...r.values } as Record<string, string | boolean | undefined>;
    positionals = r.positionals;
  } catch (err) {
    throw explainParseError(err as Error, c, table);
  }
  // allowNegative accepts --no-<x> for every boolean; only the negatable ones mean something.
  for (const a of rest) {
    if (a === '--') break;
    const m = /^--no-([\w-]+)$/.exec(a);
    if (m && options[m[1]!]?.type === 'boolean' && !options[m[1]!]!.negatable) {
      throw usageError(`unknown option --no-${m[1]} for ${commandName(c)}`, c, table);
    }
  }
  for (const [name, o] of Object.entries(options)) {
    const v = values[name];
    if (o.check && typeof v === 'string') {
      try {
        o.check(v, `--${name}`);
      } catch (err) {
        if (err instanceof CliError) throw usageError(err.message, c, table, false);
        throw err;
      }
    }
  }
  const specs = c.args ?? [];
  const args: Record<string, string | undefined> = {};
  let i = 0;
  for (const a of specs) {
    if (a.variadic) {
      const restWords = positionals.slice(i);
      args[a.name] = restWords.length > 0 ? restWords.join(' ') : undefined;
      i = positionals.length;
    } else {
      args[a.name] = positionals[i];
      if (positionals[i] !== undefined) i++;
    }
    const v = args[a.name];
    if (v === undefined || v === '') {
      if (a.required) throw usageError(`${commandName(c)} needs <${a.name}>`, c, table);
      continue;
    }
    if (a.choices && !a.choices.includes(v)) {
      const hint = suggest(v, a.choices);
      throw usageError(`"${v}" is not one of ${a.choices.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`, c, table, false);
    }
  }
  if (i < positionals.length) {
    const extra = positionals[i]!;
    const subs = table.filter((s) => s.path.length === c.path.length + 1 && c.path.every((w, k) => s.path[k] === w)).map((s) => s.path.at(-1)!);
    const hint = suggest(extra, subs);
    const what = subs.length > 0 && i === 0 ? `unknown subcommand "${extra}" of ${commandName(c)}` : `unexpected argument "${extra}"`;
    throw usageError(`${what}${hint ? `; did you mean "${commandName(c)} ${hint}"?` : ''}`, c, table);
  }
  return { command: c, values, args, positionals };
}

/**
 * Runs argv against the table: help first, then parse and check, then (for a destructive
 * command) the preview and the question, then the command.
 */
export async function dispatch(argv: string[], table: CommandSpec[], io: Io): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h') {
    io.out(mainUsage(table, io.columns));
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    io.out(RBK_VERSION);
    return EXIT.ok;
  }
  if (first === 'help') {
    const target = argv.length > 1 ? resolve(argv.slice(1), table) : undefined;
    if (argv.length > 1 && !target) throw unknownCommand(argv[1]!, table);
    io.out(target ? commandHelp(target.command, table, io.columns) : mainUsage(table, io.columns));
    return EXIT.ok;
  }
  const found = resolve(argv, table);
  if (!found) throw unknownCommand(first, table);
  const { command, rest } = found;
  if (wantsHelp(rest)) {
    io.out(commandHelp(command, table, io.columns));
    return EXIT.ok;
  }
  const parsed = parseFor(command, rest, table);
  if (command.destructive?.(parsed) && !parsed.values.yes) {
    const preview = command.preview ? await command.preview(io, parsed) : undefined;
    if (!preview?.nothingToDo) {
      if (!io.canAsk) {
        if (preview && !parsed.values.json) io.err(preview.text);
        throw new CliError(
          `${commandName(command)} changes stored data and there is no terminal to ask on: run it again with --yes to go ahead${command.options?.['dry-run'] ? ', or with --dry-run to only see what it would do' : ''}.`,
          EXIT.usage,
        );
      }
      if (preview) io.err(preview.text);
      const ok = await io.ask(`${preview?.question ?? `Run ${commandName(command)}?`} [y/N] `);
      if (!ok) {
        io.err('Nothing was changed.');
        return EXIT.failure;
      }
    }
  }
  return command.run(io, parsed);
}

function unknownCommand(word: string, table: CommandSpec[]): CliError {
  const names = [...new Set(table.map((c) => c.path[0]!))];
  const hint = suggest(word, names);
  if (hint) {
    const commands = table.filter((c) => c.path[0] === hint && !c.hidden);
    const names = commands.map((c) => [commandName(c), ...argWords(c)].join(' '));
    const w = Math.max(...names.map((n) => n.length)) + 2;
    return new CliError(
      `unknown command "${word}"; did you mean "rbk ${hint}"?\n\n${commands.map((c, i) => `  ${names[i]!.padEnd(w)}${c.summary}`).join('\n')}\n\nrbk --help lists every command.`,
      EXIT.usage,
    );
  }
  return new CliError(`unknown command "${word}"\n\n${mainUsage(table)}`, EXIT.usage);
}
