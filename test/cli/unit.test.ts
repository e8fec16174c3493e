// Unit tests of the CLI's pure parts: the table engine (resolve, parse, help), suggestions, and
// the output helpers (tables that fit, one number format per column, plurals).
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/command-table.js';
import { CliError } from '../../cli/errors.js';
import { displayWidth, numberColumn, plural, table, truncate, usdColumn, wrap } from '../../cli/format.js';
import { allOptions, commandHelp, mainUsage, parseFor, resolve, suggest, wantsHelp } from '../../cli/parse.js';
import { syncFailureCause } from '../../common/sync-failure.js';
import { errorExcerpt } from '../../daemon/query/timeline.js';

const parse = (argv: string[]) => {
  const r = resolve(argv, COMMANDS);
  if (!r) throw new Error(`no command for ${argv.join(' ')}`);
  return parseFor(r.command, r.rest, COMMANDS);
};
const usageErrorOf = (argv: string[]): string => {
  try {
    parse(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as CliError).message;
  }
  throw new Error(`rbk ${argv.join(' ')} parsed without an error`);
};

describe('the command table', () => {
  it('every command has a summary and its own --help; names are unique; the main usage lists every visible one', () => {
    const names = COMMANDS.map((c) => c.path.join(' '));
    expect(new Set(names).size).toBe(names.length);
    const usage = mainUsage(COMMANDS);
    for (const c of COMMANDS) {
      expect(c.summary.length).toBeGreaterThan(10);
      expect(commandHelp(c, COMMANDS)).toContain(`rbk ${c.path.join(' ')}`);
      expect(Object.keys(allOptions(c))).toEqual(expect.arrayContaining(['json', 'help']));
      if (!c.hidden) expect(usage).toContain(`rbk ${c.path.join(' ')}`);
      // A destructive command gets --yes, and only those do.
      expect('yes' in allOptions(c)).toBe(Boolean(c.destructive));
      if (c.destructive) expect(c.preview, `${c.path.join(' ')} shows what it will do before asking`).toBeDefined();
    }
  });

  it('resolves the longest name, aliases included, and leaves the rest for the parser', () => {
    expect(resolve(['sessions', 'show', 'abc'], COMMANDS)).toMatchObject({ command: { path: ['sessions', 'show'] }, rest: ['abc'] });
    expect(resolve(['sessions', 'list', '--limit', '3'], COMMANDS)).toMatchObject({ command: { path: ['sessions'] }, rest: ['--limit', '3'] });
    expect(resolve(['sessions', '--limit', '3'], COMMANDS)).toMatchObject({ command: { path: ['sessions'] }, rest: ['--limit', '3'] });
    expect(resolve(['nothing'], COMMANDS)).toBeUndefined();
  });

  it('--help is found wherever it is, and -h inside grouped short flags; never after "--"', () => {
    expect(wantsHelp(['--help'])).toBe(true);
    expect(wantsHelp(['abc', '-h'])).toBe(true);
    expect(wantsHelp(['-fh'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false);
    expect(wantsHelp(['--limit', '3'])).toBe(false);
  });

  it('parses options and arguments, with defaults, negations and choices', () => {
    expect(parse(['sessions', '--limit', '3', '--errors'])).toMatchObject({ values: { limit: '3', errors: true, json: false } });
    expect(parse(['sessions', 'show', 'abc', '--no-pager']).values.pager).toBe(false);
    expect(parse(['sessions', 'show', 'abc']).values.pager).toBe(true);
    expect(parse(['sessions', 'search', 'connection', 'refused']).args.query).toBe('connection refused');
    expect(parse(['usage']).args.report).toBeUndefined();
    expect(parse(['usage', 'weekly']).args.report).toBe('weekly');
    expect(parse(['retention', '-y']).values.yes).toBe(true);
  });

  it('refuses what it does not understand, with a suggestion when one is close', () => {
    expect(usageErrorOf(['sessions', '--limt', '3'])).toMatch(/^unknown option --limt for rbk sessions; did you mean --limit\?\n\nrbk sessions \[options\]/);
    expect(usageErrorOf(['sessions', 'shwo', 'x'])).toContain('unknown subcommand "shwo" of rbk sessions; did you mean "rbk sessions show"?');
    expect(usageErrorOf(['usage', 'dayly'])).toContain('"dayly" is not one of daily, weekly, monthly, session; did you mean "daily"?');
    expect(usageErrorOf(['sessions', '--limit'])).toContain('--limit needs a value (N)');
    expect(usageErrorOf(['sessions', '--limit', '0'])).toContain('--limit must be a positive whole number, got "0"');
    expect(usageErrorOf(['sessions', '--errors=yes'])).toContain('--errors is a switch and takes no value');
    expect(usageErrorOf(['sessions', 'show'])).toContain('rbk sessions show needs <id|prefix>');
    expect(usageErrorOf(['sessions', 'show', 'a', 'b'])).toContain('unexpected argument "b"');
    // --no-X only for the options that can be turned off.
    expect(usageErrorOf(['sessions', '--no-errors'])).toContain('unknown option --no-errors');
    expect(usageErrorOf(['learn', 'x', '--synthesizer', 'gpt'])).toContain('--synthesizer must be extractive or anthropic');
    expect(usageErrorOf(['sessions', '--since', 'last tuesday'])).toContain('--since');
  });

  it('suggests on typos, swapped letters and prefixes, and not on unrelated words', () => {
    expect(suggest('sesions', ['sessions', 'status'])).toBe('sessions');
    expect(suggest('stauts', ['status', 'stats'])).toBe('status');
    expect(suggest('sess', ['sessions', 'status'])).toBe('sessions');
    expect(suggest('wibble', ['sessions', 'status', 'stats'])).toBeUndefined();
  });
});

describe('tables that fit the terminal', () => {
  const headers = ['ID', 'PROJECT', 'TOKENS'];
  const rows = [
    ['3f1c0a2b', 'a-project-with-a-name-far-too-long-to-fit', '1.2k'],
    ['9abc1234', 'short', '12.0k'],
  ];

  it('without a width every character is kept (output piped to another program)', () => {
    expect(table(headers, rows)).toContain('a-project-with-a-name-far-too-long-to-fit');
  });

  it('cuts the widest text column with "…", keeps ids and numbers whole, and every line fits', () => {
    const out = table(headers, rows, { width: 30, keep: [0], rightAlign: [2] }).split('\n');
    for (const l of out) expect(displayWidth(l)).toBeLessThanOrEqual(30);
    expect(out[2]).toBe('3f1c0a2b  a-project-w…    1.2k');
    expect(out[3]).toBe('9abc1234  short          12.0k');
  });

  it('leaves out optional columns, least important first, when cutting is not enough, and says so', () => {
    const wide = ['ID', 'PROJECT', 'START', 'STATUS', 'TOKENS'];
    const r = [['3f1c0a2b', 'proj', '2026-12-02 17:13', 'ended', '1.2k']];
    // 51 cells whole; without STATUS 43; without PROJECT too, 34.
    const narrow = table(wide, r, { width: 44, keep: [0, 2], rightAlign: [4], drop: [3, 1] }).split('\n');
    expect(narrow[0]).toBe('ID        PROJECT  START             TOKENS');
    expect(narrow[2]).toBe('3f1c0a2b  proj     2026-12-02 17:13    1.2k');
    expect(narrow[3]).toBe('(STATUS left out to fit 44 columns; --json …');
    const narrower = table(wide, r, { width: 36, keep: [0, 2], rightAlign: [4], drop: [3, 1] }).split('\n');
    expect(narrower[0]).toBe('ID        START             TOKENS');
    for (const l of narrower) expect(displayWidth(l)).toBeLessThanOrEqual(36);
    expect(narrower.at(-1)).toBe('(STATUS, PROJECT left out to fit 36…');
  });

  it('counts wide characters as two cells', () => {
    expect(displayWidth('日本')).toBe(4);
    expect(truncate('日本語のプロジェクト', 7)).toBe('日本語…');
    expect(displayWidth(truncate('日本語のプロジェクト', 7))).toBeLessThanOrEqual(7);
  });

  it('wraps prose at words with a hanging indent', () => {
    expect(wrap('one two three four five', 12, 2)).toBe('one two\n  three four\n  five');
    expect(wrap('short', Infinity, 2)).toBe('short');
  });
});

describe('numbers and words', () => {
  it('a column of counts uses one unit and one number of decimals', () => {
    expect(numberColumn([312, 6153, 58210])).toEqual(['0.3k', '6.2k', '58.2k']);
    expect(numberColumn([0, 6153, 158210])).toEqual(['0', '6k', '158k']);
    expect(numberColumn([12, 9999])).toEqual(['12', '9999']);
    expect(numberColumn([1_200_000, 35_000_000])).toEqual(['1.2M', '35.0M']);
  });

  it('a column of costs has four decimals for every row when any is under a cent', () => {
    expect(usdColumn([1.5, 0.004, null])).toEqual(['$1.5000', '$0.0040', '?']);
    expect(usdColumn([1.5, 12])).toEqual(['$1.50', '$12.00']);
  });

  it('plurals', () => {
    expect(plural(1, 'session')).toBe('1 session');
    expect(plural(0, 'session')).toBe('0 sessions');
    expect(plural(2, 'directory', 'directories')).toBe('2 directories');
  });
});

describe('what a failed tool shows', () => {
  it('short output whole; long output its first lines and its last ones, where the error is, with what was cut', () => {
    expect(errorExcerpt('npm ERR! missing script: build\n', null, 31)).toBe('npm ERR! missing script: build');
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i}: compiling module ${i}`);
    lines.push('ERROR: src/payments/client.ts:42: Type "string" is not assignable to type "number"');
    const text = lines.join('\n');
    const head = text.slice(0, 2001);
    const tail = text.slice(-2400);
    const ex = errorExcerpt(head, tail, text.length);
    expect(ex.startsWith('line 0: compiling module 0\nline 1: compiling module 1\nline 2: compiling module 2\n[… ')).toBe(true);
    expect(ex).toMatch(/\[… \d+ characters cut …\]/);
    expect(ex.endsWith('ERROR: src/payments/client.ts:42: Type "string" is not assignable to type "number"')).toBe(true);
    expect(ex.length).toBeLessThan(2600);
  });
});

describe('sync failure causes', () => {
  it('names credentials, permissions, bucket and endpoint problems, each with its fix', () => {
    expect(syncFailureCause('CredentialsProviderError: Could not load credentials from any providers').cause).toBe('credentials');
    expect(syncFailureCause('InvalidAccessKeyId: The AWS Access Key Id you provided does not exist').cause).toBe('credentials');
    expect(syncFailureCause('AccessDenied: Access Denied').cause).toBe('permission');
    expect(syncFailureCause('NoSuchBucket: The specified bucket does not exist').cause).toBe('bucket');
    expect(syncFailureCause('connect ECONNREFUSED 127.0.0.1:9000').cause).toBe('endpoint');
    expect(syncFailureCause('getaddrinfo ENOTFOUND s3.example.invalid').cause).toBe('endpoint');
    expect(syncFailureCause('something odd').cause).toBe('other');
    expect(syncFailureCause('Could not load credentials from any providers').fix).toContain('default credential chain');
  });
});
