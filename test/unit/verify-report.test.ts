import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { consoleSummary, formatPercent, latencyStats, MARKDOWN_MAX_DROPS, markdownReport, summarize, versionRanges, writeReport, type SummarizeInput } from '../../verify/report.ts';
import { timelineSvg } from '../../verify/timeline.ts';
import type { RequestRecord } from '../../verify/types.ts';

// ---- fixtures -------------------------------------------------------------------------

const ok = (seq: number, rate = 10, over: Partial<RequestRecord> = {}): RequestRecord => ({
  seq, scheduledMs: (seq * 1000) / rate, sentMs: (seq * 1000) / rate + 0.2, latencyMs: 1, status: 200, errorKind: null, version: 'v1', ok: true, ...over,
});
const s503 = { ok: false, status: 503, version: 'v2' } as const;
const refused = { ok: false, status: null, errorKind: 'refused', errorCode: 'ECONNREFUSED', version: null } as const;
const reset = { ok: false, status: null, errorKind: 'reset', errorCode: 'UND_ERR_SOCKET', version: null } as const;
const timeout = { ok: false, status: null, errorKind: 'timeout', errorCode: 'REQUEST_TIMEOUT', version: null, latencyMs: 500 } as const;

/** n requests at `rate`, OK unless `bad` says otherwise. */
function records(n: number, rate = 10, bad: (seq: number) => Partial<RequestRecord> | undefined = () => undefined): RequestRecord[] {
  return Array.from({ length: n }, (_, i) => ok(i, rate, bad(i)));
}

function input(over: Partial<SummarizeInput> = {}): SummarizeInput {
  return {
    records: records(100),
    events: [],
    rate: { target: 10, achieved: 10 },
    sendLagMs: { p50: 0.2, p99: 1.1, max: 2 },
    valid: true,
    deployment: { status: 'successful', id: 'd-1', jobVersion: 2 },
    phases: { baselineEndMs: 2000, deployEndMs: 8000 },
    expect: 'successful',
    threshold: 1,
    target: { url: 'http://127.0.0.1:18080/', host: 'api.local' },
    startedAt: Date.UTC(2026, 10, 23, 10, 0, 0),
    ...over,
  };
}

/**
 * A small XML well-formedness check: every `<` opens a valid tag with quoted
 * attributes, tags balance, text holds no raw `<` or bare `&`. Enough to catch broken
 * SVG without adding a parser dependency.
 */
function wellFormedXml(xml: string): { ok: true } | { ok: false; why: string } {
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  const badAmp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const stack: string[] = [];
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (badAmp.test(text)) return { ok: false, why: `bare & in text near ${i}` };
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) return { ok: false, why: `bad tag at ${lt}: ${xml.slice(lt, lt + 40)}` };
    if (badAmp.test(m[3] ?? '')) return { ok: false, why: `bare & in attribute near ${lt}` };
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) return { ok: false, why: `unbalanced </${name}> at ${lt}` };
    } else if (!selfClose) stack.push(name!);
    i = tag.lastIndex;
  }
  if (stack.length) return { ok: false, why: `unclosed <${stack.join('>, <')}>` };
  if (!/^<svg[\s>]/.test(xml.trimStart())) return { ok: false, why: 'root is not <svg>' };
  return { ok: true };
}

// ---- summarize ------------------------------------------------------------------------

describe('summarize()', () => {
  test('counts ok, not ok, by status and by error kind', () => {
    // GIVEN 100 requests: two 503s, a 502, a refused, two resets, a timeout
    const bad: Record<number, Partial<RequestRecord>> = { 10: s503, 11: s503, 12: { ok: false, status: 502 }, 20: refused, 30: reset, 31: reset, 40: timeout };
    // WHEN summarized
    const r = summarize(input({ records: records(100, 10, (i) => bad[i]) }));
    // THEN
    expect(r.requests).toEqual({ total: 100, ok: 93, notOk: 7, byStatus: { 502: 1, 503: 2 }, byErrorKind: { refused: 1, reset: 2, timeout: 1, dns: 0, other: 0 } });
    expect(Object.keys(r.requests.byStatus)).toEqual(['502', '503']);
    expect(r.successRatio).toBe(0.93);
    expect(r.successPercent).toBe('93.000 %');
  });

  test('lists every drop in seq order with its status, kind and latency', () => {
    const r = summarize(input({ records: records(100, 10, (i) => (i === 40 ? timeout : i === 12 ? s503 : undefined)).reverse() }));
    expect(r.drops).toEqual([
      { seq: 12, scheduledMs: 1200, sentMs: 1200.2, status: 503, errorKind: null, latencyMs: 1, version: 'v2' },
      { seq: 40, scheduledMs: 4000, sentMs: 4000.2, status: null, errorKind: 'timeout', errorCode: 'REQUEST_TIMEOUT', latencyMs: 500, version: null },
    ]);
  });

  test('splits requests into baseline, deploy and tail by scheduled time', () => {
    // GIVEN latencies 1 ms before 2 s, 5 ms during the deploy, 2 ms after 8 s
    const recs = records(100, 10).map((r) => ({ ...r, latencyMs: r.scheduledMs < 2000 ? 1 : r.scheduledMs < 8000 ? 5 : 2 }));
    const r = summarize(input({ records: recs }));
    expect(r.phases).toEqual({
      baseline: { fromMs: 0, toMs: 2000, total: 20, ok: 20, notOk: 0 },
      deploy: { fromMs: 2000, toMs: 8000, total: 60, ok: 60, notOk: 0 },
      tail: { fromMs: 8000, toMs: 10_000, total: 20, ok: 20, notOk: 0 },
    });
    expect(r.latencyMs.baseline).toEqual({ count: 20, p50: 1, p90: 1, p99: 1, max: 1 });
    expect(r.latencyMs.deploy).toEqual({ count: 60, p50: 5, p90: 5, p99: 5, max: 5 });
    expect(r.latencyMs.tail).toEqual({ count: 20, p50: 2, p90: 2, p99: 2, max: 2 });
    expect(r.latencyMs.p99).toBe(5);
    expect(r.latencyMs.count).toBe(100);
  });

  test('runs the deploy phase to the end when the deploy never ended', () => {
    const r = summarize(input({ phases: { baselineEndMs: 2000, deployEndMs: null } }));
    expect(r.phases.deploy).toEqual({ fromMs: 2000, toMs: null, total: 80, ok: 80, notOk: 0 });
    expect(r.phases.tail.total).toBe(0);
    expect(r.latencyMs.tail).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
  });

  test('computes latency over OK responses only', () => {
    const r = summarize(input({ records: records(100, 10, (i) => (i < 5 ? timeout : undefined)) }));
    expect(r.latencyMs.max).toBe(1);
    expect(r.latencyMs.count).toBe(95);
  });

  test('counts versions per second, names in first-seen order', () => {
    const recs = records(30, 10, (i) => (i >= 10 && i % 2 === 0 ? { version: 'v2' } : i === 25 ? refused : undefined));
    const r = summarize(input({ records: recs }));
    expect(r.versions).toEqual({
      names: ['v1', 'v2'],
      bySecond: [
        { second: 0, counts: { v1: 10 } },
        { second: 1, counts: { v1: 5, v2: 5 } },
        { second: 2, counts: { v1: 4, v2: 5 } },
      ],
    });
  });

  test('buckets outcomes per second by class', () => {
    const bad: Record<number, Partial<RequestRecord>> = { 3: s503, 4: { ok: false, status: 404 }, 12: refused, 13: reset, 14: timeout };
    const r = summarize(input({ records: records(20, 10, (i) => bad[i]) }));
    expect(r.outcomes.bySecond).toEqual([
      { second: 0, total: 10, ok: 8, http5xx: 1, httpOther: 1, refused: 0, reset: 0, timeout: 0, dns: 0, other: 0 },
      { second: 1, total: 10, ok: 7, http5xx: 0, httpOther: 0, refused: 1, reset: 1, timeout: 1, dns: 0, other: 0 },
    ]);
  });

  test('puts schemaVersion and the documented fields at their exact JSON paths', () => {
    const json = JSON.parse(JSON.stringify(summarize(input()))) as Record<string, any>;
    expect(json.schemaVersion).toBe(2);
    expect(json.requests.total).toBe(100);
    expect(json.requests.ok).toBe(100);
    expect(json.successRatio).toBe(1);
    expect(typeof json.latencyMs.p99).toBe('number');
    expect(json.rate.target).toBe(10);
    expect(json.rate.achieved).toBe(10);
    expect(json.deployment.status).toBe('successful');
    expect(Object.keys(json)).toEqual([
      'schemaVersion', 'startedAt', 'startedAtEpochMs', 'target', 'durationMs', 'requests', 'successRatio', 'successPercent', 'threshold',
      'latencyMs', 'rate', 'sendLagMs', 'measurement', 'phases', 'outcomes', 'versions', 'events', 'drops', 'deployment', 'servers', 'deployments', 'mix', 'targets',
      'ledger', 'capacity', 'verdict',
    ]);
    expect(json.startedAt).toBe('2026-11-23T10:00:00.000Z');
  });

  test('names the Nomad and Consul versions the run ran on, in the JSON and the markdown', () => {
    const report = summarize({ ...input(), servers: { nomad: ['1.6.3'], consul: ['1.16.3'] } });
    expect(report.servers).toEqual({ nomad: ['1.6.3'], consul: ['1.16.3'] });
    expect(markdownReport(report)).toContain('| servers | Nomad 1.6.3, Consul 1.16.3 |');
    expect(summarize(input()).servers).toBeNull();
  });

  test('is deterministic: the same input gives the same JSON', () => {
    expect(JSON.stringify(summarize(input()))).toBe(JSON.stringify(summarize(input())));
  });

  // Each row is one way a run must fail (or pass); the reasons are what a user reads in CI.
  const verdicts: Array<[string, Partial<SummarizeInput>, boolean, RegExp[]]> = [
    ['passes with every request OK, a valid measurement and the expected deployment status', {}, true, [/^measurement valid/, /^success ratio 100\.000 % \(100 of 100 OK\) meets the threshold 100\.000 %$/, /^deployment successful, as expected$/]],
    ['fails below the threshold', { records: records(100, 10, (i) => (i === 7 ? s503 : undefined)) }, false, [/^success ratio 99\.000 % is below the threshold 100\.000 %: 1 of 100 requests not OK$/]],
    ['passes at exactly the threshold', { records: records(100, 10, (i) => (i === 7 ? s503 : undefined)), threshold: 0.99 }, true, []],
    ['fails on an invalid measurement even with every request OK', { valid: false, invalidReason: 'send lag p99 80.0 ms exceeds 50 ms' }, false, [/^measurement invalid: send lag p99 80\.0 ms exceeds 50 ms$/]],
    ['fails when the deployment status is not the expected one', { deployment: { status: 'failed' } }, false, [/^deployment failed, but successful was expected$/]],
    ['passes a deliberately failed deployment when failure is expected', { deployment: { status: 'failed' }, expect: 'failed' }, true, []],
    ['fails with no records at all', { records: [] }, false, [/^no requests were recorded$/]],
    ['lists every failed check', { records: records(10, 10, () => refused), valid: false, deployment: { status: 'timeout' } }, false, [/^measurement invalid/, /^success ratio 0\.000 %/, /^deployment timeout, but successful was expected$/]],
  ];
  for (const [name, over, pass, reasons] of verdicts) {
    test(`verdict ${name}`, () => {
      const v = summarize(input(over)).verdict;
      expect(v.pass).toBe(pass);
      reasons.forEach((re, i) => expect(v.reasons[i]).toMatch(re));
      if (!pass) expect(v.reasons).toHaveLength(reasons.length);
      expect(v.checks.map((c) => c.name)).toEqual(['measurement', 'success-ratio', 'deployment']);
    });
  }

  test('refuses a threshold outside 0..1 and phases out of order, listing both', () => {
    expect(() => summarize(input({ threshold: 100, phases: { baselineEndMs: 5000, deployEndMs: 4000 } }))).toThrow(
      'summarize: 2 invalid inputs\n  threshold: 100 — must be a ratio between 0 and 1 (1 = every request OK)\n  phases.deployEndMs: 4000 — must not be before phases.baselineEndMs (5000)',
    );
  });
});

describe('formatPercent()', () => {
  // Rounded half-up, a run with drops could print "100.000 %"; floored, it never does.
  const rows: Array<[number, number, string]> = [
    [12_000, 12_000, '100.000 %'],
    [11_999, 12_000, '99.991 %'],
    [1_999_999, 2_000_000, '99.999 %'],
    [0, 10, '0.000 %'],
    [977, 1000, '97.700 %'],
  ];
  for (const [okCount, total, text] of rows) {
    test(`${okCount} of ${total} is ${text}`, () => expect(formatPercent(okCount / total)).toBe(text));
  }
});

describe('latencyStats()', () => {
  test('keeps sub-millisecond precision and never reports a percentile above the max', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 0.1 + i * 0.123);
    const s = latencyStats(values);
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(61.477, 0);
    expect(Math.abs(s.p50! - 61.477) / 61.477).toBeLessThan(0.001);
    expect(s.p99).toBeLessThanOrEqual(s.max!);
    expect(s.max).toBe(122.977);
    expect(latencyStats([0.25]).p50).toBe(0.25);
  });

  test('returns nulls for no values', () => {
    expect(latencyStats([])).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
  });
});

describe('versionRanges()', () => {
  test('condenses a v1 → mix → v2 rollout into three ranges', () => {
    const bySecond = [
      ...Array.from({ length: 5 }, (_, s) => ({ second: s, counts: { v1: 10 } as Record<string, number> })),
      ...Array.from({ length: 3 }, (_, s) => ({ second: 5 + s, counts: { v1: 6, v2: 4 } })),
      ...Array.from({ length: 4 }, (_, s) => ({ second: 8 + s, counts: { v2: 10 } })),
    ];
    expect(versionRanges({ versions: { names: ['v1', 'v2'], bySecond } })).toEqual([
      { fromSecond: 0, toSecond: 4, shares: [['v1', 100]] },
      { fromSecond: 5, toSecond: 7, shares: [['v1', 60], ['v2', 40]] },
      { fromSecond: 8, toSecond: 11, shares: [['v2', 100]] },
    ]);
  });

  test('stays within maxRanges when the mix flickers every second', () => {
    const bySecond = Array.from({ length: 60 }, (_, s) => ({ second: s, counts: (s % 2 ? { v1: 10 } : { v1: 5, v2: 5 }) as Record<string, number> }));
    const ranges = versionRanges({ versions: { names: ['v1', 'v2'], bySecond } }, 5);
    expect(ranges.length).toBeLessThanOrEqual(5);
    expect(ranges[0]!.fromSecond).toBe(0);
    expect(ranges.at(-1)!.toSecond).toBe(59);
    for (const r of ranges) expect(r.shares.reduce((a, [, p]) => a + p, 0)).toBe(100);
  });
});

describe('consoleSummary()', () => {
  test('prints totals, the breakdown, the latency table, versions, events and the verdict', () => {
    const recs = records(100, 10, (i) => (i === 30 ? s503 : i === 31 ? reset : i >= 50 ? { version: 'v2' } : undefined));
    const text = consoleSummary(summarize(input({ records: recs, events: [{ atMs: 2000, kind: 'deploy-start' }, { atMs: 7500, kind: 'successful', detail: 'd-1' }] })));
    expect(text).toMatchInlineSnapshot(`
      "zerodrop verify  http://127.0.0.1:18080/ (Host: api.local)  started 2026-11-23T10:00:00.000Z, 10.0 s of load
      requests  100 total, 98 OK, 2 not OK (503 ×1, reset ×1)
      success   98.000 % (threshold 100.000 %)
      rate      10 req/s target, 10.0 achieved; send lag p50 0.200 / p99 1.100 / max 2.000 ms
      latency of OK responses (ms)
        phase      n    p50    p90    p99    max
        all       98  1.000  1.000  1.000  1.000
        baseline  20  1.000  1.000  1.000  1.000
        deploy    58  1.000  1.000  1.000  1.000
        tail      20  1.000  1.000  1.000  1.000
      versions  0–2 s v1 100 %, 3 s v1 89 % v2 11 %, 4 s v1 100 %, 5–9 s v2 100 %
      events
        2.0 s  deploy-start
        7.5 s  successful    d-1
      deploy    successful (expected successful), job version 2
      verdict   FAIL
        - success ratio 98.000 % is below the threshold 100.000 %: 2 of 100 requests not OK"
    `);
  });
});

describe('markdownReport()', () => {
  test('links the timeline and renders tables', () => {
    const md = markdownReport(summarize(input()));
    expect(md).toContain('# zerodrop verify: ✅ PASS');
    expect(md).toContain('![timeline](timeline.svg)');
    expect(md).toContain('| phase | from | to | requests | OK | not OK | p50 ms | p90 ms | p99 ms | max ms |');
    expect(md).toContain('| baseline | 0.0 s | 2.0 s | 20 | 20 | 0 | 1.000 | 1.000 | 1.000 | 1.000 |');
    expect(md).toContain('## Drops (0)\n\nnone');
  });

  test(`lists at most ${MARKDOWN_MAX_DROPS} drops and points to report.json for the rest`, () => {
    const md = markdownReport(summarize(input({ records: records(100, 10, (i) => (i < 70 ? refused : undefined)) })));
    expect(md).toContain('## Drops (70)');
    expect(md).toContain('| 49 | 4.9 s | – | refused (ECONNREFUSED) | 1.000 | – |');
    expect(md).not.toContain('| 50 | 5.0 s |');
    expect(md).toContain('… and 20 more in report.json.');
  });
});

describe('writeReport()', () => {
  test('writes report.json, report.md and timeline.svg into a new directory', async () => {
    const base = await mkdtemp(join(tmpdir(), 'zerodrop-report-'));
    try {
      const report = summarize(input());
      const paths = await writeReport(join(base, 'a', 'b'), report);
      expect(paths).toEqual({ json: join(base, 'a/b/report.json'), md: join(base, 'a/b/report.md'), svg: join(base, 'a/b/timeline.svg') });
      expect(JSON.parse(await readFile(paths.json, 'utf8'))).toEqual(report);
      expect(await readFile(paths.json, 'utf8')).toMatch(/^\{\n {2}"schemaVersion": 2,\n/);
      expect(await readFile(paths.md, 'utf8')).toBe(markdownReport(report));
      expect(wellFormedXml(await readFile(paths.svg, 'utf8'))).toEqual({ ok: true });
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

// ---- timeline -------------------------------------------------------------------------

describe('timelineSvg()', () => {
  // The SVG must hold up at the extremes: no drops, all drops, 10 s and 300 s.
  const cases: Array<[string, SummarizeInput]> = [
    ['a 10 s run with no drops', input()],
    ['a 10 s run where everything fails', input({ records: records(100, 10, () => refused) })],
    ['a 300 s run with mixed drops and events', input({
      records: records(300 * 20, 20, (i) => (i % 97 === 0 ? s503 : i % 101 === 0 ? timeout : i > 4000 ? { version: 'v2' } : undefined)),
      rate: { target: 20, achieved: 20 },
      phases: { baselineEndMs: 30_000, deployEndMs: 250_000 },
      events: [{ atMs: 30_000, kind: 'deploy-start' }, { atMs: 30_500, kind: 'canary-placed' }, { atMs: 31_000, kind: 'canary-healthy' }, { atMs: 299_000, kind: 'deploy-cmd-exit' }],
    })],
    ['an empty run', input({ records: [] })],
  ];
  for (const [name, inp] of cases) {
    test(`renders well-formed SVG for ${name}`, () => {
      const svg = timelineSvg(summarize(inp));
      expect(wellFormedXml(svg)).toEqual({ ok: true });
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    });
  }

  test('draws a visible bar for a single drop in 100', () => {
    const svg = timelineSvg(summarize(input({ records: records(100, 100, (i) => (i === 42 ? s503 : undefined)) })));
    const bar = svg.match(/<rect [^>]*height="([\d.]+)" fill="#d7301f"><title>0s: 1 5xx of 100<\/title><\/rect>/);
    expect(bar).not.toBeNull();
    expect(Number(bar![1])).toBeGreaterThanOrEqual(3);
    expect(svg).toContain('<title>0s: 1 dropped</title>');
  });

  test('says "no drops" and draws no drop bar when everything was OK', () => {
    const svg = timelineSvg(summarize(input()));
    expect(svg).toContain('>no drops</text>');
    expect(svg).not.toContain('dropped</title>');
  });

  test('shows the title line with totals, success ratio and verdict', () => {
    const svg = timelineSvg(summarize(input({ records: records(100, 10, (i) => (i === 1 ? reset : undefined)) })));
    expect(svg).toContain('zerodrop verify: 100 requests, 99 OK, 1 not OK, 99.000 % <tspan fill="#cf222e">FAIL</tspan>');
  });

  test('labels every deployment event and phase boundary', () => {
    const svg = timelineSvg(summarize(input({ events: [{ atMs: 2100, kind: 'canary-placed' }, { atMs: 7900, kind: 'old-stopped' }] })));
    expect(svg).toContain('>canary-placed 2.1s</text>');
    expect(svg).toContain('>old-stopped 7.9s</text>');
    expect(svg).toContain('<title>deploy phase from 2s</title>');
    expect(svg).toContain('<title>tail phase from 8s</title>');
  });

  test('escapes text taken from the run', () => {
    const svg = timelineSvg(summarize(input({ target: { url: 'http://127.0.0.1:1/?a=1&b=<2>', host: '"x"' } })));
    expect(svg).toContain('?a=1&amp;b=&lt;2&gt; (Host &quot;x&quot;)');
    expect(wellFormedXml(svg)).toEqual({ ok: true });
  });
});
