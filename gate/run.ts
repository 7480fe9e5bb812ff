import { request } from 'undici';
import { formatDuration as d } from '../config/duration.ts';
import type { ServiceConfig, ZerodropConfig } from '../config/schema.ts';
import { HttpError, requestJson } from '../lib/http.ts';
import { nomadGet, nomadPost, type NomadClientOptions } from '../lib/nomad.ts';
import { sleep } from '../lib/wait.ts';
import { GATE_SMOKE_REQUEST_TIMEOUT_MS, traefikUpSteadyMs, type TimingPlan } from '../timing/model.ts';
import { trackNames, traefikNames, TRACK_HEADER, TRACK_VALUE, type Track } from '../traefik/service-tags.ts';
import { analyse, type AnalysisResult } from './analysis.ts';
import { decide, type GateState } from './decision.ts';
import { parsePrometheus } from './prometheus.ts';
import { evaluateSmoke, replayable, type SmokeAnswer, type SmokeResult, type SmokeSpec } from './smoke.ts';

/**
 * The promotion gate for one gated service: follows the job's deployment in Nomad, waits until
 * Traefik reports every canary server UP, sends the smoke requests to the canary alone (its header
 * route, production Host header), compares canary and stable over the analysis window from
 * Traefik's Prometheus metrics, then promotes through Nomad's deployment API or fails the
 * deployment (Nomad auto-reverts). Every network call has a timeout; the whole run has the gate
 * deadline of the timing model.
 */

export const TRAEFIK_TIMEOUT_MS = 5_000;
export const POLL_MS = 1_000;

export interface GateOptions {
  readonly config: Pick<ZerodropConfig, 'traefik'>;
  readonly service: ServiceConfig;
  readonly plan: Pick<TimingPlan, 'gateDeadlineMs'>;
  readonly nomad: NomadClientOptions;
  /** Traefik's public entry point, where the smoke and analysis requests go, e.g. http://127.0.0.1:18080 */
  readonly traefikUrl: string;
  /** Traefik's admin entry point (/api, /metrics), e.g. http://127.0.0.1:18082 */
  readonly traefikAdminUrl: string;
  /** Gate only a deployment of a job version above this one (the version before the deploy). @default - the job's latest deployment */
  readonly afterJobVersion?: number;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface GateRecord {
  readonly job: string;
  readonly deploymentId?: string;
  readonly jobVersion?: number;
  /** promoted / failed: the gate acted; done: nothing to gate (see `why`) */
  readonly outcome: 'promoted' | 'failed' | 'done';
  /** One line: why this outcome. */
  readonly why: string;
  readonly traefik: { readonly canaryService: string; readonly stableService: string; readonly upSeenAfterMs?: number };
  readonly smoke: readonly SmokeResult[];
  readonly analysis?: AnalysisResult;
  readonly elapsedMs: number;
  readonly steps: readonly { readonly atMs: number; readonly what: string }[];
}

interface Deployment {
  ID: string;
  JobVersion: number;
  Status: string;
  StatusDescription: string;
  TaskGroups: Record<string, { Promoted: boolean; DesiredCanaries: number; PlacedCanaries: string[] | null; HealthyAllocs: number; UnhealthyAllocs: number }>;
}

const consul = (name: string) => `${name}@consulcatalog`;

/**
 * Where the gate reaches Traefik: ZERODROP_GATE_TRAEFIK_URL / ZERODROP_GATE_TRAEFIK_ADMIN_URL,
 * else the config's entry point and admin port on its bind address (127.0.0.1 when it binds every
 * interface). On a remote cluster set both to one Traefik node's addresses.
 */
export function traefikUrls(traefik: Pick<ZerodropConfig['traefik'], 'entryPoint' | 'adminPort' | 'adminHost'>, env: Readonly<Record<string, string | undefined>>): { url: string; adminUrl: string } {
  const host = (h: string | undefined) => (!h ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h);
  return {
    url: env.ZERODROP_GATE_TRAEFIK_URL || `http://${host(traefik.entryPoint.host)}:${traefik.entryPoint.port}`,
    adminUrl: env.ZERODROP_GATE_TRAEFIK_ADMIN_URL || `http://${host(traefik.adminHost ?? traefik.entryPoint.host)}:${traefik.adminPort}`,
  };
}

export async function runGate(o: GateOptions): Promise<GateRecord> {
  const started = Date.now();
  const log = o.log ?? (() => undefined);
  const steps: { atMs: number; what: string }[] = [];
  const step = (what: string) => {
    steps.push({ atMs: Date.now() - started, what });
    log(`[gate] ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${what}`);
  };
  const gate = o.service.gate;
  if (o.service.promotion !== 'gated' || !gate) throw new Error(`service "${o.service.name}" is not gated (promotion: ${o.service.promotion})`);
  const deadlineMs = o.plan.gateDeadlineMs ?? 0;
  const deadline = started + deadlineMs;
  const job = o.service.name;
  const names = { canary: consul(trackNames(o.service, o.config.traefik, 'canary').service), stable: consul(trackNames(o.service, o.config.traefik, 'stable').service) };
  const production = consul(traefikNames(o.service, o.config.traefik).service);
  const steadyMs = traefikUpSteadyMs(o.config.traefik);
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(deadlineMs + 60_000)]) : AbortSignal.timeout(deadlineMs + 60_000);

  let deployment: Deployment | undefined;
  let upSince: number | undefined;
  let upSeenAfterMs: number | undefined;
  let smokeResults: SmokeResult[] = [];
  let analysis: AnalysisResult | undefined;
  let stableService = names.stable;
  const state: { smoke: GateState['smoke']; analysis: GateState['analysis'] } = { smoke: 'pending', analysis: 'pending' };
  let lastWait = '';
  step(`gating ${job}: deadline ${d(deadlineMs)}, canary ${names.canary}, stable ${names.stable}`);

  const finish = (outcome: GateRecord['outcome'], why: string): GateRecord => {
    step(`${outcome}: ${why}`);
    return {
      job,
      ...(deployment ? { deploymentId: deployment.ID, jobVersion: deployment.JobVersion } : {}),
      outcome,
      why,
      traefik: { canaryService: names.canary, stableService, ...(upSeenAfterMs !== undefined ? { upSeenAfterMs } : {}) },
      smoke: smokeResults,
      ...(analysis ? { analysis } : {}),
      elapsedMs: Date.now() - started,
      steps,
    };
  };

  while (!signal.aborted) {
    deployment = await latestDeployment(o, job, signal).catch((err: Error) => {
      step(`Nomad: ${err.message}`);
      return deployment;
    });
    const current = deployment && (o.afterJobVersion === undefined || deployment.JobVersion > o.afterJobVersion) ? deployment : undefined;
    const groups = current ? Object.values(current.TaskGroups) : [];
    const canariesHealthy = groups.length > 0 && groups.every((g) => (g.PlacedCanaries?.length ?? 0) >= g.DesiredCanaries && g.HealthyAllocs >= g.DesiredCanaries && g.DesiredCanaries > 0);
    const desired = groups.reduce((n, g) => n + g.DesiredCanaries, 0);
    let traefikUp = false;
    if (current && canariesHealthy && state.smoke === 'pending') {
      const status = await serverStatus(o, names.canary, signal).catch((err: Error) => {
        step(`Traefik API: ${err.message}`);
        return undefined;
      });
      const up = status ? Object.values(status).filter((s) => s === 'UP').length : 0;
      const down = status ? Object.values(status).filter((s) => s !== 'UP').length : 0;
      if (status && up >= desired && down === 0) {
        upSince ??= Date.now();
        traefikUp = Date.now() - upSince >= steadyMs;
        if (traefikUp && upSeenAfterMs === undefined) {
          upSeenAfterMs = Date.now() - started;
          step(`Traefik: ${up} canary server(s) UP for ${d(steadyMs)} in ${names.canary}`);
        }
      } else {
        if (upSince !== undefined) step(`Traefik: canary servers ${JSON.stringify(status ?? {})} — not all UP, waiting again`);
        upSince = undefined;
      }
    } else if (state.smoke !== 'pending') traefikUp = true;

    const action = decide({
      deployment: current ? current.Status : deployment ? 'pending' : 'none',
      canariesHealthy,
      canaryUnhealthy: groups.some((g) => g.UnhealthyAllocs > 0),
      promoted: groups.length > 0 && groups.every((g) => g.Promoted),
      traefikUp,
      smoke: state.smoke,
      analysis: state.analysis,
      deadlinePassed: Date.now() >= deadline,
    });
    // No deployment yet after a deploy started: Nomad creates it when the new job version registers.
    if (action.kind === 'done' && !current && o.afterJobVersion !== undefined && Date.now() < deadline) {
      await sleep(POLL_MS, signal);
      continue;
    }
    switch (action.kind) {
      case 'wait':
        if (action.for !== lastWait) step(`waiting for ${action.for}`);
        lastWait = action.for;
        await sleep(POLL_MS, signal);
        break;
      case 'done':
        return finish('done', action.why);
      case 'smoke': {
        smokeResults = await runSmoke(o, gate.smoke, signal);
        for (const r of smokeResults) step(`smoke ${r.request}: ${r.pass ? 'pass' : `FAIL — ${r.problems.join('; ')}`}`);
        state.smoke = smokeResults.every((r) => r.pass) ? 'pass' : 'fail';
        break;
      }
      case 'analyse': {
        stableService = (await serverStatus(o, names.stable, signal).catch(() => undefined)) ? names.stable : production;
        if (stableService === production) step(`no ${names.stable} in Traefik (the stable instances predate the gate): the baseline is the production service ${production}, which includes the canary's share`);
        analysis = await runAnalysis(o, gate, { canary: names.canary, stable: stableService }, signal, step);
        state.analysis = analysis.verdict;
        break;
      }
      case 'promote':
        await nomadPost(o.nomad, `/v1/deployment/promote/${current!.ID}`, { DeploymentID: current!.ID, All: true }, signal);
        return finish('promoted', `smoke ${smokeResults.length}/${smokeResults.length} passed; analysis passed (${describe(analysis)})`);
      case 'fail': {
        const why = failReason(action.why, smokeResults, analysis, deadlineMs, lastWait);
        if (current) await nomadPost(o.nomad, `/v1/deployment/fail/${current.ID}`, { DeploymentID: current.ID }, signal).catch((err: Error) => step(`failing the deployment: ${err.message}`));
        return finish('failed', why);
      }
    }
  }
  const found = deployment && (o.afterJobVersion === undefined || deployment.JobVersion > o.afterJobVersion);
  if (!found) return finish('done', 'stopped before a deployment of a new job version appeared');
  return finish('failed', o.signal?.aborted ? 'interrupted' : `gate timed out after ${d(Date.now() - started)}`);
}

function describe(a: AnalysisResult | undefined): string {
  if (!a?.canary || !a.stable) return 'no data';
  const f = (s: NonNullable<AnalysisResult['canary']>) => `${s.requests} req, ${(s.errorRatio * 100).toFixed(2)} % 5xx, p99 ${s.p99Ms === undefined ? 'n/a' : `${s.p99Ms.toFixed(1)} ms`}`;
  return `canary ${f(a.canary)}; stable ${f(a.stable)}`;
}

function failReason(kind: string, smoke: readonly SmokeResult[], analysis: AnalysisResult | undefined, deadlineMs: number, waitingFor: string): string {
  if (kind === 'smoke') return `smoke failed: ${smoke.filter((r) => !r.pass).map((r) => `${r.request}: ${r.problems.join('; ')}`).join(' | ')}`;
  if (kind.startsWith('analysis')) return `${kind}: ${analysis?.reasons.join('; ') ?? ''} (${describe(analysis)})`;
  const still = waitingFor ? ` while still waiting for ${waitingFor}` : '';
  return `gate deadline ${d(deadlineMs)} passed before the canary was promoted${still} — Nomad never fails a healthy canary that waits for promotion, so the gate does`;
}

async function latestDeployment(o: GateOptions, job: string, signal: AbortSignal): Promise<Deployment | undefined> {
  return (await nomadGet<Deployment | null>(o.nomad, `/v1/job/${encodeURIComponent(job)}/deployment`, signal)).body ?? undefined;
}

/** Each server URL → UP/DOWN, as Traefik's API lists it; undefined when Traefik has no such service. */
async function serverStatus(o: GateOptions, service: string, signal: AbortSignal): Promise<Record<string, string> | undefined> {
  try {
    const { body } = await requestJson<{ serverStatus?: Record<string, string> }>(new URL(`/api/http/services/${encodeURIComponent(service)}`, o.traefikAdminUrl), {
      timeoutMs: TRAEFIK_TIMEOUT_MS,
      signal,
      hint: `is Traefik's admin entry point at ${o.traefikAdminUrl}, with its API on?`,
    });
    return body.serverStatus ?? {};
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return undefined;
    throw err;
  }
}

async function scrape(o: GateOptions, signal: AbortSignal): Promise<string> {
  const res = await request(new URL('/metrics', o.traefikAdminUrl), { signal: AbortSignal.any([signal, AbortSignal.timeout(TRAEFIK_TIMEOUT_MS)]), headersTimeout: TRAEFIK_TIMEOUT_MS, bodyTimeout: TRAEFIK_TIMEOUT_MS });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${o.traefikAdminUrl}/metrics: HTTP ${res.statusCode}`);
  return text;
}

/** One request through Traefik on a track's header route, with the production Host header. */
async function send(o: GateOptions, spec: SmokeSpec, track: Track, signal: AbortSignal): Promise<SmokeAnswer> {
  try {
    const res = await request(new URL(spec.path, o.traefikUrl), {
      method: spec.method,
      headers: { host: o.service.host[0]!, [TRACK_HEADER.toLowerCase()]: TRACK_VALUE[track] },
      signal: AbortSignal.any([signal, AbortSignal.timeout(GATE_SMOKE_REQUEST_TIMEOUT_MS)]),
      headersTimeout: GATE_SMOKE_REQUEST_TIMEOUT_MS,
      bodyTimeout: GATE_SMOKE_REQUEST_TIMEOUT_MS,
    });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function runSmoke(o: GateOptions, specs: readonly SmokeSpec[], signal: AbortSignal): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const spec of specs) results.push(evaluateSmoke(spec, await send(o, spec, 'canary', signal)));
  return results;
}

/**
 * Scrape, send the replayable smoke requests to both tracks at `rate` each for the window, scrape
 * again, compare. Traefik's counters are the measurement; the gate's own answers are not used.
 */
async function runAnalysis(o: GateOptions, gate: NonNullable<ServiceConfig['gate']>, names: { canary: string; stable: string }, signal: AbortSignal, step: (w: string) => void): Promise<AnalysisResult> {
  const a = gate.analysis;
  step(`analysis: ${d(a.windowMs)} window, ${a.rate} req/s to each side`);
  const before = parsePrometheus(await scrape(o, signal));
  const specs = replayable(gate.smoke);
  const end = Date.now() + a.windowMs;
  const inFlight = new Set<Promise<unknown>>();
  if (a.rate > 0 && specs.length) {
    const every = 1000 / a.rate;
    for (let i = 0; Date.now() < end && !signal.aborted; i++) {
      const spec = specs[i % specs.length]!;
      for (const track of ['canary', 'stable'] as const) {
        const p = send(o, spec, track, signal).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(Math.max(0, every), signal);
    }
  } else await sleep(a.windowMs, signal);
  await Promise.all(inFlight);
  // Traefik observes a request's duration when it completes; the counters then hold all of the window's.
  const after = parsePrometheus(await scrape(o, signal));
  const result = analyse(before, after, names, a);
  step(`analysis ${result.verdict}: ${describe(result)}${result.reasons.length ? ` — ${result.reasons.join('; ')}` : ''}`);
  return result;
}
