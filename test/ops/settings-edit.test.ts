// Property tests of the settings.json editing behind install/uninstall (pure functions, no
// processes): for any settings object in any common layout, install then uninstall gives back the
// exact bytes, install touches nothing but rbk's entries, and a second install is a no-op.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredHooks, HOOK_EVENTS, isRbkHook, planInstall, planUninstall } from '../../cli/install/hooks.js';
import { parseTree } from '../../cli/install/json-edit.js';

const desired = desiredHooks({
  nodePath: '/usr/bin/node',
  hookScript: '/opt/rbk/dist/hook/rbk-hook.cjs',
  env: { RBK_DATA_DIR: '/home/u/rbk data' },
  async: true,
});

const userHook = fc.record(
  {
    type: fc.constant('command'),
    command: fc.string({ maxLength: 20 }).filter((c) => !c.includes('rbk-hook.cjs')),
    timeout: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
  },
  { requiredKeys: ['type', 'command'] },
);
const group = fc.record(
  { matcher: fc.option(fc.constantFrom('*', 'Bash', 'Edit|Write', ''), { nil: undefined }), hooks: fc.array(userHook, { maxLength: 3 }) },
  { requiredKeys: ['hooks'] },
);
const hooks = fc.dictionary(fc.constantFrom(...HOOK_EVENTS, 'Setup', 'CwdChanged'), fc.array(group, { maxLength: 3 }), { maxKeys: 6 });
const settings = fc
  .record(
    {
      hooks: fc.option(hooks, { nil: undefined }),
      other: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== 'hooks' && k !== '__proto__'),
        fc.jsonValue({ maxDepth: 3 }),
        { maxKeys: 5 },
      ),
    },
    { requiredKeys: ['other'] },
  )
  .map(({ hooks: h, other }) => {
    // The user's keys before and after "hooks", in their order.
    const keys = Object.keys(other);
    const half = Math.floor(keys.length / 2);
    const out: Record<string, unknown> = {};
    for (const k of keys.slice(0, half)) out[k] = other[k];
    if (h !== undefined) out.hooks = h;
    for (const k of keys.slice(half)) out[k] = other[k];
    return out;
  });
const layout = fc.record({ indent: fc.constantFrom(0, 2, 4, '\t'), crlf: fc.boolean(), trailingNewline: fc.boolean() });

function render(value: unknown, l: { indent: number | string; crlf: boolean; trailingNewline: boolean }): string {
  let text = JSON.stringify(value, null, l.indent);
  if (l.crlf) text = text.replace(/\n/g, '\r\n');
  return l.trailingNewline ? `${text}${l.crlf ? '\r\n' : '\n'}` : text;
}

function withoutRbk(value: Record<string, any>): Record<string, any> {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, any>;
  for (const [event, groups] of Object.entries((copy.hooks ?? {}) as Record<string, any[]>)) {
    copy.hooks[event] = groups.filter((g) => !(g.hooks as unknown[]).some((h) => isRbkHook(h)));
  }
  return copy;
}

describe('settings.json editing', () => {
  it('install then uninstall is the identity on the bytes; install changes only rbk’s entries; reinstall is a no-op', () => {
    fc.assert(
      fc.property(settings, layout, (value, l) => {
        const text = render(value, l);
        const installed = planInstall(text, 'settings.json', desired);
        expect(installed.changed).toBe(true);
        const after = installed.after!;
        parseTree(after); // strict JSON
        // Same newline style, nothing else changed apart from rbk's entries.
        if (text.includes('\r\n')) expect(after.replace(/\r\n/g, '')).not.toContain('\n');
        const parsed = JSON.parse(after) as Record<string, any>;
        const stripped = withoutRbk(parsed);
        for (const e of installed.footprint.createdEventKeys) delete stripped.hooks[e];
        if (installed.footprint.createdHooksKey) delete stripped.hooks;
        expect(stripped).toEqual(JSON.parse(JSON.stringify(value)));
        expect(Object.keys(parsed)).toEqual(installed.footprint.createdHooksKey ? [...Object.keys(value), 'hooks'] : Object.keys(value));
        // Idempotent.
        expect(planInstall(after, 'settings.json', desired, installed.footprint).changed).toBe(false);
        // Exact undo.
        expect(planUninstall(after, 'settings.json', installed.footprint).after).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses invalid JSON and wrong shapes with a message, instead of guessing', () => {
    expect(() => planInstall('{"a": 1,}', 'f.json', desired)).toThrow(/f\.json is not valid JSON: .*line 1, column 9/);
    expect(() => planInstall('[]', 'f.json', desired)).toThrow(/must hold a JSON object/);
    expect(() => planInstall('{"hooks": []}', 'f.json', desired)).toThrow(/"hooks" must be an object/);
    expect(() => planInstall('{"hooks": {"Stop": {}}}', 'f.json', desired)).toThrow(/"hooks.Stop" must be a list/);
  });
});
