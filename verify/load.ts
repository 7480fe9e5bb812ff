/**
 * Open-model (constant arrival rate) HTTP load generator: the drop counter of the verifier.
 *
 * Request i is due at start + i * 1000 / rate, whether or not earlier requests have been
 * answered. A closed-model generator (N workers, each waiting for its answer) slows down
 * when the backend stalls and so never sends the requests that would have been dropped:
 * a stalled backend hides its own drops. Here a stall shows up as timeouts at full rate.
 *
 * Every scheduled request ends as exactly one record, so the count is fixed up front
 * (ceil(rate * durationMs / 1000)) and nothing is silently skipped.
 */
import { InputError, type InputIssue } from '../lib/input-error.ts';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { randomUUID } from 'node:crypto';
import type { ErrorKind, RequestRecord } from './types.ts';
import { DEFAULT_MIX, mixPicker, NON_IDEMPOTENT, type MixEntry } from './mix.ts';
import { sleep } from '../lib/wait.ts';

export const DEFAULTS = {
  timeoutMs:          2000,
  expectStatus:       200,
  maxSendLagP99Ms:    50,
  progressIntervalMs: 1000,
  versionHeader:      'x-app-version',
  instanceHeader:     'x-app-instance',
  requestIdHeader:    'x-request-id',
} as const;

export interface LoadProgress {
  elapsedMs: number;
  /** Requests scheduled so far (sent or recorded as not sendable). */
  scheduled: number;
  /** Requests handed to the HTTP client so far. */
  sent: number;
  /** Answered with the expected status. */
  ok: number;
  /** Finished any other way (status, transport error, timeout, client saturated). */
  notOk: number;
  inFlight: number;
  /** Requests the whole run will schedule. */
  total: number;
}

export interface LoadOptions {
  /** Target, e.g. http://127.0.0.1:18080/ (path and query are kept). */
  url: string;
  /** More targets: request i goes to [url, ...moreUrls][i mod n] (round robin). @default - none */
  moreUrls?: readonly string[];
  /** Weighted request mix; an entry without a path uses the target URL's path. @default - GET, expecting `expectStatus` */
  mix?: readonly MixEntry[];
  /** Prefix of the `x-request-id` sent with each non-idempotent request (POST, PATCH). @default - a random UUID */
  requestIdPrefix?: string;
  /** Sent as the Host header, for a proxy that routes by host. @default - the URL's host */
  hostHeader?: string;
  /** Arrival rate, requests per second. */
  rate: number;
  /** Length of the schedule; the run returns at most durationMs + timeoutMs + 1 s after start. */
  durationMs: number;
  /** Per request, from send to the end of the body; covers connect, headers, body and pool wait. @default 2000 */
  timeoutMs?: number;
  /** The one status that counts as OK. @default 200 */
  expectStatus?: number;
  /**
   * Safety bound on concurrent requests. When reached, a due request is not sent but
   * recorded as a drop (errorKind 'other', errorCode 'CLIENT_SATURATED') and the run is
   * marked invalid: the generator, not the backend, failed to keep the schedule.
   * Since every request is bounded by timeoutMs, the bound is only reached when timers
   * fire late (a starved event loop).
   * @default - derived: ceil(rate * timeoutMs / 1000) * 2 + 50
   */
  maxInFlight?: number;
  /**
   * Keep-alive pool size (max sockets to the target). Below maxInFlight, requests wait
   * for a socket inside the client; that wait counts toward their timeout and latency.
   * @default - derived: maxInFlight, so a stalled backend gets one socket per waiting request
   */
  connections?: number;
  /** Send-lag p99 above this marks the measurement invalid. @default 50 */
  maxSendLagP99Ms?: number;
  /** Ctrl-C: stop scheduling, abort in-flight requests, return what was recorded. @default - runs to the end */
  signal?: AbortSignal;
  /**
   * Ends the schedule early but gracefully: nothing more is sent, requests in flight finish
   * and are recorded, and the run stays valid (the verifier stops after its tail period).
   */
  stopSignal?: AbortSignal;
  /** Called about every progressIntervalMs. @default - no progress reports */
  onProgress?: (progress: LoadProgress) => void;
  /** @default 1000 */
  progressIntervalMs?: number;
}

export interface LoadResult {
  /** One per scheduled request that has an outcome, in seq order (all of them unless aborted). */
  records: RequestRecord[];
  /** Epoch ms of load start (t = 0 of every record). */
  startedAt: number;
  /** Requests the schedule planned: ceil(rate * durationMs / 1000). */
  scheduled: number;
  /** `achieved` = (sent - 1) / (last send - first send): the inter-arrival rate actually produced. */
  rate: { target: number; achieved: number };
  /** Nearest-rank percentiles of sentMs - scheduledMs over sent requests. */
  sendLagMs: { p50: number; p99: number; max: number };
  /** Requests recorded as CLIENT_SATURATED (never sent). */
  clientSaturated: number;
  /** True when the signal stopped the run; in-flight requests at that moment have no record. */
  aborted: boolean;
  /** False when the generator could not keep its schedule; a report must not pass on it. */
  valid: boolean;
  invalidReason?: string;
}

/** Every invalid option at once, one `path: value — rule` line each (the kit's one input-error shape). */
export class LoadOptionsError extends InputError {
  override readonly name = 'LoadOptionsError';
  constructor(issues: readonly InputIssue[]) {
    super(issues, 'in the load options', 'runLoad');
  }
}

/** Number of requests in a schedule; rounded first so 0.1 * 30_000 / 1000 is 3, not 4. */
export function scheduledCount(rate: number, durationMs: number): number {
  return Math.ceil(Number(((rate * durationMs) / 1000).toFixed(6)));
}

/** Derived default of `maxInFlight`. */
export function defaultMaxInFlight(rate: number, timeoutMs: number): number {
  return Math.ceil((rate * timeoutMs) / 1000) * 2 + 50;
}

interface Resolved {
  url: URL;
  urls: URL[];
  mix: readonly MixEntry[];
  hostHeader: string | undefined;
  rate: number;
  durationMs: number;
  timeoutMs: number;
  expectStatus: number;
  maxInFlight: number;
  connections: number;
  maxSendLagP99Ms: number;
  progressIntervalMs: number;
}

export function resolveLoadOptions(opts: LoadOptions): Resolved {
  const issues: InputIssue[] = [];
  const positive = (path: string, value: number | undefined, unit: string) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) issues.push({ path, value, rule: `must be a positive number of ${unit}` });
  };
  const count = (path: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) issues.push({ path, value, rule: 'must be an integer ≥ 1' });
  };
  const parseUrl = (path: string, text: string): URL | undefined => {
    try {
      const u = new URL(text);
      if (u.protocol === 'http:' || u.protocol === 'https:') return u;
      issues.push({ path, value: text, rule: 'must be an http:// or https:// URL' });
    } catch {
      issues.push({ path, value: text, rule: 'must be an absolute http:// or https:// URL' });
    }
    return undefined;
  };
  const url = parseUrl('url', opts.url);
  const urls = [url, ...(opts.moreUrls ?? []).map((u, i) => parseUrl(`moreUrls[${i}]`, u))];
  if (opts.mix !== undefined && opts.mix.length === 0) issues.push({ path: 'mix', value: [], rule: 'must list at least one request' });
  positive('rate', opts.rate, 'requests per second');
  positive('durationMs', opts.durationMs, 'milliseconds');
  positive('timeoutMs', opts.timeoutMs, 'milliseconds');
  positive('progressIntervalMs', opts.progressIntervalMs, 'milliseconds');
  count('maxInFlight', opts.maxInFlight);
  count('connections', opts.connections);
  if (opts.expectStatus !== undefined && !(Number.isInteger(opts.expectStatus) && opts.expectStatus >= 100 && opts.expectStatus <= 599)) {
    issues.push({ path: 'expectStatus', value: opts.expectStatus, rule: 'must be an HTTP status between 100 and 599' });
  }
  if (opts.maxSendLagP99Ms !== undefined && !(Number.isFinite(opts.maxSendLagP99Ms) && opts.maxSendLagP99Ms >= 0)) {
    issues.push({ path: 'maxSendLagP99Ms', value: opts.maxSendLagP99Ms, rule: 'must be a number of milliseconds ≥ 0' });
  }
  if (issues.length > 0 || !url) throw new LoadOptionsError(issues);
  const expectStatus = opts.expectStatus ?? DEFAULTS.expectStatus;

  const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxInFlight = opts.maxInFlight ?? defaultMaxInFlight(opts.rate, timeoutMs);
  return {
    url,
    urls: urls as URL[],
    mix: opts.mix ?? DEFAULT_MIX.map((e) => ({ ...e, expectStatus })),
    hostHeader: opts.hostHeader,
    rate: opts.rate,
    durationMs: opts.durationMs,
    timeoutMs,
    expectStatus,
    maxInFlight,
    connections: opts.connections ?? maxInFlight,
    maxSendLagP99Ms: opts.maxSendLagP99Ms ?? DEFAULTS.maxSendLagP99Ms,
    progressIntervalMs: opts.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
  };
}

// Abort reasons we pass to our own AbortControllers; undici rejects with the reason
// itself, so identity tells a per-request timeout from a user abort.
const TIMED_OUT = Object.assign(new Error('request timed out'), { code: 'REQUEST_TIMEOUT' });
const USER_ABORT = Object.assign(new Error('load run aborted'), { code: 'LOAD_ABORTED' });

const KIND_BY_CODE: Record<string, ErrorKind> = {
  ECONNREFUSED:             'refused',
  ECONNRESET:               'reset',
  EPIPE:                    'reset',
  ECONNABORTED:             'reset',
  UND_ERR_SOCKET:           'reset',
  REQUEST_TIMEOUT:          'timeout',
  UND_ERR_HEADERS_TIMEOUT:  'timeout',
  UND_ERR_BODY_TIMEOUT:     'timeout',
  UND_ERR_CONNECT_TIMEOUT:  'timeout',
  ETIMEDOUT:                'timeout',
  ENOTFOUND:                'dns',
  EAI_AGAIN:                'dns',
  EAI_NONAME:               'dns',
};

/** The raw code of an error; AggregateError (happy-eyeballs connect) and `cause` are unwrapped. */
export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; name?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  if (e.cause !== undefined) return errorCode(e.cause);
  if (e.name === 'TimeoutError') return 'REQUEST_TIMEOUT';
  return typeof e.name === 'string' ? e.name : 'UNKNOWN';
}

export function classifyError(err: unknown): { errorKind: ErrorKind; errorCode: string } {
  const code = errorCode(err);
  return { errorKind: KIND_BY_CODE[code] ?? 'other', errorCode: code };
}

/** Nearest-rank percentile of an ascending array; exact, no interpolation. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const o = resolveLoadOptions(opts);
  const total = scheduledCount(o.rate, o.durationMs);
  const intervalMs = 1000 / o.rate;
  const baseHeaders: Record<string, string> = o.hostHeader ? { host: o.hostHeader } : {};
  const pick = mixPicker(o.mix);
  const idPrefix = opts.requestIdPrefix ?? randomUUID();

  // One keep-alive pool per target; each gets the full connection budget (a stalled
  // target must not starve the others of sockets).
  const pools = o.urls.map((u) => new Pool(u.origin, {
    connections: o.connections,
    pipelining: 1,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connect: { timeout: o.timeoutMs },
  }));

  // Internal stop: fires on the user's signal or at the hard deadline.
  const stop = new AbortController();
  const onUserAbort = () => stop.abort(USER_ABORT);
  if (opts.signal?.aborted) onUserAbort();
  opts.signal?.addEventListener('abort', onUserAbort, { once: true });

  const records: (RequestRecord | undefined)[] = new Array(total);
  const inFlight = new Map<number, { ac: AbortController; sentMs: number; tag: Pick<RequestRecord, 'mix' | 'target' | 'requestId'> }>();
  const pending = new Set<Promise<void>>();
  let scheduled = 0;
  let sent = 0;
  let ok = 0;
  let notOk = 0;
  let clientSaturated = 0;
  let finalized = false;
  let firstSentMs = Number.NaN;
  let lastSentMs = Number.NaN;

  const startedAt = Date.now();
  const t0 = performance.now();
  const now = () => performance.now() - t0;

  const put = (r: RequestRecord) => {
    if (finalized) return; // late settle after the hard deadline already wrote a timeout
    records[r.seq] = r;
    if (r.ok) ok++;
    else notOk++;
  };

  const fire = (seq: number) => {
    const scheduledMs = seq * intervalMs;
    scheduled++;
    const mix = pick();
    const entry = o.mix[mix]!;
    const target = seq % o.urls.length;
    const requestId = NON_IDEMPOTENT.has(entry.method) ? `${idPrefix}-${seq}` : undefined;
    const tag = { mix, target, ...(requestId ? { requestId } : {}) };
    if (inFlight.size >= o.maxInFlight) {
      clientSaturated++;
      // Never sent, so never executed: no request id to check against a ledger.
      put({ seq, scheduledMs, sentMs: now(), latencyMs: 0, status: null, errorKind: 'other', errorCode: 'CLIENT_SATURATED', version: null, ok: false, mix, target });
      return;
    }
    const u = o.urls[target]!;
    const path = entry.path ?? `${u.pathname}${u.search}`;
    const headers = { ...baseHeaders, ...(requestId ? { [DEFAULTS.requestIdHeader]: requestId } : {}), ...(entry.body !== undefined ? { 'content-type': 'application/json' } : {}) };
    const ac = new AbortController();
    const sentMs = now();
    inFlight.set(seq, { ac, sentMs, tag });
    const timer = setTimeout(() => ac.abort(TIMED_OUT), o.timeoutMs);
    if (sent === 0) firstSentMs = sentMs;
    lastSentMs = sentMs;
    sent++;
    const p = (async () => {
      try {
        const res = await pools[target]!.request({ path, method: entry.method, headers, ...(entry.body !== undefined ? { body: entry.body } : {}), signal: ac.signal });
        // Drain without keeping the body: the latency is to the last byte.
        for await (const _chunk of res.body) void _chunk;
        const header = (name: string) => {
          const raw = res.headers[name];
          return (Array.isArray(raw) ? raw[0] : raw) ?? null;
        };
        const instance = header(DEFAULTS.instanceHeader);
        put({ seq, scheduledMs, sentMs, latencyMs: now() - sentMs, status: res.statusCode, errorKind: null, version: header(DEFAULTS.versionHeader), ok: res.statusCode === entry.expectStatus, ...tag, ...(instance !== null ? { instance } : {}) });
      } catch (err) {
        if (err === USER_ABORT) return; // no outcome: left out, the run is marked aborted
        put({ seq, scheduledMs, sentMs, latencyMs: now() - sentMs, status: null, ...classifyError(err), version: null, ok: false, ...tag });
      } finally {
        clearTimeout(timer);
        inFlight.delete(seq);
      }
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const progressTimer = opts.onProgress
    ? setInterval(() => opts.onProgress?.({ elapsedMs: now(), scheduled, sent, ok, notOk, inFlight: inFlight.size, total }), o.progressIntervalMs)
    : undefined;
  progressTimer?.unref();

  // Hard bound on the whole run, so a timer that never fires cannot hang the verifier.
  const hardDeadlineMs = o.durationMs + o.timeoutMs + 1000;

  try {
    // Drift-free: due times come from t0, never from the previous wake-up; after a late
    // wake-up every request already due goes out at once (catch-up burst).
    let next = 0;
    const wake = opts.stopSignal ? AbortSignal.any([stop.signal, opts.stopSignal]) : stop.signal;
    while (next < total && !wake.aborted) {
      const wait = next * intervalMs - now();
      if (wait > 0) await sleep(wait, wake);
      if (wake.aborted) break;
      const t = now();
      while (next < total && next * intervalMs <= t) fire(next++);
    }

    if (stop.signal.aborted) {
      for (const { ac } of inFlight.values()) ac.abort(USER_ABORT);
    }
    const drained = new AbortController();
    await Promise.race([Promise.allSettled([...pending]), sleep(Math.max(0, hardDeadlineMs - 200 - now()), drained.signal)]);
    drained.abort(); // clears the sleep's timer
    // Anything still open past the deadline is a timeout by definition.
    for (const [seq, { ac, sentMs, tag }] of inFlight) {
      if (!stop.signal.aborted) put({ seq, scheduledMs: seq * intervalMs, sentMs, latencyMs: now() - sentMs, status: null, errorKind: 'timeout', errorCode: 'REQUEST_TIMEOUT', version: null, ok: false, ...tag });
      ac.abort(TIMED_OUT);
    }
    finalized = true;
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    opts.signal?.removeEventListener('abort', onUserAbort);
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
  if (opts.onProgress) opts.onProgress({ elapsedMs: now(), scheduled, sent, ok, notOk, inFlight: 0, total });

  const out = records.filter((r): r is RequestRecord => r !== undefined);
  const lags = Float64Array.from(out.filter((r) => r.errorCode !== 'CLIENT_SATURATED').map((r) => r.sentMs - r.scheduledMs)).sort();
  const sendLagMs = { p50: round3(percentile(lags, 50)), p99: round3(percentile(lags, 99)), max: round3(lags.length ? lags[lags.length - 1]! : 0) };
  const spanMs = lastSentMs - firstSentMs;
  const achieved = sent >= 2 && spanMs > 0 ? ((sent - 1) * 1000) / spanMs : 0;

  const aborted = stop.signal.aborted;
  const reasons: string[] = [];
  if (aborted) reasons.push(`aborted after ${(now() / 1000).toFixed(1)} s with ${scheduled} of ${total} requests scheduled`);
  if (clientSaturated > 0) reasons.push(`client saturated: ${clientSaturated} requests not sent because ${o.maxInFlight} were in flight (maxInFlight)`);
  if (sendLagMs.p99 > o.maxSendLagP99Ms) reasons.push(`send lag p99 ${sendLagMs.p99.toFixed(1)} ms exceeds ${o.maxSendLagP99Ms} ms (maxSendLagP99Ms): the generator could not keep its schedule`);

  return {
    records: out,
    startedAt,
    scheduled: aborted ? total : scheduled,
    rate: { target: o.rate, achieved: round3(achieved) },
    sendLagMs,
    clientSaturated,
    aborted,
    valid: reasons.length === 0,
    ...(reasons.length ? { invalidReason: reasons.join('; ') } : {}),
  };
}
