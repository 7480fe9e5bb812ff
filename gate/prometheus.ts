/**
 * Traefik's Prometheus metrics, as the promotion gate reads them: the text exposition format
 * parsed into samples, and per Traefik service the request counters and the request-duration
 * histogram. Pure: a scrape is a string in, numbers out.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text format; comment lines and lines it cannot read are skipped. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value)) continue;
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** One Traefik service's counters at one instant: requests by status class and the cumulative duration histogram. */
export interface ServiceCounters {
  readonly requests: number;
  /** Requests answered 5xx (Traefik's own 502/503/504 included). */
  readonly errors: number;
  /** Cumulative bucket counts by upper bound in seconds (+Inf included), summed over code and method. */
  readonly buckets: ReadonlyMap<number, number>;
}

/** Counters of `service` (the full name, such as `web_canary-1a2b3c4d@consulcatalog`) in a scrape. */
export function serviceCounters(samples: readonly Sample[], service: string): ServiceCounters {
  let requests = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.labels.service !== service) continue;
    if (s.name === 'traefik_service_requests_total') {
      requests += s.value;
      if (/^5\d\d$/.test(s.labels.code ?? '')) errors += s.value;
    } else if (s.name === 'traefik_service_request_duration_seconds_bucket' && s.labels.le !== undefined) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    }
  }
  return { requests, errors, buckets };
}

/**
 * What happened between two scrapes: `after − before`, or undefined when a counter went down
 * (Traefik restarted and its counters began again: the window measured nothing reliable).
 */
export function counterDelta(before: ServiceCounters, after: ServiceCounters): ServiceCounters | undefined {
  if (after.requests < before.requests || after.errors < before.errors) return undefined;
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) {
    const d = n - (before.buckets.get(le) ?? 0);
    if (d < 0) return undefined;
    buckets.set(le, d);
  }
  return { requests: after.requests - before.requests, errors: after.errors - before.errors, buckets };
}

/**
 * The q-quantile of a cumulative histogram, as Prometheus' histogram_quantile computes it: find
 * the bucket holding rank q × total and interpolate linearly inside it (from 0 for the first
 * bucket). A rank in the +Inf bucket gives the highest finite bound. undefined without observations.
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[0] === Infinity ? sorted.at(-1)![1] : undefined;
  if (total === undefined || total <= 0 || sorted.length < 2) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}
