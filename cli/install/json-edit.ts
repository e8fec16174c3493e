// Surgical edits of a JSON document's text: parse it once with source positions, then insert or
// delete whole members/elements as text, so that every byte outside the edited spot stays as the
// person wrote it (key order, indentation, number spelling, escapes, trailing newline).
//
// Only strict JSON is accepted (what JSON.parse accepts), with an optional UTF-8 BOM in front.

export interface JsonMember {
  key: string;
  keyStart: number;
  value: JsonNode;
}

export type JsonNode =
  | { type: 'object'; start: number; end: number; members: JsonMember[] }
  | { type: 'array'; start: number; end: number; items: JsonNode[] }
  | { type: 'string' | 'number' | 'boolean' | 'null'; start: number; end: number };

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

/** Parses `text` into a position tree. Throws JsonSyntaxError (with line and column) on bad JSON. */
export function parseTree(text: string): JsonNode {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (what: string): never => {
    const { line, column } = lineCol(text, i);
    const near = i < text.length ? JSON.stringify(text.slice(i, i + 12)) : 'end of file';
    throw new JsonSyntaxError(`${what} at line ${line}, column ${column} (near ${near})`, i, line, column);
  };
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c === 0x5c) {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape in string');
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else fail('bad escape in string');
      } else if (c < 0x20) fail('control character in string');
      else i++;
    }
    i = start;
    return fail('unterminated string');
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const members: JsonMember[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { type: 'object', start, end: i, members };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a "quoted" key');
        const keyStart = i;
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":" after key');
        i++;
        const v = value();
        members.push({ key, keyStart, value: v });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { type: 'object', start, end: i, members };
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { type: 'array', start, end: i, items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { type: 'array', start, end: i, items };
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      str();
      return { type: 'string', start, end: i };
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0 && (c === '-' || (c !== undefined && c >= '0' && c <= '9'))) {
      i += m[0].length;
      return { type: 'number', start, end: i };
    }
    for (const [word, type] of [
      ['true', 'boolean'],
      ['false', 'boolean'],
      ['null', 'null'],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { type, start, end: i };
      }
    }
    return fail(i >= text.length ? 'unexpected end of file' : 'unexpected character');
  };
  const root = value();
  ws();
  if (i < text.length) fail('unexpected text after the end of the JSON value');
  return root;
}

/** Start offset of a member (its key) or of an element. */
function itemStart(item: JsonMember | JsonNode): number {
  return 'keyStart' in item ? item.keyStart : item.start;
}
function itemEnd(item: JsonMember | JsonNode): number {
  return 'keyStart' in item ? item.value.end : item.end;
}

export interface Style {
  nl: string;
  /** One level of indentation, or null when the file is written on one line. */
  unit: string | null;
  /** What separates a key from its value, e.g. ": ". */
  colon: string;
}

export const DEFAULT_STYLE: Style = { nl: '\n', unit: '  ', colon: ': ' };

/** The newline, indentation unit and key/value separator the file already uses. */
export function detectStyle(text: string, root: JsonNode): Style {
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  let colon = ': ';
  const first = root.type === 'object' ? root.members[0] : undefined;
  if (!first) return { nl, unit: '  ', colon };
  const sep = /^"(?:[^"\\]|\\.)*"(\s*:\s*)$/.exec(text.slice(first.keyStart, first.value.start));
  if (sep && !sep[1]!.includes('\n')) colon = sep[1]!;
  const onOwnLine = text.slice(root.start + 1, first.keyStart).includes('\n');
  if (onOwnLine) {
    // The first top-level key's indentation is one level.
    const indent = lineIndent(text, first.keyStart);
    return { nl, unit: indent && indent.length > 0 ? indent : '  ', colon };
  }
  // Written on one line: keep it on one line.
  return { nl, unit: text.trim().includes('\n') ? '  ' : null, colon };
}

/** The whitespace between the start of offset's line and offset, or null if other text precedes it. */
function lineIndent(text: string, offset: number): string | null {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(before) ? before : null;
}

/** Indentation of the line a node starts on (whatever precedes it there). */
function indentOfLine(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** JSON text of `value` laid out at `indent` in the file's style. */
export function serialize(value: unknown, style: Style, indent: string): string {
  if (style.unit === null) return JSON.stringify(value);
  return JSON.stringify(value, null, style.unit)
    .split('\n')
    .join(style.nl + indent);
}

export interface Edit {
  start: number;
  end: number;
  text: string;
}

export function applyEdit(text: string, e: Edit): string {
  return text.slice(0, e.start) + e.text + text.slice(e.end);
}

/** Appends `itemText(childIndent)` as the last member/element of `container`. */
/** True for a non-empty container whose first item is on its opening line: `{ "a": 1, … }`. */
export function isInline(text: string, node: JsonNode): boolean {
  const items: (JsonMember | JsonNode)[] = node.type === 'object' ? node.members : node.type === 'array' ? node.items : [];
  return items.length > 0 && !text.slice(node.start + 1, itemStart(items[0]!)).includes('\n');
}

function appendEdit(
  text: string,
  container: JsonNode & { type: 'object' | 'array' },
  style: Style,
  itemText: (indent: string, s: Style) => string,
  inInline = false,
): Edit {
  const items: (JsonMember | JsonNode)[] = container.type === 'object' ? container.members : container.items;
  const last = items[items.length - 1];
  if (last) {
    const firstStart = itemStart(items[0]!);
    const multiline = text.slice(container.start + 1, firstStart).includes('\n');
    if (multiline) {
      const childIndent = lineIndent(text, firstStart) ?? indentOfLine(text, firstStart);
      return { start: itemEnd(last), end: itemEnd(last), text: `,${style.nl}${childIndent}${itemText(childIndent, style)}` };
    }
    const spaced =
      /\s/.test(text.slice(container.start + 1, firstStart)) || (items.length > 1 && /,\s/.test(text.slice(itemEnd(items[0]!), itemStart(items[1]!))));
    // A container written on one line gets its new item on that line too.
    return { start: itemEnd(last), end: itemEnd(last), text: `,${spaced ? ' ' : ''}${itemText('', { ...style, unit: null })}` };
  }
  // An empty container inside one written on a single line stays on that line.
  if (style.unit === null || inInline) return { start: container.start + 1, end: container.end - 1, text: itemText('', { ...style, unit: null }) };
  const parentIndent = indentOfLine(text, container.start);
  const childIndent = parentIndent + style.unit;
  return { start: container.start + 1, end: container.end - 1, text: `${style.nl}${childIndent}${itemText(childIndent, style)}${style.nl}${parentIndent}` };
}

export function appendMemberEdit(text: string, obj: JsonNode & { type: 'object' }, style: Style, key: string, value: unknown): Edit {
  return appendEdit(text, obj, style, (indent, st) => `${JSON.stringify(key)}${st.colon}${serialize(value, st, indent)}`);
}

export function appendElementEdit(text: string, arr: JsonNode & { type: 'array' }, style: Style, value: unknown, inInline = false): Edit {
  return appendEdit(text, arr, style, (indent, st) => serialize(value, st, indent), inInline);
}

/**
 * Deletes member/element `index` with the separator that belongs to it: the comma and space
 * before it (the exact inverse of appendEdit), or after it when it is the first of several.
 */
export function removeEdit(container: JsonNode & { type: 'object' | 'array' }, index: number): Edit {
  const items: (JsonMember | JsonNode)[] = container.type === 'object' ? container.members : container.items;
  const item = items[index];
  if (!item) throw new RangeError(`no item ${index}`);
  if (items.length === 1) return { start: container.start + 1, end: container.end - 1, text: '' };
  if (index > 0) return { start: itemEnd(items[index - 1]!), end: itemEnd(item), text: '' };
  return { start: itemStart(item), end: itemStart(items[1]!), text: '' };
}

export function member(obj: JsonNode, key: string): JsonMember | undefined {
  if (obj.type !== 'object') return undefined;
  // JSON.parse keeps the last of duplicate keys; so do we.
  for (let i = obj.members.length - 1; i >= 0; i--) if (obj.members[i]!.key === key) return obj.members[i];
  return undefined;
}
