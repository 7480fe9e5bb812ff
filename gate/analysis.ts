import { formatDuration as d } from '../config/duration.ts';
import { counterDelta, histogramQuantile, serviceCounters, type Sample } from './prometheus.ts';

/**
 * The gate's analysis: canary against stable over one window, from two scrapes of Traefik's
 * Prometheus metrics taken a window apart. Each side is its own Traefik service (the canary's
 * header route, the stable instances' header route), so no request is counted on both sides.
 * Pure: scrapes in, verdict out.
 */

/** What the analysis reads of a service's resolved `gate.analysis`. */
export interface AnalysisThresholds {
  readonly minRequests: number;
  readonly maxErrorRatio: number;
  readonly maxP99Ratio?: number;
  readonly maxP99Ms?: number;
}

export interface SideResult {
  readonly service: string;
  readonly requests: number;
  readonly errors: number;
  /** errors ÷ requests; 0 without requests */
  readonly errorRatio: number;
  /** milliseconds; undefined without observations */
  readonly p99Ms: number | undefined;
}

export interface AnalysisResult {
  /** pass: every threshold held; fail: one broke; inconclusive: too little data to judge (the gate fails on it too). */
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly reasons: readonly string[];
  readonly canary?: SideResult;
  readonly stable?: SideResult;
}

function side(before: readonly Sample[], after: readonly Sample[], service: string): SideResult | undefined {
  const delta = counterDelta(serviceCounters(before, service), serviceCounters(after, service));
  if (!delta) return undefined;
  const p99 = histogramQuantile(0.99, delta.buckets);
  return { service, requests: delta.requests, errors: delta.errors, errorRatio: delta.requests > 0 ? delta.errors / delta.requests : 0, p99Ms: p99 === undefined ? undefined : p99 * 1000 };
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);

export function analyse(before: readonly Sample[], after: readonly Sample[], names: { canary: string; stable: string }, t: AnalysisThresholds): AnalysisResult {
  const canary = side(before, after, names.canary);
  const stable = side(before, after, names.stable);
  if (!canary || !stable) return { verdict: 'inconclusive', reasons: ['a Traefik counter went down between the scrapes (Traefik restarted): the window measured nothing reliable'] };
  const thin = [canary, stable].filter((s) => s.requests < t.minRequests);
  if (thin.length) {
    return {
      verdict: 'inconclusive',
      reasons: thin.map((s) => `${s.service}: ${s.requests} requests in the window < gate.analysis.minRequests ${t.minRequests}: no verdict without data`),
      canary,
      stable,
    };
  }
  const reasons: string[] = [];
  if (canary.errorRatio > t.maxErrorRatio) {
    reasons.push(`canary error ratio ${pct(canary.errorRatio)} (${canary.errors} × 5xx of ${canary.requests}) > gate.analysis.maxErrorRatio ${pct(t.maxErrorRatio)} (stable: ${pct(stable.errorRatio)})`);
  }
  if (t.maxP99Ms !== undefined && (canary.p99Ms === undefined || canary.p99Ms > t.maxP99Ms)) {
    reasons.push(`canary p99 ${ms(canary.p99Ms)} > gate.analysis.maxP99 ${d(t.maxP99Ms)}`);
  }
  if (t.maxP99Ratio !== undefined) {
    if (canary.p99Ms === undefined || stable.p99Ms === undefined) reasons.push('p99 not measurable on one side (no duration histogram for it): the latency ratio cannot be judged');
    // A stable p99 of 0 (every request under the first bucket's interpolation) would divide by 0: compare against 1 ms at least.
    else if (canary.p99Ms / Math.max(stable.p99Ms, 1) > t.maxP99Ratio) {
      reasons.push(`canary p99 ${ms(canary.p99Ms)} = ${(canary.p99Ms / Math.max(stable.p99Ms, 1)).toFixed(2)} × stable p99 ${ms(stable.p99Ms)} > gate.analysis.maxP99Ratio ${t.maxP99Ratio}`);
    }
  }
  return { verdict: reasons.length ? 'fail' : 'pass', reasons, canary, stable };
}
