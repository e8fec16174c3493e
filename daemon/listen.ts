// Binding the daemon's HTTP servers (metrics, the web console) to a `host:port` from the config.
// A port that is taken is the caller's to report: capture matters more than either server.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** `127.0.0.1:9478`, `localhost:0` or `[::1]:9478` → host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** Listens on `listen`; resolves with the bound address, rejects with the bind error. */
export async function listenOn(server: http.Server, listen: string): Promise<AddressInfo> {
  const { host, port } = parseListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** Stops listening and ends every open connection (keep-alive and streams): resolves when closed. */
export function closeNow(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An address as it goes in a URL: IPv6 in brackets. */
export function hostForUrl(addr: AddressInfo): string {
  return addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
}
