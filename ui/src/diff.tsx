// Edit/Write and runbook proposals as diffs: text lines, coloured by kind, never HTML.
import { structuredPatch } from 'diff';

export function DiffView({ before, after, name }: { before: string; after: string; name: string }) {
  const patch = structuredPatch(name, name, before, after, '', '', { context: 3 });
  if (patch.hunks.length === 0) return <div class="muted">no change</div>;
  return (
    <div class="diff" data-testid="diff">
      {patch.hunks.map((h, i) => (
        <div key={i}>
          <div class="hunk">{`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`}</div>
          {h.lines.map((l, j) => (
            <div key={j} class={l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : ''}>
              {l}
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}

/** A unified diff as written (learn's proposals). */
export function PatchView({ patch }: { patch: string }) {
  return (
    <div class="diff" data-testid="patch">
      {patch.split('\n').map((l, i) => (
        <div key={i} class={l.startsWith('+++') || l.startsWith('---') ? 'hunk' : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : ''}>
          {l}
        </div>
      ))}
    </div>
  );
}
