// rbk ui: opens the web console in the browser, logged in through a one-time URL the daemon
// mints (it sets an HttpOnly cookie and is then spent). With no display, or --print, it prints
// the URL instead: open it in a browser on this machine within 5 minutes.
import { spawn } from 'node:child_process';
import { call } from '../client.js';
import type { Io } from '../io.js';
import { EXIT } from '../errors.js';

/** The command that opens a URL here, or null when there is nothing to show it on. */
export function browserOpener(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string[] | null {
  if (env.RBK_BROWSER) return [env.RBK_BROWSER];
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['cmd', '/c', 'start', '""'];
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return ['xdg-open'];
  return null;
}

export async function uiCommand(io: Io, opts: { json: boolean; print: boolean; path?: string }): Promise<number> {
  const res = await call<{ url: string; loginUrl: string }>('Admin', 'UiLogin', { next: opts.path ?? '' });
  const opener = opts.print || opts.json ? null : browserOpener();
  let opened = false;
  if (opener) {
    const [cmd, ...args] = opener as [string, ...string[]];
    opened = await new Promise<boolean>((resolve) => {
      const child = spawn(cmd, [...args, res.loginUrl], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    });
  }
  if (opts.json) {
    io.json({ url: res.url, loginUrl: res.loginUrl, opened });
    return EXIT.ok;
  }
  if (opened) io.out(`opened the rbk console (${res.url}) in your browser`);
  else
    io.out(
      `Open this in a browser on this machine within 5 minutes (it works once and logs you in):\n  ${res.loginUrl}\nAfter that the console is at ${res.url}`,
    );
  return EXIT.ok;
}
