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
  const d = `deployment ${deployment.ID.slice(0, 8)} (job v${deployment.JobVersion}) ${deployment.Status}: ${deployment.StatusDescription}`;
  if (!deploymentEnded(deployment)) return { job, ok: false, line: `${d} — still running when the watch gave up` };
  if (deployment.Status !== 'successful') return { job, ok: false, line: `${d} — FAILED` };
  if (deploymentReverted(deployment)) return { job, ok: false, line: `${d} — REVERTED` };
  if (runningVersion !== expectedVersion) return { job, ok: false, line: `${d}; ${running}, not ${expectedVersion} — REVERTED or replaced` };
  return { job, ok: true, line: `${d}; ${running}` };
}

/** Waits (at most `timeoutMs`) for the job's latest deployment to end, then judges it. */
export async function rolloutOutcome(nomad: NomadClientOptions, job: string, expectedVersion: string, timeoutMs: number, signal?: AbortSignal): Promise<RolloutOutcome> {
  const path = `/v1/job/${encodeURIComponent(job)}`;
  let latest: Deployment | null = null;
  let index = 1;
  let missing = false;
  await waitUntil(async () => {
    try {
      const got = await nomadGet<Deployment | null>(nomad, `${path}/deployment`, signal, index);
      latest = got.body;
      index = Math.max(got.index, 1);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
      missing = true;
    }
    return missing || !latest || deploymentEnded(latest);
  }, { timeoutMs, intervalMs: 200, ...(signal ? { signal } : {}) });
  if (missing) return { job, ok: false, line: `job ${job} not found at ${nomad.address}` };
  const meta = (await nomadGet<{ Meta?: Record<string, string> | null }>(nomad, path, signal)).body.Meta;
  return judgeRollout(job, expectedVersion, latest, meta?.[VERSION_META]);
}
