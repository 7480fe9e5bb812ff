import { describe, expect, test } from 'vitest';
import { analyse } from '../../gate/analysis.ts';
import { decide, type GateState } from '../../gate/decision.ts';
import { counterDelta, histogramQuantile, parsePrometheus, serviceCounters } from '../../gate/prometheus.ts';
import { evaluateSmoke, replayable, type SmokeSpec } from '../../gate/smoke.ts';

const C = 'web_canary-1a2b3c4d@consulcatalog';
const S = 'web_stable-5e6f7a8b@consulcatalog';
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];

/** A Traefik scrape: per service, requests by code and a cumulative histogram given per bucket. */
function scrape(services: Record<string, { codes: Record<string, number>; perBucket: number[] }>): string {
  const lines = ['# HELP traefik_service_requests_total How many HTTP requests processed on a service.', '# TYPE traefik_service_requests_total counter'];
  for (const [svc, { codes, perBucket }] of Object.entries(services)) {
    for (const [code, n] of Object.entries(codes)) lines.push(`traefik_service_requests_total{code="${code}",method="GET",protocol="http",service="${svc}"} ${n}`);
    let cum = 0;
    LE.forEach((le, i) => {
      cum += perBucket[i] ?? 0;
      lines.push(`traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="${svc}",le="${le}"} ${cum}`);
    });
  }
  lines.push('traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 12345');
  return lines.join('\n');
}

describe('Prometheus parsing', () => {
  test('reads names, labels (escaped quotes too) and values; skips comments', () => {
    const s = parsePrometheus('# HELP x\nfoo{a="1",b="x\\"y"} 3.5\nbar 7 1700000000\n');
    expect(s).toEqual([
      { name: 'foo', labels: { a: '1', b: 'x"y' }, value: 3.5 },
      { name: 'bar', labels: {}, value: 7 },
    ]);
  });

  test('sums a service over codes and methods; 5xx are errors; other services are ignored', () => {
    const c = serviceCounters(parsePrometheus(scrape({ [C]: { codes: { '200': 90, '500': 7, '503': 3, '404': 5 }, perBucket: [10] }, [S]: { codes: { '200': 1 }, perBucket: [1] } })), C);
    expect(c.requests).toBe(105);
    expect(c.errors).toBe(10);
    expect(c.buckets.get(Infinity)).toBe(10);
  });

  test('a counter that went down (Traefik restarted) gives no delta', () => {
    const before = serviceCounters(parsePrometheus(scrape({ [C]: { codes: { '200': 100 }, perBucket: [100] } })), C);
    const after = serviceCounters(parsePrometheus(scrape({ [C]: { codes: { '200': 10 }, perBucket: [10] } })), C);
    expect(counterDelta(before, after)).toBeUndefined();
  });
});

describe('histogramQuantile() (as Prometheus computes it)', () => {
  const h = (pairs: [number, number][]) => new Map(pairs);
  test('interpolates linearly inside the bucket that holds the rank', () => {
    // 100 observations: 50 ≤ 10 ms, 100 ≤ 20 ms → p99 is rank 99, 49/50 of the way from 10 to 20 ms
    expect(histogramQuantile(0.99, h([[0.01, 50], [0.02, 100], [Infinity, 100]]))).toBeCloseTo(0.0198, 6);
    // the first bucket interpolates from 0
    expect(histogramQuantile(0.5, h([[0.1, 100], [Infinity, 100]]))).toBeCloseTo(0.05, 6);
  });
  test('a rank in the +Inf bucket gives the highest finite bound', () => {
    expect(histogramQuantile(0.99, h([[0.1, 50], [5, 90], [Infinity, 100]]))).toBe(5);
  });
  test('no observations: no quantile', () => {
    expect(histogramQuantile(0.99, h([[0.1, 0], [Infinity, 0]]))).toBeUndefined();
    expect(histogramQuantile(0.99, h([]))).toBeUndefined();
  });
});

describe('analyse(): canary against stable from two scrapes', () => {
  const names = { canary: C, stable: S };
  const before = parsePrometheus(scrape({ [C]: { codes: { '200': 1000 }, perBucket: [1000] }, [S]: { codes: { '200': 5000 }, perBucket: [5000] } }));
  const t = { minRequests: 50, maxErrorRatio: 0.01, maxP99Ratio: 2 };
  // window: 300 requests each side
  const fast = [0, 300]; // all between 5 and 10 ms
  const after = (canaryCodes: Record<string, number>, canaryBuckets: number[], stableBuckets = fast) =>
    parsePrometheus(
      scrape({
        [C]: { codes: Object.fromEntries(Object.entries(canaryCodes).map(([k, v]) => [k, v + (k === '200' ? 1000 : 0)])), perBucket: [1000 + (canaryBuckets[0] ?? 0), ...canaryBuckets.slice(1)] },
        [S]: { codes: { '200': 5300 }, perBucket: [5000 + (stableBuckets[0] ?? 0), ...stableBuckets.slice(1)] },
      }),
    );

  test('a canary like the stable ones passes, with both sides\' numbers', () => {
    const r = analyse(before, after({ '200': 300 }, fast), names, t);
    expect(r.verdict).toBe('pass');
    expect(r.canary).toMatchObject({ requests: 300, errors: 0, errorRatio: 0 });
    expect(r.canary!.p99Ms).toBeCloseTo(9.95, 1);
    expect(r.stable!.requests).toBe(300);
  });

  test('5xx above maxErrorRatio fails, naming the ratio and the threshold', () => {
    const r = analyse(before, after({ '200': 290, '500': 10 }, fast), names, t);
    expect(r.verdict).toBe('fail');
    expect(r.reasons[0]).toMatch(/canary error ratio 3\.33 % \(10 × 5xx of 300\) > gate\.analysis\.maxErrorRatio 1\.00 %/);
  });

  test('a canary 10× slower fails on maxP99Ratio', () => {
    // all canary requests between 50 and 100 ms
    const r = analyse(before, after({ '200': 300 }, [0, 0, 0, 0, 300]), names, t);
    expect(r.verdict).toBe('fail');
    expect(r.reasons.join()).toMatch(/× stable p99 .* > gate\.analysis\.maxP99Ratio 2/);
  });

  test('maxP99 alone: an absolute bound', () => {
    const slow = after({ '200': 300 }, [0, 0, 0, 0, 300]);
    expect(analyse(before, slow, names, { minRequests: 50, maxErrorRatio: 0.01, maxP99Ms: 200 }).verdict).toBe('pass');
    expect(analyse(before, slow, names, { minRequests: 50, maxErrorRatio: 0.01, maxP99Ms: 50 }).verdict).toBe('fail');
  });

  test('too few requests on a side: inconclusive (the gate fails on it), never a pass', () => {
    const r = analyse(before, after({ '200': 300 }, fast), names, { ...t, minRequests: 301 });
    expect(r.verdict).toBe('inconclusive');
    expect(r.reasons[0]).toMatch(/300 requests in the window < gate\.analysis\.minRequests 301/);
  });

  test('a Traefik restart between the scrapes: inconclusive', () => {
    expect(analyse(before, parsePrometheus(scrape({ [C]: { codes: { '200': 3 }, perBucket: [3] }, [S]: { codes: { '200': 3 }, perBucket: [3] } })), names, t).verdict).toBe('inconclusive');
  });
});

describe('evaluateSmoke()', () => {
  const spec = (over: Partial<SmokeSpec> = {}): SmokeSpec => ({ path: '/', method: 'GET', expectStatus: 200, ...over });
  test('status, body text and header text must all match', () => {
    const answer = { status: 200, headers: { 'x-app-version': 'v2', 'content-type': 'text/plain' }, body: 'hello from v2' };
    expect(evaluateSmoke(spec({ expectBody: 'hello', expectHeader: { 'X-App-Version': 'v2' } }), answer)).toEqual({ request: 'GET /', pass: true, problems: [] });
    const bad = evaluateSmoke(spec({ expectStatus: 201, expectBody: 'bye', expectHeader: { 'X-App-Version': 'v3', 'X-Missing': '' } }), answer);
    expect(bad.pass).toBe(false);
    expect(bad.problems).toEqual(['status 200, expected 201', 'body does not contain "bye" (got "hello from v2")', 'header X-App-Version: "v2" does not contain "v3"', 'header X-Missing missing']);
  });
  test('no answer fails with the reason', () => {
    expect(evaluateSmoke(spec(), { error: 'connect ECONNREFUSED' })).toEqual({ request: 'GET /', pass: false, problems: ['no answer: connect ECONNREFUSED'] });
  });
  test('only GET and HEAD requests are replayed as analysis traffic', () => {
    expect(replayable([spec(), spec({ method: 'POST' }), spec({ method: 'HEAD' })]).map((s) => s.method)).toEqual(['GET', 'HEAD']);
  });
});

describe('decide(): the decision table', () => {
  const ready: GateState = { deployment: 'running', canariesHealthy: true, canaryUnhealthy: false, promoted: false, traefikUp: true, smoke: 'pass', analysis: 'pass', deadlinePassed: false };
  test.each<[string, Partial<GateState>, string]>([
    ['every check passed', {}, 'promote'],
    ['no deployment', { deployment: 'none' }, 'done'],
    ['deployment already failed', { deployment: 'failed' }, 'done'],
    ['deployment already successful', { deployment: 'successful' }, 'done'],
    ['already promoted', { promoted: true }, 'done'],
    ['canaries not yet healthy in Nomad', { canariesHealthy: false, traefikUp: false, smoke: 'pending', analysis: 'pending' }, 'wait'],
    ['healthy in Nomad but not UP in Traefik', { traefikUp: false, smoke: 'pending', analysis: 'pending' }, 'wait'],
    ['UP in Traefik: smoke next', { smoke: 'pending', analysis: 'pending' }, 'smoke'],
    ['smoke passed: analysis next', { analysis: 'pending' }, 'analyse'],
    ['smoke failed', { smoke: 'fail', analysis: 'pending' }, 'fail'],
    ['analysis failed', { analysis: 'fail' }, 'fail'],
    ['analysis inconclusive', { analysis: 'inconclusive' }, 'fail'],
    ['deadline passed while Traefik says DOWN', { traefikUp: false, smoke: 'pending', analysis: 'pending', deadlinePassed: true }, 'fail'],
    ['a canary unhealthy: Nomad fails it, the gate waits', { canaryUnhealthy: true, canariesHealthy: false, smoke: 'pending', analysis: 'pending' }, 'wait'],
    ['a canary unhealthy past the deadline', { canaryUnhealthy: true, smoke: 'pending', analysis: 'pending', deadlinePassed: true }, 'fail'],
    ['paused deployment', { deployment: 'paused', smoke: 'pending', analysis: 'pending' }, 'wait'],
  ])('%s → %s', (_name, over, kind) => {
    expect(decide({ ...ready, ...over }).kind).toBe(kind);
  });
  test('never promotes unless Nomad, Traefik, smoke and analysis all agree', () => {
    const values: { [K in keyof GateState]: GateState[K][] } = {
      deployment: ['none', 'running', 'paused', 'successful', 'failed'],
      canariesHealthy: [true, false],
      canaryUnhealthy: [true, false],
      promoted: [true, false],
      traefikUp: [true, false],
      smoke: ['pending', 'pass', 'fail'],
      analysis: ['pending', 'pass', 'fail', 'inconclusive'],
      deadlinePassed: [true, false],
    };
    let states: GateState[] = [{} as GateState];
    for (const [k, vs] of Object.entries(values)) states = states.flatMap((s) => (vs as unknown[]).map((v) => ({ ...s, [k]: v })));
    for (const s of states) {
      if (decide(s).kind === 'promote') expect(s).toEqual({ ...ready });
    }
  });
});
