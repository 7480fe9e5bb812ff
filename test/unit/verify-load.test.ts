import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { classifyError, DEFAULTS, defaultMaxInFlight, LoadOptionsError, runLoad, scheduledCount } from '../../verify/load.ts';

// Every server a test starts is closed here, even when the test fails.
const servers: (Server | NetServer)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function listen<T extends Server | NetServer>(server: T): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const http = (handler: RequestListener) => listen(createServer(handler));

describe('runLoad()', () => {
  test('sends exactly rate × duration requests at the target rate, all ok', async () => {
    // GIVEN a healthy server
    const url = await http((_req, res) => res.end('hi'));
    // WHEN 100 req/s run for 2 s
    const r = await runLoad({ url, rate: 100, durationMs: 2000 });
    // THEN 200 records, in order, on schedule
    expect(r.records).toHaveLength(200);
    expect(r.scheduled).toBe(200);
    expect(r.records.map((x) => x.seq)).toEqual([...Array(200).keys()]);
    expect(r.records.every((x) => x.ok && x.status === 200 && x.errorKind === null)).toBe(true);
    expect(r.records[199]!.scheduledMs).toBeCloseTo(1990, 6);
    expect(r.rate.target).toBe(100);
    expect(r.aborted).toBe(false);
    // How closely the schedule is kept (achieved rate, send lag, hence `valid`) depends on how busy
    // the machine is: that is measured by `npm run verify:bench`, not asserted here (it failed CI's
    // unit run on a loaded machine). What must hold: the verdict agrees with the lag it measured.
    expect(r.valid).toBe(r.sendLagMs.p99 <= DEFAULTS.maxSendLagP99Ms);
    expect(r.startedAt).toBeGreaterThan(Date.now() - 10_000);
  });

  test('keeps sending on the clock while the backend stalls, and records the stalls as timeouts (open model)', async () => {
    // GIVEN a server that holds every request for 1.5 s, and a 500 ms client timeout:
    // a closed-model generator with a few workers would send a handful of requests here.
    const arrivals: number[] = [];
    const url = await http((_req, res) => {
      arrivals.push(Date.now());
      setTimeout(() => res.end('late'), 1500).unref();
    });
    const started = Date.now();
    // WHEN 50 req/s run for 1 s
    const r = await runLoad({ url, rate: 50, durationMs: 1000, timeoutMs: 500 });
    const tookMs = Date.now() - started;
    // THEN all 50 were sent on schedule and reached the server, and all timed out. The bounds
    // separate the open model from a closed one (which would wait out the 1.5 s stalls) with room
    // for a busy machine: a send lag of a few tens of ms under load is scheduling, not the model.
    expect(r.records).toHaveLength(50);
    for (const x of r.records) expect(x.sentMs - x.scheduledMs).toBeLessThan(250);
    expect(arrivals).toHaveLength(50);
    expect(r.records.every((x) => !x.ok && x.errorKind === 'timeout' && x.status === null)).toBe(true);
    expect(r.records.every((x) => x.latencyMs >= 490 && x.latencyMs < 1500)).toBe(true);
    expect(Math.abs(r.rate.achieved - 50) / 50).toBeLessThan(0.05);
    // and the run is bounded by durationMs + timeoutMs + 1 s
    expect(tookMs).toBeLessThan(1000 + 500 + 1000);
  });

  test('records refused when nothing listens on the port', async () => {
    // GIVEN a port that was just freed
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    // WHEN load runs against it
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, rate: 20, durationMs: 500 });
    // THEN every request is a refused drop
    expect(r.records).toHaveLength(10);
    expect(r.records.every((x) => x.errorKind === 'refused' && x.errorCode === 'ECONNREFUSED' && !x.ok)).toBe(true);
  });

  // Both ways a backend can die under a request end as 'reset', whatever code undici reports.
  const resets: [string, () => Promise<string>][] = [
    ['the server destroys the socket mid-request', () => http((req) => req.socket.destroy())],
    ['the server accepts and closes the connection at once', () => listen(createNetServer((sock) => sock.destroy()))],
    ['the server writes half a body and then destroys the socket', () => http((req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20).unref();
    })],
  ];
  for (const [name, start] of resets) {
    test(`records reset when ${name}`, async () => {
      const url = await start();
      const r = await runLoad({ url, rate: 20, durationMs: 500 });
      expect(r.records).toHaveLength(10);
      expect(r.records.map((x) => x.errorKind)).toEqual(Array(10).fill('reset'));
    });
  }

  test('records a 503 as not ok, with its status and no error kind', async () => {
    const url = await http((_req, res) => {
      res.statusCode = 503;
      res.end('warming up');
    });
    const r = await runLoad({ url, rate: 20, durationMs: 250 });
    expect(r.records).toHaveLength(5);
    expect(r.records.every((x) => !x.ok && x.status === 503 && x.errorKind === null)).toBe(true);
  });

  test('counts only expectStatus as ok', async () => {
    const url = await http((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    const r = await runLoad({ url, rate: 20, durationMs: 250, expectStatus: 204 });
    expect(r.records.every((x) => x.ok && x.status === 204)).toBe(true);
  });

  test('captures the x-app-version header and sends the Host header', async () => {
    const hosts: (string | undefined)[] = [];
    let n = 0;
    const url = await http((req, res) => {
      hosts.push(req.headers.host);
      res.setHeader('x-app-version', n++ < 3 ? 'v1' : 'v2');
      res.end();
    });
    const r = await runLoad({ url, hostHeader: 'api.zerodrop.test', rate: 20, durationMs: 300 });
    expect(r.records.map((x) => x.version)).toEqual(['v1', 'v1', 'v1', 'v2', 'v2', 'v2']);
    expect(new Set(hosts)).toEqual(new Set(['api.zerodrop.test']));
  });

  test('stops early on the AbortSignal and returns the partial records, marked invalid', async () => {
    const url = await http((_req, res) => res.end());
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500).unref();
    const started = Date.now();
    const r = await runLoad({ url, rate: 50, durationMs: 5000, signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(r.aborted).toBe(true);
    expect(r.valid).toBe(false);
    expect(r.invalidReason).toMatch(/^aborted after 0\.\d s with \d+ of 250 requests scheduled/);
    expect(r.records.length).toBeGreaterThan(15);
    expect(r.records.length).toBeLessThan(40);
  });

  test('reports progress with running counts', async () => {
    const url = await http((_req, res) => res.end());
    const seen: { sent: number; ok: number; total: number }[] = [];
    await runLoad({ url, rate: 40, durationMs: 600, progressIntervalMs: 200, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toMatchObject({ sent: 24, ok: 24, notOk: 0, inFlight: 0, total: 24 });
  });

  test('records requests over maxInFlight as client-saturated drops and marks the run invalid', async () => {
    // GIVEN a stalling backend and room for only 3 requests in flight
    const url = await http((_req, res) => void setTimeout(() => res.end(), 1000).unref());
    const r = await runLoad({ url, rate: 20, durationMs: 500, timeoutMs: 300, maxInFlight: 3 });
    // THEN the overflow is recorded, not skipped
    expect(r.records).toHaveLength(10);
    const saturated = r.records.filter((x) => x.errorCode === 'CLIENT_SATURATED');
    expect(saturated.length).toBeGreaterThan(0);
    expect(saturated.every((x) => x.errorKind === 'other' && !x.ok && x.latencyMs === 0)).toBe(true);
    expect(r.clientSaturated).toBe(saturated.length);
    expect(r.valid).toBe(false);
    expect(r.invalidReason).toContain(`client saturated: ${saturated.length} requests not sent because 3 were in flight (maxInFlight)`);
  });

  test('marks the run invalid when send lag p99 exceeds maxSendLagP99Ms', async () => {
    const url = await http((_req, res) => res.end());
    // Block the event loop so the scheduler wakes up late and has to catch up in a burst.
    setTimeout(() => {
      const until = Date.now() + 150;
      while (Date.now() < until);
    }, 50).unref();
    const r = await runLoad({ url, rate: 100, durationMs: 400, maxSendLagP99Ms: 20 });
    expect(r.records).toHaveLength(40);
    expect(r.sendLagMs.max).toBeGreaterThan(50);
    expect(r.valid).toBe(false);
    expect(r.invalidReason).toMatch(/send lag p99 \d+\.\d ms exceeds 20 ms \(maxSendLagP99Ms\)/);
  });

  test('refuses invalid options, listing every problem', async () => {
    const err = await runLoad({ url: 'ftp://x', rate: 0, durationMs: -1, timeoutMs: Number.NaN, expectStatus: 99, maxInFlight: 1.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadOptionsError);
    expect((err as LoadOptionsError).issues.map((i) => i.path)).toEqual(['url', 'rate', 'durationMs', 'timeoutMs', 'maxInFlight', 'expectStatus']);
    expect((err as Error).message).toContain('rate: 0 — must be a positive number of requests per second');
  });
});

describe('scheduledCount()', () => {
  // Floating point must not add a request: 0.1 * 30000 / 1000 is 3.0000000000000004.
  const rows: [number, number, number][] = [
    [100, 2000, 200],
    [80, 150_000, 12_000],
    [0.1, 30_000, 3],
    [3, 1000 / 3, 1],
    [7, 1100, 8],
  ];
  for (const [rate, durationMs, n] of rows) {
    test(`${rate} req/s for ${durationMs} ms is ${n} requests`, () => expect(scheduledCount(rate, durationMs)).toBe(n));
  }
});

describe('defaults', () => {
  test('maxInFlight is twice the requests one timeout can hold, plus 50', () => expect(defaultMaxInFlight(80, 2000)).toBe(370));
});

describe('classifyError()', () => {
  const rows: [unknown, string, string][] = [
    [{ code: 'ECONNREFUSED' }, 'refused', 'ECONNREFUSED'],
    [{ code: 'ECONNRESET' }, 'reset', 'ECONNRESET'],
    [{ code: 'EPIPE' }, 'reset', 'EPIPE'],
    [{ code: 'UND_ERR_SOCKET' }, 'reset', 'UND_ERR_SOCKET'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout', 'UND_ERR_HEADERS_TIMEOUT'],
    [{ code: 'UND_ERR_BODY_TIMEOUT' }, 'timeout', 'UND_ERR_BODY_TIMEOUT'],
    [{ name: 'TimeoutError' }, 'timeout', 'REQUEST_TIMEOUT'],
    [{ code: 'ENOTFOUND' }, 'dns', 'ENOTFOUND'],
    [new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), 'refused', 'ECONNREFUSED'],
    [{ code: 'HPE_INVALID_CONSTANT' }, 'other', 'HPE_INVALID_CONSTANT'],
  ];
  for (const [err, kind, code] of rows) {
    test(`maps ${code} to ${kind}`, () => expect(classifyError(err)).toEqual({ errorKind: kind, errorCode: code }));
  }
});
