/**
 * Per-mix-entry and per-target counts of a verify run (pure), for report.json and report.md.
 */
import type { MixEntry } from './mix.ts';
import type { RequestRecord } from './types.ts';

export interface MixSummary {
  name: string;
  method: string;
  /** null = the target URL's own path. */
  path: string | null;
  expectStatus: number;
  weight: number;
  total: number;
  ok: number;
  notOk: number;
  /** Share of all recorded requests, 0..1. */
  share: number;
  /** Every outcome by status (or error kind for transport errors), keys sorted. */
  byOutcome: Record<string, number>;
  /** p99 and max latency of this entry's OK responses (ms, nearest rank); null when none. */
  okLatencyP99Ms: number | null;
  okLatencyMaxMs: number | null;
}

export interface TargetSummary {
  url: string;
  total: number;
  ok: number;
  notOk: number;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

export function mixSummary(records: readonly RequestRecord[], mix: readonly MixEntry[]): MixSummary[] {
  return mix.map((e, i) => {
    const mine = records.filter((r) => (r.mix ?? 0) === i);
    const byOutcome = new Map<string, number>();
    for (const r of mine) {
      const k = r.status !== null ? String(r.status) : (r.errorKind ?? 'other');
      byOutcome.set(k, (byOutcome.get(k) ?? 0) + 1);
    }
    const lat = mine.filter((r) => r.ok).map((r) => r.latencyMs).sort((a, b) => a - b);
    const ok = mine.filter((r) => r.ok).length;
    return {
      name: e.name,
      method: e.method,
      path: e.path ?? null,
      expectStatus: e.expectStatus,
      weight: e.weight,
      total: mine.length,
      ok,
      notOk: mine.length - ok,
      share: records.length ? r3(mine.length / records.length) : 0,
      byOutcome: Object.fromEntries([...byOutcome].sort(([a], [b]) => a.localeCompare(b))),
      okLatencyP99Ms: lat.length ? r3(lat[Math.max(0, Math.ceil(0.99 * lat.length) - 1)]!) : null,
      okLatencyMaxMs: lat.length ? r3(lat[lat.length - 1]!) : null,
    };
  });
}

export function targetSummary(records: readonly RequestRecord[], urls: readonly string[]): TargetSummary[] {
  return urls.map((url, i) => {
    const mine = records.filter((r) => (r.target ?? 0) === i);
    const ok = mine.filter((r) => r.ok).length;
    return { url, total: mine.length, ok, notOk: mine.length - ok };
  });
}
