// A virtualized list: only the rows in and near the viewport are in the DOM, so a 5,000-entry
// timeline or 100,000 sessions scroll like 50. Row heights are estimated, then measured once
// rendered; the offsets are prefix sums over those.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

const OVERSCAN_PX = 600;

export interface VirtualListProps<T> {
  items: T[];
  keyOf: (item: T, index: number) => string;
  estimate: (item: T) => number;
  render: (item: T, index: number) => ComponentChildren;
  /** Scrolls so that this row is in view whenever it changes. */
  scrollTo?: { index: number; seq: number } | null;
  /** Told when the last rendered row is near the end (to load more). */
  onNearEnd?: () => void;
  header?: ComponentChildren;
  testId?: string;
}

export function VirtualList<T>({ items, keyOf, estimate, render, scrollTo, onNearEnd, header, testId }: VirtualListProps<T>) {
  const box = useRef<HTMLDivElement>(null);
  const measured = useRef(new Map<string, number>());
  const [version, setVersion] = useState(0);
  const [view, setView] = useState({ top: 0, height: 800 });

  const offsets = useMemo(() => {
    const o = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as T;
      o[i + 1] = (o[i] as number) + (measured.current.get(keyOf(item, i)) ?? estimate(item));
    }
    return o;
    // biome-ignore lint/correctness/useExhaustiveDependencies: version says the measurements changed
  }, [items, version]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const onScroll = () => setView({ top: el.scrollTop, height: el.clientHeight });
    el.addEventListener('scroll', onScroll, { passive: true });
    const ro = new ResizeObserver(onScroll);
    ro.observe(el);
    onScroll();
    return () => {
      el.removeEventListener('scroll', onScroll);
      ro.disconnect();
    };
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el || !scrollTo || scrollTo.index < 0 || scrollTo.index >= items.length) return;
    const top = offsets[scrollTo.index] as number;
    const bottom = offsets[scrollTo.index + 1] as number;
    if (top < el.scrollTop || bottom > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, top - 60);
    // biome-ignore lint/correctness/useExhaustiveDependencies: only when asked again
  }, [scrollTo?.seq, scrollTo?.index]);

  // First row whose bottom is below the top of the window (binary search on offsets).
  const from = Math.max(0, view.top - OVERSCAN_PX);
  const to = view.top + view.height + OVERSCAN_PX;
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((offsets[mid + 1] as number) <= from) lo = mid + 1;
    else hi = mid;
  }
  const start = lo;
  let end = start;
  while (end < items.length && (offsets[end] as number) < to) end++;

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    let changed = false;
    for (const row of el.querySelectorAll<HTMLElement>(':scope > .spacer > .vrow')) {
      const key = row.dataset.key as string;
      const h = row.offsetHeight;
      if (measured.current.get(key) !== h) {
        measured.current.set(key, h);
        changed = true;
      }
    }
    if (changed) setVersion((v) => v + 1);
  });

  useEffect(() => {
    if (onNearEnd && end >= items.length - 20) onNearEnd();
  }, [end, items.length, onNearEnd]);

  const rows: ComponentChildren[] = [];
  for (let i = start; i < end; i++) {
    const item = items[i] as T;
    const key = keyOf(item, i);
    rows.push(
      <div class="vrow" key={key} data-key={key} data-index={i} style={{ top: `${offsets[i]}px` }}>
        {render(item, i)}
      </div>,
    );
  }
  return (
    <div class="vlist" ref={box} data-testid={testId} tabIndex={0}>
      {header}
      <div class="spacer" style={{ height: `${offsets[items.length]}px` }}>
        {rows}
      </div>
    </div>
  );
}
