// POSIX shell quoting for the hook command Claude Code runs through a shell, and the reverse
// (splitting a command into words) for doctor's checks.

const SAFE = /^[A-Za-z0-9_/.,:@%+=-]+$/;

/** `s` as one shell word: unchanged when it needs no quoting, else single-quoted. */
export function shellQuote(s: string): string {
  if (s.length > 0 && SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Splits a simple shell command into words (quotes and backslashes; no expansions). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      cur += command.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (i < command.length && command[i] !== '"') {
        if (command[i] === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) i++;
        cur += command[i];
        i++;
      }
      if (i >= command.length) throw new Error('unterminated double quote');
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Leading NAME=value words (environment assignments), and the rest. */
export function splitAssignments(words: string[]): { env: Record<string, string>; argv: string[] } {
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length; i++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[i]!);
    if (!m) break;
    env[m[1]!] = m[2]!;
  }
  if (words[i] === 'env')
    return splitAssignments(words.slice(i + 1)).argv.length ? mergeEnv(env, splitAssignments(words.slice(i + 1))) : { env, argv: words.slice(i) };
  return { env, argv: words.slice(i) };
}

function mergeEnv(env: Record<string, string>, rest: { env: Record<string, string>; argv: string[] }): { env: Record<string, string>; argv: string[] } {
  return { env: { ...env, ...rest.env }, argv: rest.argv };
}
