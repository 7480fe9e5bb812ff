import { HttpError } from '../lib/http.ts';
import { deploymentEnded, deploymentReverted, nomadGet, type NomadClientOptions, type NomadDeployment } from '../lib/nomad.ts';
import { sleep } from '../lib/wait.ts';
import type { DeployEvent, DeployEventKind } from './types.ts';

/** Transient errors in a row (500 ms apart) before the watch gives up and says why. */
export const MAX_CONSECUTIVE_FAILURES = 20;
/** After a deploy command exits with no new deployment of the job: how long to wait for one the scheduler may still be creating. */
export const NO_DEPLOYMENT_GRACE_MS = 2_000;

/**
 * Follows every Nomad deployment of a job that starts after the baseline version (a
 * deploy command may submit several), through the HTTP API with blocking queries, and
 * turns what it sees into timestamped events for the verifier's timeline. Bounded by a
 * deadline and an AbortSignal; every request has its own timeout.
 */

/** Deployment events are the verifier's DeployEvent (verify/types.ts); the watcher emits every kind but the deploy command's exit, which run.ts records. */
export type WatchEvent = DeployEvent & {
  kind: Exclude<DeployEventKind, 'deploy-cmd-exit'>;
};

export interface WatchOptions extends NomadClientOptions {
  readonly jobId: string;
  /** Job version running before the deploy; a deployment for a later version is the one to follow. */
  readonly baselineJobVersion: number;
  readonly now: () => number;
  readonly onEvent?: (e: WatchEvent) => void;
  readonly signal?: AbortSignal;
  /** Transient errors in a row before the watch throws with the last one. @default MAX_CONSECUTIVE_FAILURES */
  readonly maxConsecutiveFailures?: number;
  /** Give up (status "timeout") after this long. */
  readonly timeoutMs: number;
  /**
   * Settles when the deploy command has exited. The watch ends once it has, at least one
   * deployment was seen, every deployment seen has ended, and every old allocation seen stopping
   * has stopped (a deployment ends at promotion; the old instances are deregistered, wait their
   * shutdown_delay and drain after it, and that cut-over belongs to the deploy, not to the tail);
   * a later deployment (a second deploy in the same command) is followed too. @default - already settled: ends with the first deployments to end
   */
  readonly deployDone?: Promise<unknown>;
}

export interface FollowedDeployment {
  readonly id: string;
  readonly jobVersion: number;
  /** running, successful, failed, cancelled, … as Nomad says at the end of the watch. */
  readonly status: string;
  readonly statusDescription: string;
}

export interface WatchResult {
  /**
   * 'failed' when any deployment failed; else the last deployment's end; 'none' when the command
   * exited without a new job version; 'timeout'/'aborted' when one had not ended.
   */
  readonly status: 'successful' | 'failed' | 'cancelled' | 'none' | 'timeout' | 'aborted';
  /** The last deployment (by creation). */
  readonly deploymentId?: string;
  readonly jobVersion?: number;
  /** Every deployment followed, in creation order. */
  readonly deployments?: FollowedDeployment[];
  readonly statusDescription?: string;
  /**
   * 'rolling': a system job on Nomad before 1.11, which has no deployments: the scheduler replaced
   * its allocations node by node (max_parallel + stagger), and 'successful' means every allocation
   * of the job runs the new version and every old one seen running has stopped. @default - 'deployment'
   */
  readonly kind?: 'deployment' | 'rolling';
  readonly events: WatchEvent[];
}

interface Deployment extends NomadDeployment {
  CreateIndex: number;
  TaskGroups: Record<string, { Promoted: boolean; DesiredCanaries: number; PlacedCanaries: string[] | null; HealthyAllocs: number }>;
}

interface Allocation {
  ID: string;
  NodeID?: string;
  JobVersion: number;
  DeploymentID: string;
  ClientStatus: string;
  DesiredStatus: string;
  DeploymentStatus?: { Healthy: boolean | null; Canary: boolean } | null;
}


/**
 * The outcome of several deployments once all have ended: 'failed' when any failed, else
 * the last one's (a deployment cancelled by a newer job version is not a failure when the
 * newer one succeeds). undefined while none was seen or one is still running.
 */
export function overallStatus(list: ReadonlyArray<Pick<Deployment, 'Status' | 'CreateIndex'>>): 'successful' | 'failed' | 'cancelled' | undefined {
  if (list.length === 0 || list.some((d) => !deploymentEnded(d))) return undefined;
  if (list.some((d) => d.Status === 'failed')) return 'failed';
  return [...list].sort((a, b) => a.CreateIndex - b.CreateIndex)[list.length - 1]!.Status as 'successful' | 'cancelled';
}

/** Nomad 1.11.0 brought deployments to system jobs; before it they roll on a timer (max_parallel + stagger). */
export function hasSystemDeployments(nomadVersion: string): boolean {
  const [major = 0, minor = 0] = nomadVersion.split(/[.+-]/).map(Number);
  return major > 1 || (major === 1 && minor >= 11);
}

export async function watchDeployment(opts: WatchOptions): Promise<WatchResult> {
  const events: WatchEvent[] = [];
  const emit = (kind: WatchEvent['kind'], detail?: string) => {
    const e: WatchEvent = { atMs: opts.now(), kind, ...(detail ? { detail } : {}) };
    events.push(e);
    opts.onEvent?.(e);
  };
  const deadline = Date.now() + opts.timeoutMs;
  const local = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
  const job = encodeURIComponent(opts.jobId);

  let followed: Deployment | undefined;
  /** job version of a system job's rolling update without a deployment (Nomad before 1.11) */
  let rolling: number | undefined;
  let latest: Allocation[] = [];
  const all = new Map<string, Deployment>();
  const ended = new Set<string>();
  const promotedIds = new Set<string>();
  let cmdDone = opts.deployDone === undefined;
  let kick = new AbortController();
  void opts.deployDone?.then(() => {
    cmdDone = true;
    kick.abort();
  });
  const runningVersion = new Map<string, number>();
  const seen = { running: new Set<string>(), placed: new Set<string>(), healthy: new Set<string>(), unhealthy: new Set<string>(), stopping: new Set<string>(), stopped: new Set<string>() };

  // A 4xx (a token without read-job, a job that is not there) will not heal: it surfaces at once,
  // with the URL and status. Anything else (a refused connection, a 5xx, a timeout) is retried
  // every 500 ms, and surfaces once it has failed MAX_CONSECUTIVE_FAILURES times in a row.
  let failures = 0;
  const failed = (err: unknown): void => {
    failures += 1;
    if ((err instanceof HttpError && err.status >= 400 && err.status < 500) || failures >= (opts.maxConsecutiveFailures ?? MAX_CONSECUTIVE_FAILURES)) {
      throw new Error(`deployment watch of job "${job}" stopped: ${(err as Error).message}`, { cause: err });
    }
  };

  /** A system job's rolling update is recognised as soon as an allocation of a newer version shows. */
  const startRolling = (version: number) => {
    if (rolling !== undefined && version <= rolling) return;
    rolling = version;
    emit('deploy-start', `rolling update to job ${version} (system job: no deployment on Nomad before 1.11)`);
  };
  const onAllocations = (allocs: Allocation[]) => {
    latest = allocs;
    if (systemJob && followed === undefined) {
      const newest = Math.max(-1, ...allocs.map((a) => a.JobVersion));
      if (newest > opts.baselineJobVersion) startRolling(newest);
    }
    const tracking = followed !== undefined || rolling !== undefined;
    for (const a of allocs) {
      // List stubs carry no deployment ID, and promotion clears Canary: a later job version marks the new allocations.
      const isNew = tracking && a.JobVersion > opts.baselineJobVersion;
      if (isNew && a.DeploymentStatus?.Canary && !seen.placed.has(a.ID)) {
        seen.placed.add(a.ID);
        emit('canary-placed', `alloc ${a.ID.slice(0, 8)} job ${a.JobVersion}`);
      }
      if (isNew && a.DeploymentStatus?.Canary && a.DeploymentStatus.Healthy === true && !seen.healthy.has(a.ID)) {
        seen.healthy.add(a.ID);
        emit('canary-healthy', `alloc ${a.ID.slice(0, 8)}`);
      }
      if (isNew && a.DeploymentStatus?.Canary && a.DeploymentStatus.Healthy === false && !seen.unhealthy.has(a.ID)) {
        seen.unhealthy.add(a.ID);
        emit('canary-unhealthy', `alloc ${a.ID.slice(0, 8)}`);
      }
      if (a.ClientStatus === 'running') {
        seen.running.add(a.ID);
        runningVersion.set(a.ID, a.JobVersion);
      }
      // Only allocations seen running count: earlier versions' leftovers are history, not events.
      // With several deployments, an earlier one's new allocations are the next one's old ones.
      const isOld = seen.running.has(a.ID);
      if (tracking && isOld && a.DesiredStatus === 'stop' && !seen.stopping.has(a.ID)) {
        seen.stopping.add(a.ID);
        emit('old-stopping', `alloc ${a.ID.slice(0, 8)} job ${a.JobVersion}`);
      }
      if (tracking && isOld && seen.stopping.has(a.ID) && ['complete', 'failed', 'lost'].includes(a.ClientStatus) && !seen.stopped.has(a.ID)) {
        seen.stopped.add(a.ID);
        emit('old-stopped', `alloc ${a.ID.slice(0, 8)} ${a.ClientStatus}`);
        kick.abort(); // the deployment loop may be waiting only for this
      }
    }
  };

  const allocLoop = async () => {
    let index = 1;
    while (!signal.aborted && Date.now() < deadline) {
      try {
        const { body, index: next } = await nomadGet<Allocation[]>(opts, `/v1/job/${job}/allocations`, signal, index);
        index = Math.max(next, 1);
        onAllocations(body);
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        failed(err);
        await sleep(500, signal);
      }
    }
  };

  // After a successful rollout, every instance of an earlier job version seen running must have
  // stopped: Nomad ends the deployment at promotion, before the old ones are deregistered and drained.
  const cutOverDone = (status: WatchResult['status']) =>
    status !== 'successful' || !followed || [...runningVersion].every(([id, v]) => v >= followed!.JobVersion || seen.stopped.has(id));
  const finished = () => (cmdDone ? overallStatus([...all.values()]) : undefined);

  /**
   * A system job's rolling update on Nomad before 1.11 (no deployment to follow): done once every
   * allocation Nomad wants running is of the new version and running, and every allocation of an
   * earlier version seen running has stopped. Nomad itself judges nothing here (no health gate),
   * so neither does this: the verifier's load is what says whether the swap dropped requests.
   */
  const rollingDone = (version: number): boolean => {
    const wanted = latest.filter((a) => a.DesiredStatus === 'run');
    return (
      wanted.length > 0 &&
      wanted.every((a) => a.JobVersion >= version && a.ClientStatus === 'running') &&
      [...runningVersion].every(([id, v]) => v >= version || seen.stopped.has(id))
    );
  };
  const followRolling = async (version: number): Promise<WatchResult['status']> => {
    startRolling(version);
    // allocations seen before the rolling update was recognised: replay them as tracked
    onAllocations(latest);
    while (Date.now() < deadline) {
      if (signal.aborted) return 'aborted';
      if (rollingDone(version)) {
        emit('successful', `rolling update to job ${version}: every allocation runs it`);
        return 'successful';
      }
      if (kick.signal.aborted) kick = new AbortController();
      await sleep(500, AbortSignal.any([signal, kick.signal])).catch(() => undefined);
    }
    return 'timeout';
  };

  const deploymentLoop = async (): Promise<WatchResult['status']> => {
    let index = 1;
    while (Date.now() < deadline) {
      if (signal.aborted) return 'aborted';
      const done = finished();
      if (done && cutOverDone(done)) return done;
      try {
        if (cmdDone && all.size === 0) {
          // The command changed no version of the job (a node drain, an agent restart): nothing to
          // follow. One look after a short grace, for a deployment the scheduler is just creating.
          await sleep(NO_DEPLOYMENT_GRACE_MS, signal);
          const { body } = await nomadGet<Deployment[]>(opts, `/v1/job/${job}/deployments`, signal);
          if (!body.some((d) => d.JobVersion > opts.baselineJobVersion)) {
            const { body: spec } = await nomadGet<{ Type: string; Version: number }>(opts, `/v1/job/${job}`, signal);
            return spec.Type === 'system' && spec.Version > opts.baselineJobVersion ? followRolling(spec.Version) : 'none';
          }
        }
        if (kick.signal.aborted) kick = new AbortController();
        const { body, index: next } = await nomadGet<Deployment[]>(opts, `/v1/job/${job}/deployments`, AbortSignal.any([signal, kick.signal]), index);
        index = Math.max(next, 1);
        const candidates = body.filter((d) => d.JobVersion > opts.baselineJobVersion).sort((a, b) => a.CreateIndex - b.CreateIndex);
        for (const d of candidates) {
          const tag = `deployment ${d.ID.slice(0, 8)}`;
          if (!all.has(d.ID)) emit('deploy-start', `${tag} job ${d.JobVersion}`);
          all.set(d.ID, d);
          followed = d;
          if (!promotedIds.has(d.ID) && Object.values(d.TaskGroups).some((g) => g.Promoted)) {
            promotedIds.add(d.ID);
            emit('promoted', tag);
          }
          if (deploymentEnded(d) && !ended.has(d.ID)) {
            ended.add(d.ID);
            emit(d.Status as 'successful' | 'failed' | 'cancelled', `${tag}: ${d.StatusDescription}`);
            if (deploymentReverted(d)) emit('reverted', `${tag}: ${d.StatusDescription}`);
          }
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted) return 'aborted';
        if (kick.signal.aborted) continue; // the deploy command exited: re-check at once
        failed(err);
        await sleep(500, signal);
      }
    }
    return finished() ?? 'timeout';
  };

  let watchError: unknown;
  const stopOn = (err: unknown) => {
    watchError ??= err;
    local.abort();
  };
  // A system job on Nomad before 1.11 rolls without a deployment: its allocations are the events.
  // (From 1.11 it has deployments, followed as for a service.) Unknown when either read fails: the
  // rolling update is then recognised once the deploy command has exited and no deployment came.
  const systemJob = await Promise.all([
    nomadGet<{ Type: string }>(opts, `/v1/job/${job}`, signal),
    nomadGet<Array<{ Version: string }>>(opts, '/v1/nodes', signal),
  ]).then(
    ([{ body: spec }, { body: nodes }]) => spec.Type === 'system' && nodes.length > 0 && nodes.every((n) => !hasSystemDeployments(n.Version)),
    () => undefined,
  );
  const allocs = allocLoop().catch(stopOn);
  const status = await deploymentLoop().catch((err: unknown) => {
    stopOn(err);
    return 'aborted' as const;
  });
  local.abort();
  await allocs;
  if (watchError !== undefined) throw watchError;
  return {
    status,
    ...(followed ? { deploymentId: followed.ID, jobVersion: followed.JobVersion, statusDescription: followed.StatusDescription } : {}),
    ...(rolling !== undefined ? { kind: 'rolling' as const, jobVersion: rolling } : {}),
    deployments: [...all.values()].sort((a, b) => a.CreateIndex - b.CreateIndex).map((d) => ({ id: d.ID, jobVersion: d.JobVersion, status: d.Status, statusDescription: d.StatusDescription })),
    events,
  };
}
