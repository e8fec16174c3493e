// A session's project: the name people know a working directory by, from a cwd written on any OS.
//
// The rule (docs/transcripts.md, "Project names"):
// 1. Split the cwd on both "/" and "\": Claude Code runs on Windows too, and a transcript read on
//    Linux keeps the Windows path it was written with. A POSIX directory name with a backslash in
//    it is legal but unheard of in a cwd; we accept splitting it.
// 2. Drop the root: a drive ("C:"), a UNC server ("\\server"), the "\\?\" long-path prefix.
// 3. Worktrees name their repository, not the worktree:
//    - <repo>/.claude/worktrees/<name>        (Claude Code's own --worktree)
//    - …/.claude-worktrees/<repo>/<name>      (the Claude desktop app)
//    - …/conductor/workspaces/<repo>/<name>   (Conductor)
// 4. Otherwise the last folder. A bare root ("/", "C:\") is its own project.

/** Bumped when the rule changes: stored sessions are re-derived once (ingest/rederive.ts). */
export const PROJECT_RULE_VERSION = 1;

export function projectOf(cwd: string | null | undefined): string | null {
  if (!cwd) return null;
  let rest = cwd.trim();
  if (rest === '') return null;
  // "\\?\C:\x" and "\\?\UNC\server\share\x" are Win32 long paths.
  rest = rest.replace(/^[\\/]{2}[?.][\\/](UNC[\\/])?/i, (_m, unc: string | undefined) => (unc ? '\\\\' : ''));
  let segments = rest.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (/^[\\/]{2}[^\\/]/.test(rest))
    segments = segments.slice(1); // UNC: the server is not a folder
  else if (/^[A-Za-z]:$/.test(segments[0] ?? '')) segments = segments.slice(1); // the drive
  if (segments.length === 0) return cwd;
  const at = (name: string) => segments.findIndex((s) => s.toLowerCase() === name);
  const desktop = at('.claude-worktrees');
  if (desktop >= 0 && desktop + 1 < segments.length) return segments[desktop + 1]!;
  const dotClaude = segments.findIndex((s, i) => s === '.claude' && segments[i + 1]?.toLowerCase() === 'worktrees' && i + 2 < segments.length);
  if (dotClaude > 0) return segments[dotClaude - 1]!;
  const conductor = segments.findIndex((s, i) => s.toLowerCase() === 'conductor' && segments[i + 1]?.toLowerCase() === 'workspaces' && i + 3 < segments.length);
  if (conductor >= 0) return segments[conductor + 2]!;
  return segments.at(-1)!;
}
