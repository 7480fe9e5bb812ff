/**
 * zerodrop reference service: a plain node:http app with a warm-up, a readiness probe
 * and a drain, so a rollout that drops requests is visible as a drop.
 *
 * Start it as ONE process so Nomad's kill signal reaches it directly:
 *   node --import tsx app/server.ts
 * (the `tsx` CLI is a wrapper process that would sit between the signal and the app).
 *
 * Env contract (PORT, INTERNAL_PORT, BIND_ADDR, APP_VERSION, WARMUP_MS, DRAIN_GRACE_MS, FAULT,
 * LEDGER_FILE, NOMAD_ALLOC_ID): documented once, in app/README.md; the defaults are `DEFAULTS` below.
 *
 * Exit codes: 0 after a complete drain, 1 on a crash (fault, listen error, or in-flight
 * requests still open at the final-wait cap), 2 on invalid env.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { isAbsolute } from 'node:path';
import { appendLedger } from './ledger.ts';
import { pathToFileURL } from 'node:url';

/** Longer than Traefik's 90 s idle timeout for backend connections. */
export const KEEP_ALIVE_TIMEOUT_MS = 95_000;

export const FAULTS = ['none', 'never-ready', 'crash-after-ready', 'smoke-500', 'slow', 'readyz-internal-only'] as const;

/** The route FAULT=smoke-500 breaks: it answers 500 there while `/readyz` and `/` stay fine. */
export const SMOKE_500_PATH = '/checkout';
/** How long FAULT=slow holds every answer on the public port (probes excepted): over 10× the usual p99 through Traefik on loopback. */
export const SLOW_FAULT_MS = 100;
export type Fault = (typeof FAULTS)[number];

/** The app's resolved settings; `appConfigFromEnv()` builds it from the env contract. */
export interface AppConfig {
  /** PORT. 0 picks a free port (the handle reports the real one). @default 8080 */
  readonly port: number;
  /** INTERNAL_PORT. 0 picks a free port. @default 8081 */
  readonly internalPort: number;
  /** BIND_ADDR, an IPv4 or IPv6 address. @default '0.0.0.0' */
  readonly bindAddr: string;
  /** APP_VERSION. @default 'dev' */
  readonly version: string;
  /** WARMUP_MS. @default 0 - ready as soon as both ports listen */
  readonly warmupMs: number;
  /** DRAIN_GRACE_MS. @default 5000 */
  readonly drainGraceMs: number;
  /** FAULT; the env spells `none` as "". @default 'none' */
  readonly fault: Fault;
  /** LEDGER_FILE: where POST /orders records each request id it executed (app/ledger.ts). @default - not recorded */
  readonly ledgerFile?: string;
  /** NOMAD_ALLOC_ID: sent as `x-app-instance`, so a client can count distinct answering instances. @default - no header */
  readonly instance?: string;
}

export const DEFAULTS: AppConfig = {
  port:         8080,
  internalPort: 8081,
  bindAddr:     '0.0.0.0',
  version:      'dev',
  warmupMs:     0,
  drainGraceMs: 5000,
  fault:        'none',
};

/** `/slow?ms=N` refuses N above this, so a test request cannot outlive the final-wait cap. */
export const SLOW_MAX_MS = 30_000;
/** How long after becoming ready FAULT=crash-after-ready exits. */
export const CRASH_AFTER_READY_MS = 500;
/** Hard cap on waiting for in-flight requests after the listeners close, so a stuck client can't hang the exit. */
export const FINAL_WAIT_CAP_MS = 60_000;
/**
 * setTimeout fires at once (with a warning) for delays above 2^31-1 ms, so a huge
 * WARMUP_MS would make the app ready immediately: refuse it instead.
 */
const MAX_TIMER_MS = 2_147_483_647;

// ---------------------------------------------------------------------------------------
// env → config

/** One invalid variable: its name, the value given and what is allowed. */
export interface AppConfigIssue {
  readonly path: string;
  readonly value: string;
  readonly rule: string;
}

/** Every invalid variable at once; the message is one `NAME: "value" — rule` line per issue. */
export class AppConfigError extends Error {
  override readonly name = 'AppConfigError';
  readonly issues: readonly AppConfigIssue[];

  constructor(issues: readonly AppConfigIssue[]) {
    super(issues.map(formatAppIssue).join('\n'));
    this.issues = issues;
  }
}

export function formatAppIssue(issue: AppConfigIssue): string {
  return `${issue.path}: ${JSON.stringify(issue.value)} — ${issue.rule}`;
}

/**
 * Parses the env contract. Empty values count as unset (`FOO= node …` and Nomad
 * templates that render nothing both mean "use the default"). Throws `AppConfigError`
 * listing every invalid variable.
 */
export function appConfigFromEnv(env: Readonly<Record<string, string | undefined>>): AppConfig {
  const issues: AppConfigIssue[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number, rule: string): number => {
    const text = get(name);
    if (text === undefined) return fallback;
    // Number('') is 0 and Number('1e3') is 1000: accept digits only.
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max)) {
      issues.push({ path: name, value: text, rule });
      return fallback;
    }
    return value;
  };

  const port = integer('PORT', DEFAULTS.port, 0, 65535, 'must be a port number between 0 and 65535 (0 picks a free port)');
  const internalPort = integer('INTERNAL_PORT', DEFAULTS.internalPort, 0, 65535, 'must be a port number between 0 and 65535 (0 picks a free port)');
  const msRule = `must be a non-negative integer of milliseconds, at most ${MAX_TIMER_MS}`;
  const warmupMs = integer('WARMUP_MS', DEFAULTS.warmupMs, 0, MAX_TIMER_MS, msRule);
  const drainGraceMs = integer('DRAIN_GRACE_MS', DEFAULTS.drainGraceMs, 0, MAX_TIMER_MS, msRule);

  const bindAddr = get('BIND_ADDR') ?? DEFAULTS.bindAddr;
  if (isIP(bindAddr) === 0) {
    issues.push({ path: 'BIND_ADDR', value: bindAddr, rule: 'must be an IPv4 or IPv6 address such as "0.0.0.0", "127.0.0.1" or "::"' });
  }

  const version = get('APP_VERSION') ?? DEFAULTS.version;
  // Node throws on invalid header characters at response time; refuse them at start instead.
  if (!/^[\x21-\x7e]{1,128}$/.test(version)) {
    issues.push({ path: 'APP_VERSION', value: version, rule: 'must be 1 to 128 printable ASCII characters without spaces (it is sent as a header)' });
  }

  const faultText = get('FAULT');
  let fault: Fault = DEFAULTS.fault;
  if (faultText !== undefined) {
    if ((FAULTS as readonly string[]).includes(faultText)) fault = faultText as Fault;
    else issues.push({ path: 'FAULT', value: faultText, rule: `must be "" (none), ${FAULTS.slice(1).map((f, i, all) => `${i === all.length - 1 ? 'or ' : ''}"${f}"`).join(', ').replace(', or ', ' or ')}` });
  }

  const ledgerFile = get('LEDGER_FILE');
  if (ledgerFile !== undefined && !isAbsolute(ledgerFile)) {
    issues.push({ path: 'LEDGER_FILE', value: ledgerFile, rule: 'must be an absolute path (every allocation must append to the same file)' });
  }
  const instance = get('NOMAD_ALLOC_ID');
  if (instance !== undefined && !/^[\x21-\x7e]{1,128}$/.test(instance)) {
    issues.push({ path: 'NOMAD_ALLOC_ID', value: instance, rule: 'must be 1 to 128 printable ASCII characters (it is sent as a header)' });
  }

  if (port !== 0 && port === internalPort && !issues.some((i) => i.path === 'PORT' || i.path === 'INTERNAL_PORT')) {
    issues.push({ path: 'INTERNAL_PORT', value: String(internalPort), rule: `must differ from PORT (${port}): the two listeners cannot share a port` });
  }

  if (issues.length > 0) throw new AppConfigError(issues);
  return { port, internalPort, bindAddr, version, warmupMs, drainGraceMs, fault, ...(ledgerFile !== undefined ? { ledgerFile } : {}), ...(instance !== undefined ? { instance } : {}) };
}

// ---------------------------------------------------------------------------------------
// the app

/**
 * `warming` until WARMUP_MS has passed (forever with FAULT=never-ready), then `ready`;
 * `draining` from the first SIGTERM/SIGINT to the exit (listeners close after the grace).
 */
export type Phase = 'warming' | 'ready' | 'draining';

export type LogEvent = 'listening' | 'ready' | 'drain-start' | 'closing' | 'signal-ignored' | 'crash' | 'exit';
export type Logger = (event: LogEvent, fields?: Record<string, unknown>) => void;

export interface StartOptions {
  /** Where lifecycle lines go. @default - JSON lines on stdout: `{ts, event, version, …}` */
  readonly log?: Logger;
  /** Called for FAULT=crash-after-ready. @default - `process.exit(1)`, without closing anything */
  readonly crash?: () => void;
  /** Cap on the wait for in-flight requests once the listeners close. @default FINAL_WAIT_CAP_MS */
  readonly finalWaitCapMs?: number;
}

export interface AppHandle {
  readonly config: AppConfig;
  /** The bound public port (differs from `config.port` when that is 0). */
  readonly port: number;
  /** The bound internal port. */
  readonly internalPort: number;
  phase(): Phase;
  /**
   * Starts the drain (idempotent: a second call returns the same promise and shortens
   * nothing). Resolves with the exit code: 0 when every request finished, 1 when the
   * final-wait cap cut some.
   */
  drain(reason: string): Promise<number>;
  /** Closes at once, cutting open connections: for tests and embedding, not for rollouts. */
  stop(): Promise<void>;
}

export function jsonLogger(version: string, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return (event, fields = {}) => write(`${JSON.stringify({ ts: new Date().toISOString(), event, version, ...fields })}\n`);
}

/** Starts both listeners and the warm-up; resolves once both listen. */
export async function startApp(config: AppConfig, opts: StartOptions = {}): Promise<AppHandle> {
  const log = opts.log ?? jsonLogger(config.version);
  const crash = opts.crash ?? (() => process.exit(1));
  const finalWaitCapMs = opts.finalWaitCapMs ?? FINAL_WAIT_CAP_MS;

  let phase: Phase = 'warming';
  let wasReady = false;
  let closing = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  const send = (res: ServerResponse, status: number, body: Record<string, unknown>): void => {
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('x-app-version', config.version);
    if (config.instance !== undefined) res.setHeader('x-app-instance', config.instance);
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(text));
    // Once the listeners close, a keep-alive connection must not look reusable: the
    // client would send its next request into a socket we are about to end.
    if (closing) res.setHeader('connection', 'close');
    res.end(text);
  };

  const probes = (res: ServerResponse, path: string): boolean => {
    if (path === '/livez') {
      send(res, 200, { live: true, phase });
      return true;
    }
    if (path === '/readyz') {
      const ready = phase === 'ready';
      send(res, ready ? 200 : 503, { ready, phase });
      return true;
    }
    return false;
  };

  const pathOf = (req: IncomingMessage): URL => new URL(req.url ?? '/', 'http://app.invalid');

  /**
   * POST /orders: the non-idempotent request. Executing it means appending its
   * `x-request-id` to LEDGER_FILE (synchronously, before the answer), so a client can
   * prove that each request it sent ran at most once and each 201 it got ran exactly once.
   */
  const orders = (req: IncomingMessage, res: ServerResponse, statusNow: number): void => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, { error: 'POST only' });
      return;
    }
    const raw = req.headers['x-request-id'];
    const id = Array.isArray(raw) ? raw[0] : raw;
    if (!id || !/^[\x21-\x7e]{1,200}$/.test(id)) {
      send(res, 400, { error: 'x-request-id: must be 1 to 200 printable ASCII characters' });
      return;
    }
    req.resume(); // the body is not used; read it so the connection stays reusable
    req.on('end', () => {
      if (statusNow !== 200) {
        send(res, statusNow, { version: config.version, phase, executed: false });
        return;
      }
      if (config.ledgerFile !== undefined) {
        try {
          appendLedger(config.ledgerFile, { id, version: config.version, ...(config.instance !== undefined ? { instance: config.instance } : {}) });
        } catch (err) {
          send(res, 500, { error: `ledger: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, executed: false });
          return;
        }
      }
      send(res, 201, { version: config.version, phase, executed: true, id });
    });
  };

  const publicServer = createServer((req, res) => {
    const url = pathOf(req);
    // An app that serves its readiness only on the internal port: Traefik's health-check of the
    // routed port then never sees it ready.
    if (config.fault === 'readyz-internal-only' && url.pathname === '/readyz') {
      send(res, 404, { error: 'FAULT=readyz-internal-only: readiness is on the internal port only' });
      return;
    }
    if (probes(res, url.pathname)) return;
    if (config.fault === 'slow') {
      const t = setTimeout(() => publicAnswer(req, res, url), SLOW_FAULT_MS);
      res.on('close', () => clearTimeout(t));
      return;
    }
    publicAnswer(req, res, url);
  });

  /** Everything the public port answers besides the probes. */
  function publicAnswer(req: IncomingMessage, res: ServerResponse, url: URL): void {
    // During the drain the app answers as it did before it: 200 if it had become ready
    // (that is the point of draining), 503 if the signal came while still warming.
    const status = (): number => (phase === 'ready' || (phase === 'draining' && wasReady) ? 200 : 503);
    if (url.pathname === '/slow') {
      const text = url.searchParams.get('ms') ?? '';
      const ms = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!(ms <= SLOW_MAX_MS)) {
        send(res, 400, { error: `ms: ${JSON.stringify(text)} — must be an integer of milliseconds between 0 and ${SLOW_MAX_MS}` });
        return;
      }
      // Answers as `/` would when the wait ends. Not in `timers`: a drain must let it finish
      // (stop() cuts the socket, and the 'close' handler clears the timer).
      const t = setTimeout(() => send(res, status(), { version: config.version, phase, sleptMs: ms }), ms);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (url.pathname === SMOKE_500_PATH && config.fault === 'smoke-500') {
      send(res, 500, { error: 'FAULT=smoke-500', version: config.version });
      return;
    }
    if (url.pathname === '/orders') {
      orders(req, res, status());
      return;
    }
    send(res, status(), { version: config.version, phase });
  }

  // Keep idle connections longer than the reverse proxy does (Traefik's servers transport drops
  // idle ones after 90 s): then the reverse proxy always closes first and never writes a request
  // into a socket the app is closing. Node's 5 s default invites exactly that 502.
  publicServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  publicServer.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;

  const internalServer = createServer((req, res) => {
    if (probes(res, pathOf(req).pathname)) return;
    send(res, 404, { error: 'the internal port serves only /livez and /readyz' });
  });

  const listen = (server: Server, port: number, name: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(Object.assign(err, { portName: name, port }));
      server.once('error', onError);
      server.listen(port, config.bindAddr, () => {
        server.off('error', onError);
        resolve((server.address() as AddressInfo).port);
      });
    });

  let port: number;
  let internalPort: number;
  try {
    port = await listen(publicServer, config.port, 'PORT');
    internalPort = await listen(internalServer, config.internalPort, 'INTERNAL_PORT');
  } catch (err) {
    publicServer.close();
    internalServer.close();
    throw err;
  }
  log('listening', { port, internalPort, bindAddr: config.bindAddr, warmupMs: config.warmupMs, drainGraceMs: config.drainGraceMs, fault: config.fault });

  const becomeReady = (): void => {
    if (phase !== 'warming') return;
    phase = 'ready';
    wasReady = true;
    log('ready');
    if (config.fault === 'crash-after-ready') {
      later(CRASH_AFTER_READY_MS, () => {
        log('crash', { fault: config.fault, afterReadyMs: CRASH_AFTER_READY_MS });
        crash();
      });
    }
  };
  if (config.fault !== 'never-ready') {
    if (config.warmupMs === 0) becomeReady();
    else later(config.warmupMs, becomeReady);
  }

  const closeBoth = (): Promise<void> =>
    new Promise((resolve) => {
      let open = 2;
      const done = () => {
        if (--open === 0) resolve();
      };
      for (const server of [publicServer, internalServer]) {
        // close() stops accepting; Node ≥ 19 also drops idle keep-alive sockets, but say
        // so explicitly: an idle socket left open would hold the exit until its timeout.
        server.close(() => done());
        server.closeIdleConnections();
      }
    });

  let drained: Promise<number> | undefined;
  const drain = (reason: string): Promise<number> => {
    if (drained) return drained;
    drained = (async () => {
      phase = 'draining';
      log('drain-start', { reason, drainGraceMs: config.drainGraceMs, wasReady });
      // A plain timer, not in `timers`: stop() during the grace must not leave this promise pending.
      await new Promise<void>((resolve) => setTimeout(resolve, config.drainGraceMs));
      closing = true;
      log('closing');
      let cap: NodeJS.Timeout | undefined;
      const capped = new Promise<'cap'>((resolve) => {
        cap = setTimeout(() => resolve('cap'), finalWaitCapMs);
      });
      const outcome = await Promise.race([closeBoth().then(() => 'closed' as const), capped]);
      clearTimeout(cap);
      if (outcome === 'cap') {
        publicServer.closeAllConnections();
        internalServer.closeAllConnections();
        return 1;
      }
      return 0;
    })();
    return drained;
  };

  const stop = async (): Promise<void> => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    closing = true;
    const closed = closeBoth();
    publicServer.closeAllConnections();
    internalServer.closeAllConnections();
    await closed;
  };

  return { config, port, internalPort, phase: () => phase, drain, stop };
}

// ---------------------------------------------------------------------------------------
// process entry point

/** Runs the app as a process: parse env, listen, drain on SIGTERM/SIGINT, exit. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: AppConfig;
  try {
    config = appConfigFromEnv(env);
  } catch (err) {
    if (!(err instanceof AppConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const log = jsonLogger(config.version);
  const exit = (code: number, reason: string): never => {
    log('exit', { code, reason });
    process.exit(code);
  };

  // Handlers go in before listening: a signal during start-up must drain, not kill.
  const started = startApp(config, { log, crash: () => exit(1, `fault ${config.fault}`) });
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      log('signal-ignored', { signal, why: 'already draining; the drain runs to its end' });
      return;
    }
    draining = true;
    void started.then((app) => app.drain(signal)).then((code) => exit(code, code === 0 ? `drained after ${signal}` : `final-wait cap ${FINAL_WAIT_CAP_MS} ms cut in-flight requests`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await started;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { portName?: string; port?: number };
    process.stderr.write(`${e.portName ?? 'listen'}: ${JSON.stringify(String(e.port ?? ''))} — cannot listen on ${config.bindAddr}: ${e.code ?? e.message}\n`);
    exit(1, 'listen failed');
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
