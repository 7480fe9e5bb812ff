/**
 * Reads of the Nomad HTTP API, shared by the deploy (a job's version before a rollout, the
 * pipeline's deployment watch, the rollback's job versions and revert) and the verifier (its
 * deployment watch): one request helper with a timeout, optional blocking query (`index` + `wait`)
 * and the token in a header.
 */
import { HttpError, requestJson } from './http.ts';

export interface NomadClientOptions {
  readonly address: string;
  /** From NOMAD_TOKEN; sent as X-Nomad-Token, never logged. */
  readonly token?: string;
  readonly region?: string;
}

const REQUEST_TIMEOUT_MS = 15_000;
const BLOCKING_WAIT = '5s';

export async function nomadGet<T>(opts: NomadClientOptions, path: string, signal?: AbortSignal, index?: number): Promise<{ body: T; index: number }> {
  const url = new URL(path, opts.address);
  if (index !== undefined) {
    url.searchParams.set('index', String(index));
    url.searchParams.set('wait', BLOCKING_WAIT);
  }
  if (opts.region) url.searchParams.set('region', opts.region);
  const hint = `is Nomad running and reachable at ${url.origin}? (verify: --nomad-addr / NOMAD_ADDR, else the running local cluster)`;
  const { body, headers } = await requestJson<T>(url, { token: opts.token, tokenHeader: 'X-Nomad-Token', timeoutMs: REQUEST_TIMEOUT_MS, hint, ...(signal ? { signal } : {}) });
  return { body, index: Number(headers.get('x-nomad-index') ?? 0) };
}

/** A write to the Nomad API (promote, fail a deployment), with the same timeout, token and region as the reads. */
export async function nomadPost(opts: NomadClientOptions, path: string, body: unknown, signal?: AbortSignal): Promise<void> {
  const url = new URL(path, opts.address);
  if (opts.region) url.searchParams.set('region', opts.region);
  await requestJson(url, { method: 'POST', body, token: opts.token, tokenHeader: 'X-Nomad-Token', timeoutMs: REQUEST_TIMEOUT_MS, ...(signal ? { signal } : {}) });
}

/** The job's current version, or undefined when the job does not exist. */
export async function jobVersion(opts: NomadClientOptions, jobId: string, signal?: AbortSignal): Promise<number | undefined> {
  try {
    return (await nomadGet<{ Version: number }>(opts, `/v1/job/${encodeURIComponent(jobId)}`, signal)).body.Version;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return undefined;
    throw err;
  }
}


/** One entry of `GET /v1/job/:id/versions`: what a rollback reads of each job version Nomad keeps. */
export interface NomadJobVersion {
  readonly Version: number;
  /** Set by Nomad once a deployment of this version succeeded. */
  readonly Stable: boolean;
  readonly Meta?: Readonly<Record<string, string>> | null;
  /** Nanoseconds since the epoch. */
  readonly SubmitTime?: number;
}

/** Every job version Nomad still keeps (its `job_tracked_versions`, 6 by default), newest first; undefined when the job does not exist. */
export async function jobVersions(opts: NomadClientOptions, jobId: string, signal?: AbortSignal): Promise<NomadJobVersion[] | undefined> {
  try {
    const { body } = await nomadGet<{ Versions: NomadJobVersion[] | null }>(opts, `/v1/job/${encodeURIComponent(jobId)}/versions`, signal);
    return [...(body.Versions ?? [])].sort((a, b) => b.Version - a.Version);
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * Registers job version `version` again as a new version (`POST /v1/job/:id/revert`). With
 * `enforcePriorVersion`, Nomad refuses when the job moved on meanwhile (someone deployed between
 * our read and this write), instead of reverting a version nobody looked at.
 */
export async function revertJob(opts: NomadClientOptions, jobId: string, version: number, enforcePriorVersion: number, signal?: AbortSignal): Promise<void> {
  await nomadPost(opts, `/v1/job/${encodeURIComponent(jobId)}/revert`, { JobID: jobId, JobVersion: version, EnforcePriorVersion: enforcePriorVersion }, signal);
}

/** What the deploy and the verifier read of a Nomad deployment (`/v1/job/:id/deployment(s)`). */
export interface NomadDeployment {
  readonly ID: string;
  readonly JobVersion: number;
  readonly Status: string;
  readonly StatusDescription: string;
}

/** A deployment in one of these states changes no more. */
export function deploymentEnded(d: Pick<NomadDeployment, 'Status'>): boolean {
  return d.Status === 'successful' || d.Status === 'failed' || d.Status === 'cancelled';
}

/** Nomad's description of a failed deployment that auto-reverts ("… rolling back to job version N"). */
export function deploymentReverted(d: Pick<NomadDeployment, 'StatusDescription'>): boolean {
  return /rolling back|revert/i.test(d.StatusDescription);
}

/** The Nomad and Consul versions a cluster runs, as its client nodes report them (Consul's from Nomad's fingerprint). */
export interface ServerVersions {
  /** distinct versions, sorted: a cluster mid-upgrade lists several */
  readonly nomad: string[];
  readonly consul: string[];
}

export async function serverVersions(opts: NomadClientOptions, signal?: AbortSignal): Promise<ServerVersions> {
  const { body: nodes } = await nomadGet<Array<{ ID: string; Version: string; Status: string }>>(opts, '/v1/nodes', signal);
  const consul = await Promise.all(
    nodes.filter((n) => n.Status === 'ready').map(async (n) => (await nomadGet<{ Attributes?: Record<string, string> }>(opts, `/v1/node/${n.ID}`, signal)).body.Attributes?.['consul.version']),
  );
  const distinct = (xs: ReadonlyArray<string | undefined>) => [...new Set(xs.filter((x): x is string => !!x))].sort();
  return { nomad: distinct(nodes.map((n) => n.Version)), consul: distinct(consul) };
}
