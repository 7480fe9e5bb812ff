import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { appConfigFromEnv, AppConfigError, DEFAULTS, SLOW_FAULT_MS, startApp as startInProcess, type AppConfig } from '../../app/server.ts';

const SERVER = resolve(import.meta.dirname, '../../app/server.ts');
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------
// helpers: a real spawned app, bounded waits, a loopback HTTP client

interface LogLine {
  readonly ts: string;
  readonly event: string;
  readonly version: string;
  readonly [field: string]: unknown;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

interface RunningApp {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  stderr(): string;
  waitFor(event: string, timeoutMs?: number): Promise<LogLine>;
  exited(timeoutMs?: number): Promise<Exit>;
}

const running = new Set<RunningApp>();

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Spawns the app exactly as Nomad raw_exec does: one node process, signals go straight to it. */
function spawnApp(env: Record<string, string>): RunningApp {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    // PORT=0 / INTERNAL_PORT=0: the kernel picks free ports, read back from the `listening` line.
    env: { PATH: process.env.PATH, PORT: '0', INTERNAL_PORT: '0', BIND_ADDR: HOST, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: Array<() => void> = [];
  let stdoutRest = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (stdoutRest + chunk).split('\n');
    stdoutRest = parts.pop() ?? '';
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as LogLine);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<Exit>((done) => child.once('exit', (code, signal) => done({ code, signal, at: Date.now() })));
  void exit.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  let hasExited = false;
  void exit.then(() => (hasExited = true));

  const app: RunningApp = {
    child,
    lines,
    stderr: () => stderr,
    waitFor: (event, timeoutMs = 5000) =>
      withTimeout(
        new Promise<LogLine>((found, fail) => {
          const check = () => {
            const line = lines.find((l) => l.event === event);
            if (line) return found(line);
            if (hasExited) return fail(new Error(`app exited before logging "${event}"; stderr: ${stderr}`));
            waiters.push(check);
          };
          check();
        }),
        timeoutMs,
        `log event "${event}"`,
      ),
    exited: (timeoutMs = 5000) => withTimeout(exit, timeoutMs, 'the app to exit'),
  };
  running.add(app);
  return app;
}

async function startApp(env: Record<string, string>): Promise<{ app: RunningApp; port: number; internalPort: number }> {
  const app = spawnApp(env);
  const listening = await app.waitFor('listening', 10_000);
  return { app, port: listening.port as number, internalPort: listening.internalPort as number };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly reusedSocket: boolean;
  readonly at: number;
}

/** One GET over loopback, bounded; `agent` lets a test hold a keep-alive connection. */
function get(port: number, path: string, opts: { agent?: Agent; timeoutMs?: number } = {}): Promise<Reply> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  return new Promise((done, fail) => {
    const req = request({ host: HOST, port, path, agent: opts.agent ?? false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Record<string, unknown>, reusedSocket: req.reusedSocket, at: Date.now() }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on port ${port} timed out after ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end();
  });
}

/** Polls until `probe` passes or `timeoutMs` ends; returns the passing value. */
async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  // Kill whatever a test left running, even when it failed half-way.
  const left = [...running];
  running.clear();
  await Promise.all(
    left.map(async (app) => {
      if (app.child.exitCode === null && app.child.signalCode === null) {
        app.child.kill('SIGKILL');
        await app.exited(5000).catch(() => undefined);
      }
    }),
  );
});

// ---------------------------------------------------------------------------------------

describe('reference app', () => {
  describe('appConfigFromEnv()', () => {
    test('uses the defaults when no variable is set', () => {
      // GIVEN an env without any of the app's variables
      // WHEN it is parsed
      const config = appConfigFromEnv({ PATH: '/usr/bin' });
      // THEN every field is its documented default
      expect(config).toEqual<AppConfig>({ port: 8080, internalPort: 8081, bindAddr: '0.0.0.0', version: 'dev', warmupMs: 0, drainGraceMs: 5000, fault: 'none' });
      expect(config).toEqual(DEFAULTS);
    });

    // Each row is one variable the Nomad job (jobs/canary-job.ts appEnv) or a test sets;
    // empty values must mean "default" because a Nomad template can render nothing.
    const accepted: Array<[string, Record<string, string>, Partial<AppConfig>]> = [
      ['PORT', { PORT: '20123' }, { port: 20123 }],
      ['PORT 0 (kernel picks)', { PORT: '0' }, { port: 0 }],
      ['INTERNAL_PORT', { INTERNAL_PORT: '65535' }, { internalPort: 65535 }],
      ['BIND_ADDR IPv4', { BIND_ADDR: '10.0.0.5' }, { bindAddr: '10.0.0.5' }],
      ['BIND_ADDR IPv6', { BIND_ADDR: '::' }, { bindAddr: '::' }],
      ['APP_VERSION', { APP_VERSION: 'v2.1.0-rc1' }, { version: 'v2.1.0-rc1' }],
      ['WARMUP_MS', { WARMUP_MS: '12000' }, { warmupMs: 12000 }],
      ['DRAIN_GRACE_MS 0', { DRAIN_GRACE_MS: '0' }, { drainGraceMs: 0 }],
      ['FAULT never-ready', { FAULT: 'never-ready' }, { fault: 'never-ready' }],
      ['FAULT crash-after-ready', { FAULT: 'crash-after-ready' }, { fault: 'crash-after-ready' }],
      ['FAULT "" (none)', { FAULT: '' }, { fault: 'none' }],
      ['empty values as unset', { PORT: '', WARMUP_MS: '', APP_VERSION: '', BIND_ADDR: '' }, DEFAULTS],
    ];
    for (const [name, env, expected] of accepted) {
      test(`reads ${name}`, () => {
        // GIVEN one variable set  WHEN parsed  THEN that field changes and the rest keep their defaults
        expect(appConfigFromEnv(env)).toEqual({ ...DEFAULTS, ...expected });
      });
    }

    // Each refusal must name the variable, quote the value and say what is allowed, since
    // it is the only thing a failed Nomad allocation shows. "1e3" and "12.5" are numbers to
    // Number() but not integers of milliseconds, and 2^31 ms would make setTimeout fire at once.
    const refused: Array<[string, Record<string, string>, string]> = [
      ['a non-numeric WARMUP_MS', { WARMUP_MS: 'abc' }, 'WARMUP_MS: "abc" — must be a non-negative integer of milliseconds, at most 2147483647'],
      ['a negative DRAIN_GRACE_MS', { DRAIN_GRACE_MS: '-1' }, 'DRAIN_GRACE_MS: "-1" — must be a non-negative integer of milliseconds, at most 2147483647'],
      ['a fractional WARMUP_MS', { WARMUP_MS: '12.5' }, 'WARMUP_MS: "12.5" — must be a non-negative integer of milliseconds, at most 2147483647'],
      ['an exponent WARMUP_MS', { WARMUP_MS: '1e3' }, 'WARMUP_MS: "1e3" — must be a non-negative integer of milliseconds, at most 2147483647'],
      ['a WARMUP_MS beyond the timer limit', { WARMUP_MS: '2147483648' }, 'WARMUP_MS: "2147483648" — must be a non-negative integer of milliseconds, at most 2147483647'],
      ['a PORT above 65535', { PORT: '65536' }, 'PORT: "65536" — must be a port number between 0 and 65535 (0 picks a free port)'],
      ['a named INTERNAL_PORT', { INTERNAL_PORT: 'http' }, 'INTERNAL_PORT: "http" — must be a port number between 0 and 65535 (0 picks a free port)'],
      ['the same PORT and INTERNAL_PORT', { PORT: '9000', INTERNAL_PORT: '9000' }, 'INTERNAL_PORT: "9000" — must differ from PORT (9000): the two listeners cannot share a port'],
      ['a host name as BIND_ADDR', { BIND_ADDR: 'localhost' }, 'BIND_ADDR: "localhost" — must be an IPv4 or IPv6 address such as "0.0.0.0", "127.0.0.1" or "::"'],
      ['an APP_VERSION with a space', { APP_VERSION: 'v 2' }, 'APP_VERSION: "v 2" — must be 1 to 128 printable ASCII characters without spaces (it is sent as a header)'],
      ['an unknown FAULT', { FAULT: 'sluggish' }, 'FAULT: "sluggish" — must be "" (none), "never-ready", "crash-after-ready", "smoke-500", "slow" or "readyz-internal-only"'],
    ];
    for (const [name, env, message] of refused) {
      test(`refuses ${name}`, () => {
        // GIVEN an invalid variable  WHEN parsed  THEN the error names it, its value and the rule
        expect(() => appConfigFromEnv(env)).toThrow(AppConfigError);
        expect(() => appConfigFromEnv(env)).toThrow(message);
      });
    }

    test('refuses every invalid variable at once', () => {
      // GIVEN three invalid variables
      const env = { WARMUP_MS: 'abc', FAULT: 'x', PORT: '-1' };
      // WHEN parsed
      let error: unknown;
      try {
        appConfigFromEnv(env);
      } catch (err) {
        error = err;
      }
      // THEN one error lists all three, one line each
      expect(error).toBeInstanceOf(AppConfigError);
      expect((error as AppConfigError).issues.map((i) => i.path)).toEqual(['PORT', 'WARMUP_MS', 'FAULT']);
      expect((error as AppConfigError).message.split('\n')).toHaveLength(3);
    });
  });

  describe('startApp() in-process', () => {
    // The final-wait cap is 60 s in production; in-process it can be shortened to show
    // that a stuck request cannot hold the exit forever.
    test('cuts requests still open at the final-wait cap and reports exit code 1', async () => {
      // GIVEN an in-process app with no drain grace and a 200 ms final-wait cap
      const events: string[] = [];
      const app = await startInProcess({ ...DEFAULTS, port: 0, internalPort: 0, bindAddr: HOST, drainGraceMs: 0 }, { log: (e) => events.push(e), finalWaitCapMs: 200 });
      try {
        const slow = get(app.port, '/slow?ms=5000', { timeoutMs: 5000 });
        await sleep(100);
        // WHEN it drains
        const code = await withTimeout(app.drain('test'), 3000, 'the drain');
        // THEN the drain gives up after the cap, cuts the request and says so
        expect(code).toBe(1);
        await expect(slow).rejects.toThrow();
        expect(events).toEqual(['listening', 'ready', 'drain-start', 'closing']);
        // AND a second drain returns the same outcome without starting over
        expect(await app.drain('again')).toBe(1);
      } finally {
        await withTimeout(app.stop(), 3000, 'stop()');
      }
    });

    test('FAULT=smoke-500: ready, / answers 200, /checkout answers 500', async () => {
      const app = await startInProcess({ ...DEFAULTS, port: 0, internalPort: 0, bindAddr: HOST, fault: 'smoke-500' }, { log: () => {} });
      try {
        await sleep(50);
        expect((await get(app.internalPort, '/readyz', { timeoutMs: 1000 })).status).toBe(200);
        expect((await get(app.port, '/', { timeoutMs: 1000 })).status).toBe(200);
        expect((await get(app.port, '/checkout', { timeoutMs: 1000 })).status).toBe(500);
      } finally {
        await withTimeout(app.stop(), 3000, 'stop()');
      }
    });

    test('FAULT=slow: every public answer is held SLOW_FAULT_MS, the probes are not', async () => {
      const app = await startInProcess({ ...DEFAULTS, port: 0, internalPort: 0, bindAddr: HOST, fault: 'slow' }, { log: () => {} });
      try {
        await sleep(50);
        const timed = async (port: number, path: string) => {
          const t0 = performance.now();
          const r = await get(port, path, { timeoutMs: 2000 });
          return { status: r.status, ms: performance.now() - t0 };
        };
        const slow = await timed(app.port, '/');
        expect(slow.status).toBe(200);
        expect(slow.ms).toBeGreaterThanOrEqual(SLOW_FAULT_MS - 1);
        const probe = await timed(app.port, '/livez');
        expect(probe.status).toBe(200);
        expect(probe.ms).toBeLessThan(SLOW_FAULT_MS);
      } finally {
        await withTimeout(app.stop(), 3000, 'stop()');
      }
    });

    test('FAULT=readyz-internal-only: ready on the internal port, 404 for /readyz on the public one', async () => {
      const app = await startInProcess({ ...DEFAULTS, port: 0, internalPort: 0, bindAddr: HOST, fault: 'readyz-internal-only' }, { log: () => {} });
      try {
        await sleep(50);
        expect((await get(app.internalPort, '/readyz', { timeoutMs: 1000 })).status).toBe(200);
        expect((await get(app.port, '/readyz', { timeoutMs: 1000 })).status).toBe(404);
        expect((await get(app.port, '/', { timeoutMs: 1000 })).status).toBe(200);
      } finally {
        await withTimeout(app.stop(), 3000, 'stop()');
      }
    });

    test('stop() closes both listeners and open connections at once', async () => {
      // GIVEN an in-process app still warming, with a request in flight
      const app = await startInProcess({ ...DEFAULTS, port: 0, internalPort: 0, bindAddr: HOST, warmupMs: 60_000 }, { log: () => {} });
      const slow = get(app.port, '/slow?ms=5000', { timeoutMs: 5000 });
      await sleep(100);
      // WHEN stopped
      await withTimeout(app.stop(), 3000, 'stop()');
      // THEN the request is cut and neither port accepts
      await expect(slow).rejects.toThrow();
      await expect(get(app.port, '/livez', { timeoutMs: 1000 })).rejects.toThrow();
      await expect(get(app.internalPort, '/livez', { timeoutMs: 1000 })).rejects.toThrow();
    });
  });

  describe('as a process', () => {
    test('reports not ready during warm-up and ready afterwards, on both ports', async () => {
      // GIVEN an app with an 800 ms warm-up
      const { app, port, internalPort } = await startApp({ WARMUP_MS: '800' });
      // WHEN probed right after it listens
      // THEN /readyz is 503 on both ports and / is 503 too (a proxy routing here now drops)
      for (const p of [port, internalPort]) {
        const warming = await get(p, '/readyz');
        expect(warming.status).toBe(503);
        expect(warming.body).toEqual({ ready: false, phase: 'warming' });
      }
      expect((await get(port, '/')).status).toBe(503);
      // WHEN the warm-up has passed
      await app.waitFor('ready', 3000);
      // THEN /readyz is 200 on both ports and / answers
      for (const p of [port, internalPort]) {
        const ready = await get(p, '/readyz');
        expect(ready.status).toBe(200);
        expect(ready.body).toEqual({ ready: true, phase: 'ready' });
      }
      const root = await get(port, '/anything/else');
      expect(root.status).toBe(200);
      expect(root.body).toEqual({ version: 'dev', phase: 'ready' });
    });

    test('sends its version in the x-app-version header of every response', async () => {
      // GIVEN an app with APP_VERSION=v2
      const { port, internalPort } = await startApp({ APP_VERSION: 'v2' });
      // WHEN any path is requested on either port, including errors
      const replies = await Promise.all([get(port, '/'), get(port, '/livez'), get(port, '/readyz'), get(port, '/slow?ms=nope'), get(internalPort, '/readyz'), get(internalPort, '/')]);
      // THEN each carries the version, and the body of / names it too
      expect(replies.map((r) => [r.status, r.headers['x-app-version']])).toEqual([
        [200, 'v2'],
        [200, 'v2'],
        [200, 'v2'],
        [400, 'v2'],
        [200, 'v2'],
        [404, 'v2'],
      ]);
      expect(replies[0]!.body).toEqual({ version: 'v2', phase: 'ready' });
    });

    test('answers /livez with 200 while warming, ready and draining, on both ports', async () => {
      // GIVEN an app with a warm-up
      const { app, port, internalPort } = await startApp({ WARMUP_MS: '400', DRAIN_GRACE_MS: '1000' });
      const livez = async () => [(await get(port, '/livez')).status, (await get(internalPort, '/livez')).status];
      // WHEN probed in each phase  THEN /livez is always 200
      expect(await livez()).toEqual([200, 200]);
      await app.waitFor('ready', 3000);
      expect(await livez()).toEqual([200, 200]);
      app.child.kill('SIGTERM');
      await app.waitFor('drain-start', 3000);
      expect(await livez()).toEqual([200, 200]);
    });

    test('on SIGTERM reports not ready at once but keeps serving, on new and kept-alive connections, through the drain grace', async () => {
      // GIVEN a ready app with a 1500 ms drain grace and a kept-alive connection to it
      const { app, port, internalPort } = await startApp({ DRAIN_GRACE_MS: '1500', APP_VERSION: 'v1' });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        expect((await get(port, '/', { agent })).status).toBe(200);
        // WHEN it gets SIGTERM
        const signalledAt = Date.now();
        app.child.kill('SIGTERM');
        // THEN /readyz turns 503 within moments, on both ports
        const notReady = await eventually(() => get(port, '/readyz'), (r) => r.status === 503, 1000);
        expect(notReady.at - signalledAt).toBeLessThan(1000);
        expect(notReady.body).toEqual({ ready: false, phase: 'draining' });
        expect((await get(internalPort, '/readyz')).status).toBe(503);
        // AND / still answers 200, on the kept-alive connection and on a new one
        const kept = await get(port, '/', { agent });
        expect(kept.status).toBe(200);
        expect(kept.reusedSocket).toBe(true);
        expect(kept.headers.connection).toBe('keep-alive');
        const fresh = await get(port, '/');
        expect(fresh.status).toBe(200);
        expect(fresh.body).toEqual({ version: 'v1', phase: 'draining' });
        expect(Date.now() - signalledAt).toBeLessThan(1500);
        // AND once the grace is over it closes (the idle kept-alive connection too) and exits 0
        const exit = await app.exited(5000);
        expect(exit).toMatchObject({ code: 0, signal: null });
        expect(exit.at - signalledAt).toBeGreaterThanOrEqual(1500);
        expect(app.lines.map((l) => l.event)).toEqual(['listening', 'ready', 'drain-start', 'closing', 'exit']);
      } finally {
        agent.destroy();
      }
    });

    test('lets a request in flight at SIGTERM finish with 200, ignoring a second signal, then exits 0', async () => {
      // GIVEN a ready app with a short drain grace and a 1500 ms request in flight
      const { app, port } = await startApp({ DRAIN_GRACE_MS: '300' });
      const slow = get(port, '/slow?ms=1500', { timeoutMs: 5000 });
      await sleep(150);
      // WHEN it gets SIGTERM, then SIGINT during the drain
      app.child.kill('SIGTERM');
      await app.waitFor('drain-start', 2000);
      app.child.kill('SIGINT');
      await app.waitFor('signal-ignored', 2000);
      // THEN the request completes normally, told not to reuse the connection
      const reply = await slow;
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ sleptMs: 1500 });
      expect(reply.headers.connection).toBe('close');
      // AND the process exits 0 only after the response, with the listeners closed long before
      const exit = await app.exited(5000);
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at).toBeGreaterThanOrEqual(reply.at - 50);
      expect(app.lines.map((l) => l.event)).toEqual(['listening', 'ready', 'drain-start', 'signal-ignored', 'closing', 'exit']);
      expect(app.lines.at(-1)).toMatchObject({ event: 'exit', code: 0 });
    });

    test('drains on SIGINT as on SIGTERM (Nomad raw_exec sends SIGINT by default)', async () => {
      // GIVEN a ready app
      const { app, port } = await startApp({ DRAIN_GRACE_MS: '200' });
      // WHEN it gets SIGINT
      app.child.kill('SIGINT');
      // THEN it drains and exits 0
      await app.waitFor('drain-start', 2000);
      expect((await app.exited(3000)).code).toBe(0);
      expect(app.lines.find((l) => l.event === 'drain-start')).toMatchObject({ reason: 'SIGINT', drainGraceMs: 200 });
      // AND nothing listens any more
      await expect(get(port, '/livez', { timeoutMs: 1000 })).rejects.toThrow();
    });

    test('serves only the probes on the internal port', async () => {
      // GIVEN a ready app
      const { internalPort } = await startApp({});
      // WHEN a public path is requested on the internal port
      const reply = await get(internalPort, '/slow?ms=10');
      // THEN it is 404
      expect(reply.status).toBe(404);
    });

    test('refuses a /slow delay that is not an integer up to the cap', async () => {
      // GIVEN a ready app
      const { port } = await startApp({});
      // WHEN /slow gets a bad or too long delay  THEN it is 400 naming the rule
      for (const ms of ['abc', '-5', '60001', '']) {
        const reply = await get(port, `/slow?ms=${ms}`);
        expect(reply.status).toBe(400);
        expect(reply.body.error).toContain('must be an integer of milliseconds between 0 and 30000');
      }
    });

    test('with FAULT=never-ready never becomes ready', async () => {
      // GIVEN an app with no warm-up but FAULT=never-ready
      const { app, port, internalPort } = await startApp({ FAULT: 'never-ready' });
      // WHEN probed for a while
      await sleep(700);
      // THEN it is still 503 everywhere but alive
      expect((await get(port, '/readyz')).status).toBe(503);
      expect((await get(internalPort, '/readyz')).status).toBe(503);
      expect((await get(port, '/')).status).toBe(503);
      expect((await get(port, '/livez')).status).toBe(200);
      expect(app.lines.map((l) => l.event)).toEqual(['listening']);
    });

    test('with FAULT=crash-after-ready exits non-zero after having been ready', async () => {
      // GIVEN an app with FAULT=crash-after-ready
      const { app, port } = await startApp({ FAULT: 'crash-after-ready' });
      // WHEN it becomes ready  THEN /readyz says so for a moment
      await app.waitFor('ready', 3000);
      expect((await get(port, '/readyz')).status).toBe(200);
      // AND then it exits 1
      const exit = await app.exited(3000);
      expect(exit.code).toBe(1);
      expect(app.lines.map((l) => l.event)).toEqual(['listening', 'ready', 'crash', 'exit']);
    });

    test('fails with exit code 2 and a one-line message naming the variable on invalid env', async () => {
      // GIVEN an invalid WARMUP_MS
      const app = spawnApp({ WARMUP_MS: 'abc' });
      // WHEN it starts
      const exit = await app.exited(10_000);
      // THEN it exits 2 with one line naming the variable, the value and the rule, no stack
      expect(exit.code).toBe(2);
      expect(app.stderr()).toBe('WARMUP_MS: "abc" — must be a non-negative integer of milliseconds, at most 2147483647\n');
      expect(app.lines).toEqual([]);
    });
  });
});
