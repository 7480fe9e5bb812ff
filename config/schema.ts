import { z } from 'zod';
import { parseDurationMs } from './duration.ts';

/**
 * The zerodrop config: what a user writes in `zerodrop.yaml` (or passes from TypeScript
 * as `ZerodropProps`) and the resolved `ZerodropConfig` every builder reads.
 * Durations are Go-style strings on input ("6s") and milliseconds (`…Ms`) once resolved.
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
    discovery: { refreshInterval: '2s', watch: false, throttle: '2s' },
    healthCheck: { enabled: true, interval: '1s', timeout: '1s' },
    retry: { attempts: 4, initialInterval: '100ms' },
    resources: { cpu: 200, memoryMb: 128 },
  },
  timing: { margin: '2s' },
  service: {
    count: 2,
    canary: 1,
    maxParallel: 1,
    ports: { http: 8080, internal: 8081 },
    readiness: { path: '/readyz', interval: '1s', timeout: '1s' },
    liveness: { path: '/livez', interval: '5s', timeout: '2s', failures: 3 },
    longestRequest: '1s',
    shutdownDelay: '0s',
    resources: { cpu: 100, memoryMb: 128 },
  },
} as const;

const duration = (what = 'a duration') =>
  z.string({ error: `must be ${what} such as "500ms", "6s" or "1m30s"` }).transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined) {
      ctx.issues.push({ code: 'custom', input: text, message: `must be ${what} such as "500ms", "6s" or "1m30s" (a unit is required)` });
      return z.NEVER;
    }
    return ms;
  });

const positiveDuration = () =>
  duration('a positive duration').refine((ms) => ms > 0, { message: 'must be greater than 0s' });

const port = z.int({ error: 'must be a whole port number between 1 and 65535' }).min(1).max(65535);
const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'must be lowercase letters, digits and "-", starting with a letter (it names the Nomad job, Consul service and Traefik router)' });
const hostName = z.string().regex(/^[A-Za-z0-9.-]+$/, { error: 'must be a host name such as "api.example.com"' });
const urlPath = z.string().regex(/^\/[^\s]*$/, { error: 'must be an absolute URL path such as "/readyz"' });
const address = z.url({ error: 'must be a URL such as "http://127.0.0.1:8500"' });

const resources = (d: { cpu: number; memoryMb: number }) =>
  z.strictObject({
    cpu: z.int().min(1).prefault(d.cpu).describe('MHz'),
    memoryMb: z.int().min(16).prefault(d.memoryMb),
  }).prefault({ ...d });

/** docker for real clusters; raw_exec for local clusters (`nomad agent -dev`). */
const driver = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('docker'),
      /** Image without tag: the service `version` is the tag. */
      image: z.string().min(1).regex(/^[^:@\s]+(:\d+)?(\/[^:@\s]+)*$/, { error: 'must be an image name without a tag (the service "version" is the tag)' }),
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

const traefikDriver = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('docker'), image: z.string().min(1).prefault('traefik:v3.6.12') }),
    z.strictObject({ type: z.literal('raw_exec'), command: z.string().min(1) }),
  ],
  { error: 'must be {type: docker, image} or {type: raw_exec, command}' },
);

const service = z
  .strictObject({
    name,
    /** Release being deployed: the docker tag, APP_VERSION in the task env, and job meta. */
    version: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, { error: 'must be a docker-tag-like version such as "v2" or "1.4.2"' }),
    driver,
    count: z.int().min(1).max(100).prefault(DEFAULTS.service.count),
    /** Canaries placed before the old allocations are replaced; must be ≥ 1 (zerodrop rolls out by canary). */
    canary: z.int().min(1, { error: 'must be at least 1: zerodrop rolls out by canary so a bad version never replaces a good one' }).prefault(DEFAULTS.service.canary),
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
      .union([hostName, z.array(hostName).min(1, { error: 'must name at least one host' })], { error: 'must be a host name such as "api.example.com", or a list of them' })
      .transform((h) => (Array.isArray(h) ? h : [h]))
      .refine((h) => new Set(h).size === h.length, { error: 'lists a host twice' }),
    readiness: z
      .strictObject({
        path: urlPath.prefault(DEFAULTS.service.readiness.path),
        interval: positiveDuration().prefault(DEFAULTS.service.readiness.interval),
        timeout: positiveDuration().prefault(DEFAULTS.service.readiness.timeout),
      })
      .prefault({ ...DEFAULTS.service.readiness }),
    liveness: z
      .strictObject({
        path: urlPath.prefault(DEFAULTS.service.liveness.path),
        interval: positiveDuration().prefault(DEFAULTS.service.liveness.interval),
        timeout: positiveDuration().prefault(DEFAULTS.service.liveness.timeout),
        failures: z.int().min(1).max(20).prefault(DEFAULTS.service.liveness.failures),
        /** @default - derived: warmup + margin, so warm-up never counts against the instance */
        grace: duration().optional(),
      })
      .prefault({ ...DEFAULTS.service.liveness }),
    /** Worst-case time from task start to ready (image pull included). Required: only you know it. */
    warmup: duration(),
    /** How long the app keeps serving after SIGTERM while /readyz says 503. @default - derived: Traefik routing window + margin */
    drainGrace: duration().optional(),
    /** Longest request the app serves; in-flight requests get this long after the drain. */
    longestRequest: duration().prefault(DEFAULTS.service.longestRequest),
    /** Nomad shutdown_delay: wait after deregistering before the signal. */
    shutdownDelay: duration().prefault(DEFAULTS.service.shutdownDelay),
    /** Pins; each @default - derived by the timing model. */
    killTimeout: positiveDuration().optional(),
    minHealthyTime: positiveDuration().optional(),
    healthyDeadline: positiveDuration().optional(),
    progressDeadline: positiveDuration().optional(),
    applyTimeout: positiveDuration().optional(),
    resources: resources(DEFAULTS.service.resources),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'env names must be shell-style identifiers' }), z.string()).prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.canary > s.count) {
      ctx.addIssue({ code: 'custom', path: ['canary'], input: s.canary, message: `must be at most count (${s.count})` });
    }
    if (s.ports.http === s.ports.internal) {
      ctx.addIssue({ code: 'custom', path: ['ports', 'internal'], input: s.ports.internal, message: `must differ from ports.http (${s.ports.http}): probes live on their own port` });
    }
  });

const traefik = z
  .strictObject({
    jobName: name.prefault(DEFAULTS.traefik.jobName),
    driver: traefikDriver.prefault({ type: 'docker', image: 'traefik:v3.6.12' }),
    /** @default - cluster.consul.address: the Consul agent Traefik reads the catalog from */
    consulAddress: address.optional(),
    entryPoint: z
      .strictObject({
        name: name.prefault(DEFAULTS.traefik.entryPoint.name),
        port: port.prefault(DEFAULTS.traefik.entryPoint.port),
        /** Interface to bind; "" means every interface. */
        host: z.string().prefault(DEFAULTS.traefik.entryPoint.host),
      })
      .prefault({ ...DEFAULTS.traefik.entryPoint }),
    /** Ping (/ping) and Prometheus metrics, on their own entry point. */
    adminPort: port.prefault(DEFAULTS.traefik.adminPort),
    discovery: z
      .strictObject({
        refreshInterval: positiveDuration().prefault(DEFAULTS.traefik.discovery.refreshInterval),
        /** Consul blocking queries instead of polling. */
        watch: z.boolean().prefault(DEFAULTS.traefik.discovery.watch),
        /** Traefik's global providersThrottleDuration: every reload waits this long. */
        throttle: duration().prefault(DEFAULTS.traefik.discovery.throttle),
      })
      .prefault({ ...DEFAULTS.traefik.discovery }),
    healthCheck: z
      .strictObject({
        enabled: z.boolean().prefault(DEFAULTS.traefik.healthCheck.enabled),
        interval: positiveDuration().prefault(DEFAULTS.traefik.healthCheck.interval),
        timeout: positiveDuration().prefault(DEFAULTS.traefik.healthCheck.timeout),
      })
      .prefault({ ...DEFAULTS.traefik.healthCheck }),
    retry: z
      .strictObject({
        /** Total tries including the first; 1 turns retries off. */
        attempts: z.int().min(1).max(10).prefault(DEFAULTS.traefik.retry.attempts),
        initialInterval: duration().prefault(DEFAULTS.traefik.retry.initialInterval),
      })
      .prefault({ ...DEFAULTS.traefik.retry }),
    resources: resources(DEFAULTS.traefik.resources),
  })
  .prefault({});

const state = z.discriminatedUnion(
  'backend',
  [
    z.strictObject({
      backend: z.literal('local'),
      /** Directory of `terraform.<stack>.tfstate`. @default - the project root ($ZERODROP_TF_STATE_DIR overrides) */
      dir: z.string().min(1).optional(),
    }),
    z.strictObject({
      backend: z.literal('consul'),
      /** KV prefix; each stack stores its state at `<path>/<stack>`. */
      path: z.string().min(1).prefault(DEFAULTS.state.consulPath),
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
            region: z.string().min(1).prefault(DEFAULTS.nomad.region),
            datacenters: z.array(z.string().min(1)).min(1).prefault([...DEFAULTS.nomad.datacenters]),
            /** The clients' max_kill_timeout: Nomad silently caps kill_timeout at it. */
            maxKillTimeout: positiveDuration().prefault(DEFAULTS.nomad.maxKillTimeout),
          })
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
    timing: z.strictObject({ margin: duration().prefault(DEFAULTS.timing.margin) }).prefault({}),
    services: z.array(service).min(1, { error: 'at least one service is required' }),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.services.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], input: s.name, message: `duplicates services[${first}].name: names must be unique` });
      }
      seen.set(s.name, i);
      if (s.name === c.traefik.jobName) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], input: s.name, message: `is traefik.jobName: pick another name` });
      }
    });
  });

/** What a user writes (durations as strings, defaults optional). */
export type ZerodropProps = z.input<typeof zerodropSchema>;

type Parsed = z.output<typeof zerodropSchema>;
type Cluster = Parsed['cluster'];

/**
 * The resolved config: defaults filled, durations in milliseconds, and the addresses the
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
export type TraefikConfig = ZerodropConfig['traefik'];
