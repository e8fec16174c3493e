// `rbk sessions export <id> --format md|json|jsonl|html|transcript [--out FILE]`: one session as a
// single self-contained document, fit to paste into a ticket or attach to one. HTML has inline CSS,
// no scripts and no external assets, and escapes every piece of captured text. `transcript` gives
// back the transcript lines themselves, byte for byte as they were redacted at ingest.
import fs from 'node:fs';
import { call, stream } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { duration, iso, plural } from '../format.js';
import type { Io } from '../io.js';
import { hookEventView, sessionView, timelineView } from '../views.js';
import type { WireHookEvent, WireInteraction, WireSession, WireTimelineEntry } from '../wire.js';

export const EXPORT_FORMATS = ['md', 'json', 'jsonl', 'html', 'transcript'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface SessionExport {
  session: WireSession;
  hookEvents: WireHookEvent[];
  timeline: WireTimelineEntry[];
  interactions: WireInteraction[];
}

function interactionView(i: WireInteraction) {
  let toolInput: unknown = null;
  if (i.toolInput) {
    try {
      toolInput = JSON.parse(i.toolInput);
    } catch {
      toolInput = i.toolInput;
    }
  }
  return {
    uuid: i.uuid,
    blockIndex: i.blockIndex,
    kind: i.kind,
    subtype: i.subtype ?? null,
    at: iso(i.timestampUnixMs),
    text: i.text,
    toolName: i.toolName ?? null,
    toolUseId: i.toolUseId ?? null,
    toolInput,
    isError: i.isError,
    agentId: i.agentId ?? null,
    parentUuid: i.parentUuid ?? null,
    isSidechain: i.isSidechain,
    model: i.model ?? null,
    messageId: i.messageId ?? null,
    requestId: i.requestId ?? null,
  };
}

/** A successful tool's output in Markdown and HTML is cut here; the JSON formats keep all of it. */
export const OUTPUT_EXPORT_MAX = 8000;

/** `text` cut to OUTPUT_EXPORT_MAX characters, saying how much was left out and where it is. */
function capped(text: string): string {
  if (text.length <= OUTPUT_EXPORT_MAX) return text;
  return `${text.slice(0, OUTPUT_EXPORT_MAX)}\n[… ${text.length - OUTPUT_EXPORT_MAX} more characters; --format json has the whole output]`;
}

export async function fetchSessionExport(id: string, opts: { outputs?: boolean } = {}): Promise<SessionExport> {
  const res = await call<{ session: WireSession; hookEvents: WireHookEvent[] }>('Query', 'GetSession', { id, includePayloads: false });
  const timeline: WireTimelineEntry[] = [];
  const interactions: WireInteraction[] = [];
  await Promise.all([
    stream<{ entries: WireTimelineEntry[] }>('Query', 'GetTimelinePages', { id: res.session.id, includePayloads: opts.outputs === true }, (p) =>
      timeline.push(...p.entries),
    ).done,
    stream<WireInteraction>('Query', 'ListInteractions', { sessionId: res.session.id, includeHidden: false }, (i) => interactions.push(i)).done,
  ]);
  return { session: res.session, hookEvents: res.hookEvents, timeline, interactions };
}

export function exportJson(x: SessionExport, now = Date.now()) {
  return {
    exportVersion: 1,
    exportedAt: iso(now),
    session: sessionView(x.session),
    timeline: x.timeline.map((e) => timelineView({ ...e, input: '', output: '' })),
    interactions: x.interactions.map(interactionView),
    hookEvents: x.hookEvents.map((e) => hookEventView(e, false)),
  };
}

export function renderJsonl(x: SessionExport, now = Date.now()): string {
  const lines = [JSON.stringify({ type: 'session', exportVersion: 1, exportedAt: iso(now), ...sessionView(x.session) })];
  for (const e of x.timeline) lines.push(JSON.stringify({ type: 'timeline', ...timelineView({ ...e, input: '', output: '' }) }));
  for (const i of x.interactions) lines.push(JSON.stringify({ type: 'interaction', ...interactionView(i) }));
  for (const e of x.hookEvents) lines.push(JSON.stringify({ type: 'hookEvent', ...hookEventView(e, false) }));
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Shared facts for the human formats
// ---------------------------------------------------------------------------------------------

function facts(s: WireSession): [string, string][] {
  const end = s.endedUnixMs || s.lastActivityUnixMs;
  const tokens = s.tokens.input + s.tokens.output + s.tokens.cacheCreation + s.tokens.cacheRead;
  return [
    ['Session', s.id],
    ['Project', s.project || '-'],
    ['Directory', s.cwd || '-'],
    ['Branch', s.gitBranch || '-'],
    ['Started', iso(s.startedUnixMs) ?? '-'],
    ['Ended', iso(s.endedUnixMs) ?? (s.status === 'active' ? 'still active' : '-')],
    ['Duration', s.startedUnixMs && end ? duration(end - s.startedUnixMs) : '-'],
    ['Status', s.status + (s.endReason ? ` (${s.endReason})` : '')],
    ['Model', s.model || '-'],
    ['Claude Code', s.ccVersion || '-'],
    ['Host', s.host],
    ['Prompts', String(s.counts.prompts)],
    ['Tool calls', `${s.counts.toolCalls} (${s.counts.toolFailures} failed)`],
    ['Subagents', String(s.counts.subagents)],
    ['Tokens', `${tokens} total: ${s.tokens.input} input, ${s.tokens.output} output, ${s.tokens.cacheCreation} cache write, ${s.tokens.cacheRead} cache read`],
    ['Cost', s.costUsd === undefined ? 'unknown (a model without a known price)' : `$${s.costUsd.toFixed(4)}`],
  ];
}

const time = (ms: number) => (ms ? new Date(ms).toISOString().slice(11, 19) : '--:--:--');
const failed = (e: WireTimelineEntry) => e.status === 'error' || e.kind === 'error';

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

/** Text as Markdown paragraphs that render literally: HTML and Markdown syntax neutralised. */
function mdText(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1');
}

function mdCode(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  const run = Math.max(0, ...(one.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(run + 1);
  // CommonMark strips one space on each side; it is needed only next to a backtick.
  const pad = one.startsWith('`') || one.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${one}${pad}${fence}`;
}

function mdFence(s: string): string {
  const run = Math.max(2, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(run + 1);
  return `${fence}text\n${s}\n${fence}`;
}

const indent = (s: string, by = '  ') => s.replace(/^/gm, by);

export function renderMarkdown(x: SessionExport): string {
  const s = x.session;
  const title = s.title || s.project || s.id;
  const out: string[] = [`# Claude Code session: ${mdText(title)}`, '', '| | |', '|---|---|'];
  for (const [k, v] of facts(s)) out.push(`| ${k} | ${mdText(v)} |`);
  const failures = x.timeline.filter(failed);
  out.push('', `## Timeline (${x.timeline.length} entries${failures.length ? `, ${failures.length} failed` : ''})`, '');
  for (const e of x.timeline) {
    const t = `\`${time(e.unixMs)}\``;
    const agent = e.agentId ? ` _(subagent ${mdText(e.agentId)})_` : '';
    switch (e.kind) {
      case 'prompt':
        out.push(`- ${t} **Prompt**${agent}`, '', indent(`> ${mdText(e.text).replace(/\n/g, '\n> ')}`), '');
        break;
      case 'assistant':
        out.push(`- ${t} **Assistant**${agent}: ${mdText(e.text).replace(/\n+/g, ' ')}`);
        break;
      case 'thinking':
        out.push(`- ${t} _Thinking_${agent}: ${mdText(e.text).replace(/\n+/g, ' ')}`);
        break;
      case 'tool': {
        const mark = e.status === 'error' ? '❌' : e.status === 'ok' ? '✅' : '⏳';
        const dur = e.durationMs ? ` (${duration(e.durationMs)})` : '';
        const head = `- ${t} ${mark} **${mdText(e.toolName || 'tool')}**${agent} ${e.text ? mdCode(e.text) : ''}${dur}${e.status === 'error' ? ' — **FAILED**' : ''}`;
        out.push(head);
        if (e.status === 'error' && e.detail) out.push('', indent(mdFence(e.detail)), '');
        else if (e.output) out.push('', indent(mdFence(capped(e.output))), '');
        break;
      }
      case 'error':
        out.push(`- ${t} ❌ **Error**${agent}: ${mdText(e.text)}`);
        break;
      case 'subagent':
        out.push(`- ${t} ⎇ **Subagent** ${mdText(e.text)}${e.durationMs ? ` (${duration(e.durationMs)})` : ''}`);
        break;
      case 'compaction':
        out.push(`- ${t} ── _${mdText(e.text.replace(/\s+/g, ' ').slice(0, 300))}_`);
        break;
      default:
        out.push(`- ${t} ${mdText(e.text)}`);
    }
  }
  out.push('', `_Exported by rbk from ${plural(x.interactions.length, 'interaction')} and ${plural(x.hookEvents.length, 'hook event')}._`, '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
body{font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;background:#fff;margin:0;padding:24px;max-width:1100px}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:24px 0 8px}
table.facts{border-collapse:collapse;margin-bottom:8px}table.facts th{text-align:left;color:#57606a;font-weight:600;padding:2px 16px 2px 0;vertical-align:top}table.facts td{padding:2px 0}
ol.timeline{list-style:none;margin:0;padding:0}
ol.timeline li{border-left:3px solid #d0d7de;padding:4px 10px;margin:2px 0}
.t{color:#57606a;font:12px ui-monospace,SFMono-Regular,Menlo,monospace;margin-right:8px}
.kind{font-weight:600;margin-right:6px}
li.prompt{border-color:#0969da;background:#f6f8fa}li.assistant{border-color:#8c959f}li.thinking{color:#57606a;font-style:italic}
li.tool code{background:#f6f8fa;padding:1px 4px;border-radius:4px;font:12px ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;word-break:break-all}
li.fail{border-color:#cf222e;background:#ffebe9}li.fail .kind{color:#cf222e}
li.subagent{border-color:#8250df}li.compaction{color:#57606a;border-style:dashed}
.status{font-size:12px;margin-left:6px}.ok{color:#1a7f37}.err{color:#cf222e;font-weight:600}.pending{color:#9a6700}
details summary{cursor:pointer;color:#57606a;font-size:12px;margin-top:2px}pre.out{background:#f6f8fa;border-color:#d0d7de}
pre{background:#fff8f8;border:1px solid #ffcecb;padding:8px;margin:6px 0 2px;white-space:pre-wrap;word-break:break-word;font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.text{white-space:pre-wrap;word-break:break-word}
footer{margin-top:24px;color:#57606a;font-size:12px}
`;

export function renderHtml(x: SessionExport, now = Date.now()): string {
  const s = x.session;
  const e = escapeHtml;
  const title = s.title || s.project || s.id;
  const failures = x.timeline.filter(failed).length;
  const rows = facts(s)
    .map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`)
    .join('\n');
  const items = x.timeline.map((t) => {
    const cls = [t.kind, failed(t) ? 'fail' : ''].filter(Boolean).join(' ');
    const agent = t.agentId ? ` <span class="t">subagent ${e(t.agentId)}</span>` : '';
    const when = `<span class="t">${e(time(t.unixMs))}</span>`;
    let body: string;
    switch (t.kind) {
      case 'tool': {
        const st =
          t.status === 'error'
            ? '<span class="status err">FAILED</span>'
            : t.status === 'ok'
              ? '<span class="status ok">ok</span>'
              : t.status
                ? `<span class="status pending">${e(t.status)}</span>`
                : '';
        body = `<span class="kind">${e(t.toolName || 'tool')}</span><code>${e(t.text)}</code>${st}${t.durationMs ? ` <span class="t">${e(duration(t.durationMs))}</span>` : ''}`;
        if (t.status === 'error' && t.detail) body += `<pre>${e(t.detail)}</pre>`;
        else if (t.output) {
          const lines = t.output.split('\n').length;
          body += `<details><summary>output (${lines} line${lines === 1 ? '' : 's'})</summary><pre class="out">${e(capped(t.output))}</pre></details>`;
        }
        break;
      }
      case 'prompt':
        body = `<span class="kind">Prompt</span><div class="text">${e(t.text)}</div>`;
        break;
      case 'assistant':
        body = `<span class="kind">Assistant</span><span class="text">${e(t.text)}</span>`;
        break;
      case 'thinking':
        body = `<span class="kind">Thinking</span><span class="text">${e(t.text)}</span>`;
        break;
      case 'error':
        body = `<span class="kind">Error</span><span class="text">${e(t.text)}</span>`;
        break;
      case 'subagent':
        body = `<span class="kind">Subagent</span><span class="text">${e(t.text)}</span>${t.durationMs ? ` <span class="t">${e(duration(t.durationMs))}</span>` : ''}`;
        break;
      case 'compaction':
        body = `<span class="kind">Compaction</span><span class="text">${e(t.text)}</span>`;
        break;
      default:
        body = `<span class="text">${e(t.text)}</span>`;
    }
    return `<li class="${e(cls)}">${when}${agent}${body}</li>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rbk">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${e(`Claude Code session: ${title}`)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Claude Code session: ${e(title)}</h1>
<table class="facts">
${rows}
</table>
<h2>Timeline (${x.timeline.length} entries${failures ? `, ${failures} failed` : ''})</h2>
<ol class="timeline">
${items.join('\n')}
</ol>
<footer>Exported by rbk at ${e(iso(now) ?? '')} from ${plural(x.interactions.length, 'interaction')} and ${plural(x.hookEvents.length, 'hook event')}.</footer>
</body>
</html>
`;
}

export async function exportCommand(io: Io, opts: { id: string; format: string; out?: string }): Promise<number> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) {
    throw new CliError(`--format must be one of ${EXPORT_FORMATS.join(', ')}; got "${opts.format}"`, EXIT.usage);
  }
  const format = opts.format as ExportFormat;
  if (format === 'transcript') return exportTranscript(io, opts.id, opts.out);
  // Markdown and HTML show what each tool printed; the JSON formats carry it in their interactions.
  const x = await fetchSessionExport(opts.id, { outputs: format === 'md' || format === 'html' });
  const text =
    format === 'json'
      ? `${JSON.stringify(exportJson(x), null, 2)}\n`
      : format === 'jsonl'
        ? renderJsonl(x)
        : format === 'html'
          ? renderHtml(x)
          : `${renderMarkdown(x)}`;
  if (opts.out) {
    try {
      fs.writeFileSync(opts.out, text);
    } catch (err) {
      throw new CliError(`cannot write ${opts.out}: ${(err as Error).message}`, EXIT.failure);
    }
    io.err(`wrote ${opts.out} (${format}, ${Buffer.byteLength(text)} bytes)`);
    return EXIT.ok;
  }
  process.stdout.write(text);
  return EXIT.ok;
}

/**
 * The session's transcript lines as stored, one per line, in the order rbk first read them (a
 * session's subagent files follow where they were read). Written page by page, so a long session
 * never has to fit in memory.
 */
async function exportTranscript(io: Io, id: string, out: string | undefined): Promise<number> {
  const res = await call<{ session: WireSession }>('Query', 'GetSession', { id, includePayloads: false });
  let fd: number | null = null;
  if (out) {
    try {
      fd = fs.openSync(out, 'w', 0o600);
    } catch (err) {
      throw new CliError(`cannot write ${out}: ${(err as Error).message}`, EXIT.failure);
    }
  }
  let lines = 0;
  let bytes = 0;
  let missing = 0;
  try {
    await stream<{ lines: { sourcePath: string; line: string }[]; missing: number }>(
      'Query',
      'ListTranscriptLines',
      { sessionId: res.session.id, includeHidden: true },
      (page) => {
        if (page.lines.length > 0) {
          const text = `${page.lines.map((l) => l.line).join('\n')}\n`;
          if (fd !== null) fs.writeSync(fd, text);
          else process.stdout.write(text);
          lines += page.lines.length;
          bytes += Buffer.byteLength(text);
        }
        missing += page.missing;
      },
    ).done;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
  if (missing > 0)
    io.err(
      `${plural(missing, 'line')} of this session ${missing === 1 ? 'is' : 'are'} not kept as text (older than compaction.keepRawDays, over 4 MiB, or pulled from the central copy); --format jsonl has what rbk derived from them`,
    );
  if (out) io.err(`wrote ${out} (transcript, ${plural(lines, 'line')}, ${bytes} bytes)`);
  return EXIT.ok;
}
