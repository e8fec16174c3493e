// The console's one door to the daemon: same-origin fetches with the login cookie, and the CSRF
// token (from /api/v1/me) on anything that changes state.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function qs(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '' && v !== false) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, 'invalid', `the daemon answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const e = (body as { error?: { kind?: string; message?: string } }).error;
    throw new ApiError(res.status, e?.kind ?? 'error', e?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export async function get<T>(path: string, q: Query = {}, signal?: AbortSignal): Promise<T> {
  return parse<T>(await fetch(`/api/v1${path}${qs(q)}`, { credentials: 'same-origin', signal }));
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  return parse<T>(
    await fetch(`/api/v1${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-rbk-csrf': csrfToken },
      body: JSON.stringify(body),
    }),
  );
}
