// Helpers for the install/operate tests: temp homes, a loopback webhook receiver, free ports, a
// whole-tree snapshot (to prove --dry-run writes nothing) and a minimal XML property-list checker.
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../cli/install/locate.js';

/** A free TCP port on 127.0.0.1 (closed again before returning; fine for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Every file under `root` (relative path → content + mode), for before/after comparisons. */
export function snapshotTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (e.isDirectory()) {
        out.set(`${rel}/`, `dir ${(fs.statSync(p).mode & 0o777).toString(8)}`);
        walk(p);
      } else if (e.isFile()) {
        const st = fs.statSync(p);
        out.set(rel, `${(st.mode & 0o777).toString(8)} ${st.mtimeMs} ${fs.readFileSync(p, 'base64')}`);
      } else {
        out.set(rel, 'other');
      }
    }
  };
  walk(root);
  return out;
}

export interface ReceivedRequest {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Decides the status of each request (default 200). */
  respond: (req: { headers: http.IncomingHttpHeaders; body: string; index: number }) => number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = { url: '', requests: [], respond: () => 200, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = r.respond({ headers: req.headers, body, index: r.requests.length });
      r.requests.push({ at: Date.now(), headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  r.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** What a receiver does: recompute HMAC-SHA256 over "<timestamp>.<body>" and compare in constant time. */
export function verifySignature(secret: string, headers: http.IncomingHttpHeaders, body: string, maxSkewS = 300): boolean {
  const sig = String(headers['x-rbk-signature'] ?? '');
  const ts = Number(headers['x-rbk-timestamp']);
  if (!sig.startsWith('sha256=') || !Number.isFinite(ts)) return false;
  if (Math.abs(Date.now() / 1000 - ts) > maxSkewS) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex'));
  const got = Buffer.from(sig.slice('sha256='.length));
  return want.length === got.length && timingSafeEqual(want, got);
}

// --- a minimal XML / property-list checker ------------------------------------------------------

export type PlistValue = string | number | boolean | Date | PlistValue[] | { [k: string]: PlistValue };

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: (XmlElement | string)[];
}

/**
 * Parses well-formed XML (elements, attributes, text, comments, the XML declaration and one
 * DOCTYPE); throws on anything malformed: unclosed or mismatched tags, bad entities, stray '<'.
 */
export function parseXml(text: string): { doctype: string | null; root: XmlElement } {
  let i = 0;
  let doctype: string | null = null;
  const fail = (msg: string): never => {
    throw new Error(`XML: ${msg} at offset ${i}: ${JSON.stringify(text.slice(i, i + 30))}`);
  };
  const decode = (s: string): string =>
    s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);?/g, (m, e: string) => {
      if (!m.endsWith(';')) fail(`unterminated entity ${m}`);
      if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (!(e in named)) fail(`unknown entity &${e};`);
      return named[e]!;
    });
  const skipMisc = (): void => {
    for (;;) {
      while (/\s/.test(text[i] ?? '')) i++;
      if (text.startsWith('<?xml', i)) {
        if (i !== 0 && text.slice(0, i).trim() !== '') fail('XML declaration not at the start');
        const end = text.indexOf('?>', i);
        if (end < 0) fail('unterminated XML declaration');
        i = end + 2;
      } else if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        if (text.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
        i = end + 3;
      } else if (text.startsWith('<!DOCTYPE', i)) {
        if (doctype !== null) fail('second DOCTYPE');
        const end = text.indexOf('>', i);
        if (end < 0) fail('unterminated DOCTYPE');
        doctype = text.slice(i, end + 1);
        i = end + 1;
      } else return;
    }
  };
  const name = (): string => {
    const m = /^[A-Za-z_][\w.-]*/.exec(text.slice(i));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const element = (): XmlElement => {
    if (text[i] !== '<') fail('expected "<"');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [] };
    for (;;) {
      while (/\s/.test(text[i] ?? '')) i++;
      if (text.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      const attr = name();
      if (text[i] !== '=') fail('expected "=" after attribute name');
      i++;
      const q = text[i];
      if (q !== '"' && q !== "'") fail('attribute value must be quoted');
      const end = text.indexOf(q!, i + 1);
      if (end < 0) fail('unterminated attribute value');
      const raw = text.slice(i + 1, end);
      if (raw.includes('<')) fail('"<" in attribute value');
      el.attrs[attr] = decode(raw);
      i = end + 1;
    }
    for (;;) {
      if (i >= text.length) fail(`unclosed <${el.name}>`);
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (text.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        while (/\s/.test(text[i] ?? '')) i++;
        if (text[i] !== '>') fail('expected ">"');
        i++;
        return el;
      } else if (text[i] === '<') {
        el.children.push(element());
      } else {
        const end = text.indexOf('<', i);
        const raw = text.slice(i, end < 0 ? text.length : end);
        if (raw.includes('>') && /\]\]>/.test(raw)) fail('"]]>" in text');
        el.children.push(decode(raw));
        i = end < 0 ? text.length : end;
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i < text.length) fail('text after the root element');
  return { doctype, root };
}

const PLIST_DOCTYPE = '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">';

/** Parses an XML property list, enforcing the DTD's structure (dict = key/value pairs, typed values). */
export function parsePlist(text: string): PlistValue {
  const { doctype, root } = parseXml(text);
  if (doctype !== PLIST_DOCTYPE) throw new Error(`plist: DOCTYPE must be ${PLIST_DOCTYPE}, got ${doctype}`);
  if (root.name !== 'plist' || root.attrs.version !== '1.0') throw new Error('plist: root must be <plist version="1.0">');
  const elems = (el: XmlElement): XmlElement[] => {
    for (const c of el.children) if (typeof c === 'string' && c.trim() !== '') throw new Error(`plist: stray text ${JSON.stringify(c.trim())} in <${el.name}>`);
    return el.children.filter((c): c is XmlElement => typeof c !== 'string');
  };
  const textOf = (el: XmlElement): string => {
    if (el.children.some((c) => typeof c !== 'string')) throw new Error(`plist: <${el.name}> must hold text only`);
    return el.children.join('');
  };
  const value = (el: XmlElement): PlistValue => {
    switch (el.name) {
      case 'string':
        return textOf(el);
      case 'integer': {
        const t = textOf(el).trim();
        if (!/^[+-]?\d+$/.test(t)) throw new Error(`plist: bad <integer> ${t}`);
        return Number(t);
      }
      case 'real':
        return Number(textOf(el));
      case 'true':
      case 'false':
        if (el.children.length) throw new Error(`plist: <${el.name}/> must be empty`);
        return el.name === 'true';
      case 'date':
        return new Date(textOf(el));
      case 'array':
        return elems(el).map(value);
      case 'dict': {
        const kids = elems(el);
        if (kids.length % 2 !== 0) throw new Error('plist: <dict> needs key/value pairs');
        const out: Record<string, PlistValue> = {};
        for (let k = 0; k < kids.length; k += 2) {
          if (kids[k]!.name !== 'key') throw new Error(`plist: expected <key> in <dict>, got <${kids[k]!.name}>`);
          const key = textOf(kids[k]!);
          if (key in out) throw new Error(`plist: duplicate key ${key}`);
          out[key] = value(kids[k + 1]!);
        }
        return out;
      }
      default:
        throw new Error(`plist: unknown element <${el.name}>`);
    }
  };
  const top = elems(root);
  if (top.length !== 1) throw new Error('plist: <plist> must hold exactly one value');
  return value(top[0]!);
}

export interface FakeSystemd {
  /** A folder to put first on PATH: it holds the stand-in `systemctl`. */
  bin: string;
  /** Every `systemctl` invocation's arguments, one per line. */
  log: () => string;
  clearLog: () => void;
  /** The pid of the daemon the stand-in runs as "rbk.service", when it runs. */
  servicePid: () => number | null;
  /** Ends the service's daemon if the test left it running. */
  cleanup: () => void;
}

/**
 * A stand-in for `systemctl --user` (a container has no user systemd): it records its arguments
 * and behaves like a user manager for rbk.service. start/restart/enable --now run the unit's
 * ExecStart (node bin/rbkd.js) in the background with RBK_STARTED_BY=systemd, as the unit file
 * sets; stop/disable --now end it; show prints LoadState/UnitFileState/ActiveState from what was
 * enabled and what runs. With `noBus`, every call fails as systemctl does without a user bus;
 * with `failOn`, calls whose arguments contain that text fail.
 */
export function fakeSystemd(root: string, opts: { rbkd: string; noBus?: boolean; failOn?: string } = { rbkd: '' }): FakeSystemd {
  const bin = path.join(root, 'fake-systemd-bin');
  const state = path.join(root, 'fake-systemd-state');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(state, { recursive: true });
  const log = path.join(state, 'calls.log');
  const pidFile = path.join(state, 'service.pid');
  const enabled = path.join(state, 'enabled');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `#!/bin/sh
echo "$*" >> ${q(log)}
${opts.noBus ? 'echo "Failed to connect to bus: No medium found" >&2; exit 1' : ''}
${opts.failOn ? `case "$*" in *${q(opts.failOn)}*) echo "Failed to ${opts.failOn}: Unit file is masked." >&2; exit 1;; esac` : ''}
running() { [ -f ${q(pidFile)} ] && kill -0 "$(cat ${q(pidFile)})" 2>/dev/null; }
start() { running && return 0; RBK_STARTED_BY=systemd ${[process.execPath, ...DAEMON_NODE_FLAGS, opts.rbkd].map(q).join(' ')} >> ${q(path.join(state, 'daemon.log'))} 2>&1 & echo $! > ${q(pidFile)}; }
stop() { if running; then pid=$(cat ${q(pidFile)}); kill "$pid"; i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; fi; rm -f ${q(pidFile)}; }
case "$*" in
  "--user show-environment") echo "HOME=$HOME";;
  "--user daemon-reload") ;;
  "--user enable --now rbk.service") touch ${q(enabled)}; start;;
  "--user enable rbk.service") touch ${q(enabled)};;
  "--user disable --now rbk.service") rm -f ${q(enabled)}; stop;;
  "--user restart rbk.service") stop; start;;
  "--user start rbk.service") start;;
  "--user stop rbk.service") stop;;
  "--user show rbk.service"*)
    if [ -f ${q(enabled)} ]; then echo LoadState=loaded; echo UnitFileState=enabled; else echo LoadState=not-found; echo UnitFileState=; fi
    if running; then echo ActiveState=active; else echo ActiveState=inactive; fi;;
  *) echo "stand-in systemctl: unexpected arguments: $*" >&2; exit 1;;
esac
exit 0
`;
  fs.writeFileSync(path.join(bin, 'systemctl'), script, { mode: 0o755 });
  const servicePid = (): number | null => {
    try {
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  };
  return {
    bin,
    log: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''),
    clearLog: () => fs.writeFileSync(log, ''),
    servicePid,
    cleanup: () => {
      const pid = servicePid();
      if (pid) process.kill(pid, 'SIGKILL');
    },
  };
}
