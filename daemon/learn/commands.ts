// What a tool call is, for the incident model: a read (diagnostics), a change (state-changing
// steps: edits, writes, `sed -i`, git, kubectl, helm, terraform, SQL, installs, redirections),
// a check (a command whose exit says whether something works: tests, builds, scripts, deploys),
// or a delegation to a subagent. Shell commands are split into simple commands first, so that
// `mkdir -p generated && sh scripts/build.sh` is a change followed by a check.

/** Splits a shell command into its simple commands (&&, ||, ;, |, newlines), outside quotes. */
export function shellSegments(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '' | "'" | '"' = '';
  let depth = 0;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    const next = command[i + 1];
    if (quote) {
      if (c === '\\' && quote === '"' && next !== undefined) {
        cur += c + next;
        i++;
        continue;
      }
      if (c === quote) quote = '';
      cur += c;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    if (depth === 0 && !quote) {
      if ((c === '&' && next === '&') || (c === '|' && next === '|')) {
        out.push(cur);
        cur = '';
        i++;
        continue;
      }
      if (c === ';' || c === '|' || c === '\n') {
        out.push(cur);
        cur = '';
        continue;
      }
    }
    cur += c;
  }
  out.push(cur);
  return out.map((s) => s.replace(/\\\s*$/, '').trim()).filter((s) => s.length > 0);
}

/** The words of a simple command, quotes removed, leading VAR=value assignments and wrappers dropped. */
export function commandWords(segment: string): string[] {
  const words: string[] = [];
  const re = /"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(segment)) !== null) words.push(m[1] ?? m[2] ?? m[3] ?? '');
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift();
  while (['sudo', 'time', 'command', 'exec', 'nohup', 'env'].includes(words[0] ?? '')) words.shift();
  return words;
}

// Programs that only look at things: never "the check" and never "the fix".
const VIEWERS = new Set([
  'cat',
  'ls',
  'echo',
  'cd',
  'pwd',
  'head',
  'tail',
  'true',
  'false',
  'sleep',
  'which',
  'wc',
  'printf',
  'export',
  'set',
  'clear',
  'sort',
  'uniq',
  'less',
  'more',
  'xargs',
  'grep',
  'rg',
  'egrep',
  'fgrep',
  'ag',
  'awk',
  'jq',
  'yq',
  'cut',
  'tr',
  'find',
  'fd',
  'test',
  '[',
  'stat',
  'file',
  'tree',
  'env',
  'printenv',
  'du',
  'df',
  'ps',
  'whoami',
  'id',
  'date',
  'type',
  'diff',
  'cmp',
  'md5sum',
  'sha256sum',
  'basename',
  'dirname',
  'realpath',
  'readlink',
  'column',
  'nl',
  'od',
  'hexdump',
  'strings',
  'top',
  'free',
  'uptime',
  'hostname',
  'uname',
  'lsof',
  'netstat',
  'ss',
  'dig',
  'nslookup',
  'host',
  'ping',
]);

const INTERPRETERS = new Set(['sh', 'bash', 'zsh', 'dash']);

/** Read-only subcommands of tools that also change things. */
const READ_ONLY_SUBCOMMANDS: Record<string, RegExp> = {
  git: /^(status|diff|log|show|branch$|remote|blame|grep|ls-files|rev-parse|describe|config --get|stash list|reflog)/,
  kubectl: /^(get|describe|logs|top|explain|version|config view|api-resources|auth can-i|rollout (status|history))/,
  helm: /^(list|ls|status|get|history|show|template|lint|search|version)/,
  terraform: /^(plan|show|output|validate|fmt -check|state (list|show)|version|providers|graph)/,
  docker: /^(ps|logs|inspect|images|version|info|stats|top|compose (ps|logs|config))/,
  'docker-compose': /^(ps|logs|config|top)/,
  systemctl: /^(status|is-active|is-enabled|list-units|show|cat)/,
  journalctl: /./,
  npm: /^(ls|list|view|info|outdated|audit$|config get|root|bin|explain|why)/,
  pip: /^(list|show|freeze|check)/,
  brew: /^(list|info|search|outdated|doctor)/,
  sed: /^(?!.*(^|\s)-[a-zA-Z]*i)/, // sed without -i only prints
  sqlite3: /^(?!.*\b(insert|update|delete|alter|create|drop|replace|vacuum)\b)/i,
  psql: /^(?!.*\b(insert|update|delete|alter|create|drop|truncate|grant|revoke)\b)/i,
  mysql: /^(?!.*\b(insert|update|delete|alter|create|drop|truncate|grant|revoke)\b)/i,
  curl: /^(?!.*(-X\s*(POST|PUT|PATCH|DELETE)|--request\s*(POST|PUT|PATCH|DELETE)|(^|\s)-d\b|--data))/i,
};

/** Programs (with subcommands) that change state. */
const CHANGE_PROGRAMS = new Set([
  'mv',
  'cp',
  'rm',
  'mkdir',
  'rmdir',
  'touch',
  'chmod',
  'chown',
  'ln',
  'truncate',
  'install',
  'patch',
  'unzip',
  'tee',
  'dd',
  'rsync',
  'scp',
  'kill',
  'pkill',
  'killall',
]);
const CHANGE_SUBCOMMANDS: Record<string, RegExp> = {
  git: /^(add|commit|checkout|switch|reset|revert|apply|am|merge|rebase|cherry-pick|stash(?! list)|push|pull|restore|rm|mv|tag|clean|branch -[dDmM]|init|clone|submodule)/,
  kubectl:
    /^(apply|delete|create|replace|patch|scale|rollout (restart|undo|pause|resume)|set|edit|annotate|label|cordon|uncordon|drain|taint|expose|autoscale|run|exec)/,
  helm: /^(install|upgrade|rollback|uninstall|delete|repo (add|update)|dependency (update|build))/,
  terraform: /^(apply|destroy|import|taint|untaint|state (rm|mv|push)|init|workspace (new|select|delete)|fmt(?!.*-check))/,
  docker:
    /^(run|rm|stop|start|restart|kill|build|pull|tag|push|compose (up|down|restart|stop|start|build|pull|rm)|volume rm|network (create|rm)|system prune|exec)/,
  'docker-compose': /^(up|down|restart|stop|start|build|pull|rm)/,
  systemctl: /^(start|stop|restart|reload|enable|disable|daemon-reload|mask|unmask)/,
  service: /\b(start|stop|restart|reload)\b/,
  npm: /^(install|i|ci|uninstall|remove|rm|update|up|link|unlink|pkg set|version|publish|dedupe|prune|rebuild|init)\b/,
  yarn: /^(add|remove|install|upgrade|up|link)\b|^$/,
  pnpm: /^(add|remove|install|i|update|up|link)\b/,
  pip: /^(install|uninstall)/,
  pip3: /^(install|uninstall)/,
  apt: /^(install|remove|purge|upgrade|update)/,
  'apt-get': /^(install|remove|purge|upgrade|update)/,
  brew: /^(install|uninstall|upgrade|link|unlink)/,
  go: /^(get|mod (tidy|download|edit))/,
  bundle: /^(install|update|add)/,
  gem: /^(install|uninstall)/,
  sed: /(^|\s)-[a-zA-Z]*i/,
  perl: /(^|\s)-[a-zA-Z]*i/,
  sqlite3: /\b(insert|update|delete|alter|create|drop|replace)\b/i,
  psql: /\b(insert|update|delete|alter|create|drop|truncate|grant|revoke)\b/i,
  mysql: /\b(insert|update|delete|alter|create|drop|truncate|grant|revoke)\b/i,
  curl: /(-X\s*(POST|PUT|PATCH|DELETE)|--request\s*(POST|PUT|PATCH|DELETE))/i,
  crontab: /./,
  // Formatters and fixers rewrite files; migrations change a database.
  mix: /^(format(?!.*--check)|deps\.(get|update|unlock)|ecto\.(migrate|rollback|reset|create|drop|setup)|phx\.gen|igniter)/,
  cargo: /^(add|remove|update|install|fmt|fix)/,
  gofmt: /(^|\s)-w\b/,
  goimports: /(^|\s)-w\b/,
  rustfmt: /./,
  black: /^(?!.*--check)/,
  isort: /^(?!.*--check)/,
  autopep8: /(^|\s)(-i|--in-place)\b/,
  ruff: /^(format(?!.*--check)|check .*--fix)/,
  rails: /^(db:(migrate|rollback|seed|reset|setup)|generate|g )/,
  rake: /^db:(migrate|rollback|seed|reset|setup)/,
  prisma: /^(migrate (dev|deploy|reset)|db push|generate)/,
  knex: /^(migrate:(latest|rollback|up|down)|seed:run)/,
  alembic: /^(upgrade|downgrade|stamp)/,
  flyway: /^(migrate|repair|clean|undo)/,
};

/** Flags that make a formatter or linter rewrite files. */
const WRITE_FLAGS = /(^|\s)(--write|--fix|-w\b|--in-place|--inplace|-i\b)(\s|$)/;

function program(words: string[]): { name: string; rest: string } {
  const [first = '', ...rest] = words;
  const name = first.replace(/^.*\//, '') === first ? first : first; // keep paths: ./deploy.sh stays ./deploy.sh
  return { name, rest: rest.join(' ') };
}

/** A file written by a redirection (`> file`, `>> file`), not /dev/null or a file descriptor. */
export function redirectTarget(segment: string): string | null {
  const m = /(?:^|[^0-9&>])>>?\s*("[^"]+"|'[^']+'|[^\s&|;<>]+)/.exec(segment.replace(/<<-?\s*['"]?\w+['"]?/g, ''));
  if (!m) return null;
  const target = m[1]!.replace(/^["']|["']$/g, '');
  if (target === '/dev/null' || target.startsWith('&') || /^\/dev\/(stdout|stderr|fd\/)/.test(target)) return null;
  return target;
}

/** Does this simple command change state (files, repos, clusters, databases, packages)? */
export function isChangeSegment(segment: string): boolean {
  if (redirectTarget(segment)) return true;
  const words = commandWords(segment);
  if (words.length === 0) return false;
  const { name, rest } = program(words);
  const base = name.replace(/^.*\//, '');
  if (CHANGE_PROGRAMS.has(base)) return true;
  const sub = CHANGE_SUBCOMMANDS[base];
  if (sub?.test(rest)) return true;
  if (WRITE_FLAGS.test(` ${rest} `) && !['grep', 'rg', 'sed', 'perl', 'curl', 'ls'].includes(base)) return true;
  // Package scripts named for what they change: npm run format, yarn lint:fix, pnpm db:migrate.
  if (
    ['npm', 'yarn', 'pnpm', 'bun', 'make', 'just'].includes(base) &&
    /(^|\s|:)(format|fmt|fix|prettier|migrate|seed|codegen|generate)(\s|:|$)/.test(` ${rest} `)
  )
    return true;
  return false;
}

/** Does this simple command only look (a viewer, or a read-only subcommand)? */
export function isViewSegment(segment: string): boolean {
  const words = commandWords(segment);
  if (words.length === 0) return true;
  if (isChangeSegment(segment)) return false;
  const { name, rest } = program(words);
  const base = name.replace(/^.*\//, '');
  if (VIEWERS.has(base)) return true;
  const ro = READ_ONLY_SUBCOMMANDS[base];
  return ro?.test(rest) === true;
}

/**
 * The identity of a check: "the same check" is the same program and subcommand, whatever the
 * flags (`./run-migrations.sh --force` is a run of `run-migrations.sh`). Interpreters are looked
 * through (`sh ./test.sh` and `./test.sh` are one check); `npm run test` is `npm test`.
 */
export function checkKeyOf(segment: string): string {
  let words = commandWords(segment);
  if (words.length === 0) return '';
  if (INTERPRETERS.has(words[0]!) && words[1] && !words[1].startsWith('-')) words = words.slice(1);
  const key: string[] = [];
  for (const w of words) {
    if (key.length >= 3 || w.startsWith('-') || /['"`$<>&(){}*=]/.test(w)) break;
    // Arguments that are data rather than subcommands: paths with a dot, numbers, urls.
    if (key.length >= 1 && (/^\d+$/.test(w) || /:\/\//.test(w) || (w.includes('/') && key.length >= 2))) break;
    key.push(w);
  }
  if (key[0]) key[0] = key[0].replace(/^\.\//, '');
  if (key[0] === 'npm' && key[1] === 'run' && key[2] === 'test') key.splice(1, 1);
  return key.join(' ');
}

export interface CommandParts {
  /** Simple commands that change state, quoted whole (what a fix step shows). */
  changes: string[];
  /** Checks: simple commands that are neither views nor changes (what "passing" is about). */
  checks: { key: string; segment: string }[];
  /** Only viewing. */
  viewOnly: boolean;
}

export function commandParts(command: string): CommandParts {
  const segments = shellSegments(command);
  const changes: string[] = [];
  const checks: { key: string; segment: string }[] = [];
  for (const s of segments) {
    if (isChangeSegment(s)) changes.push(s);
    else if (!isViewSegment(s)) {
      const key = checkKeyOf(s);
      if (key) checks.push({ key, segment: s });
    }
  }
  return { changes, checks, viewOnly: changes.length === 0 && checks.length === 0 };
}

/**
 * Errors that say the command itself was wrong, not the thing it checks: a missing program or
 * script, an unknown flag or subcommand, a typo'd script name, Claude Code's own tool misuse.
 */
export const WRONG_COMMAND =
  /^\(eval\):\d+: |^(?:\S*\/)?(?:ba|z|da)?sh:(?: line)? \d+: \S+: (?:not found|No such file or directory|Permission denied)|command not found|: not found\b|No such file or directory|not recognized as (an internal|the name)|unknown (flag|option|command|subcommand|shorthand flag)|unrecognized (option|argument|arguments|command)|invalid (option|choice|command)|illegal option|Missing script|Usage: |usage: |is not a \w+ command|no such (command|subcommand|option)|did you mean|requires an argument|File has not been read yet|String to replace not found|File does not exist|Found \d+ matches of the string to replace|<tool_use_error>|InputValidationError|No files found|EISDIR|is a directory/i;

/** Tools that only read (their calls are diagnostics). */
export const READ_TOOLS = new Set([
  'Read',
  'Glob',
  'Grep',
  'LS',
  'WebFetch',
  'WebSearch',
  'NotebookRead',
  'BashOutput',
  'ToolSearch',
  'ListMcpResourcesTool',
  'ReadMcpResourceTool',
]);
/** Tools that change files. */
export const EDIT_TOOLS = new Set(['Edit', 'MultiEdit', 'Write', 'NotebookEdit']);
/** Tools that start a subagent. */
export const AGENT_TOOLS = new Set(['Task', 'Agent']);
/** Bookkeeping tools: neither evidence nor change. */
export const BOOKKEEPING_TOOLS = new Set(['TodoWrite', 'TodoRead', 'ExitPlanMode', 'KillShell', 'KillBash']);
