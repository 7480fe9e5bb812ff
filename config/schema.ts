import { z } from 'zod';
import { formatDuration, parseDurationMs } from './duration.ts';
import { dnsNameProblem, httpAddressProblem, PROBE_PATH, templateSequenceProblem } from './validators.ts';
import { TRAEFIK } from '../pins/index.ts';

/**
 * The zerodrop config: what a user writes in `zerodrop.yaml` (or passes from TypeScript
 * as `ZerodropProps`) and the resolved `ZerodropConfig` every builder reads.
 * Durations are Go-style strings on input (`warmup: 6s`) and milliseconds under a name with
 * the unit once resolved (`warmupMs: 6000`): each object parses its durations under the YAML
 * keys, so issue paths name the field as the user wrote it, then `withMs` renames them.
 * Timing values that can be derived are left `undefined` here; the timing model
 * (timing/model.ts) owns every rule that fills or checks them.
 */

export const DEFAULTS = {
  nomad: { region: 'global', datacenters: ['*'], maxKillTimeout: '30s' },
  state: { consulPath: 'zerodrop/terraform', consulLock: true },
  traefik: {
    jobName: 'traefik',
    entryPoint: { name: 'web', port: 80, host: '' },
    adminPort: 8082,
    acceptGrace: '10s',
    discovery: { refreshInterval: '2s', watch: false, throttle: '2s' },
    healthCheck: { enabled: true, interval: '1s', timeout: '1s' },
    retry: { attempts: 4, initialInterval: '100ms' },
    resources: { cpu: 200, memoryMb: 128 },
  },
  timing: { margin: '2s' },
  service: {
    count: 2,
    maxParallel: 1,
    ports: { http: 8080, internal: 8081 },
    readiness: { path: '/readyz', interval: '1s', timeout: '1s' },
    liveness: { path: '/livez', interval: '5s', timeout: '2s', failures: 3 },
    longestRequest: '1s',
    resources: { cpu: 100, memoryMb: 128 },
    promotion: 'auto',
    gate: { method: 'GET', expectStatus: 200, analysis: { window: '30s', minRequests: 50, maxErrorRatio: 0.01, rate: 10 } },
  },
} as const;

/**
 * The longest duration any field takes. Nothing in a rollout sensibly waits a day, and a
 * cap keeps absurd inputs (a 400-digit warm-up is Infinity) from reaching the arithmetic
 * of the timing model, where they would be blamed on a derived field.
 */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** Nomad refuses Consul checks with an interval or timeout under 1 s (at deploy time; zerodrop refuses at synth). */
export const NOMAD_MIN_CHECK_MS = 1000;

const duration = (what = 'a duration', min?: { ms: number; why: string }) =>
  z.string({ error: `must be ${what} such as "500ms", "6s" or "1m30s"` }).transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined) {
      ctx.issues.push({ code: 'custom', input: text, message: `must be ${what} such as "500ms", "6s" or "1m30s" (a unit is required)` });
      return z.NEVER;
    }
    if (ms > MAX_DURATION_MS) {
      ctx.issues.push({ code: 'custom', input: text, message: `must be at most ${formatDuration(MAX_DURATION_MS)}: no rollout step sensibly waits longer` });
      return z.NEVER;
    }
    if (min && ms < min.ms) {
      ctx.issues.push({ code: 'custom', input: text, message: `must be at least ${formatDuration(min.ms)}: ${min.why}` });
      return z.NEVER;
    }
    return ms;
  });

/** `T` with the duration keys `K` named `…Ms`, optional where they were. */
type WithMs<T, K extends keyof T & string> = Flat<Omit<T, K> & { [P in keyof Pick<T, K> as `${P & string}Ms`]: Pick<T, K>[P] }>;
type Flat<T> = { [P in keyof T]: T[P] };

/**
 * Names the durations `keys` of a parsed object `…Ms`, keeping the order of its keys. The object's
 * last step: zod reports its fields' issues before it, under the YAML keys; a refinement of an
 * enclosing object runs after it, reads the `…Ms` names and gives its issue the YAML path itself.
 */
function withMs<T extends object, K extends keyof T & string>(parsed: T, keys: readonly K[]): WithMs<T, K> {
  const renamed = new Set<string>(keys);
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [renamed.has(key) ? `${key}Ms` : key, value])) as WithMs<T, K>;
}

const positiveDuration = () =>
  duration('a positive duration').refine((ms) => ms > 0, { message: 'must be greater than 0s' });

/** At least `minMs`, with the reason in the rule text. */
const durationAtLeast = (minMs: number, why: string) => duration('a duration', { ms: minMs, why });

const checkDuration = () => durationAtLeast(NOMAD_MIN_CHECK_MS, 'Nomad refuses check intervals and timeouts under 1s (at deploy time)');

const port = z.int({ error: 'must be a whole port number between 1 and 65535' }).min(1).max(65535);
const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'must be lowercase letters, digits and "-", starting with a letter (it names the Nomad job, Consul service and Traefik router)' });
/** A string checked by a function that returns the rule it breaks (see config/validators.ts). */
const checkedString = (problem: (text: string) => string | undefined, typeError: string) =>
  z.string({ error: typeError }).superRefine((text, ctx) => {
    const rule = problem(text);
    if (rule) ctx.addIssue({ code: 'custom', input: text, message: rule });
  });

const probePath = z.string().regex(PROBE_PATH, {
  error:
    'must be a plain absolute path such as "/readyz": letters, digits and "/", ".", "_", "~", "-" only — a "?", "#", backtick or space would keep the router\'s !Path(...) from matching and make the probe public',
});
const address = checkedString(httpAddressProblem, 'must be a URL such as "http://127.0.0.1:8500"');
/** An address Traefik binds: "" (every interface) or one IPv4/IPv6 address. */
const bindAddress = z.union([z.literal(''), z.ipv4(), z.ipv6()], { error: 'must be an IP address such as "127.0.0.1" or "::1", or "" for every interface' });
/** Nomad region and datacenter names (datacenters may use Nomad's "*" glob). */
const region = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'must be a Nomad region name: letters, digits, "_" and "-" (such as "global")' });
const datacenter = z.string().regex(/^[A-Za-z0-9_*-]{1,128}$/, { error: 'must be a Nomad datacenter name or glob: letters, digits, "_", "-" and "*" (such as "dc1" or "*")' });
/** Text that reaches a Terraform block verbatim: no template sequences, no control characters. */
const terraformText = (typeError: string) =>
  checkedString((text) => templateSequenceProblem(text) ?? (/[\0-\x1f\x7f]/.test(text) /* eslint-disable-line no-control-regex -- finding them is the point */ ? 'must not contain control characters' : undefined), typeError);

/** Env names zerodrop sets itself (the app contract, jobs/canary-job.ts `appEnv`): a user value would be silently replaced. */
export const RESERVED_ENV = ['PORT', 'INTERNAL_PORT', 'BIND_ADDR', 'APP_VERSION', 'DRAIN_GRACE_MS'] as const;

const resources = (d: { cpu: number; memoryMb: number }) =>
  z.strictObject({
    cpu: z.int().min(1).prefault(d.cpu).describe('MHz'),
    memoryMb: z.int().min(16).prefault(d.memoryMb),
  }).prefault({ ...d });

/** docker for real clusters; raw_exec for local clusters (`npm run cluster -- up` enables it). */
const driver = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('docker'),
      /** Image without tag: the service `version` is the tag. */
      image: z.string().min(1).regex(/^[A-Za-z0-9._-]+(:\d+)?(\/[A-Za-z0-9._-]+)*$/, { error: 'must be an image name without a tag (the service "version" is the tag)' }),
    }),
    z.strictObject({
      type: z.literal('raw_exec'),
      /** Absolute path, `./relative` to the config file, or a bare name looked up on PATH at synth time. */
      command: z.string().min(1),
      args: z.array(z.string()).prefault([]),
    }),
  ],
  { error: 'must be {type: docker, image} or {type: raw_exec, command, args}' },
);

/** The image of the Traefik release the kit pins and tests (pins/index.ts), so the default cannot drift from it. */
export const TRAEFIK_IMAGE = `traefik:${TRAEFIK.version}`;

const traefikDriver = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('docker'),
      image: z
        .string()
        .regex(/^[A-Za-z0-9._-]+(:\d+)?(\/[A-Za-z0-9._-]+)*(:[A-Za-z0-9._-]{1,128})?(@sha256:[0-9a-f]{64})?$/, { error: `must be a docker image reference such as "${TRAEFIK_IMAGE}"` })
        .prefault(TRAEFIK_IMAGE),
    }),
    z.strictObject({ type: z.literal('raw_exec'), command: z.string().min(1) }),
  ],
  { error: 'must be {type: docker, image} or {type: raw_exec, command}' },
);

/** Request methods a smoke request may use. */
export const SMOKE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** A path with an optional query: what a smoke request asks for (no host, no fragment, no spaces). */
const smokePath = z.string().regex(/^\/[A-Za-z0-9._~/%!$&'()*+,;=:@?-]*$/, {
  error: 'must be an absolute path with an optional query such as "/api/health?deep=1": no host, no "#", no spaces',
});

const smokeRequest = z.strictObject({
  path: smokePath,
  method: z.enum(SMOKE_METHODS, { error: `must be one of ${SMOKE_METHODS.join(', ')}` }).prefault(DEFAULTS.service.gate.method),
  /** The status the canary must answer. */
  expectStatus: z.int().min(100).max(599).prefault(DEFAULTS.service.gate.expectStatus),
  /** Text the body must contain. */
  expectBody: z.string().min(1).optional(),
  /** Headers the answer must carry: name → text the value must contain ("" = present). */
  expectHeader: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be an HTTP header name' }), z.string({ error: 'must be a string (quote numbers in YAML)' }))
    .optional(),
});

const gate = z
  .strictObject({
    /** Requests sent to the canary alone (through its own router) before the analysis; every one must pass. */
    smoke: z.array(smokeRequest).min(1, { error: 'must list at least one request: a gate without smoke requests proves no more than /readyz' }),
    analysis: z
      .strictObject({
        /** How long canary and stable are measured side by side. */
        window: durationAtLeast(5000, 'Traefik counters are read twice, a window apart; shorter windows hold too few requests to compare').prefault(DEFAULTS.service.gate.analysis.window),
        /** Requests each side must have had in the window, or the analysis fails (no verdict without data). */
        minRequests: z.int().min(1).max(1_000_000).prefault(DEFAULTS.service.gate.analysis.minRequests),
        /** Highest share of 5xx answers the canary may have (0.01 = 1 %). */
        maxErrorRatio: z.number().min(0).max(1).prefault(DEFAULTS.service.gate.analysis.maxErrorRatio),
        /** Highest canary p99 ÷ stable p99. */
        maxP99Ratio: z.number().min(1, { error: 'must be at least 1: a ratio below 1 asks the canary to be faster than the version it replaces' }).optional(),
        /** Highest canary p99, as a duration. */
        maxP99: duration().refine((ms) => ms > 0, { message: 'must be greater than 0s' }).optional(),
        /** Requests per second the gate sends to each side (canary and stable) during the window, replaying the GET/HEAD smoke requests. */
        rate: z.number().min(0).max(200).prefault(DEFAULTS.service.gate.analysis.rate),
      })
      .superRefine((a, ctx) => {
        if (a.maxP99Ratio === undefined && a.maxP99 === undefined) {
          ctx.addIssue({ code: 'custom', path: ['maxP99Ratio'], input: undefined, message: 'is required unless maxP99 is set: the analysis needs a latency bound (maxP99Ratio: canary p99 ÷ stable p99, or maxP99: a duration)' });
        }
      })
      .transform((a) => withMs(a, ['window', 'maxP99']))
      .prefault({}),
    /** The gate's own deadline, from the deployment's start. @default - derived by the timing model */
    deadline: positiveDuration().optional(),
  })
  .transform((g) => withMs(g, ['deadline']));

const service = z
  .strictObject({
    name,
    /** Release being deployed: the docker tag, APP_VERSION in the task env, and job meta. */
    version: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, { error: 'must be a docker-tag-like version such as "v2" or "1.4.2"' }),
    driver,
    count: z.int().min(1).max(100).prefault(DEFAULTS.service.count),
    /**
     * Canaries placed before the old allocations are replaced; must be ≥ 1 (zerodrop rolls out by canary).
     * @default - count: a full set of new instances is ready before any old one stops, so routable
     * instances never fall below count (after promotion Nomad stops the old ones the canaries replace
     * and the next maxParallel at once; with fewer canaries the service runs on count − maxParallel).
     */
    canary: z.int().min(1, { error: 'must be at least 1: zerodrop rolls out by canary so a bad version never replaces a good one' }).optional(),
    maxParallel: z.int().min(1).prefault(DEFAULTS.service.maxParallel),
    /** Ports the app listens on inside its container (docker `to`); raw_exec gets dynamic host ports via PORT/INTERNAL_PORT. */
    ports: z
      .strictObject({
        http: port.prefault(DEFAULTS.service.ports.http),
        internal: port.prefault(DEFAULTS.service.ports.internal),
        /** Reserve a static host port for `internal` and point Traefik's health-check at it. Only where canaries land on distinct hosts. */
        internalStatic: port.optional(),
      })
      .prefault({ ...DEFAULTS.service.ports }),
    /** Public host name(s) routed by Traefik: one name or a list; resolved to a list. */
    host: z
      .union([z.string(), z.array(z.string()).min(1, { error: 'must name at least one host' })], { error: 'must be a host name such as "api.example.com", or a list of them' })
      .transform((h) => (Array.isArray(h) ? h : [h]))
      .superRefine((hosts, ctx) => {
        hosts.forEach((h, i) => {
          const rule = dnsNameProblem(h);
          // A single name keeps the path of the field; a list names the entry.
          if (rule) ctx.addIssue({ code: 'custom', input: h, message: rule, ...(hosts.length > 1 ? { path: [i] } : {}) });
        });
        if (new Set(hosts.map((x) => x.toLowerCase())).size !== hosts.length) {
          ctx.addIssue({ code: 'custom', input: hosts, message: 'lists a host twice (host names are case-insensitive)' });
        }
      }),
    readiness: z
      .strictObject({
        path: probePath.prefault(DEFAULTS.service.readiness.path),
        interval: checkDuration().prefault(DEFAULTS.service.readiness.interval),
        timeout: checkDuration().prefault(DEFAULTS.service.readiness.timeout),
        /**
         * Whether the app also answers `path` on ports.http. Traefik's health-check probes the
         * ROUTED port (see docs/config.md "Traefik health-check port"); required when that check is on
         * and no ports.internalStatic is set. false: Traefik does not health-check this service.
         */
        servedOnRoutedPort: z.boolean().optional(),
      })
      .transform((r) => withMs(r, ['interval', 'timeout']))
      .prefault({ ...DEFAULTS.service.readiness }),
    liveness: z
      .strictObject({
        path: probePath.prefault(DEFAULTS.service.liveness.path),
        interval: checkDuration().prefault(DEFAULTS.service.liveness.interval),
        timeout: checkDuration().prefault(DEFAULTS.service.liveness.timeout),
        failures: z.int().min(1).max(20).prefault(DEFAULTS.service.liveness.failures),
        /** @default - derived: warmup + margin, so warm-up never counts against the instance */
        grace: duration().optional(),
      })
      .transform((l) => withMs(l, ['interval', 'timeout', 'grace']))
      .prefault({ ...DEFAULTS.service.liveness }),
    /** Worst-case time from task start to ready (image pull included). Required: only you know it. */
    warmup: duration(),
    /** How long the app keeps serving after SIGTERM while /readyz says 503. @default - derived: Traefik routing window + margin */
    drainGrace: duration().optional(),
    /** Longest request the app serves; in-flight requests get this long after the drain. */
    longestRequest: duration().prefault(DEFAULTS.service.longestRequest),
    /**
     * Nomad shutdown_delay: wait after deregistering before the signal.
     * @default - derived: routing window + margin, so Traefik has forgotten the instance before it is signalled
     */
    shutdownDelay: duration().optional(),
    /** Pins; each @default - derived by the timing model. */
    killTimeout: positiveDuration().optional(),
    minHealthyTime: positiveDuration().optional(),
    healthyDeadline: positiveDuration().optional(),
    progressDeadline: positiveDuration().optional(),
    applyTimeout: positiveDuration().optional(),
    resources: resources(DEFAULTS.service.resources),
    env: z.record(z.string(), z.string({ error: 'must be a string (quote numbers and booleans in YAML)' })).prefault({}),
    /**
     * auto: Nomad promotes a canary once its checks pass for minHealthyTime (auto_promote).
     * gated: the canary waits (auto_promote = false) until the gate (`npm run gate`, run by
     * `npm run deploy`) has seen it UP in Traefik, passed the smoke requests and the analysis.
     */
    promotion: z.enum(['auto', 'gated'], { error: 'must be "auto" or "gated"' }).prefault(DEFAULTS.service.promotion),
    gate: gate.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.canary !== undefined && s.canary > s.count) {
      ctx.addIssue({ code: 'custom', path: ['canary'], input: s.canary, message: `must be at most count (${s.count})` });
    }
    if (s.ports.http === s.ports.internal) {
      ctx.addIssue({ code: 'custom', path: ['ports', 'internal'], input: s.ports.internal, message: `must differ from ports.http (${s.ports.http}): probes live on their own port` });
    }
    for (const probe of ['readiness', 'liveness'] as const) {
      const p = s[probe];
      if (p.timeoutMs > p.intervalMs) {
        ctx.addIssue({ code: 'custom', path: [probe, 'timeout'], input: formatDuration(p.timeoutMs), message: `must be at most ${probe}.interval (${formatDuration(p.intervalMs)}): checks would overlap` });
      }
    }
    if (s.readiness.path === s.liveness.path) {
      ctx.addIssue({
        code: 'custom',
        path: ['liveness', 'path'],
        input: s.liveness.path,
        message:
          `must differ from readiness.path: readiness answers 503 during warm-up and drain on purpose, and a liveness check on the same path would count that as a hang — ` +
          `Nomad would restart the instance mid-drain (dropping its in-flight requests) or never let it finish warming up. Serve liveness on its own path that only says "the process is not stuck" (such as /livez)`,
      });
    }
    if (s.promotion === 'gated' && s.gate === undefined) {
      ctx.addIssue({ code: 'custom', path: ['gate'], input: undefined, message: 'is required with promotion: gated — list the smoke requests and the analysis thresholds (docs/gate.md)' });
    }
    if (s.promotion === 'auto' && s.gate !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['gate'], input: '(set)', message: 'is only read with promotion: gated — with auto, Nomad promotes on its checks alone and this gate would silently never run; set promotion: gated or remove gate' });
    }
    s.gate?.smoke.forEach((r, i) => {
      const bare = r.path.split('?')[0];
      if (bare === s.readiness.path || bare === s.liveness.path) {
        ctx.addIssue({ code: 'custom', path: ['gate', 'smoke', i, 'path'], input: r.path, message: `is a probe path: the routers exclude ${s.readiness.path} and ${s.liveness.path}, so it would answer 404 through Traefik — smoke the routes users call` });
      }
    });
    for (const key of Object.keys(s.env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        ctx.addIssue({ code: 'custom', path: ['env', key], input: key, message: `env name "${key}" must be a shell-style identifier: letters, digits and "_", not starting with a digit` });
      } else if ((RESERVED_ENV as readonly string[]).includes(key)) {
        ctx.addIssue({ code: 'custom', path: ['env', key], input: key, message: `env name "${key}" is set by zerodrop (the app contract: ${RESERVED_ENV.join(', ')}) — remove it` });
      }
    }
  })
  .transform((s) =>
    withMs({ ...s, canary: s.canary ?? s.count }, [
      'warmup', 'drainGrace', 'longestRequest', 'shutdownDelay', 'killTimeout', 'minHealthyTime', 'healthyDeadline', 'progressDeadline', 'applyTimeout',
    ]),
  );

const traefik = z
  .strictObject({
    jobName: name.prefault(DEFAULTS.traefik.jobName),
    driver: traefikDriver.prefault({ type: 'docker', image: TRAEFIK_IMAGE }),
    /** @default - cluster.consul.address: the Consul agent Traefik reads the catalog from */
    consulAddress: address.optional(),
    entryPoint: z
      .strictObject({
        name: name.prefault(DEFAULTS.traefik.entryPoint.name),
        port: port.prefault(DEFAULTS.traefik.entryPoint.port),
        /** Interface to bind: an IP address, or "" for every interface. */
        host: bindAddress.prefault(DEFAULTS.traefik.entryPoint.host),
      })
      .prefault({ ...DEFAULTS.traefik.entryPoint }),
    /** Ping (/ping) and Prometheus metrics, on their own entry point. */
    adminPort: port.prefault(DEFAULTS.traefik.adminPort),
    /**
     * Interface the admin entry point (/ping, /metrics) binds: an IP address, or "" for every interface.
     * @default - the address Nomad allocated the admin port on (NOMAD_IP_admin): reachable by the
     * Consul check of /ping, a front load balancer and a metrics scraper on the cluster network,
     * not on other interfaces of the node
     */
    adminHost: bindAddress.optional(),
    /**
     * A Nomad host network (client `host_network`) to allocate Traefik's two ports on; each node's
     * Traefik then listens on that node's address on it (entry point and admin), and Consul checks
     * /ping there. For nodes whose front load balancer reaches them on one network (a private
     * network; a loopback multi-node cluster's `edge`). Not together with `entryPoint.host` or
     * `adminHost`. @default - the client's default network (and `entryPoint.host` for the entry point)
     */
    hostNetwork: name.optional(),
    /**
     * How long Traefik keeps accepting requests after SIGTERM while /ping and /ready answer 503,
     * so a front load balancer that health-checks them stops sending to this node first. Declare
     * that check in `frontCheck` and the kit refuses a grace the load balancer could outlast.
     */
    acceptGrace: duration().prefault(DEFAULTS.traefik.acceptGrace),
    /**
     * The health check of the load balancer in front of the Traefik nodes (of /ready on the admin
     * port), when there is one. The kit then requires `acceptGrace` ≥ interval × unhealthyThreshold
     * + timeout + timing.margin: the longest a draining Traefik can still be sent requests.
     * @default - no front load balancer declared (nothing to check acceptGrace against)
     */
    frontCheck: z
      .strictObject({
        interval: positiveDuration(),
        timeout: positiveDuration(),
        /** Failed checks in a row before the load balancer takes a node out (Hetzner: retries; Traefik: 1). */
        unhealthyThreshold: z
          .int({ error: 'must be a whole number of failed checks' })
          .min(1, { error: 'must be at least 1: a load balancer takes a node out after one failed check at the soonest' })
          .max(10, { error: 'must be at most 10: a load balancer that slow to notice would need a longer acceptGrace than Traefik can be given' }),
      })
      .transform((f) => withMs(f, ['interval', 'timeout']))
      .optional(),
    discovery: z
      .strictObject({
        refreshInterval: durationAtLeast(100, 'Traefik polls the whole catalog each time; faster polling only loads Consul').prefault(DEFAULTS.traefik.discovery.refreshInterval),
        /** Consul blocking queries instead of polling. */
        watch: z.boolean().prefault(DEFAULTS.traefik.discovery.watch),
        /** Traefik's global providersThrottleDuration: every reload waits this long. */
        throttle: duration().prefault(DEFAULTS.traefik.discovery.throttle),
      })
      .transform((d) => withMs(d, ['refreshInterval', 'throttle']))
      .prefault({ ...DEFAULTS.traefik.discovery }),
    healthCheck: z
      .strictObject({
        enabled: z.boolean().prefault(DEFAULTS.traefik.healthCheck.enabled),
        interval: durationAtLeast(100, 'Traefik probes every server this often').prefault(DEFAULTS.traefik.healthCheck.interval),
        timeout: durationAtLeast(100, 'a shorter timeout fails servers on ordinary latency').prefault(DEFAULTS.traefik.healthCheck.timeout),
      })
      .superRefine((h, ctx) => {
        if (h.timeout > h.interval) {
          ctx.addIssue({ code: 'custom', path: ['timeout'], input: formatDuration(h.timeout), message: `must be at most traefik.healthCheck.interval (${formatDuration(h.interval)}): probes would pile up and a hung server stays UP for the whole timeout` });
        }
      })
      .transform((h) => withMs(h, ['interval', 'timeout']))
      .prefault({ ...DEFAULTS.traefik.healthCheck }),
    retry: z
      .strictObject({
        /** Total tries including the first; 1 turns retries off. */
        attempts: z.int().min(1).max(10).prefault(DEFAULTS.traefik.retry.attempts),
        initialInterval: durationAtLeast(10, 'with no backoff every retry is spent in the same instant, against the same stale routing table').prefault(DEFAULTS.traefik.retry.initialInterval),
      })
      .transform((r) => withMs(r, ['initialInterval']))
      .prefault({ ...DEFAULTS.traefik.retry }),
    resources: resources(DEFAULTS.traefik.resources),
  })
  .transform((t) => withMs(t, ['acceptGrace']))
  .prefault({});

const state = z.discriminatedUnion(
  'backend',
  [
    z.strictObject({
      backend: z.literal('local'),
      /** Directory of `terraform.<stack>.tfstate`. @default - the project root ($ZERODROP_TF_STATE_DIR overrides) */
      dir: terraformText('must be a directory path').optional(),
    }),
    z.strictObject({
      backend: z.literal('consul'),
      /** KV prefix; each stack stores its state at `<path>/<stack>`. */
      path: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { error: 'must be a Consul KV prefix such as "zerodrop/terraform": "/"-separated segments of letters, digits, "_", "." and "-"' })
        .prefault(DEFAULTS.state.consulPath),
      lock: z.boolean().prefault(DEFAULTS.state.consulLock),
    }),
  ],
  { error: 'must be {backend: local} or {backend: consul, path}' },
);

export const zerodropSchema = z
  .strictObject({
    cluster: z
      .strictObject({
        nomad: z
          .strictObject({
            /** @default - $NOMAD_ADDR at synth time, else http://127.0.0.1:4646 */
            address: address.optional(),
            region: region.prefault(DEFAULTS.nomad.region),
            datacenters: z.array(datacenter).min(1).prefault([...DEFAULTS.nomad.datacenters]),
            /** The clients' max_kill_timeout: Nomad silently caps kill_timeout at it. */
            maxKillTimeout: positiveDuration().prefault(DEFAULTS.nomad.maxKillTimeout),
          })
          .transform((n) => withMs(n, ['maxKillTimeout']))
          .prefault({}),
        consul: z
          .strictObject({
            /** @default - $CONSUL_HTTP_ADDR at synth time, else http://127.0.0.1:8500 */
            address: address.optional(),
            /** Whether Consul enforces ACLs: the edge stack then creates Traefik's least-privilege token. */
            acl: z.boolean().prefault(true),
          })
          .prefault({}),
        state: state.prefault({ backend: 'local' }),
      })
      .prefault({}),
    traefik,
    timing: z
      .strictObject({
        /**
         * Added to every timing rule. At least 1s: Consul and Nomad observe checks with 1 s
         * granularity, so a smaller margin cannot absorb even one late check.
         */
        margin: durationAtLeast(1000, 'Consul and Nomad observe checks at 1s granularity, so a smaller margin cannot absorb one late check').prefault(DEFAULTS.timing.margin),
      })
      .transform((t) => withMs(t, ['margin']))
      .prefault({}),
    services: z.array(service).min(1, { error: 'at least one service is required' }),
  })
  .superRefine((c, ctx) => {
    const t = c.traefik;
    if (t.entryPoint.name === 'traefik') {
      ctx.addIssue({ code: 'custom', path: ['traefik', 'entryPoint', 'name'], input: t.entryPoint.name, message: 'is the name of the admin entry point (/ping, /metrics and the API Traefik serves only on an entry point called "traefik") — pick another name such as "web"' });
    }
    if (t.hostNetwork !== undefined) {
      if (t.entryPoint.host !== '') {
        ctx.addIssue({ code: 'custom', path: ['traefik', 'entryPoint', 'host'], input: t.entryPoint.host, message: `cannot be set with traefik.hostNetwork ("${t.hostNetwork}"): each node's Traefik listens on its own address on that network — remove entryPoint.host, or hostNetwork` });
      }
      if (t.adminHost !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['traefik', 'adminHost'], input: t.adminHost, message: `cannot be set with traefik.hostNetwork ("${t.hostNetwork}"): the admin entry point listens on the node's address on that network, where Consul checks /ping — remove adminHost, or hostNetwork` });
      }
    }
    if (t.entryPoint.port === t.adminPort) {
      ctx.addIssue({ code: 'custom', path: ['traefik', 'adminPort'], input: t.adminPort, message: `must differ from traefik.entryPoint.port (${t.entryPoint.port}): /ping and /metrics need their own entry point` });
    }
    const seen = new Map<string, number>();
    const hostOwner = new Map<string, string>();
    const staticOwner = new Map<number, number>();
    c.services.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], input: s.name, message: `duplicates services[${first}].name: names must be unique` });
      }
      seen.set(s.name, i);
      if (s.name === t.jobName) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], input: s.name, message: `is traefik.jobName: pick another name` });
      }
      s.host.forEach((h, j) => {
        // Host names are case-insensitive, and so is Traefik's Host() matcher.
        const key = h.toLowerCase();
        const path = ['services', i, 'host', ...(s.host.length > 1 ? [j] : [])];
        const owner = hostOwner.get(key);
        if (owner !== undefined) {
          ctx.addIssue({ code: 'custom', path, input: h, message: `is already routed by ${owner}: two routers with the same Host rule send every request to only one of the services — each host belongs to one service` });
        } else hostOwner.set(key, `services[${i}].host`);
      });
      const fixed = s.ports.internalStatic;
      if (fixed !== undefined) {
        if (fixed === t.entryPoint.port || fixed === t.adminPort) {
          ctx.addIssue({ code: 'custom', path: ['services', i, 'ports', 'internalStatic'], input: fixed, message: `collides with Traefik's ${fixed === t.adminPort ? 'traefik.adminPort' : 'traefik.entryPoint.port'} (${fixed}), reserved on every node — pick another port` });
        }
        const other = staticOwner.get(fixed);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['services', i, 'ports', 'internalStatic'], input: fixed, message: `is also services[${other}].ports.internalStatic: both reserve it on the host, so they could never share a node — pick another port` });
        } else staticOwner.set(fixed, i);
      }
      if (t.healthCheck.enabled && fixed === undefined && s.readiness.servedOnRoutedPort === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', i, 'readiness', 'servedOnRoutedPort'],
          input: undefined,
          message:
            `is required: Traefik health-checks ${s.readiness.path} on the ROUTED port (ports.http), because its health-check port cannot follow Nomad's dynamic ports. ` +
            `An app that answers ${s.readiness.path} only on ports.internal passes Consul's check, gets promoted, and is then DOWN in Traefik: 503 for everyone. ` +
            `Set true if the app answers ${s.readiness.path} on ports.http too (the reference app does); false to have Traefik not health-check "${s.name}"; ` +
            `or set ports.internalStatic (docs/config.md "Traefik health-check port")`,
        });
      }
    });
  });

/** What a user writes (durations as strings, defaults optional). */
export type ZerodropProps = z.input<typeof zerodropSchema>;

type Parsed = z.output<typeof zerodropSchema>;
type Cluster = Parsed['cluster'];

/**
 * The resolved config: defaults filled, durations in milliseconds under `…Ms` names, and the addresses the
 * schema leaves optional filled by `resolveConfig` (from env or the defaults), so no
 * builder has to repeat a fallback.
 */
export type ZerodropConfig = Omit<Parsed, 'cluster' | 'traefik'> & {
  cluster: Omit<Cluster, 'nomad' | 'consul'> & {
    nomad: Cluster['nomad'] & { address: string };
    consul: Cluster['consul'] & { address: string };
  };
  traefik: Parsed['traefik'] & { consulAddress: string };
};
export type ServiceConfig = ZerodropConfig['services'][number];

/**
 * Whether Traefik health-checks a service: it probes the ROUTED port unless a static internal port
 * is set, so an app that does not answer its readiness path there (readiness.servedOnRoutedPort:
 * false) gets no Traefik health-check rather than every server DOWN.
 */
export function traefikHealthChecks(service: Pick<ServiceConfig, 'ports' | 'readiness'>, traefik: Pick<TraefikConfig, 'healthCheck'>): boolean {
  return traefik.healthCheck.enabled && (service.ports.internalStatic !== undefined || service.readiness.servedOnRoutedPort !== false);
}
export type TraefikConfig = ZerodropConfig['traefik'];
