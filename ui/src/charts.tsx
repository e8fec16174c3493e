// Charts as plain SVG drawn by Preact (no chart library: these four shapes are a few dozen lines
// each, and SVG stays inspectable and testable). Every chart has a table view and a CSV download
// of exactly the numbers drawn.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { download, toCsv } from './format';

export const PALETTE = ['var(--c1)', 'var(--c2)', 'var(--c3)', 'var(--c4)', 'var(--c5)', 'var(--c6)', 'var(--c7)', 'var(--c8)'];

export interface Series {
  name: string;
  values: number[];
}

export function ChartBox({
  title,
  csvName,
  header,
  rows,
  children,
  testId,
}: {
  title: string;
  csvName: string;
  header: string[];
  rows: (string | number | null)[][];
  children: ComponentChildren;
  testId: string;
}) {
  const [table, setTable] = useState(false);
  return (
    <section class="chart" data-testid={testId}>
      <h3>
        {title}
        <span class="actions">
          <button type="button" onClick={() => setTable((t) => !t)} data-testid="table-toggle">
            {table ? 'chart' : 'table'}
          </button>
          <button type="button" onClick={() => download(csvName, toCsv(header, rows))}>
            CSV
          </button>
        </span>
      </h3>
      {table ? (
        <div style={{ overflow: 'auto', maxHeight: '360px' }}>
          <table class="grid" data-testid="chart-table">
            <thead>
              <tr>
                {header.map((h, i) => (
                  <th key={h} class={i > 0 ? 'num' : ''}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  {r.map((c, j) => (
                    <td key={j} class={j > 0 ? 'num' : ''}>
                      {c === null ? '—' : String(c)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        children
      )}
    </section>
  );
}

/** Vertical bars, one per label, stacked by series. */
export function StackedBars({ labels, series, format }: { labels: string[]; series: Series[]; format: (n: number) => string }) {
  const W = 1200;
  const H = 220;
  const left = 56;
  const bottom = 22;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = Math.max(1e-9, ...totals);
  const bw = (W - left) / Math.max(1, labels.length);
  const every = Math.max(1, Math.ceil(labels.length / 12));
  return (
    <>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="bar chart">
        <text x={0} y={10}>
          {format(max)}
        </text>
        <text x={0} y={H - bottom}>
          0
        </text>
        <line x1={left} x2={W} y1={H - bottom} y2={H - bottom} stroke="var(--line)" />
        {labels.map((label, i) => {
          let y = H - bottom;
          return (
            <g key={label}>
              {series.map((s, k) => {
                const v = s.values[i] ?? 0;
                const h = (v / max) * (H - bottom - 14);
                y -= h;
                return v > 0 ? (
                  <rect key={s.name} x={left + i * bw + 1} y={y} width={Math.max(1, bw - 2)} height={h} fill={PALETTE[k % PALETTE.length]}>
                    <title>{`${label} · ${s.name}: ${format(v)}`}</title>
                  </rect>
                ) : null;
              })}
              {i % every === 0 ? (
                <text x={left + i * bw} y={H - 6}>
                  {label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <div class="legend">
        {series.map((s, k) => (
          <span key={s.name}>
            <i style={{ background: PALETTE[k % PALETTE.length] }} />
            {s.name}
          </span>
        ))}
      </div>
    </>
  );
}

/** Horizontal bars (per project). */
export function HBars({ items, format }: { items: { label: string; value: number }[]; format: (n: number) => string }) {
  const W = 1200;
  const row = 20;
  const left = 260;
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  return (
    <svg viewBox={`0 0 ${W} ${Math.max(row, items.length * row)}`} role="img" aria-label="bar chart">
      {items.map((it, i) => (
        <g key={it.label}>
          <text x={0} y={i * row + 14}>
            {it.label.length > 42 ? `…${it.label.slice(-41)}` : it.label}
          </text>
          <rect x={left} y={i * row + 3} width={Math.max(1, (it.value / max) * (W - left - 90))} height={row - 6} fill="var(--c1)">
            <title>{`${it.label}: ${format(it.value)}`}</title>
          </rect>
          <text x={left + (it.value / max) * (W - left - 90) + 6} y={i * row + 14}>
            {format(it.value)}
          </text>
        </g>
      ))}
    </svg>
  );
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Hour × weekday grid, darker = more. */
export function Heatmap({ cells, format }: { cells: { weekday: number; hour: number; value: number }[]; format: (n: number) => string }) {
  const cw = 34;
  const ch = 22;
  const left = 36;
  const max = Math.max(1e-9, ...cells.map((c) => c.value));
  return (
    <svg viewBox={`0 0 ${left + 24 * cw} ${7 * ch + 18}`} role="img" aria-label="activity heatmap">
      {DAYS.map((d, i) => (
        <text key={d} x={0} y={i * ch + 15}>
          {d}
        </text>
      ))}
      {Array.from({ length: 24 }, (_, h) => (
        <text key={h} x={left + h * cw + 10} y={7 * ch + 14}>
          {h}
        </text>
      ))}
      {cells.map((c) => (
        <rect
          key={`${c.weekday}:${c.hour}`}
          x={left + c.hour * cw + 1}
          y={c.weekday * ch + 1}
          width={cw - 2}
          height={ch - 2}
          rx={3}
          fill="var(--c1)"
          fill-opacity={c.value > 0 ? 0.12 + 0.88 * (c.value / max) : 0.04}
        >
          <title>{`${DAYS[c.weekday]} ${c.hour}:00 · ${format(c.value)}`}</title>
        </rect>
      ))}
    </svg>
  );
}
