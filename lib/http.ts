/**
 * The one JSON-over-HTTP helper the scripts use to talk to Nomad and Consul: every call
 * has a timeout (and may also be cancelled), a non-2xx answer throws an HttpError that
 * carries the status, a request that gets no answer throws a NetworkError that names the
 * URL it tried and what to check, and a token goes in a header, never in the URL or the message.
 */

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly method: string,
    /** the URL without its query */
    readonly url: string,
    readonly status: number,
    body: string,
  ) {
    super(`${method} ${url}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

/** No HTTP answer at all: refused, unknown host, reset, or no answer within the timeout. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`${method} ${url}: ${reason} — ${hint}`);
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
  /** What to check when nothing answers. @default - that a server runs at the URL's address, and where that address comes from */
  readonly hint?: string;
}

/** `scheme://host:port/path` of a URL: what was tried, without the query. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens there)',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed by the other side',
};

/** Why fetch failed, in words: undici's "fetch failed" hides the reason in `cause`. */
export function networkReason(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return CAUSES[cause.code] ?? `${cause.code}${cause.message ? ` ${cause.message}` : ''}`;
  return cause?.message ?? (err as Error).message ?? String(err);
}

export async function requestJson<T>(url: URL | string, req: JsonRequest): Promise<{ body: T; headers: Headers }> {
  const method = req.method ?? 'GET';
  const target = new URL(url);
  const timeout = AbortSignal.timeout(req.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(target, {
      method,
      headers: {
        ...(req.token && req.tokenHeader ? { [req.tokenHeader]: req.token } : {}),
        ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
    });
    text = await res.text();
  } catch (err) {
    // Cancelled by the caller: not a network problem, pass it on as it is.
    if (req.signal?.aborted) throw err;
    const hint = req.hint ?? `check that the server runs and answers at ${target.origin} (the address comes from the config, NOMAD_ADDR/CONSUL_HTTP_ADDR or a --*-addr flag)`;
    throw new NetworkError(method, shown(target), networkReason(err, req.timeoutMs, timeout.aborted), hint);
  }
  if (!res.ok) throw new HttpError(method, shown(target), res.status, text);
  return { body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}
