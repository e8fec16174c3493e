import fs from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
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
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError(`${file}${where}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, file);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${file}: the top level must be a mapping of keys (e.g. "log:", "integrations:"), not ${Array.isArray(raw) ? 'a list' : typeof raw}`, file);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error, file), file);
  return result.data;
}

/** One line per problem, each naming the full key path and what to write instead. */
export function formatIssues(error: z.ZodError, file: string): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (issue.path.length ? `${key}.${k}` : k));
      return `  ${keys.join(', ')}: unknown key; remove it or check its spelling against the README's config reference`;
    }
    if (issue.code === 'invalid_value' && 'values' in issue) {
      return `  ${key}: must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return `  ${key}: ${issue.message}`;
  });
  return `invalid config in ${file}:\n${lines.join('\n')}`;
}
