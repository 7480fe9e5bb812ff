/**
 * The one JSON-over-HTTP helper the scripts use to talk to Nomad and Consul: every call
 * has a timeout (and may also be cancelled), a non-2xx answer throws an HttpError that
 * carries the status, and a token goes in a header, never in the URL or the message.
 */

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    body: string,
  ) {
    super(`${method} ${path}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export interface JsonRequest {
  readonly method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly body?: unknown;
  /** Sent as `tokenHeader` (X-Nomad-Token / X-Consul-Token). */
  readonly token?: string;
  readonly tokenHeader?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export async function requestJson<T>(url: URL | string, req: JsonRequest): Promise<{ body: T; headers: Headers }> {
  const method = req.method ?? 'GET';
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const res = await fetch(url, {
    method,
    headers: {
      ...(req.token && req.tokenHeader ? { [req.tokenHeader]: req.token } : {}),
      ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
  });
  const text = await res.text();
  if (!res.ok) throw new HttpError(method, new URL(url).pathname, res.status, text);
  return { body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}
