import fs from 'node:fs';
import { isMap, isScalar, parse as parseYaml, parseDocument, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type RbkConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: RbkConfig;
  /** The file it came from, or "embedded defaults". */
  source: string;
}

export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { config: configSchema.parse({}), source: 'embedded defaults' };
    throw new ConfigError(`cannot read config ${file}: ${(err as Error).message}`, file);
  }
  return { config: parseConfigText(text, file), source: file };
}

export function parseConfigText(text: string, file = '<config>'): RbkConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) throw new ConfigError(describeYamlError(err, text, file), file);
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, file);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(
      `${file}: the top level must be a mapping of keys (e.g. "log:", "integrations:"), not ${Array.isArray(raw) ? 'a list' : typeof raw}`,
      file,
    );
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error, file, text), file);
  return result.data;
}

/** Where the value at `keyPath` (or, for an unknown key, the key itself) is written: "line:col". */
function whereInText(text: string, keyPath: PropertyKey[], key?: string): string | null {
  try {
    const doc = parseDocument(text);
    if (key !== undefined) {
      const parent = keyPath.length > 0 ? doc.getIn(keyPath as unknown[], true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
        const range = isScalar(pair?.key) ? pair.key.range : undefined;
        if (range) return fmt(lineCol(text, range[0]));
      }
    }
    const node = doc.getIn(keyPath as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return fmt(lineCol(text, node.range[0]));
  } catch {
    /* the location is a nicety */
  }
  return null;
}
const fmt = (p: { line: number; col: number }) => `${p.line}:${p.col}`;

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** One line per problem: where it is (line:column), the full key path, and what to write instead. */
export function formatIssues(error: z.ZodError, file: string, text?: string): string {
  const at = (keyPath: PropertyKey[], key?: string) => {
    const w = text !== undefined ? whereInText(text, keyPath, key) : null;
    return w ? `${file}:${w}: ` : '';
  };
  const lines = error.issues.flatMap((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (k) =>
          `  ${at(issue.path, k)}${issue.path.length ? `${key}.${k}` : k}: unknown key; remove it, or check its spelling against the README's config reference.`,
      );
    }
    if (issue.code === 'invalid_value' && 'values' in issue) {
      return [`  ${at(issue.path)}${key}: must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`];
    }
    return [`  ${at(issue.path)}${key}: ${sentence(issue.message)}`];
  });
  return `invalid config in ${file}:\n${lines.join('\n')}`;
}

/** Line and column (1-based) of character offset `pos` in `text`. */
function lineCol(text: string, pos: number): { line: number; col: number } {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return { line, col: pos - before.lastIndexOf('\n') };
}

/**
 * The "{", "[" or quote that is still open at `end`, ignoring brackets inside quotes and
 * comments. The YAML parser notices an unclosed one only lines later, where it gives up; a person
 * needs to see where it was opened.
 */
function unclosedOpener(text: string, end: number): { pos: number; char: string } | null {
  const stack: { pos: number; char: string }[] = [];
  let quote: { pos: number; char: string } | null = null;
  for (let i = 0; i < end && i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote.char) {
        if (quote.char === "'" && text[i + 1] === "'")
          i++; // '' is an escaped quote
        else quote = null;
      } else if (c === '\\' && quote.char === '"') i++;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    if ((c === '"' || c === "'") && (i === 0 || /[\s:[{,]/.test(text[i - 1]!))) quote = { pos: i, char: c };
    else if (c === '{' || c === '[') stack.push({ pos: i, char: c });
    else if ((c === '}' || c === ']') && stack.length > 0) stack.pop();
  }
  return quote ?? stack.at(-1) ?? null;
}

/** `file:line:col: not valid YAML: …`, the line quoted with a caret, and what to do, in full sentences. */
export function describeYamlError(err: YAMLParseError, text: string, file: string): string {
  let pos = err.pos[0];
  let what = err.message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/[.:]$/, '');
  let hint = 'Fix the line, then start rbkd again (rbk doctor checks the config).';
  const unclosed = /Flow (map|sequence)|Missing closing|end with a [}\]]/i.test(err.message) ? unclosedOpener(text, pos) : null;
  if (unclosed) {
    pos = unclosed.pos;
    const closer = { '{': '}', '[': ']', '"': '"', "'": "'" }[unclosed.char] ?? unclosed.char;
    what = `this ${unclosed.char} is never closed`;
    hint = `Close it with ${closer} on the same line${unclosed.char === '{' || unclosed.char === '[' ? ', or write the value as an indented block instead' : ''}.`;
  }
  const { line, col } = lineCol(text, pos);
  const source = text.split('\n')[line - 1] ?? '';
  const gutter = String(line).length;
  return [
    `${file}:${line}:${col}: not valid YAML: ${what}.`,
    `  ${String(line)} | ${source}`,
    `  ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, col - 1))}^`,
    hint,
  ].join('\n');
}
