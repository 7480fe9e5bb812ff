/**
 * After `cdktf deploy`, the pipeline's deployment watch: for each service, the job's latest Nomad
 * deployment (waited for while it runs, bounded) and the version the job runs now. A failed or
 * cancelled deployment, an auto-revert ("rolling back"), or a job running another version than
 * the config asks for fails the pipeline.
 */
import { VERSION_META } from '../jobs/canary-job.ts';
import { HttpError } from '../lib/http.ts';
import { deploymentEnded, deploymentReverted, nomadGet, type NomadClientOptions, type NomadDeployment } from '../lib/nomad.ts';
import { waitUntil } from '../lib/wait.ts';

export type Deployment = NomadDeployment;

export interface RolloutOutcome {
  readonly job: string;
  readonly ok: boolean;
  /** one line for the log */
  readonly line: string;
}


/** Pure: what the latest deployment and the running job's version say about the rollout. */
export function judgeRollout(job: string, expectedVersion: string, deployment: Deployment | null, runningVersion: string | undefined): RolloutOutcome {
  const running = `job ${job} runs ${runningVersion ?? '(no zerodrop.version)'}`;
  if (!deployment) return { job, ok: runningVersion === expectedVersion, line: `${running}, no deployment${runningVersion === expectedVersion ? '' : ` — expected ${expectedVersion}`}` };
  const d = `deployment ${deployment.ID.slice(0, 8)} (job ${deployment.JobVersion}) ${deployment.Status}: ${deployment.StatusDescription}`;
  if (!deploymentEnded(deployment)) return { job, ok: false, line: `${d} — still running when the watch gave up` };
  if (deployment.Status !== 'successful') return { job, ok: false, line: `${d} — FAILED` };
  if (deploymentReverted(deployment)) return { job, ok: false, line: `${d} — REVERTED` };
  if (runningVersion !== expectedVersion) return { job, ok: false, line: `${d}; ${running}, not ${expectedVersion} — REVERTED or replaced` };
  return { job, ok: true, line: `${d}; ${running}` };
}

/**
 * Waits (at most `timeoutMs`, blocking queries) until the job's latest deployment has ended: with
 * `afterJobVersion`, until a deployment of a later job version has appeared and ended (a revert's,
 * a deploy's); without, it also returns at once when the job has no deployment. `missing`: no such job.
 */
export async function awaitDeployment(
  nomad: NomadClientOptions,
  job: string,
  timeoutMs: number,
  o: { readonly afterJobVersion?: number; readonly signal?: AbortSignal } = {},
): Promise<{ missing: boolean; deployment: Deployment | undefined }> {
  let deployment: Deployment | undefined;
  let index = 1;
  let missing = false;
  await waitUntil(async () => {
    try {
      const got = await nomadGet<Deployment | null>(nomad, `/v1/job/${encodeURIComponent(job)}/deployment`, o.signal, index);
      index = Math.max(got.index, 1);
      if (got.body && (o.afterJobVersion === undefined || got.body.JobVersion > o.afterJobVersion)) deployment = got.body;
      else if (o.afterJobVersion === undefined) return true; // no deployment to wait for
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
      missing = true;
    }
    return missing || (deployment !== undefined && deploymentEnded(deployment));
  }, { timeoutMs, intervalMs: 200, ...(o.signal ? { signal: o.signal } : {}) });
  return { missing, deployment };
}

/** The app version the job runs now (its Meta `zerodrop.version`); undefined for a job zerodrop did not write. */
export async function runningAppVersion(nomad: NomadClientOptions, job: string, signal?: AbortSignal): Promise<string | undefined> {
  return (await nomadGet<{ Meta?: Record<string, string> | null }>(nomad, `/v1/job/${encodeURIComponent(job)}`, signal)).body.Meta?.[VERSION_META];
}

/** Waits (at most `timeoutMs`) for the job's latest deployment to end, then judges it. */
export async function rolloutOutcome(nomad: NomadClientOptions, job: string, expectedVersion: string, timeoutMs: number, signal?: AbortSignal): Promise<RolloutOutcome> {
  const { missing, deployment } = await awaitDeployment(nomad, job, timeoutMs, signal ? { signal } : {});
  if (missing) return { job, ok: false, line: `job ${job} not found at ${nomad.address}` };
  return judgeRollout(job, expectedVersion, deployment ?? null, await runningAppVersion(nomad, job, signal));
}
