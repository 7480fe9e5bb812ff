/**
 * The experiments of `npm run experiments`: the rows of the research log this kit grew from
 * (single node, Nomad -dev + Consul -dev + Traefik, 80 req/s, a synthetic app answering 503 on
 * `/` and `/readyz` while it warms up for ~12 s), each as a change to examples/local.yaml plus
 * the environment switches the deploy needs. Pure data and pure functions.
 *
 * All but E7 are configs the kit refuses: they deploy only with ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1,
 * and E1/E2 (Nomad's built-in service discovery, Traefik's nomad provider) also need
 * ZERODROP_UNSAFE_NOMAD_DISCOVERY=1, which main.ts accepts only together with the first.
 */

export const EXPERIMENT_IDS = ['E1', 'E2', 'E4', 'E4b', 'E4c', 'E4d', 'E7'] as const;
export type ExperimentId = (typeof EXPERIMENT_IDS)[number];

/** The knobs an experiment sets; everything else is examples/local.yaml as it is. */
export interface ExperimentKnobs {
  /** consul: the health-gated Consul catalog (the kit); nomad: Nomad's built-in service discovery. */
  readonly discovery: 'consul' | 'nomad';
  /** traefik.discovery.refreshInterval (15s is Traefik's own default for both providers) */
  readonly refreshInterval: string;
  /** Traefik's active health-check of /readyz (1 s interval, 1 s timeout) */
  readonly healthCheck: boolean;
  /** traefik.retry.attempts: 1 means no retry middleware */
  readonly retryAttempts: number;
  /** Nomad shutdown_delay (pinned) */
  readonly shutdownDelay: string;
  /** the app's drain after SIGTERM, DRAIN_GRACE_MS (pinned) */
  readonly drainGrace: string;
  /** Nomad kill_timeout (pinned) @default - derived: drain + longestRequest + margin */
  readonly killTimeout?: string;
}

export interface Experiment {
  readonly id: ExperimentId;
  /** What the log's row tested, in a few words. */
  readonly title: string;
  readonly knobs: ExperimentKnobs;
  /**
   * Whether the deploy needs ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1: true for every config the kit
   * refuses (the unit tests check this against the kit's own rules).
   */
  readonly unsafe: boolean;
  /** The log's success figure, percent of requests answered 200. */
  readonly logPercent: number;
  /** How the log wrote the figure and what it said about it. */
  readonly logText: string;
}

/** Rows E4–E4d of the log imply Traefik's default 15 s catalog refresh and no retry unless stated. */
const LOG_DEFAULTS = { refreshInterval: '15s', healthCheck: false, retryAttempts: 1, shutdownDelay: '0s', drainGrace: '0s' } as const;

export const EXPERIMENTS: readonly Experiment[] = [
  {
    id: 'E1',
    unsafe: true,
    title: 'Nomad service discovery, no Traefik health-check',
    knobs: { ...LOG_DEFAULTS, discovery: 'nomad' },
    logPercent: 77,
    logText: '~77 % (503 to the warming canary, 502 after the old one stops)',
  },
  {
    id: 'E2',
    unsafe: true,
    title: 'Nomad service discovery + Traefik health-check on /readyz (1 s)',
    knobs: { ...LOG_DEFAULTS, discovery: 'nomad', healthCheck: true },
    logPercent: 97.6,
    logText: '97.6 % (~1 s "assume up" gap on a newly added backend; deregister lag)',
  },
  {
    id: 'E4',
    unsafe: true,
    title: 'Consul service discovery (health-gated catalog)',
    knobs: { ...LOG_DEFAULTS, discovery: 'consul' },
    logPercent: 97.7,
    logText: '97.7 % (0 × 503; 502 from deregister lag)',
  },
  {
    id: 'E4b',
    unsafe: true,
    title: 'Consul SD + Nomad shutdown_delay 6 s (app without drain)',
    knobs: { ...LOG_DEFAULTS, discovery: 'consul', shutdownDelay: '6s' },
    logPercent: 91.1,
    logText: '91.1 % (more 502)',
  },
  {
    id: 'E4c',
    unsafe: true,
    title: 'Consul SD + Traefik health-check',
    knobs: { ...LOG_DEFAULTS, discovery: 'consul', healthCheck: true },
    logPercent: 98.1,
    logText: '98.1 % (502)',
  },
  {
    id: 'E4d',
    unsafe: true,
    title: 'Consul SD + app drain 5 s',
    knobs: { ...LOG_DEFAULTS, discovery: 'consul', drainGrace: '5s' },
    logPercent: 98.56,
    logText: "98.6 % (98.56; 502: Traefik's 15 s catalog refresh outlived the drain)",
  },
  {
    id: 'E7',
    unsafe: false,
    title: 'Consul SD + refresh 2 s + health-check 1 s + retry(4) + drain 6 s, kill_timeout 15 s',
    knobs: { discovery: 'consul', refreshInterval: '2s', healthCheck: true, retryAttempts: 4, shutdownDelay: '0s', drainGrace: '6s', killTimeout: '15s' },
    logPercent: 100,
    logText: '100 % (11 000 and 12 500 requests), p99 ~3.6 ms',
  },
];

/** The experiment named `id`, or an error naming the value and the accepted ones. */
export function experimentById(id: string): Experiment {
  const found = EXPERIMENTS.find((e) => e.id.toLowerCase() === id.trim().toLowerCase());
  if (!found) throw new Error(`--only: unknown experiment ${JSON.stringify(id)} — use one or more of ${EXPERIMENT_IDS.join(', ')}, comma-separated`);
  return found;
}

/** `--only E4b,E7` → the experiments in table order, each once; every unknown name is an error. */
export function selectExperiments(only: string | undefined): Experiment[] {
  if (only === undefined || only.trim() === '') return [...EXPERIMENTS];
  const wanted = new Set(only.split(',').filter((s) => s.trim() !== '').map((s) => experimentById(s).id));
  return EXPERIMENTS.filter((e) => wanted.has(e.id));
}

/** The synthetic app of the log: ready (and 200 on `/`) only after 12 s; 503 on `/` and `/readyz` before. */
export const WARMUP_MS = 12_000;

/**
 * The timing model's worst-case start-to-ready: the 12 s warm-up plus the app's own start
 * (node + tsx took up to ~6 s on two busy cores, examples/local.yaml) and some room.
 */
export const WARMUP_ALLOWANCE = '20s';

/** Where the experiments' Traefik listens (loopback only). */
export interface ExperimentPorts {
  readonly entry: number;
  readonly admin: number;
}

/**
 * examples/local.yaml (parsed) → the experiment's config, as plain data for a YAML file. One
 * instance (count 1, canary 1) as on the log's single node; the knobs as `knobs` says. Does not
 * touch `base`.
 */
// Plain YAML data edited by path: the config schema checks the result when the experiment loads it.
/* eslint-disable @typescript-eslint/no-explicit-any */
export function experimentConfig(base: unknown, experiment: Experiment, ports: ExperimentPorts): Record<string, any> {
  const c = structuredClone(base) as Record<string, any>;
  const k = experiment.knobs;
  c.traefik.entryPoint.port = ports.entry;
  c.traefik.adminPort = ports.admin;
  c.traefik.discovery = { ...c.traefik.discovery, refreshInterval: k.refreshInterval };
  c.traefik.healthCheck = k.healthCheck ? { enabled: true, interval: '1s', timeout: '1s' } : { enabled: false };
  c.traefik.retry = k.retryAttempts > 1 ? { attempts: k.retryAttempts, initialInterval: '100ms' } : { attempts: 1 };
  const svc = c.services[0];
  svc.count = 1;
  svc.canary = 1;
  svc.warmup = WARMUP_ALLOWANCE;
  svc.env = { ...svc.env, WARMUP_MS: String(WARMUP_MS) };
  svc.shutdownDelay = k.shutdownDelay;
  svc.drainGrace = k.drainGrace;
  if (k.killTimeout !== undefined) svc.killTimeout = k.killTimeout;
  else delete svc.killTimeout;
  return c;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The deploy's extra environment: the unsafe switches the experiment needs, and no others. */
export function experimentEnv(experiment: Experiment): Record<string, string> {
  return {
    ...(experiment.unsafe ? { ZERODROP_UNSAFE_SKIP_TIMING_CHECKS: '1' } : {}),
    ...(experiment.knobs.discovery === 'nomad' ? { ZERODROP_UNSAFE_NOMAD_DISCOVERY: '1' } : {}),
  };
}

/** One line per knob, for the results' variant table. */
export function knobsText(k: ExperimentKnobs): string {
  return [
    k.discovery === 'nomad' ? 'Nomad SD (nomad provider)' : 'Consul SD (consulCatalog)',
    `refresh ${k.refreshInterval}`,
    k.healthCheck ? 'health-check 1 s' : 'no health-check',
    k.retryAttempts > 1 ? `retry ${k.retryAttempts}` : 'no retry',
    `shutdown_delay ${k.shutdownDelay}`,
    `drain ${k.drainGrace}`,
    `kill_timeout ${k.killTimeout ?? 'derived'}`,
  ].join(', ');
}
