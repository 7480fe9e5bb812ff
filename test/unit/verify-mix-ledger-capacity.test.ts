/**
 * The verifier's second-version flags: per-request timeout, request mix, several target
 * URLs, following several deployments, the idempotency ledger and capacity over time.
 * Load goes to loopback servers started here only, bounded in count and time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { readLedger } from '../../app/ledger.ts';
import { DEFAULTS as APP_DEFAULTS, appConfigFromEnv, startApp } from '../../app/server.ts';
import { capacityBySecond } from '../../verify/capacity.ts';
import { compareLedger } from '../../verify/ledger.ts';
import { runLoad } from '../../verify/load.ts';
import { MixError, mixFromData, mixFromFile, mixFromFlags, mixPicker } from '../../verify/mix.ts';
import { overallStatus } from '../../verify/nomad-watch.ts';
import { markdownReport, summarize, type SummarizeInput } from '../../verify/report.ts';
import { timelineSvg } from '../../verify/timeline.ts';
import type { RequestRecord } from '../../verify/types.ts';

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function http(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'zerodrop-verify-mix-'));
  dirs.push(d);
  return d;
}

describe('--timeout', () => {
  test('without --timeout a request is cut at 2 s: a 2.4 s answer times out, a 1.6 s one is OK', async () => {
    // GIVEN a server that answers /a after 1.6 s and /b after 2.4 s
    const url = await http((req, res) => {
      setTimeout(() => res.end('late'), req.url === '/a' ? 1600 : 2400).unref();
    });
    // WHEN one request to each goes out with the load generator's defaults
    const run = await runLoad({ url, mix: mixFromFlags(['1 GET /a', '1 GET /b']), rate: 4, durationMs: 500 });
    // THEN the 1.6 s answer is OK and the 2.4 s one is a timeout near 2 s
    const [a, b] = [run.records.find((r) => r.mix === 0)!, run.records.find((r) => r.mix === 1)!];
    expect(a.ok).toBe(true);
    expect(b.errorKind).toBe('timeout');
    expect(b.latencyMs).toBeGreaterThanOrEqual(1990);
    expect(b.latencyMs).toBeLessThan(2300);
  });

  test('a request is cut at the configured limit, not at 2 s, and a slower limit lets it finish', async () => {
    // GIVEN a server that answers /stall after 700 ms and / at once
    const url = await http((req, res) => {
      if (req.url === '/stall') setTimeout(() => res.end('late'), 700).unref();
      else res.end('ok');
    });
    const mix = mixFromFlags(['1 GET /', '1 GET /stall']);
    // WHEN the timeout is 300 ms
    const short = await runLoad({ url, mix, rate: 20, durationMs: 500, timeoutMs: 300 });
    // THEN every /stall timed out after ~300 ms and every / is OK
    const stalls = short.records.filter((r) => r.mix === 1);
    expect(stalls.length).toBe(5);
    for (const r of stalls) {
      expect(r.errorKind).toBe('timeout');
      expect(r.latencyMs).toBeGreaterThanOrEqual(290);
      expect(r.latencyMs).toBeLessThan(600);
    }
    expect(short.records.filter((r) => r.mix === 0).every((r) => r.ok)).toBe(true);
    // AND with a 1.5 s timeout the same /stall requests are OK after ~700 ms
    const long = await runLoad({ url, mix, rate: 20, durationMs: 500, timeoutMs: 1500 });
    const slow = long.records.filter((r) => r.mix === 1);
    expect(slow.every((r) => r.ok && r.latencyMs >= 690)).toBe(true);
  });
});

describe('request mix', () => {
  test('smooth weighted round robin gives exact proportions per cycle, interleaved', () => {
    const pick = mixPicker(mixFromFlags(['80 GET /', '10 GET /slow?ms=3000', '10 POST /orders 201']));
    const picks = Array.from({ length: 1000 }, pick);
    expect([0, 1, 2].map((i) => picks.filter((p) => p === i).length)).toEqual([800, 100, 100]);
    // interleaved: never 20 GET / in a row while the others wait
    const firstTen = Array.from({ length: 10 }, (_, i) => picks.slice(i * 10, i * 10 + 10));
    for (const chunk of firstTen) expect(chunk.filter((p) => p !== 0).length).toBeGreaterThan(0);
  });

  test('sends each entry with its method, path, body and request id, within 2 % of its weight, and judges each by its own status', async () => {
    // GIVEN a server that records what arrives; POST /orders answers 201
    const seen: Array<{ method: string; url: string; id: string | undefined; body: string }> = [];
    const url = await http((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, id: req.headers['x-request-id'] as string | undefined, body });
        res.statusCode = req.method === 'POST' ? 201 : 200;
        res.end();
      });
    });
    const mix = mixFromData({ requests: [{ weight: 8, method: 'GET', path: '/' }, { weight: 1, method: 'GET', path: '/slow?ms=1' }, { weight: 1, method: 'POST', path: '/orders', body: { item: 7 }, expect: 201 }] });
    // WHEN 200 req/s run for 1 s
    const r = await runLoad({ url, mix, rate: 200, durationMs: 1000 });
    // THEN the proportions hold and every request is OK by its own entry's status
    expect(r.records).toHaveLength(200);
    expect(r.records.every((x) => x.ok)).toBe(true);
    const share = (pred: (s: (typeof seen)[number]) => boolean) => seen.filter(pred).length / seen.length;
    expect(Math.abs(share((s) => s.url === '/') - 0.8)).toBeLessThan(0.02);
    expect(Math.abs(share((s) => s.url === '/slow?ms=1') - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(share((s) => s.method === 'POST') - 0.1)).toBeLessThan(0.02);
    // AND only the POSTs carry a request id, each unique, with the JSON body
    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts.every((p) => p.url === '/orders' && p.body === '{"item":7}' && p.id)).toBe(true);
    expect(new Set(posts.map((p) => p.id)).size).toBe(posts.length);
    expect(seen.filter((s) => s.method === 'GET').every((s) => s.id === undefined)).toBe(true);
    // AND the report counts per entry
    const report = summarize({ ...baseInput(), records: r.records, rate: r.rate, sendLagMs: r.sendLagMs, mix });
    expect(report.mix.map((m) => [m.name, m.total, m.ok])).toEqual([['GET /', 160, 160], ['GET /slow?ms=1', 20, 20], ['POST /orders', 20, 20]]);
    expect(markdownReport(report)).toContain('## Request mix');
  });

  test('a 200 where the entry expects 201 is a drop', async () => {
    const url = await http((_req, res) => res.end());
    const r = await runLoad({ url, mix: mixFromFlags(['1 POST /orders 201']), rate: 10, durationMs: 300 });
    expect(r.records.every((x) => !x.ok && x.status === 200)).toBe(true);
  });

  test('an invalid mix names every bad field', () => {
    const bad = { requests: [{ weight: 80, method: 'GET', path: '/' }, { weight: 0, method: 'FETCH', path: 'orders', expect: 99, extra: 1 }] };
    let err: unknown;
    try {
      mixFromData(bad, 'mix.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MixError);
    const msg = (err as Error).message;
    // the kit's one input-error shape: source and count, then `path: value — rule` per problem
    expect(msg).toMatch(/^mix\.yaml: 5 problems in the request mix\n/);
    expect(msg).toMatch(/ {2}requests\[1\]\.weight: 0 — must be > 0/);
    expect(msg).toMatch(/ {2}requests\[1\]\.method: "FETCH" — must be one of GET, HEAD, POST/);
    expect(msg).toMatch(/ {2}requests\[1\]\.path: "orders" — must start with "\/"/);
    expect(msg).toMatch(/ {2}requests\[1\]\.expect: 99 — must be an HTTP status 100\.\.599/);
    expect(msg).toMatch(/extra/);
    expect((err as MixError).issues.map((i) => i.path)).toContain('requests[1].weight');
    expect(msg).not.toMatch(/requests\[0\]/);
    expect(() => mixFromData({ requests: [] })).toThrow(/requests: \[\] — must list at least one request/);
    expect(() => mixFromFlags(['GET /'])).toThrow(MixError);
  });

  test('reads a YAML file and a JSON file', async () => {
    const d = await tempDir();
    await writeFile(join(d, 'mix.yaml'), 'requests:\n  - { weight: 9, method: GET, path: / }\n  - { weight: 1, method: POST, path: /orders, expect: 201, body: { a: 1 } }\n');
    await writeFile(join(d, 'mix.json'), JSON.stringify({ requests: [{ weight: 1, method: 'get', path: '/' }] }));
    expect(await mixFromFile(join(d, 'mix.yaml'))).toEqual([
      { name: 'GET /', method: 'GET', path: '/', expectStatus: 200, weight: 9 },
      { name: 'POST /orders', method: 'POST', path: '/orders', body: '{"a":1}', expectStatus: 201, weight: 1 },
    ]);
    await expect(mixFromFile(join(d, 'mix.json'))).rejects.toThrow(/requests\[0\]\.method/);
    await expect(mixFromFile(join(d, 'missing.yaml'))).rejects.toThrow(/--mix: ".*missing.yaml" — cannot be read \(ENOENT\)/);
  });
});

describe('several target URLs', () => {
  test('round robin: each URL gets every n-th request', async () => {
    const hits = [0, 0, 0];
    const urls = await Promise.all(hits.map((_, i) => http((_req, res) => {
      hits[i]!++;
      res.end();
    })));
    const r = await runLoad({ url: urls[0]!, moreUrls: urls.slice(1), rate: 90, durationMs: 1000 });
    expect(hits).toEqual([30, 30, 30]);
    expect(r.records.every((x) => x.target === x.seq % 3)).toBe(true);
    const report = summarize({ ...baseInput(), records: r.records, rate: r.rate, sendLagMs: r.sendLagMs, urls });
    expect(report.targets.map((t) => t.total)).toEqual([30, 30, 30]);
  });

  test('a dead target shows up as its own drops', async () => {
    const live = await http((_req, res) => res.end());
    const dead = await http((_req, res) => res.end());
    servers.pop()!.close();
    const r = await runLoad({ url: live, moreUrls: [dead], rate: 20, durationMs: 500 });
    const report = summarize({ ...baseInput(), records: r.records, rate: r.rate, sendLagMs: r.sendLagMs, urls: [live, dead] });
    expect(report.targets.map((t) => [t.ok, t.notOk])).toEqual([[5, 0], [0, 5]]);
  });
});

describe('several deployments', () => {
  const d = (Status: string, CreateIndex: number) => ({ Status, CreateIndex });
  test('the watch ends only when every deployment has ended; any failure fails', () => {
    expect(overallStatus([])).toBeUndefined();
    expect(overallStatus([d('successful', 1), d('running', 2)])).toBeUndefined();
    expect(overallStatus([d('successful', 1), d('successful', 2)])).toBe('successful');
    expect(overallStatus([d('failed', 1), d('successful', 2)])).toBe('failed');
    expect(overallStatus([d('successful', 2), d('failed', 1)])).toBe('failed');
    // cancelled by a newer version that succeeded is not a failure
    expect(overallStatus([d('cancelled', 1), d('successful', 2)])).toBe('successful');
  });

  test('the report lists each deployment, and the verdict names them', () => {
    const deployments = [{ id: 'aaaaaaaa-1', jobVersion: 3, status: 'successful', statusDescription: 'ok' }, { id: 'bbbbbbbb-2', jobVersion: 4, status: 'failed', statusDescription: 'Failed due to unhealthy allocations' }];
    const report = summarize({ ...baseInput(), deployment: { status: 'failed', jobVersion: 5 }, deployments });
    expect(report.verdict.pass).toBe(false);
    expect(report.verdict.reasons).toContain('deployment failed, but successful was expected (2 deployments: job 3 successful, job 4 failed)');
    expect(report.deployment.jobVersion).toBe(5);
    expect(report.deployments).toHaveLength(2);
    expect(markdownReport(report)).toContain('## Deployments');
  });
});

describe('idempotency ledger', () => {
  const post = (seq: number, ok: boolean): RequestRecord => ({ seq, scheduledMs: seq * 10, sentMs: seq * 10, latencyMs: 1, status: ok ? 201 : null, errorKind: ok ? null : 'reset', version: null, ok, mix: 1, requestId: `run-${seq}` });

  test('finds a doubled and a lost id, and splits the unknown ones by what the ledger says', () => {
    // GIVEN 6 POSTs: 0..3 answered OK, 4..5 failed on the client
    const records = [0, 1, 2, 3].map((i) => post(i, true)).concat([4, 5].map((i) => post(i, false)));
    // AND a ledger: run-1 never ran (lost), run-2 ran twice (doubled), run-4 ran once, run-5 twice
    const executed = new Map([['run-0', 1], ['run-2', 2], ['run-3', 1], ['run-4', 1], ['run-5', 2], ['other-run-9', 1]]);
    const c = compareLedger(records, executed);
    expect(c).toMatchObject({ checked: 6, exactlyOnce: 2, lost: 1, doubled: 2, unknown: { total: 2, executed: 1, notExecuted: 0 }, lostIds: ['run-1'], doubledIds: ['run-2', 'run-5'] });
    // AND the verdict fails on them
    const report = summarize({ ...baseInput(), ledger: { file: '/tmp/l', ...c } });
    expect(report.verdict.pass).toBe(false);
    expect(report.verdict.reasons.join('\n')).toMatch(/ledger: 6 non-idempotent requests: 2 answered OK and executed once, 1 lost, 2 doubled.*lost e\.g\. run-1; doubled e\.g\. run-2, run-5/);
    expect(markdownReport(report)).toContain('## Idempotency ledger');
  });

  test('a failed POST that did not run is fine; the check passes', () => {
    const c = compareLedger([post(0, true), post(1, false)], new Map([['run-0', 1]]));
    expect(c).toMatchObject({ lost: 0, doubled: 0, unknown: { total: 1, executed: 0, notExecuted: 1 } });
    expect(summarize({ ...baseInput(), ledger: { file: '/tmp/l', ...c } }).verdict.pass).toBe(true);
  });

  test('the reference app records each POST /orders it executed, across a restart, in one file', async () => {
    const d = await tempDir();
    const ledgerFile = join(d, 'sub', 'ledger.jsonl');
    expect(appConfigFromEnv({ LEDGER_FILE: ledgerFile, NOMAD_ALLOC_ID: 'alloc-1' })).toMatchObject({ ledgerFile, instance: 'alloc-1' });
    expect(() => appConfigFromEnv({ LEDGER_FILE: 'relative.jsonl' })).toThrow(/LEDGER_FILE: "relative\.jsonl" — must be an absolute path/);
    const mix = mixFromFlags(['1 GET /', '1 POST /orders 201']);
    const records: RequestRecord[] = [];
    // GIVEN two app lifetimes (v1, then v2) sharing LEDGER_FILE
    for (const [version, prefix] of [['v1', 'a'], ['v2', 'b']] as const) {
      const app = await startApp({ ...APP_DEFAULTS, port: 0, internalPort: 0, bindAddr: '127.0.0.1', version, ledgerFile, instance: `alloc-${version}` }, { log: () => undefined });
      try {
        const r = await runLoad({ url: `http://127.0.0.1:${app.port}/`, mix, rate: 40, durationMs: 500, requestIdPrefix: prefix });
        records.push(...r.records);
        expect(r.records.filter((x) => x.mix === 0).every((x) => x.instance === `alloc-${version}`)).toBe(true);
      } finally {
        await app.stop();
      }
    }
    // THEN every POST answered 201 ran exactly once
    const { counts, unreadable } = await readLedger(ledgerFile);
    const c = compareLedger(records, counts, unreadable);
    expect(c).toMatchObject({ checked: 20, exactlyOnce: 20, lost: 0, doubled: 0, unreadableLines: 0 });
    // AND a POST without a request id is refused, never executed
    const app = await startApp({ ...APP_DEFAULTS, port: 0, internalPort: 0, bindAddr: '127.0.0.1', ledgerFile }, { log: () => undefined });
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/orders`, { method: 'POST' });
      expect(res.status).toBe(400);
      expect((await readLedger(ledgerFile)).counts.size).toBe(20);
    } finally {
      await app.stop();
    }
  });

  test('the app does not execute a POST while warming (503)', async () => {
    const d = await tempDir();
    const ledgerFile = join(d, 'ledger.jsonl');
    const app = await startApp({ ...APP_DEFAULTS, port: 0, internalPort: 0, bindAddr: '127.0.0.1', warmupMs: 60_000, ledgerFile }, { log: () => undefined });
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/orders`, { method: 'POST', headers: { 'x-request-id': 'w-1' } });
      expect(res.status).toBe(503);
      expect((await readLedger(ledgerFile)).counts.size).toBe(0);
    } finally {
      await app.stop();
    }
  });
});

describe('capacity', () => {
  const rec = (ms: number, instance: string | undefined, ok = true): RequestRecord => ({ seq: 0, scheduledMs: ms, sentMs: ms, latencyMs: 1, status: ok ? 200 : 502, errorKind: null, version: 'v1', ok, ...(instance ? { instance } : {}) });

  test('routable = the fewest passing instances polled in a second, a failed poll is a gap; answering = distinct OK instances', () => {
    const samples = [
      { atMs: 100, passing: 2 }, { atMs: 1100, passing: 2 }, { atMs: 1900, passing: 1 },
      { atMs: 2050, passing: null, error: 'timeout' }, { atMs: 3010, passing: 2 }, { atMs: 9000, passing: 5 },
    ];
    const records = [rec(10, 'a'), rec(20, 'b'), rec(1010, 'a'), rec(1500, 'a'), rec(2500, 'b', false), rec(3100, 'b')];
    const c = capacityBySecond(samples, records, 4, 'Consul test');
    expect(c.bySecond).toEqual([
      { second: 0, routable: 2, answering: 2 },
      { second: 1, routable: 1, answering: 1 },
      { second: 2, routable: null, answering: 0 },
      { second: 3, routable: 2, answering: 1 },
    ]);
    expect(c.routable).toEqual({ min: 1, max: 2, polls: 6, failedPolls: 1 });
    expect(c.answering).toEqual({ min: 0, max: 2 });
  });

  test('no x-app-instance header at all: answering is null, not 0', () => {
    const c = capacityBySecond([], [rec(10, undefined)], 1, 'none');
    expect(c.bySecond).toEqual([{ second: 0, routable: null, answering: null }]);
  });

  test('is in report.md and drawn in the timeline', () => {
    const capacity = capacityBySecond([{ atMs: 500, passing: 2 }, { atMs: 1500, passing: 1 }], [], 10, 'Consul test');
    const report = summarize({ ...baseInput(), capacity });
    expect(markdownReport(report)).toMatch(/## Capacity[\s\S]*\| 0 \| 2 \| – \|\n\| 1 \| 1 \| – \|/);
    const svg = timelineSvg(report);
    expect(svg).toMatch(/<path d="M[^"]+" fill="none" stroke="#1f5fa8"/);
    expect(svg).toContain('routable instances (min 1)');
    expect(timelineSvg(summarize(baseInput()))).not.toContain('routable instances');
  });
});

function baseInput(): SummarizeInput {
  return {
    records: Array.from({ length: 100 }, (_, seq) => ({ seq, scheduledMs: seq * 100, sentMs: seq * 100, latencyMs: 1, status: 200, errorKind: null, version: 'v1', ok: true })),
    events: [],
    rate: { target: 10, achieved: 10 },
    sendLagMs: { p50: 0.2, p99: 1, max: 2 },
    valid: true,
    deployment: { status: 'successful' },
    phases: { baselineEndMs: 2000, deployEndMs: 8000 },
    expect: 'successful',
    threshold: 1,
    target: { url: 'http://127.0.0.1:18080/' },
    startedAt: Date.UTC(2026, 11, 1),
  };
}

describe('self-benchmark', () => {
  test('runs the generator against its own static server and reports rate, send lag and latency', async () => {
    const { runBench, benchTable } = await import('../../verify/bench.ts');
    const b = await runBench(200, 500);
    expect(b.requests).toBe(100);
    expect(b.ok).toBe(100);
    expect(Math.abs(b.achievedRate - 200) / 200).toBeLessThan(0.05);
    expect(b.sendLagMs.p99).toBeGreaterThanOrEqual(b.sendLagMs.p50);
    expect(benchTable(b)).toMatch(/^target rate +200 req\/s for 0\.5 s\nachieved rate +/);
  });
});
