// Claude Code's own telemetry, pointed at rbk's OTLP receiver through the settings file's "env"
// block (docs/telemetry.md). Like the hooks, the edit is surgical and recorded: every key rbk sets
// is kept in the install manifest with the value it had before (or none), so uninstall puts back
// exactly that, and leaves alone any key the user has changed since.
//
// What rbk sets uses the per-signal variables (OTEL_EXPORTER_OTLP_LOGS_*), so a collector the user
// already sends metrics or traces to keeps getting them. Only Claude Code's events (the logs
// signal) come to rbk. When the user already sends those events to a collector of their own, rbk
// leaves them there unless the config forwards to it (otel.forward): then rbk receives them and
// passes them on, and nothing is lost to the user's collector.
import { applyEdit, appendMemberEdit, detectStyle, member, parseTree, removeEdit, type Edit, type JsonNode } from './json-edit.js';

export interface EnvChange {
  key: string;
  /** The value rbk set. */
  value: string;
  /** The value before rbk's install; absent = the key was not there. */
  previous?: string;
}

export interface TelemetryFootprint {
  createdEnvKey: boolean;
  changes: EnvChange[];
}

export interface TelemetryPlan {
  after: string;
  changed: boolean;
  footprint: TelemetryFootprint;
  /** Set when rbk left the user's telemetry settings alone, with why and what to do. */
  skipped?: string;
}

export interface TelemetryTarget {
  /** http://127.0.0.1:9479 */
  baseUrl: string;
  token: string;
  /** The otel.forward URLs in the config. */
  forwards: string[];
}

/** The env values that send Claude Code's events to rbk, given what the user already has. */
export function desiredTelemetryEnv(current: Record<string, string>, target: TelemetryTarget): { env: Record<string, string>; skipped?: string } {
  const logsEndpoint = `${target.baseUrl}/v1/logs`;
  const exporters = (current.OTEL_LOGS_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const theirs = current.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ?? (exporters.includes('otlp') ? current.OTEL_EXPORTER_OTLP_ENDPOINT : undefined);
  if (theirs && theirs !== logsEndpoint && !theirs.startsWith(target.baseUrl)) {
    const forwarded = target.forwards.some((f) => theirs.replace(/\/v1\/logs\/?$/, '').replace(/\/+$/, '') === f.replace(/\/+$/, ''));
    if (!forwarded) {
      return {
        env: {},
        skipped: `Claude Code already sends its events to ${theirs}; rbk left that alone. To have rbk keep them too and pass them on, add otel.forward: [{ url: "${theirs.replace(/\/v1\/logs\/?$/, '')}" }] to the config and run rbk install again.`,
      };
    }
  }
  return {
    env: {
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_LOGS_EXPORTER: exporters.includes('otlp') ? (current.OTEL_LOGS_EXPORTER as string) : [...exporters, 'otlp'].join(','),
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: logsEndpoint,
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: `Authorization=Bearer ${target.token}`,
    },
  };
}

function envObject(text: string): { tree: JsonNode; env: Record<string, string>; envNode?: JsonNode & { type: 'object' } } {
  const tree = parseTree(text);
  const m = member(tree, 'env');
  if (!m) return { tree, env: {} };
  if (m.value.type !== 'object') throw new Error('"env" must be an object of strings');
  const parsed = JSON.parse(text.slice(m.value.start, m.value.end)) as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') env[k] = v;
  return { tree, env, envNode: m.value };
}

function setEdit(text: string, node: JsonNode & { type: 'object' }, key: string, value: string): Edit {
  const m = member(node, key);
  if (m) return { start: m.value.start, end: m.value.end, text: JSON.stringify(value) };
  return appendMemberEdit(text, node, detectStyle(text, parseTree(text)), key, value);
}

/** Removes rbk's telemetry keys (restoring what they replaced) from settings text; the inverse of planTelemetryInstall. */
export function planTelemetryUninstall(text: string, footprint: TelemetryFootprint | undefined): string {
  if (!footprint || footprint.changes.length === 0) return text;
  let cur = text;
  for (const c of footprint.changes) {
    const { env, envNode } = envObject(cur);
    if (!envNode || env[c.key] !== c.value) continue; // gone, or changed by the user since: theirs now
    if (c.previous !== undefined) cur = applyEdit(cur, setEdit(cur, envNode, c.key, c.previous));
    else cur = applyEdit(cur, removeEdit(envNode, envNode.members.indexOf(member(envNode, c.key)!)));
  }
  if (footprint.createdEnvKey) {
    const { tree, envNode } = envObject(cur);
    if (envNode && envNode.members.length === 0 && tree.type === 'object') {
      cur = applyEdit(cur, removeEdit(tree, tree.members.indexOf(member(tree, 'env')!)));
    }
  }
  return cur;
}

/**
 * Plans the env block for `text` (settings that already hold rbk's hooks). `previous` is what an
 * earlier install set: it is taken out first, so a changed port or token replaces the old one.
 */
export function planTelemetryInstall(text: string, target: TelemetryTarget, previous?: TelemetryFootprint): TelemetryPlan {
  const base = planTelemetryUninstall(text, previous);
  const { tree, env } = envObject(base);
  const { env: want, skipped } = desiredTelemetryEnv(env, target);
  const footprint: TelemetryFootprint = { createdEnvKey: false, changes: [] };
  if (skipped) return { after: base, changed: base !== text, footprint, skipped };
  let cur = base;
  if (!member(tree, 'env')) {
    if (tree.type !== 'object') throw new Error('settings must be a JSON object');
    cur = applyEdit(cur, appendMemberEdit(cur, tree, detectStyle(cur, tree), 'env', {}));
    footprint.createdEnvKey = true;
  }
  for (const [key, value] of Object.entries(want)) {
    const { env: now, envNode } = envObject(cur);
    if (now[key] === value) continue; // already so: the user's, not rbk's to take out later
    footprint.changes.push({ key, value, ...(now[key] !== undefined ? { previous: now[key] } : {}) });
    cur = applyEdit(cur, setEdit(cur, envNode!, key, value));
  }
  // Self-check: undoing must give back the text this started from.
  if (planTelemetryUninstall(cur, footprint).replace(/\s/g, '') !== base.replace(/\s/g, '')) {
    throw new Error('internal error: the planned telemetry settings would not undo cleanly; nothing was changed');
  }
  if (footprint.changes.length === 0 && footprint.createdEnvKey)
    return { after: base, changed: base !== text, footprint: { createdEnvKey: false, changes: [] } };
  return { after: cur, changed: cur !== text, footprint };
}
