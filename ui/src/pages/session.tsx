// One session as one timeline: prompts and answers (markdown, rendered as text nodes), thinking
// collapsed, tool calls with their input and output, Edit/Write as diffs, errors highlighted,
// subagent spans nested and collapsible, compaction markers, tokens and cost per model response.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Session__Output as Session } from '../../../common/wire/rbk/v1/Session';
import type { ConsoleTimelineEntry, EntryDetail as Detail, TimelinePage } from '../../../common/console-api';
import { get } from '../api';
import { DiffView } from '../diff';
import { fmtCost, fmtDuration, fmtInt, fmtTime, fmtTokens } from '../format';
import { Markdown } from '../markdown';
import { navigate } from '../router';
import { VirtualList } from '../virtual';
import { LearnPanel } from './learn';
import { sessionTitle } from './sessions';

type Entry = ConsoleTimelineEntry;

const PAGE = 2000;

function isError(e: Entry): boolean {
  return e.kind === 'error' || e.status === 'error';
}

function estimate(e: Entry): number {
  if (e.kind === 'prompt' || e.kind === 'assistant') return 44 + Math.min(200, Math.ceil(e.text.length / 120) * 19);
  return 50;
}

function ToolInput({ name, input }: { name: string | null; input: string | null }) {
  if (!input) return null;
  let v: Record<string, unknown> | null = null;
  try {
    v = JSON.parse(input) as Record<string, unknown>;
  } catch {
    return <pre>{input}</pre>;
  }
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  if (name === 'Edit' && v) return <DiffView name={str(v.file_path)} before={str(v.old_string)} after={str(v.new_string)} />;
  if (name === 'Write' && v) return <DiffView name={str(v.file_path)} before="" after={str(v.content)} />;
  if (name === 'MultiEdit' && v && Array.isArray(v.edits)) {
    return (
      <>
        {(v.edits as Record<string, unknown>[]).map((ed, i) => (
          <DiffView key={i} name={str(v?.file_path)} before={str(ed.old_string)} after={str(ed.new_string)} />
        ))}
      </>
    );
  }
  if (name === 'Bash' && v && typeof v.command === 'string') return <pre>$ {v.command}</pre>;
  return <pre>{JSON.stringify(v, null, 2)}</pre>;
}

function EntryDetail({ sessionId, entry }: { sessionId: string; entry: Entry }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Detail>(`/sessions/${encodeURIComponent(sessionId)}/entries/${encodeURIComponent(entry.ref)}`).then(setDetail, (e: Error) => setError(e.message));
  }, [sessionId, entry.ref]);
  if (error) return <div class="detail err">{error}</div>;
  if (!detail) return <div class="detail muted">loading…</div>;
  return (
    <div class="detail" data-testid="entry-detail">
      {detail.blocks.map((b) =>
        b.kind === 'tool_use' ? (
          <div key={b.blockIndex}>
            <div class="muted">input</div>
            <ToolInput name={b.toolName} input={b.toolInput} />
          </div>
        ) : b.kind === 'assistant_text' || b.kind === 'user_prompt' ? (
          <Markdown key={b.blockIndex} text={b.text} />
        ) : (
          <pre key={b.blockIndex}>{b.text}</pre>
        ),
      )}
      {detail.result ? (
        <div>
          <div class={detail.result.isError ? 'err' : 'muted'}>
            output{detail.result.isError ? ' (error)' : ''} · {fmtInt(detail.result.textLength)} characters{detail.result.truncated ? ', first 1,000,000 shown' : ''}
          </div>
          <pre>{detail.result.text}</pre>
        </div>
      ) : null}
      {detail.hookEvent ? (
        <div>
          <div class="muted">hook event {detail.hookEvent.eventName}</div>
          <pre>{detail.hookEvent.payloadJson}</pre>
        </div>
      ) : null}
    </div>
  );
}

export function SessionPage({ id, query }: { id: string; query: URLSearchParams }) {
  const [session, setSession] = useState<Session | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState(-1);
  const [scrollSeq, setScrollSeq] = useState(0);
  const [showLearn, setShowLearn] = useState(false);
  const at = query.get('at');
  const atTool = query.get('tool');

  useEffect(() => {
    let cancelled = false;
    setEntries([]);
    setTotal(null);
    get<{ session: Session }>(`/sessions/${encodeURIComponent(id)}`).then(
      (r) => !cancelled && setSession(r.session),
      (e: Error) => !cancelled && setError(e.message),
    );
    (async () => {
      let offset = 0;
      let all: Entry[] = [];
      for (;;) {
        const page = await get<TimelinePage>(`/sessions/${encodeURIComponent(id)}/timeline`, { offset, limit: PAGE });
        if (cancelled) return;
        all = all.concat(page.entries);
        setEntries(all);
        setTotal(page.total);
        offset += page.entries.length;
        if (page.entries.length === 0 || offset >= page.total) break;
      }
    })().catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
    };
  }, [id]);

  const visible = useMemo(() => entries.filter((e) => !(e.agentId && collapsed.has(e.agentId) && e.kind !== 'subagent')), [entries, collapsed]);

  // ?at=<ref> (a search hit, a shared link): select and show that entry once it has loaded.
  useEffect(() => {
    if (!at && !atTool) return;
    const i = visible.findIndex((e) => e.ref === at || (atTool && e.toolUseId === atTool));
    if (i >= 0 && i !== selected) {
      setSelected(i);
      setScrollSeq((n) => n + 1);
    }
    // biome-ignore lint/correctness/useExhaustiveDependencies: only when the entries or the target change
  }, [visible, at, atTool]);

  const jumpToError = (dir: 1 | -1) => {
    for (let i = selected + dir; i >= 0 && i < visible.length; i += dir) {
      if (isError(visible[i] as Entry)) {
        setSelected(i);
        setScrollSeq((n) => n + 1);
        const q = new URLSearchParams(query);
        q.set('at', (visible[i] as Entry).ref);
        q.delete('tool');
        navigate(`/sessions/${encodeURIComponent(id)}?${q}`, true);
        return;
      }
    }
  };

  // Keys act on the latest state (refs), not on what the last render's closure saw.
  const live = useRef({ visible, selected, jumpToError });
  live.current = { visible, selected, jumpToError };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || (t.tagName === 'BUTTON' && e.key === 'Enter'))) return;
      const { visible: list, selected: at } = live.current;
      if (e.key === 'j') live.current.selected = Math.min(list.length - 1, at + 1);
      else if (e.key === 'k') live.current.selected = Math.max(0, at - 1);
      else if (e.key === 'n') return void live.current.jumpToError(1);
      else if (e.key === 'p' || e.key === 'N') return void live.current.jumpToError(-1);
      else if (e.key === 'Enter' && list[at]) toggleOpen((list[at] as Entry).ref);
      else return;
      e.preventDefault();
      setSelected(live.current.selected);
      setScrollSeq((n) => n + 1);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
    // biome-ignore lint/correctness/useExhaustiveDependencies: reads everything through live
  }, []);

  const toggleOpen = (ref: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(ref)) n.delete(ref);
      else n.add(ref);
      return n;
    });
  const toggleAgent = (agentId: string) =>
    setCollapsed((c) => {
      const n = new Set(c);
      if (n.has(agentId)) n.delete(agentId);
      else n.add(agentId);
      return n;
    });

  const errors = entries.filter(isError).length;
  const tokens = session?.tokens ? session.tokens.input + session.tokens.output + session.tokens.cacheCreation + session.tokens.cacheRead : 0;

  return (
    <div class="session-main">
      {error ? <div class="notice error">{error}</div> : null}
      <div class="session-head">
        <h2 data-testid="session-title">{session ? sessionTitle(session) : id}</h2>
        {session ? (
          <>
            <span class="muted">{session.project ?? session.cwd}</span>
            <span class="muted">
              {fmtTime(session.startedUnixMs)} → {fmtTime(session.lastActivityUnixMs)}
            </span>
            <span>{fmtInt(session.counts?.prompts)} prompts</span>
            <span>{fmtInt(session.counts?.toolCalls)} tools</span>
            <span class={errors ? 'err' : ''}>{fmtInt(errors)} errors</span>
            <span>{fmtTokens(tokens)} tokens</span>
            <span data-testid="session-cost">{fmtCost(session.costUsd)}</span>
            <span class="muted">{session.model}</span>
          </>
        ) : null}
      </div>
      <div class="filters">
        <button type="button" onClick={() => jumpToError(1)} disabled={errors === 0} data-testid="next-error" title="n">
          next error ↓
        </button>
        <button type="button" onClick={() => jumpToError(-1)} disabled={errors === 0} title="p">
          previous error ↑
        </button>
        <button type="button" onClick={() => setShowLearn((v) => !v)} data-testid="learn-toggle">
          {showLearn ? 'hide learn' : 'learn from this session…'}
        </button>
        <span class="muted" data-testid="timeline-count">
          {fmtInt(entries.length)}
          {total !== null && total > entries.length ? ` of ${fmtInt(total)}` : ''} entries
        </span>
      </div>
      {showLearn ? <LearnPanel sessionId={session?.id ?? id} /> : null}
      <VirtualList
        testId="timeline"
        items={visible}
        keyOf={(e, i) => `${e.ref}:${e.kind}:${i}`}
        estimate={estimate}
        scrollTo={{ index: selected, seq: scrollSeq }}
        render={(e, i) => {
          const isOpen = open.has(e.ref);
          const depth = e.agentId ? 1 : 0;
          const cls = `entry k-${e.kind}${e.status ? ` st-${e.status}` : ''}${i === selected ? ' selected' : ''}${depth ? ` indent-${depth}` : ''}`;
          return (
            <div class={cls} data-ref={e.ref} data-tool-use-id={e.toolUseId || undefined} data-kind={e.kind} data-error={isError(e) ? 'true' : undefined} onClick={() => setSelected(i)}>
              <div class="meta">
                <span class="kind">{e.kind === 'tool' ? e.toolName || 'tool' : e.kind}</span>
                <span>{fmtTime(e.unixMs)}</span>
                {e.status ? <span class={e.status === 'error' ? 'err' : e.status === 'ok' ? 'ok' : ''}>{e.status}</span> : null}
                {e.durationMs ? <span>{fmtDuration(e.durationMs)}</span> : null}
                {/* From the agent's telemetry: shown when a person (or a hook) decided, not the config. */}
                {e.permission && !e.permission.endsWith('(config)') ? (
                  <span class="muted" data-testid="permission">
                    {e.permission}
                  </span>
                ) : null}
                {e.kind === 'subagent' ? (
                  <button type="button" class="toggle" onClick={() => toggleAgent(e.agentId ?? '')} data-testid="subagent-toggle">
                    {collapsed.has(e.agentId ?? '') ? '▸ show span' : '▾ hide span'}
                  </button>
                ) : null}
                {e.kind !== 'compaction' && e.kind !== 'subagent' ? (
                  <button type="button" class="toggle" onClick={() => toggleOpen(e.ref)} data-testid="entry-toggle">
                    {isOpen ? 'less' : e.kind === 'thinking' ? 'show thinking' : 'more'}
                  </button>
                ) : null}
                {e.usage ? (
                  <span class="usage" title={`${e.usage.model}: in ${e.usage.inputTokens}, out ${e.usage.outputTokens}, cache write ${e.usage.cacheCreationTokens}, cache read ${e.usage.cacheReadTokens}`}>
                    {fmtTokens(e.usage.inputTokens + e.usage.outputTokens + e.usage.cacheCreationTokens + e.usage.cacheReadTokens)} tok · {fmtCost(e.usage.costUsd)}
                  </span>
                ) : null}
              </div>
              {(e.kind === 'thinking' && !isOpen) || (isOpen && (e.kind === 'prompt' || e.kind === 'assistant')) ? null : (
                <div class={`body${isOpen ? ' open' : ''}`}>
                  {e.kind === 'prompt' || e.kind === 'assistant' ? <Markdown text={e.text} /> : <div class="mono">{e.text}</div>}
                  {e.detail ? <pre class="err">{e.detail}</pre> : null}
                </div>
              )}
              {isOpen && e.kind !== 'compaction' && e.kind !== 'subagent' ? <EntryDetail sessionId={session?.id ?? id} entry={e} /> : null}
            </div>
          );
        }}
      />
    </div>
  );
}
