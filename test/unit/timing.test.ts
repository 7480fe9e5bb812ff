import { describe, expect, test } from 'vitest';
import { ConfigError, resolveConfig } from '../../config/index.ts';
import { deployRunTimeoutMs, derivePlan, gateSmokeAllowanceMs, routingWindow, TIMING_RULES, timingIssues, timingConfigIssues, timingPlans, timingWarnings, traefikPlan, type TimingService, type TimingSettings } from '../../timing/model.ts';
import { minimalProps, NO_ENV } from './fixtures.ts';

const s = (n: number) => n * 1000;

/**
 * The configuration that measured 100 % in the research this kit started from (refresh 2 s,
 * health-check 1 s, retry 4, drain 6 s, kill_timeout 15 s), as the timing model reads it:
 * the service, and the rest of the resolved config.
 */
const RESEARCH_100: TimingService = {
  readiness: { intervalMs: s(1) },
  liveness: {},
  shutdownDelayMs: 0,
  drainGraceMs: s(6),
  longestRequestMs: s(1),
  warmupMs: s(12),
  killTimeoutMs: s(15),
  count: 2,
  canary: 1,
  maxParallel: 1,
  promotion: 'auto',
};
const RESEARCH_100_CONFIG: TimingSettings = {
  traefik: { discovery: { refreshIntervalMs: s(2), watch: false, throttleMs: s(2) }, healthCheck: { enabled: true, intervalMs: s(1), timeoutMs: s(1) } },
  timing: { marginMs: s(2) },
  cluster: { nomad: { maxKillTimeoutMs: s(30) } },
};
/** The research config with Traefik polling the catalog every `refreshIntervalMs`. */
const pollingEvery = (refreshIntervalMs: number): TimingSettings => ({
  ...RESEARCH_100_CONFIG,
  traefik: { ...RESEARCH_100_CONFIG.traefik, discovery: { ...RESEARCH_100_CONFIG.traefik.discovery, refreshIntervalMs } },
});
/** promotion: gated with an analysis window, an optional pinned gate deadline and `smokeRequests` smoke requests. */
const gated = (windowMs: number, deadlineMs?: number, smokeRequests = 1): Partial<TimingService> => ({
  promotion: 'gated',
  gate: { smoke: Array.from({ length: smokeRequests }, () => ({ path: '/' })), analysis: { windowMs }, ...(deadlineMs === undefined ? {} : { deadlineMs }) },
});

const paths = { service: 'services[0]', serviceName: 'api' };
const check = (overrides: Partial<TimingService>, config = RESEARCH_100_CONFIG) => {
  const service = { ...RESEARCH_100, ...overrides };
  return timingIssues(service, config, derivePlan(service, config), paths);
};
const ruleIds = (overrides: Partial<TimingService>, config = RESEARCH_100_CONFIG) => check(overrides, config).map((i) => i.rule.match(/^\[([^\]]+)\]/)?.[1]);

describe('routingWindow()', () => {
  test('polling: refresh interval + provider throttle', () => {
    expect(routingWindow({ refreshIntervalMs: s(15), throttleMs: s(2), watch: false })).toEqual({ ms: s(17), why: 'traefik.discovery.refreshInterval 15s + traefik.discovery.throttle 2s' });
  });
  test('watch: throttle + a delivery allowance, whatever the refresh interval', () => {
    expect(routingWindow({ refreshIntervalMs: s(15), throttleMs: s(2), watch: true }).ms).toBe(s(3));
  });
});

describe('timing rules on the settings that measured 100 % and the ones that dropped', () => {
  // Rows of that research's measured table: what reached 100 % must be accepted, what dropped must be refused.
  test.each<[string, Partial<TimingService>, TimingSettings, string[]]>([
    ['refresh 2s + health-check 1s + drain 6s + kill_timeout 15s (measured 100 %)', {}, RESEARCH_100_CONFIG, []],
    ['refresh 15s + drain 5s (measured 98.6 %: refresh outlived the drain)', { drainGraceMs: s(5) }, pollingEvery(s(15)), ['servable-window-covers-routing-window']],
    ['refresh 15s + shutdown_delay 6s, app without drain (measured 91.1 %)', { drainGraceMs: 0, shutdownDelayMs: s(6) }, pollingEvery(s(15)), ['servable-window-covers-routing-window']],
    ['refresh 15s + no drain at all (measured 97.7 %)', { drainGraceMs: 0 }, pollingEvery(s(15)), ['servable-window-covers-routing-window']],
  ])('%s', (_name, overrides, config, expected) => {
    expect(ruleIds({ ...overrides, minHealthyTimeMs: undefined }, config)).toEqual(expected);
  });

  test('refuses drain 1s + no shutdown delay + refresh 15s with a message naming every field and number', () => {
    expect(check({ drainGraceMs: s(1) }, pollingEvery(s(15)))[0]).toEqual({
      path: 'services[0].drainGrace',
      value: '1s',
      rule:
        '[servable-window-covers-routing-window] services[0].drainGrace 1s + services[0].shutdownDelay 0s = 1s < Traefik routing window 17s ' +
        '(traefik.discovery.refreshInterval 15s + traefik.discovery.throttle 2s) + timing.margin 2s = 19s: Traefik would still route to "api" after it stopped serving — ' +
        'raise drainGrace to ≥ 19s, or shutdownDelay to ≥ 18s, or lower traefik.discovery.refreshInterval (or set traefik.discovery.watch: true)',
    });
  });
});

describe('each rule, on both sides of its limit', () => {
  // [rule, inputs exactly at the limit (accepted), inputs one millisecond past it (refused)]
  const eitherSide: [string, Partial<TimingService>, Partial<TimingService>][] = [
    ['servable-window-covers-routing-window', { drainGraceMs: s(6) }, { drainGraceMs: s(6) - 1 }],
    ['servable-window-covers-routing-window', { drainGraceMs: s(2), shutdownDelayMs: s(4) }, { drainGraceMs: s(2), shutdownDelayMs: s(4) - 1 }],
    ['kill-timeout-covers-drain', { killTimeoutMs: s(9) }, { killTimeoutMs: s(9) - 1 }],
    ['kill-timeout-within-max-kill-timeout', { killTimeoutMs: s(30) }, { killTimeoutMs: s(30) + 1 }],
    ['min-healthy-time-covers-discovery', { minHealthyTimeMs: s(6) }, { minHealthyTimeMs: s(6) - 1 }],
    ['healthy-deadline-covers-warmup', { healthyDeadlineMs: s(20), minHealthyTimeMs: s(6) }, { healthyDeadlineMs: s(20) - 1, minHealthyTimeMs: s(6), progressDeadlineMs: s(60) }],
    ['progress-deadline-after-healthy-deadline', { healthyDeadlineMs: s(30), progressDeadlineMs: s(30) + 1 }, { healthyDeadlineMs: s(30), progressDeadlineMs: s(30) }],
    ['apply-timeout-covers-rollout', { progressDeadlineMs: s(60), applyTimeoutMs: s(120) }, { progressDeadlineMs: s(60), applyTimeoutMs: s(120) - 1 }],
    ['liveness-grace-covers-warmup', { liveness: { graceMs: s(12) } }, { liveness: { graceMs: s(12) - 1 } }],
    // gated: healthy_deadline 21s + routing window 4s + window 30s + margin 2s
    ['gate-deadline-covers-analysis', gated(s(30), s(57)), gated(s(30), s(57) - 1)],
    // gated: the apply also waits for the gate, 2 waves × 60s + gate deadline 100s
    ['apply-timeout-covers-rollout', { progressDeadlineMs: s(60), ...gated(s(30), s(100)), applyTimeoutMs: s(220) }, { progressDeadlineMs: s(60), ...gated(s(30), s(100)), applyTimeoutMs: s(220) - 1 }],
  ];
  test.each(eitherSide)('%s', (rule, accepted, refused) => {
    expect(ruleIds(accepted)).not.toContain(rule);
    expect(ruleIds(refused)).toContain(rule);
  });

  test('every rule of the model has a row above, and every row names a rule of the model', () => {
    expect(new Set(eitherSide.map(([rule]) => rule))).toEqual(new Set(TIMING_RULES.map((r) => r.id)));
  });
});

describe('derivePlan() for a gated service', () => {
  const plan = derivePlan({ ...RESEARCH_100, applyTimeoutMs: undefined, ...gated(s(30)) }, RESEARCH_100_CONFIG);
  test('gate deadline: healthy_deadline + routing window + 30s smoke allowance + window + margin', () => {
    expect(plan.healthyDeadlineMs).toBe(s(21));
    expect(plan.gateDeadlineMs).toBe(s(21 + 4 + 30 + 30 + 2));
    expect(plan.sources.gateDeadline).toBe('derived');
  });
  test('apply timeout also covers the gate: 2 waves × progress_deadline + gate deadline + 1m, rounded up to a minute', () => {
    expect(plan.applyTimeoutMs).toBe(Math.ceil((2 * plan.progressDeadlineMs + plan.gateDeadlineMs! + s(60)) / s(60)) * s(60));
  });
  test('auto promotion has no gate deadline and an unchanged apply timeout', () => {
    const auto = derivePlan({ ...RESEARCH_100, applyTimeoutMs: undefined }, RESEARCH_100_CONFIG);
    expect(auto.gateDeadlineMs).toBeUndefined();
    expect(auto.applyTimeoutMs).toBe(Math.ceil((2 * auto.progressDeadlineMs + s(60)) / s(60)) * s(60));
  });
});

describe('derivePlan()', () => {
  const derived = derivePlan({ ...RESEARCH_100, drainGraceMs: undefined, killTimeoutMs: undefined }, RESEARCH_100_CONFIG);

  // Derived values satisfy every rule by construction; these pin the formulas docs/timing.md quotes.
  test.each([
    ['drain grace: routing window + margin - shutdown delay', derived.drainGraceMs, s(6)],
    ['kill_timeout: drain + longest request + margin', derived.killTimeoutMs, s(9)],
    ['min_healthy_time: routing window + margin', derived.minHealthyTimeMs, s(6)],
    ['healthy_deadline: warmup + min_healthy_time + readiness interval + margin', derived.healthyDeadlineMs, s(21)],
    ['progress_deadline: healthy_deadline + 10s', derived.progressDeadlineMs, s(31)],
    ['waves: canaries, then the rest by max_parallel', derived.waves, 2],
    ['apply timeout: waves × progress_deadline + 1m, rounded up to a minute', derived.applyTimeoutMs, s(180)],
    ['liveness grace: warmup + margin', derived.livenessGraceMs, s(14)],
  ])('%s', (_name, actual, expected) => expect(actual).toBe(expected));

  test('unpinned, shutdown_delay covers the routing window and the app need not drain', () => {
    const plan = derivePlan({ ...RESEARCH_100, shutdownDelayMs: undefined, drainGraceMs: undefined, killTimeoutMs: undefined }, RESEARCH_100_CONFIG);
    expect(plan).toMatchObject({ shutdownDelayMs: s(6), drainGraceMs: 0, servableWindowMs: s(6), killTimeoutMs: s(3) });
    expect(plan.sources.shutdownDelay).toBe('derived');
    // a pinned drain grace does not shorten it: the app is signalled only once Traefik forgot it
    expect(derivePlan({ ...RESEARCH_100, shutdownDelayMs: undefined, drainGraceMs: s(10) }, RESEARCH_100_CONFIG).shutdownDelayMs).toBe(s(6));
  });

  test('a shutdown delay shortens the derived drain grace', () => {
    expect(derivePlan({ ...RESEARCH_100, drainGraceMs: undefined, shutdownDelayMs: s(4) }, RESEARCH_100_CONFIG).drainGraceMs).toBe(s(2));
  });

  test('records which values were pinned', () => {
    expect(derived.sources).toMatchObject({ drainGrace: 'derived', killTimeout: 'derived' });
    expect(derivePlan(RESEARCH_100, RESEARCH_100_CONFIG).sources).toMatchObject({ drainGrace: 'pinned', killTimeout: 'pinned' });
  });
});

describe('timingPlans()', () => {
  test('derives a zero-downtime plan for the defaults', () => {
    const plans = timingPlans(resolveConfig(minimalProps(), { env: NO_ENV }));
    expect(plans.get('api')).toMatchObject({ routingWindowMs: s(4), shutdownDelayMs: s(6), drainGraceMs: 0, killTimeoutMs: s(3) });
  });

  test('refuses a config with a long drain that Nomad would cap, naming max kill timeout', () => {
    const config = resolveConfig(minimalProps({ drainGrace: '25s', longestRequest: '5s' }), { env: NO_ENV });
    expect(() => timingPlans(config)).toThrow(/services\[0\]\.killTimeout: "32s" — \[kill-timeout-within-max-kill-timeout\] .* > cluster\.nomad\.maxKillTimeout 30s/);
  });

  test('reports every broken rule of every service in one ConfigError', () => {
    const props = minimalProps({ drainGrace: '1s', killTimeout: '1s', shutdownDelay: '0s' });
    props.traefik = { discovery: { refreshInterval: '15s' } };
    try {
      timingPlans(resolveConfig(props, { env: NO_ENV }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['services[0].drainGrace', 'services[0].killTimeout']);
    }
  });

  test('unsafeSkipChecks returns the plan of a refused config (for the negative control only)', () => {
    const props = minimalProps({ drainGrace: '0s', shutdownDelay: '0s' });
    props.traefik = { discovery: { refreshInterval: '15s' } };
    expect(timingPlans(resolveConfig(props, { env: NO_ENV }), { unsafeSkipChecks: true }).get('api')?.drainGraceMs).toBe(0);
  });
});

describe('deployRunTimeoutMs(): one cdktf run outwaits every apply it contains', () => {
  const m = (n: number) => n * 60_000;
  const edge = { applyTimeoutMs: m(13) };
  test.each([
    ['app: the slowest service apply + the Terraform allowance', [m(2), m(7)], ['app'], m(7) + m(5)],
    ['edge: the edge job\'s own apply timeout (its rolling update) + the allowance', [m(2)], ['edge'], m(13) + m(5)],
    ['both stacks, one after the other', [m(3)], ['edge', 'app'], m(3) + m(13) + m(5)],
  ])('%s', (_name, applies, stacks, expected) => {
    expect(deployRunTimeoutMs(applies.map((applyTimeoutMs) => ({ applyTimeoutMs })), stacks, edge)).toBe(expected);
  });
  test('a gated service with a long analysis window lengthens the run (it was a fixed 20 min)', () => {
    const plan = derivePlan({ ...RESEARCH_100, ...gated(m(15)) }, RESEARCH_100_CONFIG);
    expect(deployRunTimeoutMs([plan], ['edge', 'app'], edge)).toBeGreaterThan(m(20));
  });
});

describe('timingWarnings()', () => {
  const warnings = (service: object, traefik: object = {}) => timingWarnings(resolveConfig({ ...minimalProps(service), traefik }, { env: NO_ENV }));
  test('a pinned shutdown_delay shorter than the routing window + margin is warned, naming the 503 and the fix', () => {
    expect(warnings({ shutdownDelay: '0s', drainGrace: '6s' })).toEqual([
      'services[0].shutdownDelay 0s < Traefik routing window 4s + timing.margin 2s = 6s: "api" is signalled while Traefik may still route to it, and a rollout that changes ' +
        "Traefik's health-check answers 503 until Traefik forgets the old instances — remove shutdownDelay (it is derived as 6s) or raise it to ≥ 6s",
    ]);
  });
  test('not warned: derived, long enough, or no Traefik health-check to mark the instances DOWN', () => {
    expect(warnings({})).toEqual([]);
    expect(warnings({ shutdownDelay: '6s' })).toEqual([]);
    expect(warnings({ shutdownDelay: '0s', drainGrace: '6s' }, { healthCheck: { enabled: false } })).toEqual([]);
  });
});

describe('traefikPlan()', () => {
  const config = (traefik = {}, service = {}, cluster = {}) =>
    resolveConfig({ ...minimalProps(service), traefik, cluster: { ...minimalProps().cluster, ...cluster } }, { env: NO_ENV });

  test("Traefik's kill_timeout outlasts its accept grace plus its graceTimeOut, so Nomad never cuts its drain", () => {
    const plan = traefikPlan(config());
    expect(plan).toMatchObject({ acceptGraceMs: s(10), graceTimeOutMs: s(1) + s(2), killTimeoutMs: s(10) + s(3) + s(2), shutdownDelayMs: 0 });
  });

  test('graceTimeOut follows the longest request of any service', () => {
    expect(traefikPlan(config({}, { longestRequest: '7s' })).graceTimeOutMs).toBe(s(9));
  });

  test('min_healthy_time covers the routing window or the front load balancer window, whichever is longer', () => {
    // default: refresh 2s + throttle 2s = 4s < acceptGrace 10s → 10s + margin 2s
    expect(traefikPlan(config()).minHealthyTimeMs).toBe(s(12));
    // refresh 20s + throttle 2s = 22s > acceptGrace 10s → 22s + 2s
    expect(traefikPlan(config({ discovery: { refreshInterval: '20s' } })).minHealthyTimeMs).toBe(s(24));
    const plan = traefikPlan(config());
    expect(plan.healthyDeadlineMs).toBeGreaterThan(plan.minHealthyTimeMs);
    expect(plan.progressDeadlineMs).toBeGreaterThan(plan.healthyDeadlineMs);
  });

  // Nomad before 1.11 rolls a system job on a timer (max_parallel + stagger), with no health gate:
  // the wait before the next node must cover this node's whole swap.
  test('the stagger between nodes covers the old Traefik\'s stop and the new one\'s start and min_healthy_time', () => {
    const docker = traefikPlan(config());
    // kill_timeout 15s + (min_healthy_time 12s + image pull allowance 60s)
    expect(docker).toMatchObject({ killTimeoutMs: s(15), healthyDeadlineMs: s(72), staggerMs: s(87) });
    // a binary on the node starts in seconds: 15s + (12s + 10s)
    const raw = traefikPlan(config({ driver: { type: 'raw_exec', command: '/bin/true' } }));
    expect(raw).toMatchObject({ healthyDeadlineMs: s(22), staggerMs: s(37) });
    // the edge apply follows one stagger per node, 20 nodes
    expect(raw.applyTimeoutMs).toBe(s(37) * 20 + s(22));
  });

  test("refuses an accept grace that would push Traefik's kill_timeout past max_kill_timeout, naming traefik.acceptGrace", () => {
    // 25s + (1s + 2s) + 2s = 30s: the limit itself is accepted
    expect(timingConfigIssues(config({ acceptGrace: '25s' }))).toEqual([]);
    expect(timingConfigIssues(config({ acceptGrace: '26s' }))).toEqual([
      expect.objectContaining({ path: 'traefik.acceptGrace', rule: expect.stringContaining('shorten traefik.acceptGrace to ≤ 25s') }),
    ]);
    expect(() => timingPlans(config({ acceptGrace: '26s' }))).toThrow(/traefik-kill-timeout-within-max-kill-timeout/);
  });

  test('holds the accept grace against a declared front check: 5 s × 2 + 3 s + margin 2 s = 15 s', () => {
    const front = { interval: '5s', timeout: '3s', unhealthyThreshold: 2 };
    expect(timingConfigIssues(config({ acceptGrace: '15s', frontCheck: front }))).toEqual([]);
    expect(timingConfigIssues(config({ acceptGrace: '14s', frontCheck: front }))).toEqual([
      expect.objectContaining({
        path: 'traefik.acceptGrace',
        value: '14s',
        rule: expect.stringContaining('traefik.frontCheck.interval 5s × unhealthyThreshold 2 + timeout 3s + timing.margin 2s = 15s'),
      }),
    ]);
    // no front declared: nothing to hold the same grace against
    expect(timingConfigIssues(config({ acceptGrace: '14s' }))).toEqual([]);
    // a front that takes a node out after one failed 1 s check
    expect(timingConfigIssues(config({ acceptGrace: '3s', frontCheck: { interval: '1s', timeout: '1s', unhealthyThreshold: 1 } }))).toEqual([
      expect.objectContaining({ rule: expect.stringContaining('raise traefik.acceptGrace to ≥ 4s') }),
    ]);
  });
});

describe('gateSmokeAllowanceMs(): the gate waits for Traefik and its smoke requests', () => {
  test('at least 30 s; more when Traefik checks slowly or there are many smoke requests', () => {
    expect(gateSmokeAllowanceMs({ healthCheck: { enabled: true, intervalMs: 1000, timeoutMs: 1000 } }, 2)).toBe(30_000);
    // two rounds of a 10 s + 5 s check = 30 s to see it UP, then 3 requests × 5 s
    expect(gateSmokeAllowanceMs({ healthCheck: { enabled: true, intervalMs: 10_000, timeoutMs: 5_000 } }, 3)).toBe(45_000);
  });
  test('a slow Traefik health-check lengthens the derived gate deadline by the same amount', () => {
    // 3 smoke requests: 30 s with the research's 1 s + 1 s check, 45 s with a 10 s + 5 s check (above)
    const service = { ...RESEARCH_100, applyTimeoutMs: undefined, ...gated(s(30), undefined, 3) };
    const slowCheck = { ...RESEARCH_100_CONFIG, traefik: { ...RESEARCH_100_CONFIG.traefik, healthCheck: { enabled: true, intervalMs: s(10), timeoutMs: s(5) } } };
    const base = derivePlan(service, RESEARCH_100_CONFIG);
    const slow = derivePlan(service, slowCheck);
    expect(slow.gateDeadlineMs! - base.gateDeadlineMs!).toBe(s(15));
  });
});
