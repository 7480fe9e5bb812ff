import { formatDuration as d } from '../config/duration.ts';
import { ConfigError, type ConfigIssue } from '../config/errors.ts';
import { traefikHealthChecks, type ServiceConfig, type TraefikConfig, type ZerodropConfig } from '../config/schema.ts';

/**
 * The timing model: every duration rule in zerodrop lives here, as data.
 *
 * The invariant: the old instance stays servable at least as long as the
 * proxy may still route to it, and the new one is never routable before it is ready.
 * Nomad stops an allocation in this order: deregister from Consul → shutdown_delay →
 * kill_signal → kill_timeout → SIGKILL. Traefik keeps routing to a deregistered
 * instance until its next catalog read is applied (the routing window), so
 * shutdown_delay + drain grace must cover that window, and kill_timeout must cover the
 * drain plus the longest in-flight request.
 *
 * Traefik's own health-check is deliberately not credited in the routing window: it is
 * a second line of defence (and the first thing a broken config lacks), not the guarantee.
 */

/** Blocking queries deliver a catalog change in well under a second; this allowance is an estimate, not a measurement. */
export const WATCH_DELIVERY_MS = 1000;

/**
 * Time the promotion gate allows, past the canary's healthy deadline, for Traefik's
 * health-check to mark the canary UP and for the smoke requests (each with its own timeout):
 * at least this, more when those need more (`gateSmokeAllowanceMs`).
 */
export const GATE_SMOKE_ALLOWANCE_MS = 30_000;

/** Each smoke request of the promotion gate may take this long. */
export const GATE_SMOKE_REQUEST_TIMEOUT_MS = 5_000;

/** The gate's allowance for Traefik to see the canary UP and for its smoke requests, one after another. */
export function gateSmokeAllowanceMs(traefik: Parameters<typeof traefikUpSteadyMs>[0], smokeRequests: number): number {
  return Math.max(GATE_SMOKE_ALLOWANCE_MS, traefikUpSteadyMs(traefik) + smokeRequests * GATE_SMOKE_REQUEST_TIMEOUT_MS);
}

/**
 * How long the promotion gate must see every canary server UP in Traefik's API before it counts:
 * Traefik lists a new server UP before its first health-check, so a server that fails the check
 * turns DOWN only after one interval + timeout. Two rounds of Traefik's check, at least 2 s.
 */
export function traefikUpSteadyMs(traefik: { healthCheck: Pick<TraefikConfig['healthCheck'], 'enabled' | 'intervalMs' | 'timeoutMs'> }): number {
  return traefik.healthCheck.enabled ? Math.max(2000, 2 * (traefik.healthCheck.intervalMs + traefik.healthCheck.timeoutMs)) : 0;
}

/** Traefik's own Consul check of /ping (its job's health gate). */
export const TRAEFIK_PING = { intervalMs: 5_000, timeoutMs: 2_000 } as const;

/**
 * Time a new Traefik allocation gets to start, before its min_healthy_time starts counting: an
 * image pull for docker; for a binary already on the node (raw_exec), a few seconds.
 */
export const TRAEFIK_START_ALLOWANCE_MS = { docker: 60_000, raw_exec: 10_000 } as const;

/**
 * The most client nodes a rolling edge change is sized for: on Nomad before 1.11 the edge apply
 * waits through one stagger per node (the provider follows the scheduler's chain of evaluations).
 */
export const EDGE_APPLY_NODES = 20;

/**
 * Upper bound of the random delay before a Traefik allocation restarts for a re-rendered
 * template (a new Consul token). Every node sees the new token at the same moment; the splay
 * spreads their restarts so that they rarely overlap (each takes about kill_timeout plus a
 * start), while a replaced token still reaches every node within minutes.
 */
export const TRAEFIK_TOKEN_RESTART_SPLAY_MS = 120_000;

/**
 * Traefik's own durations as a Nomad system job. On SIGTERM Traefik first keeps accepting
 * for `acceptGrace` while /ping answers 503 (so a front load balancer stops sending to the
 * node), then finishes in-flight requests for `graceTimeOut`; kill_timeout outlasts both.
 */
export interface TraefikPlan {
  /** entryPoints.*.transport.lifeCycle.requestAcceptGraceTimeout: traefik.acceptGrace */
  readonly acceptGraceMs: number;
  /** entryPoints.*.transport.lifeCycle.graceTimeOut: the longest request of any service + margin */
  readonly graceTimeOutMs: number;
  /** acceptGrace + graceTimeOut + margin */
  readonly killTimeoutMs: number;
  /**
   * 0 on purpose: during a shutdown_delay Traefik is not yet signalled and /ping still answers
   * 200, which would hide the drain from a front load balancer. Nomad deregisters Traefik from
   * Consul and signals it at once, so the accept grace is one window for both kinds of front:
   * those reading the Consul catalog and those health-checking /ping.
   */
  readonly shutdownDelayMs: number;
  /**
   * Rolling update, one node at a time: a new Traefik must have loaded the catalog (routing
   * window) and a front load balancer must have seen its /ping pass (about the accept grace)
   * before the next node is taken down: max(routing window, acceptGrace) + margin.
   */
  readonly minHealthyTimeMs: number;
  /** minHealthyTime + start allowance (image pull for docker) */
  readonly healthyDeadlineMs: number;
  /** healthyDeadline + 10s, as for services */
  readonly progressDeadlineMs: number;
  /**
   * Nomad before 1.11 has no deployments for system jobs: it replaces `max_parallel` nodes, then
   * waits `stagger` before the next, with no health gate. So the wait must cover the old Traefik's
   * whole stop and the new one becoming ready and seen by a front: kill_timeout + healthyDeadline.
   * Nomad 1.11 and later gate each node on its health instead (the group update) and ignore it.
   */
  readonly staggerMs: number;
  /** the edge job's Terraform apply timeout: a stagger per node, for EDGE_APPLY_NODES nodes, plus one healthy deadline */
  readonly applyTimeoutMs: number;
  readonly templateSplayMs: number;
}

export function traefikPlan(config: Pick<ZerodropConfig, 'traefik' | 'timing' | 'services'>): TraefikPlan {
  const margin = config.timing.marginMs;
  const window = routingWindow(config.traefik.discovery);
  const acceptGraceMs = config.traefik.acceptGraceMs;
  const graceTimeOutMs = Math.max(0, ...config.services.map((s) => s.longestRequestMs)) + margin;
  const minHealthyTimeMs = ceilToSecond(Math.max(window.ms, acceptGraceMs) + margin);
  const healthyDeadlineMs = minHealthyTimeMs + TRAEFIK_START_ALLOWANCE_MS[config.traefik.driver.type === 'docker' ? 'docker' : 'raw_exec'];
  const killTimeoutMs = acceptGraceMs + graceTimeOutMs + margin;
  const staggerMs = killTimeoutMs + healthyDeadlineMs;
  return {
    acceptGraceMs,
    graceTimeOutMs,
    killTimeoutMs,
    shutdownDelayMs: 0,
    minHealthyTimeMs,
    healthyDeadlineMs,
    progressDeadlineMs: healthyDeadlineMs + 10_000,
    staggerMs,
    applyTimeoutMs: staggerMs * EDGE_APPLY_NODES + healthyDeadlineMs,
    templateSplayMs: TRAEFIK_TOKEN_RESTART_SPLAY_MS,
  };
}

/**
 * The longest a front load balancer keeps sending to a Traefik whose /ready went 503: the failure
 * may start just after a check, then `unhealthyThreshold` checks fail, the last after its timeout.
 */
export function frontDetectionMs(front: { readonly intervalMs: number; readonly timeoutMs: number; readonly unhealthyThreshold: number }): number {
  return front.intervalMs * front.unhealthyThreshold + front.timeoutMs;
}

/** Traefik's rules, as config issues. */
export function traefikTimingIssues(config: Pick<ZerodropConfig, 'traefik' | 'timing' | 'services' | 'cluster'>): ConfigIssue[] {
  const plan = traefikPlan(config);
  const issues: ConfigIssue[] = [];
  const front = config.traefik.frontCheck;
  const neededMs = front ? frontDetectionMs(front) + config.timing.marginMs : 0;
  if (front && plan.acceptGraceMs < neededMs) {
    issues.push({
      path: 'traefik.acceptGrace',
      value: d(plan.acceptGraceMs),
      rule:
        `[traefik-accept-grace-covers-front-check] traefik.acceptGrace ${d(plan.acceptGraceMs)} < traefik.frontCheck.interval ${d(front.intervalMs)} × unhealthyThreshold ${front.unhealthyThreshold} + timeout ${d(front.timeoutMs)} ` +
        `+ timing.margin ${d(config.timing.marginMs)} = ${d(neededMs)}: the front load balancer could still send requests to a Traefik that has stopped accepting — ` +
        `raise traefik.acceptGrace to ≥ ${d(neededMs)}, or check more often in front`,
    });
  }
  const max = config.cluster.nomad.maxKillTimeoutMs;
  if (plan.killTimeoutMs <= max) return issues;
  return [
    ...issues,
    {
      path: 'traefik.acceptGrace',
      value: d(plan.acceptGraceMs),
      rule:
        `[traefik-kill-timeout-within-max-kill-timeout] Traefik's kill_timeout ${d(plan.killTimeoutMs)} (traefik.acceptGrace ${d(plan.acceptGraceMs)} + graceTimeOut ${d(plan.graceTimeOutMs)} ` +
        `(longest services[].longestRequest + timing.margin) + timing.margin ${d(config.timing.marginMs)}) > cluster.nomad.maxKillTimeout ${d(max)}: Nomad would SIGKILL Traefik mid-drain — ` +
        `shorten traefik.acceptGrace to ≤ ${d(Math.max(0, max - plan.graceTimeOutMs - config.timing.marginMs))}, or raise the clients' max_kill_timeout and cluster.nomad.maxKillTimeout together`,
    },
  ];
}

/** How each derived value is computed, in words: `npm run plan` and docs/timing.md quote these. */
export const DERIVATIONS = {
  shutdownDelay: 'routing window + margin',
  drainGrace: 'routing window + margin - shutdown_delay (0 with the derived shutdown_delay)',
  killTimeout: 'drain grace + longestRequest + margin',
  minHealthyTime: 'routing window + margin',
  healthyDeadline: 'warmup + min_healthy_time + readiness interval + margin',
  progressDeadline: 'healthy_deadline + 10s',
  applyTimeout: 'waves × progress_deadline + gate deadline (gated) + 1m',
  livenessGrace: 'warmup + margin',
  gateDeadline: 'healthy_deadline + routing window + smoke allowance (max(30s, Traefik UP wait + smoke requests × 5s)) + analysis window + margin',
} as const;

type GateConfig = NonNullable<ServiceConfig['gate']>;

/** What the timing model reads of a resolved service: its durations (pinned or undefined) and its rollout shape. */
export type TimingService = Pick<
  ServiceConfig,
  'warmupMs' | 'longestRequestMs' | 'shutdownDelayMs' | 'drainGraceMs' | 'killTimeoutMs' | 'minHealthyTimeMs' | 'healthyDeadlineMs' | 'progressDeadlineMs' | 'applyTimeoutMs' | 'count' | 'canary' | 'maxParallel' | 'promotion'
> & {
  readonly readiness: Pick<ServiceConfig['readiness'], 'intervalMs'>;
  readonly liveness: Pick<ServiceConfig['liveness'], 'graceMs'>;
  /** Planned for promotion: gated only; its smoke requests are only counted. */
  readonly gate?: Pick<GateConfig, 'deadlineMs'> & { readonly analysis: Pick<GateConfig['analysis'], 'windowMs'>; readonly smoke: readonly unknown[] };
};

/** What the timing model reads of the rest of the resolved config. */
export interface TimingSettings {
  readonly traefik: { readonly discovery: RoutingDiscovery; readonly healthCheck: Pick<TraefikConfig['healthCheck'], 'enabled' | 'intervalMs' | 'timeoutMs'> };
  readonly timing: Pick<ZerodropConfig['timing'], 'marginMs'>;
  readonly cluster: { readonly nomad: Pick<ZerodropConfig['cluster']['nomad'], 'maxKillTimeoutMs'> };
}

type RoutingDiscovery = Pick<TraefikConfig['discovery'], 'refreshIntervalMs' | 'watch' | 'throttleMs'>;

/** The gate a rollout of `service` waits for: only promotion: gated runs one. */
const plannedGate = (service: TimingService) => (service.promotion === 'gated' ? service.gate : undefined);

export type Source = 'pinned' | 'derived';

export interface TimingPlan {
  /** How long Traefik may still route to an instance after Nomad deregisters it. */
  readonly routingWindowMs: number;
  /** The same window explained with the fields it comes from. */
  readonly routingWindowWhy: string;
  readonly shutdownDelayMs: number;
  readonly drainGraceMs: number;
  /** shutdown_delay + drain grace: how long the old instance keeps serving after deregistration. */
  readonly servableWindowMs: number;
  readonly killTimeoutMs: number;
  readonly minHealthyTimeMs: number;
  readonly healthyDeadlineMs: number;
  readonly progressDeadlineMs: number;
  /** Rollout waves: the canaries, then the rest in batches of max_parallel. */
  readonly waves: number;
  readonly applyTimeoutMs: number;
  readonly livenessGraceMs: number;
  /**
   * How long the promotion gate may take, from the deployment's start, before it fails the
   * deployment itself (Nomad never fails a healthy canary that waits for promotion).
   * undefined for promotion: auto.
   */
  readonly gateDeadlineMs: number | undefined;
  readonly sources: Readonly<Record<'shutdownDelay' | 'drainGrace' | 'killTimeout' | 'minHealthyTime' | 'healthyDeadline' | 'progressDeadline' | 'applyTimeout' | 'livenessGrace' | 'gateDeadline', Source>>;
}

/** Field names as the user wrote them, so messages point at the config, not at internals. */
export interface TimingPaths {
  readonly service: string;
  readonly serviceName: string;
}

interface RuleContext {
  readonly service: TimingService;
  readonly config: TimingSettings;
  readonly plan: TimingPlan;
  readonly p: TimingPaths;
}

export interface TimingRule {
  readonly id: string;
  /** Config path the fix belongs to. */
  readonly path: (c: RuleContext) => string;
  readonly value: (c: RuleContext) => string;
  readonly check: (c: RuleContext) => boolean;
  readonly message: (c: RuleContext) => string;
}

const ceilToSecond = (ms: number) => Math.ceil(ms / 1000) * 1000;
const ceilToMinute = (ms: number) => Math.ceil(ms / 60_000) * 60_000;

export function routingWindow(discovery: RoutingDiscovery): { ms: number; why: string } {
  if (discovery.watch) {
    return { ms: discovery.throttleMs + WATCH_DELIVERY_MS, why: `traefik.discovery.watch delivery ${d(WATCH_DELIVERY_MS)} + traefik.discovery.throttle ${d(discovery.throttleMs)}` };
  }
  return { ms: discovery.refreshIntervalMs + discovery.throttleMs, why: `traefik.discovery.refreshInterval ${d(discovery.refreshIntervalMs)} + traefik.discovery.throttle ${d(discovery.throttleMs)}` };
}

/** Fills every derived duration. Pure; does not check anything (see `timingIssues`). */
export function derivePlan(service: TimingService, config: TimingSettings): TimingPlan {
  const s = service;
  const margin = config.timing.marginMs;
  const window = routingWindow(config.traefik.discovery);
  // Deregister, wait until Traefik has forgotten the instance, then signal. Were the app signalled
  // first, its /readyz 503 would have Traefik's health-check mark it DOWN while its router is still
  // in Traefik's config; when every server behind a router drains at once (the old Traefik service
  // of a rollout that changes the health-check, see traefik/service-tags.ts) that router answers 503.
  const shutdownDelayMs = s.shutdownDelayMs ?? window.ms + margin;
  const drainGraceMs = s.drainGraceMs ?? Math.max(0, window.ms + margin - shutdownDelayMs);
  const killTimeoutMs = s.killTimeoutMs ?? drainGraceMs + s.longestRequestMs + margin;
  const minHealthyTimeMs = s.minHealthyTimeMs ?? ceilToSecond(window.ms + margin);
  const healthyDeadlineMs = s.healthyDeadlineMs ?? ceilToSecond(s.warmupMs + minHealthyTimeMs + s.readiness.intervalMs + margin);
  // Only 10 s past healthy_deadline: a canary that misses its deadline fails the
  // deployment (and auto-reverts) instead of being rescheduled for minutes.
  const progressDeadlineMs = s.progressDeadlineMs ?? healthyDeadlineMs + 10_000;
  const waves = 1 + Math.ceil(Math.max(0, s.count - s.canary) / s.maxParallel);
  const gate = plannedGate(s);
  const gateDeadlineMs =
    gate === undefined ? undefined : (gate.deadlineMs ?? ceilToSecond(healthyDeadlineMs + window.ms + gateSmokeAllowanceMs(config.traefik, gate.smoke.length) + gate.analysis.windowMs + margin));
  // With a gate, terraform apply (detach = false) also waits while the canary waits for promotion.
  const applyTimeoutMs = s.applyTimeoutMs ?? ceilToMinute(waves * progressDeadlineMs + (gateDeadlineMs ?? 0) + 60_000);
  const livenessGraceMs = s.liveness.graceMs ?? s.warmupMs + margin;
  const src = (pinned: number | undefined): Source => (pinned === undefined ? 'derived' : 'pinned');
  return {
    routingWindowMs: window.ms,
    routingWindowWhy: window.why,
    shutdownDelayMs,
    drainGraceMs,
    servableWindowMs: shutdownDelayMs + drainGraceMs,
    killTimeoutMs,
    minHealthyTimeMs,
    healthyDeadlineMs,
    progressDeadlineMs,
    waves,
    applyTimeoutMs,
    livenessGraceMs,
    gateDeadlineMs,
    sources: {
      shutdownDelay: src(s.shutdownDelayMs),
      drainGrace: src(s.drainGraceMs),
      killTimeout: src(s.killTimeoutMs),
      minHealthyTime: src(s.minHealthyTimeMs),
      healthyDeadline: src(s.healthyDeadlineMs),
      progressDeadline: src(s.progressDeadlineMs),
      applyTimeout: src(s.applyTimeoutMs),
      livenessGrace: src(s.liveness.graceMs),
      gateDeadline: src(gate?.deadlineMs),
    },
  };
}

/** Every rule, in the order a user should fix them. Each has tests on both sides of its limit. */
export const TIMING_RULES: readonly TimingRule[] = [
  {
    id: 'servable-window-covers-routing-window',
    path: ({ p }) => `${p.service}.drainGrace`,
    value: ({ plan }) => d(plan.drainGraceMs),
    check: ({ plan, config: c }) => plan.servableWindowMs >= plan.routingWindowMs + c.timing.marginMs,
    message: ({ plan, config: c, p }) => {
      const need = plan.routingWindowMs + c.timing.marginMs;
      return (
        `${p.service}.drainGrace ${d(plan.drainGraceMs)} + ${p.service}.shutdownDelay ${d(plan.shutdownDelayMs)} = ${d(plan.servableWindowMs)} ` +
        `< Traefik routing window ${d(plan.routingWindowMs)} (${plan.routingWindowWhy}) + timing.margin ${d(c.timing.marginMs)} = ${d(need)}: ` +
        `Traefik would still route to "${p.serviceName}" after it stopped serving — raise drainGrace to ≥ ${d(need - plan.shutdownDelayMs)}, ` +
        `or shutdownDelay to ≥ ${d(need - plan.drainGraceMs)}, or lower traefik.discovery.refreshInterval (or set traefik.discovery.watch: true)`
      );
    },
  },
  {
    id: 'kill-timeout-covers-drain',
    path: ({ p }) => `${p.service}.killTimeout`,
    value: ({ plan }) => d(plan.killTimeoutMs),
    check: ({ plan, service: s, config: c }) => plan.killTimeoutMs >= plan.drainGraceMs + s.longestRequestMs + c.timing.marginMs,
    message: ({ plan, service: s, config: c, p }) => {
      const need = plan.drainGraceMs + s.longestRequestMs + c.timing.marginMs;
      return (
        `${p.service}.killTimeout ${d(plan.killTimeoutMs)} < drainGrace ${d(plan.drainGraceMs)} + longestRequest ${d(s.longestRequestMs)} + timing.margin ${d(c.timing.marginMs)} = ${d(need)}: ` +
        `Nomad would SIGKILL "${p.serviceName}" with requests in flight — raise killTimeout to ≥ ${d(need)} or remove it to have it derived`
      );
    },
  },
  {
    id: 'kill-timeout-within-max-kill-timeout',
    path: ({ p }) => `${p.service}.killTimeout`,
    value: ({ plan }) => d(plan.killTimeoutMs),
    check: ({ plan, config: c }) => plan.killTimeoutMs <= c.cluster.nomad.maxKillTimeoutMs,
    message: ({ plan, service: s, config: c, p }) =>
      `${p.service}.killTimeout ${d(plan.killTimeoutMs)} (${plan.sources.killTimeout}: drainGrace ${d(plan.drainGraceMs)} + longestRequest ${d(s.longestRequestMs)} + margin ${d(c.timing.marginMs)}) ` +
      `> cluster.nomad.maxKillTimeout ${d(c.cluster.nomad.maxKillTimeoutMs)}: Nomad silently caps kill_timeout there and would SIGKILL "${p.serviceName}" early — ` +
      `shorten drainGrace or longestRequest, or raise the clients' max_kill_timeout and cluster.nomad.maxKillTimeout together`,
  },
  {
    id: 'min-healthy-time-covers-discovery',
    path: ({ p }) => `${p.service}.minHealthyTime`,
    value: ({ plan }) => d(plan.minHealthyTimeMs),
    check: ({ plan, config: c }) => plan.minHealthyTimeMs >= plan.routingWindowMs + c.timing.marginMs,
    message: ({ plan, config: c, p }) =>
      `${p.service}.minHealthyTime ${d(plan.minHealthyTimeMs)} < Traefik routing window ${d(plan.routingWindowMs)} (${plan.routingWindowWhy}) + timing.margin ${d(c.timing.marginMs)} = ${d(plan.routingWindowMs + c.timing.marginMs)}: ` +
      `the canary of "${p.serviceName}" could be promoted before Traefik ever sent it traffic — raise minHealthyTime or remove it to have it derived`,
  },
  {
    id: 'healthy-deadline-covers-warmup',
    path: ({ p }) => `${p.service}.healthyDeadline`,
    value: ({ plan }) => d(plan.healthyDeadlineMs),
    check: ({ plan, service: s, config: c }) => plan.healthyDeadlineMs >= s.warmupMs + plan.minHealthyTimeMs + c.timing.marginMs,
    message: ({ plan, service: s, config: c, p }) => {
      const need = s.warmupMs + plan.minHealthyTimeMs + c.timing.marginMs;
      return (
        `${p.service}.healthyDeadline ${d(plan.healthyDeadlineMs)} < warmup ${d(s.warmupMs)} + minHealthyTime ${d(plan.minHealthyTimeMs)} + timing.margin ${d(c.timing.marginMs)} = ${d(need)}: ` +
        `a healthy canary of "${p.serviceName}" would be declared failed and reverted — raise healthyDeadline to ≥ ${d(need)}`
      );
    },
  },
  {
    id: 'progress-deadline-after-healthy-deadline',
    path: ({ p }) => `${p.service}.progressDeadline`,
    value: ({ plan }) => d(plan.progressDeadlineMs),
    check: ({ plan }) => plan.progressDeadlineMs > plan.healthyDeadlineMs,
    message: ({ plan, p }) =>
      `${p.service}.progressDeadline ${d(plan.progressDeadlineMs)} ≤ healthyDeadline ${d(plan.healthyDeadlineMs)}: Nomad requires progress_deadline to exceed healthy_deadline — raise progressDeadline above ${d(plan.healthyDeadlineMs)}`,
  },
  {
    id: 'apply-timeout-covers-rollout',
    path: ({ p }) => `${p.service}.applyTimeout`,
    value: ({ plan }) => d(plan.applyTimeoutMs),
    check: ({ plan }) => plan.applyTimeoutMs >= plan.waves * plan.progressDeadlineMs + (plan.gateDeadlineMs ?? 0),
    message: ({ plan, p }) => {
      const gate = plan.gateDeadlineMs === undefined ? '' : ` + gate.deadline ${d(plan.gateDeadlineMs)}`;
      return (
        `${p.service}.applyTimeout ${d(plan.applyTimeoutMs)} < ${plan.waves} rollout waves × progressDeadline ${d(plan.progressDeadlineMs)}${gate} = ${d(plan.waves * plan.progressDeadlineMs + (plan.gateDeadlineMs ?? 0))}: ` +
        `terraform apply (detach = false) would give up on "${p.serviceName}" while Nomad is still rolling out — raise applyTimeout or remove it to have it derived`
      );
    },
  },
  {
    id: 'gate-deadline-covers-analysis',
    path: ({ p }) => `${p.service}.gate.deadline`,
    value: ({ plan }) => d(plan.gateDeadlineMs ?? 0),
    check: ({ plan, service: s, config: c }) => {
      const gate = plannedGate(s);
      return gate === undefined || (plan.gateDeadlineMs ?? 0) >= plan.healthyDeadlineMs + plan.routingWindowMs + gate.analysis.windowMs + c.timing.marginMs;
    },
    message: ({ plan, service: s, config: c, p }) => {
      const windowMs = plannedGate(s)?.analysis.windowMs ?? 0;
      const need = plan.healthyDeadlineMs + plan.routingWindowMs + windowMs + c.timing.marginMs;
      return (
        `${p.service}.gate.deadline ${d(plan.gateDeadlineMs ?? 0)} < healthyDeadline ${d(plan.healthyDeadlineMs)} + Traefik routing window ${d(plan.routingWindowMs)} + gate.analysis.window ${d(windowMs)} + timing.margin ${d(c.timing.marginMs)} = ${d(need)}: ` +
        `the gate would fail a good canary of "${p.serviceName}" before it could be routed, smoked and measured — raise gate.deadline to ≥ ${d(need)} (some more for the smoke requests) or remove it to have it derived`
      );
    },
  },
  {
    id: 'liveness-grace-covers-warmup',
    path: ({ p }) => `${p.service}.liveness.grace`,
    value: ({ plan }) => d(plan.livenessGraceMs),
    check: ({ plan, service: s }) => plan.livenessGraceMs >= s.warmupMs,
    message: ({ plan, service: s, p }) =>
      `${p.service}.liveness.grace ${d(plan.livenessGraceMs)} < warmup ${d(s.warmupMs)}: Nomad would restart "${p.serviceName}" for being slow to warm up — raise liveness.grace to ≥ ${d(s.warmupMs)}`,
  },
];

/** The rules a plan breaks, as config issues (empty when the plan is zero-downtime). */
export function timingIssues(service: TimingService, config: TimingSettings, plan: TimingPlan, paths: TimingPaths, rules: readonly TimingRule[] = TIMING_RULES): ConfigIssue[] {
  const ctx: RuleContext = { service, config, plan, p: paths };
  return rules.filter((r) => !r.check(ctx)).map((r) => ({ path: r.path(ctx), value: r.value(ctx), rule: `[${r.id}] ${r.message(ctx)}` }));
}

export interface TimingOptions {
  /**
   * Skip the checks. Exists only for the verifier's negative control, which must be
   * able to deploy a config the kit would refuse. @default false
   */
  readonly unsafeSkipChecks?: boolean;
}

/** Each service's plan and broken rules. */
function planServices(config: ZerodropConfig) {
  return config.services.map((service, index) => {
    const plan = derivePlan(service, config);
    return { service, plan, issues: timingIssues(service, config, plan, { service: `services[${index}]`, serviceName: service.name }) };
  });
}

/** Every timing rule every service and Traefik break, as config issues (empty when the config is zero-downtime). */
export function timingConfigIssues(config: ZerodropConfig): ConfigIssue[] {
  return [...planServices(config).flatMap((s) => s.issues), ...traefikTimingIssues(config)];
}

/**
 * Allowed but weaker timings, as warnings with the reason. A shutdown_delay shorter than the
 * routing window signals the app while Traefik may still route to it: the drain covers that for
 * shared Traefik services, but in a rollout that changes Traefik's health-check the old instances
 * are alone behind their router, all marked DOWN at once (their /readyz says 503), and that router
 * answers 503 until Traefik's next catalog load drops it.
 */
export function timingWarnings(config: ZerodropConfig): string[] {
  return planServices(config).flatMap(({ service, plan }, index) => {
    const need = plan.routingWindowMs + config.timing.marginMs;
    if (plan.sources.shutdownDelay === 'derived' || plan.shutdownDelayMs >= need || !traefikHealthChecks(service, config.traefik)) return [];
    return [
      `services[${index}].shutdownDelay ${d(plan.shutdownDelayMs)} < Traefik routing window ${d(plan.routingWindowMs)} + timing.margin ${d(config.timing.marginMs)} = ${d(need)}: ` +
        `"${service.name}" is signalled while Traefik may still route to it, and a rollout that changes Traefik's health-check answers 503 ` +
        `until Traefik forgets the old instances — remove shutdownDelay (it is derived as ${d(need)}) or raise it to ≥ ${d(need)}`,
    ];
  });
}

/** cdktf's and Terraform's own time around the applies (init, providers starting, state lock, refresh, plan): an allowance, not a measurement. */
export const TERRAFORM_RUN_ALLOWANCE_MS = 5 * 60_000;

/**
 * How long one `cdktf deploy` of `stacks` may run before the kit gives up on it: the stacks apply
 * one after another; the app stack's jobs roll out in parallel, so its slowest apply timeout
 * counts; the edge stack waits for Traefik's job within its own apply timeout (a rolling update).
 */
export function deployRunTimeoutMs(plans: Iterable<Pick<TimingPlan, 'applyTimeoutMs'>>, stacks: readonly string[], edgePlan: Pick<TraefikPlan, 'applyTimeoutMs'>): number {
  const app = stacks.includes('app') ? Math.max(0, ...[...plans].map((p) => p.applyTimeoutMs)) : 0;
  const edge = stacks.includes('edge') ? edgePlan.applyTimeoutMs : 0;
  return app + edge + TERRAFORM_RUN_ALLOWANCE_MS;
}

/**
 * How long `npm run rollback` waits for the deployment its revert starts. A revert registers an
 * earlier job version as a new one, so Nomad rolls it out by canary like any deploy (the same
 * waves and progress deadline; for a gated service the gate's deadline too): it gets what
 * `terraform apply` gets for a rollout, the service's apply timeout.
 */
export function rollbackWaitMs(plan: Pick<TimingPlan, 'applyTimeoutMs'>): number {
  return plan.applyTimeoutMs;
}

/** Plans every service, or throws one ConfigError naming every broken rule in every service. */
export function timingPlans(config: ZerodropConfig, opts: TimingOptions = {}): Map<string, TimingPlan> {
  const planned = planServices(config);
  const issues = [...planned.flatMap((s) => s.issues), ...traefikTimingIssues(config)];
  if (issues.length > 0 && !opts.unsafeSkipChecks) throw new ConfigError(issues);
  return new Map(planned.map((s) => [s.service.name, s.plan]));
}
