#!/usr/bin/env tsx
/**
 * `npm run plan [-- --config FILE]`: prints every duration the timing model derives
 * (or checks) for each service, with where it comes from, without synthesizing.
 * Exit 1 with the refusal when the config cannot be zero-downtime.
 */
import { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { formatDuration as d } from '../config/duration.ts';
import { loadConfig } from '../config/load.ts';
import { DERIVATIONS, timingPlans, type TimingPlan } from '../timing/model.ts';

export function planTable(name: string, plan: TimingPlan): string {
  const how = (key: keyof typeof DERIVATIONS) => (plan.sources[key] === 'derived' ? `derived: ${DERIVATIONS[key]}` : 'pinned');
  const rows: [string, string, string][] = [
    ['routing window', d(plan.routingWindowMs), plan.routingWindowWhy],
    ['shutdown_delay', d(plan.shutdownDelayMs), how('shutdownDelay')],
    ['drain grace (DRAIN_GRACE_MS)', d(plan.drainGraceMs), how('drainGrace')],
    ['servable window', d(plan.servableWindowMs), 'shutdown_delay + drain grace'],
    ['kill_timeout', d(plan.killTimeoutMs), how('killTimeout')],
    ['min_healthy_time', d(plan.minHealthyTimeMs), how('minHealthyTime')],
    ['healthy_deadline', d(plan.healthyDeadlineMs), how('healthyDeadline')],
    ['progress_deadline', d(plan.progressDeadlineMs), how('progressDeadline')],
    ['apply timeout (detach=false)', d(plan.applyTimeoutMs), `${how('applyTimeout')} (${plan.waves} waves)`],
    ['liveness check_restart grace', d(plan.livenessGraceMs), how('livenessGrace')],
    ...(plan.gateDeadlineMs === undefined ? [] : [['promotion gate deadline', d(plan.gateDeadlineMs), how('gateDeadline')] as [string, string, string]]),
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return [`service ${name}`, ...rows.map(([k, v, why]) => `  ${k.padEnd(w0)}  ${v.padStart(w1)}  ${why}`)].join('\n');
}

export function main(argv = process.argv): number {
  const opts = new Command('plan')
    .option('-c, --config <file>', 'config file (env ZERODROP_CONFIG)', process.env.ZERODROP_CONFIG || 'zerodrop.yaml')
    .parse(argv)
    .opts<{ config: string }>();
  try {
    const plans = timingPlans(loadConfig(opts.config));
    console.log([...plans].map(([name, plan]) => planTable(name, plan)).join('\n\n'));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
