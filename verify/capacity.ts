/**
 * Capacity over time: how many instances of the service were routable each second.
 *
 * Source 1 (routable): Consul's health API, `/v1/health/service/<name>?passing`, polled
 * once per second; Traefik's consulCatalog provider routes to exactly these instances.
 * Source 2 (answering): distinct `x-app-instance` values among OK responses in a second.
 * pollConsulCapacity() does the polling; capacityBySecond() is the pure aggregation.
 */
import { requestJson } from '../lib/http.ts';
import { sleep } from '../lib/wait.ts';
import type { RequestRecord } from './types.ts';

export interface CapacitySample {
  /** Milliseconds since load start, when the answer arrived. */
  atMs: number;
  /** Passing instances; null when the poll failed (recorded, never guessed). */
  passing: number | null;
  error?: string;
}

export interface CapacitySecond {
  second: number;
  /** Fewest passing instances seen by the polls answered in this second; null = no answer. */
  routable: number | null;
  /** Distinct instances that answered OK in this second; null when no response carried `x-app-instance`. */
  answering: number | null;
}

export interface CapacitySummary {
  source: string;
  bySecond: CapacitySecond[];
  /** Over seconds with a value. */
  routable: { min: number | null; max: number | null; polls: number; failedPolls: number };
  answering: { min: number | null; max: number | null };
}

const minMax = (xs: Array<number | null>) => {
  const v = xs.filter((x): x is number => x !== null);
  return { min: v.length ? Math.min(...v) : null, max: v.length ? Math.max(...v) : null };
};

/** Dense from second 0 to `seconds - 1`. */
export function capacityBySecond(samples: readonly CapacitySample[], records: readonly RequestRecord[], seconds: number, source: string): CapacitySummary {
  const routable: Array<number | null> = Array.from({ length: seconds }, () => null);
  for (const s of samples) {
    const i = Math.floor(s.atMs / 1000);
    if (s.passing === null || i < 0 || i >= seconds) continue;
    routable[i] = routable[i] === null ? s.passing : Math.min(routable[i]!, s.passing);
  }
  const answeringSets = Array.from({ length: seconds }, () => new Set<string>());
  for (const r of records) {
    const i = Math.floor(r.scheduledMs / 1000);
    if (r.ok && r.instance !== undefined && i < seconds) answeringSets[i]!.add(r.instance);
  }
  const anyInstance = records.some((r) => r.instance !== undefined);
  const answering = answeringSets.map((set) => (anyInstance ? set.size : null));
  return {
    source,
    bySecond: routable.map((n, second) => ({ second, routable: n, answering: answering[second]! })),
    routable: { ...minMax(routable), polls: samples.length, failedPolls: samples.filter((s) => s.passing === null).length },
    answering: minMax(answering),
  };
}

export interface ConsulPollOptions {
  address: string;
  /** CONSUL_HTTP_TOKEN; sent as X-Consul-Token, never logged. */
  token?: string;
  service: string;
  now: () => number;
  signal: AbortSignal;
  /** @default 1000 */
  intervalMs?: number;
}

/** Polls until the signal fires; one sample per poll, on a fixed clock (a slow answer skips no second's slot silently: it is a late sample). */
export async function pollConsulCapacity(o: ConsulPollOptions): Promise<CapacitySample[]> {
  const samples: CapacitySample[] = [];
  const interval = o.intervalMs ?? 1000;
  const url = new URL(`/v1/health/service/${encodeURIComponent(o.service)}`, o.address);
  url.searchParams.set('passing', 'true');
  for (let next = o.now(); !o.signal.aborted; next += interval) {
    try {
      const { body } = await requestJson<unknown[]>(url, { token: o.token, tokenHeader: 'X-Consul-Token', timeoutMs: Math.max(500, interval - 100), signal: o.signal });
      samples.push({ atMs: o.now(), passing: Array.isArray(body) ? body.length : 0 });
    } catch (err) {
      if (o.signal.aborted) break;
      samples.push({ atMs: o.now(), passing: null, error: (err as Error).message.split('\n')[0] ?? 'failed' });
    }
    const wait = next + interval - o.now();
    if (wait > 0) await sleep(wait, o.signal);
    else next = o.now() - interval; // fell behind: restart the clock rather than burst
  }
  return samples;
}
