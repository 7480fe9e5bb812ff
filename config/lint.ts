import { formatDuration as d } from './duration.ts';
import { traefikHealthChecks, type ZerodropConfig } from './schema.ts';

/**
 * Settings that are allowed but weaken a rollout (health checks, capacity): printed as warnings at synth
 * (`zerodrop: WARNING …`), each with the reason. What cannot be zero-downtime is refused instead
 * (schema and timing rules); what the config cannot show (a liveness check that calls a
 * dependency, a readiness that keeps answering 200 after SIGTERM) is the app contract (app/README.md).
 */
export function configWarnings(config: Pick<ZerodropConfig, 'services' | 'traefik'>): string[] {
  const out: string[] = [];
  config.services.forEach((s, i) => {
    const at = `services[${i}]`;
    if (!traefikHealthChecks(s, config.traefik)) {
      out.push(
        `${at} "${s.name}": Traefik does not health-check it (${config.traefik.healthCheck.enabled ? 'readiness.servedOnRoutedPort: false' : 'traefik.healthCheck.enabled: false'}) — ` +
          `an instance that stops answering on the routed port keeps its share of traffic until Consul's check on the internal port fails` +
          (s.promotion === 'gated' ? `, and the promotion gate cannot see a canary DOWN in Traefik: it relies on the smoke requests alone` : ''),
      );
    }
    if (s.canary < s.count) {
      const floor = s.count - Math.min(s.maxParallel, s.count - s.canary);
      out.push(
        `${at}.canary ${s.canary} < count ${s.count}: after promotion Nomad stops the old instances the canaries replace and the next maxParallel (${s.maxParallel}) at once, ` +
          `so "${s.name}" runs on ${floor} instance(s) until the replacements are healthy — one slow health-check answer there is a 503 for every request. ` +
          `Remove canary (it defaults to count) to keep capacity through the rollout`,
      );
    }
    if (/(db|database|deep|depend|upstream|redis|postgres|mysql|kafka)/i.test(s.liveness.path)) {
      out.push(
        `${at}.liveness.path "${s.liveness.path}" looks like a dependency check — liveness must only say "this process is not stuck": ` +
          `when a shared dependency fails, a liveness check that calls it makes Nomad restart every instance at once`,
      );
    }
    if (s.liveness.timeoutMs === s.liveness.intervalMs) {
      out.push(
        `${at}.liveness.timeout ${d(s.liveness.timeoutMs)} = liveness.interval: a slow answer runs into the next check, and under load ` +
          `${s.liveness.failures} slow answers in a row restart a busy but healthy instance — keep the timeout below the interval`,
      );
    }
  });
  return out;
}
