// The project-name rule (daemon/ingest/project.ts, docs/transcripts.md) on the paths of every OS.
import { describe, expect, it } from 'vitest';
import { projectOf } from '../../daemon/ingest/project.js';

describe('projectOf', () => {
  it.each([
    ['/home/dev/shop', 'shop'],
    ['/home/dev/shop/', 'shop'],
    ['/Users/dev/src/my app', 'my app'],
    ['C:\\Users\\dev\\proj', 'proj'],
    ['c:/Users/dev/proj', 'proj'],
    ['D:\\work\\api\\', 'api'],
    ['\\\\fs01\\share\\team\\api', 'api'],
    ['\\\\fs01\\share', 'share'],
    ['\\\\?\\C:\\very\\long\\path', 'path'],
    ['\\\\?\\UNC\\fs01\\share\\deep', 'deep'],
    ['C:\\Users\\dev\\.claude-worktrees\\shop\\brave-fox', 'shop'],
    ['/Users/dev/.claude-worktrees/shop/brave-fox/packages/web', 'shop'],
    ['/home/dev/shop/.claude/worktrees/fix-cart', 'shop'],
    ['/Users/dev/conductor/workspaces/shop/tokyo', 'shop'],
    ['/', '/'],
    ['C:\\', 'C:\\'],
  ])('%s -> %s', (cwd, want) => {
    expect(projectOf(cwd)).toBe(want);
  });

  it('has no project for no cwd', () => {
    expect(projectOf(null)).toBeNull();
    expect(projectOf('')).toBeNull();
    expect(projectOf('   ')).toBeNull();
  });
});
