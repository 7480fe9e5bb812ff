/**
 * The gate's decision table: what to do next, from what Nomad, Traefik, the smoke requests and
 * the analysis say. Pure; the runner (gate/run.ts) gathers the state, asks, and acts.
 */

export interface GateState {
  /** The deployment's status in Nomad, or 'none' when the job has no deployment to gate. */
  readonly deployment: 'none' | 'running' | 'paused' | 'pending' | 'blocked' | 'successful' | 'failed' | 'cancelled' | 'unblocking' | (string & {});
  /** Every desired canary placed and healthy in Nomad (its checks passed for min_healthy_time). */
  readonly canariesHealthy: boolean;
  /** A canary Nomad marked unhealthy: Nomad fails the deployment itself; promotion would be refused. */
  readonly canaryUnhealthy: boolean;
  /** Already promoted (by an earlier gate run or by hand). */
  readonly promoted: boolean;
  /** Traefik reports every canary server UP, steadily (for `traefikUpSteadyMs` of timing/model.ts). */
  readonly traefikUp: boolean;
  readonly smoke: 'pending' | 'pass' | 'fail';
  readonly analysis: 'pending' | 'pass' | 'fail' | 'inconclusive';
  readonly deadlinePassed: boolean;
}

export type GateAction =
  | { readonly kind: 'wait'; readonly for: string }
  | { readonly kind: 'smoke' }
  | { readonly kind: 'analyse' }
  | { readonly kind: 'promote' }
  | { readonly kind: 'fail'; readonly why: string }
  /** Nothing (more) for the gate to do: the deployment ended, or is not the gate's to decide. */
  | { readonly kind: 'done'; readonly why: string };

const TERMINAL = ['successful', 'failed', 'cancelled'];

export function decide(s: GateState): GateAction {
  if (s.deployment === 'none') return { kind: 'done', why: 'the job has no deployment' };
  if (TERMINAL.includes(s.deployment)) return { kind: 'done', why: `the deployment is ${s.deployment}` };
  if (s.promoted) return { kind: 'done', why: 'the deployment is already promoted' };
  if (s.smoke === 'fail') return { kind: 'fail', why: 'smoke' };
  if (s.analysis === 'fail' || s.analysis === 'inconclusive') return { kind: 'fail', why: `analysis ${s.analysis}` };
  // Nomad fails a deployment with an unhealthy canary on its own (progress deadline) and refuses to promote it.
  if (s.canaryUnhealthy) return s.deadlinePassed ? { kind: 'fail', why: 'deadline' } : { kind: 'wait', for: 'Nomad to fail the deployment (a canary is unhealthy)' };
  if (s.deadlinePassed) return { kind: 'fail', why: 'deadline' };
  if (s.deployment !== 'running') return { kind: 'wait', for: `the deployment to run (it is ${s.deployment})` };
  if (!s.canariesHealthy) return { kind: 'wait', for: 'the canaries to be healthy in Nomad' };
  if (!s.traefikUp) return { kind: 'wait', for: 'Traefik to report every canary server UP' };
  if (s.smoke === 'pending') return { kind: 'smoke' };
  if (s.analysis === 'pending') return { kind: 'analyse' };
  return { kind: 'promote' };
}
