/**
 * The rollback (`npm run rollback`, scripts/rollback.ts): reverts a service's Nomad job to an
 * earlier stable job version, waits for the deployment the revert starts, and says how to bring
 * the config in line.
 *
 * A revert registers the earlier job version again as a new one, so Nomad rolls it out by canary
 * like any deploy (the verifier can watch it under load). Terraform's state and the config still
 * hold the version rolled back from: the next apply would roll it out again, hence the instruction.
 *
 * Pure parts (unit-tested): which version to go back to (`chooseRollback`) and the instruction
 * (`configInstruction`). Nomad's side runs against a real cluster in test/e2e/rollback.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { formatDuration as d } from '../config/duration.ts';
import { loadConfig, versionOverride } from '../config/load.ts';
import { gateJob, type GateRecord } from '../gate/index.ts';
import { VERSION_META } from '../jobs/canary-job.ts';
import { HttpError } from '../lib/http.ts';
import { deploymentEnded, deploymentReverted, jobVersions, nomadGet, revertJob, type NomadClientOptions, type NomadDeployment, type NomadJobVersion } from '../lib/nomad.ts';
import { rollbackWaitMs, timingPlans } from '../timing/model.ts';
import { awaitDeployment, runningAppVersion as appVersionOf } from './rollout-outcome.ts';
import { deployTarget, type TargetOptions } from './target.ts';

/** A job version as the rollback sees it. */
export interface JobVersionSeen {
  readonly jobVersion: number;
  /** The job's Meta `zerodrop.version`; undefined for a job zerodrop did not write. */
  readonly appVersion: string | undefined;
  /** Nomad marks a version stable once a deployment of it succeeded. */
  readonly stable: boolean;
}

export const versionSeen = (v: NomadJobVersion): JobVersionSeen => ({ jobVersion: v.Version, appVersion: v.Meta?.[VERSION_META] ?? undefined, stable: v.Stable });

/**
 * Refused before anything changed in Nomad. `usage`: the arguments name something that is not
 * there (exit 2); `state`: the cluster is in no state to roll back (exit 1).
 */
export class RollbackRefused extends Error {
  override readonly name = 'RollbackRefused';
  constructor(
    readonly kind: 'usage' | 'state',
    message: string,
  ) {
    super(message);
  }
}

const app = (v: JobVersionSeen) => v.appVersion ?? '(no zerodrop.version)';

/** `6 (v3, stable, running), 5 (v2, stable), 4 (v4)`: the versions Nomad keeps, newest first, for messages. */
export function describeVersions(versions: readonly JobVersionSeen[]): string {
  const newest = Math.max(...versions.map((v) => v.jobVersion));
  return [...versions]
    .sort((a, b) => b.jobVersion - a.jobVersion)
    .map((v) => `${v.jobVersion} (${[app(v), v.stable && 'stable', v.jobVersion === newest && 'running'].filter(Boolean).join(', ')})`)
    .join(', ');
}

/**
 * Which job version to revert to. Pure; throws RollbackRefused naming the versions seen.
 * With `to`: the newest stable job version whose app version is `to`. Without: the newest stable
 * job version whose app version differs from the running one (the running one is the newest).
 * Only stable versions qualify: a version whose deployment never succeeded is no way back.
 */
export function chooseRollback(job: string, versions: readonly JobVersionSeen[], to?: string): { from: JobVersionSeen; to: JobVersionSeen } {
  if (!versions.length) throw new RollbackRefused('state', `job "${job}": Nomad lists no job versions — nothing to roll back to`);
  const sorted = [...versions].sort((a, b) => b.jobVersion - a.jobVersion);
  const running = sorted[0]!;
  const earlier = sorted.slice(1);
  const seen = `job versions Nomad keeps (newest first; it keeps the last 6 by default): ${describeVersions(sorted)}`;
  const choices = [...new Set(earlier.filter((v) => v.stable && v.appVersion !== running.appVersion && v.appVersion !== undefined).map((v) => v.appVersion))];
  const pick = choices.length ? `--to ${choices.join(' or --to ')}` : 'no --to (no earlier stable version has another app version)';
  if (to !== undefined) {
    if (to === running.appVersion) throw new RollbackRefused('usage', `job "${job}" already runs ${to} (job version ${running.jobVersion}) — nothing to roll back; ${seen}`);
    const holding = earlier.filter((v) => v.appVersion === to);
    if (!holding.length) {
      throw new RollbackRefused('usage', `--to ${to}: no job version of "${job}" holds app version ${to} — ${seen}; pick ${pick}, or deploy ${to} with \`npm run deploy -- -v ${to}\``);
    }
    const stable = holding.find((v) => v.stable);
    if (!stable) {
      throw new RollbackRefused(
        'usage',
        `--to ${to}: job version(s) ${holding.map((v) => v.jobVersion).join(', ')} of "${job}" hold ${to}, but none is stable (no deployment of it succeeded), so it is no way back — ${seen}; pick ${pick}, or deploy ${to} with \`npm run deploy -- -v ${to}\` if you mean it`,
      );
    }
    return { from: running, to: stable };
  }
  const target = earlier.find((v) => v.stable && v.appVersion !== running.appVersion);
  if (!target) {
    throw new RollbackRefused('state', `nothing to roll back to: job "${job}" runs ${app(running)} (job version ${running.jobVersion}) and no earlier stable job version holds another app version — ${seen}`);
  }
  return { from: running, to: target };
}

/** Where the config says a service's version, and what the rollback went back to. */
export interface ConfigVersion {
  /** the config file, as shown to the user */
  readonly file: string;
  /** the service's index in services[] */
  readonly index: number;
  /** services[index].version as written in the file */
  readonly inFile: string | undefined;
  /** ZERODROP_VERSION(_<NAME>) when it sets the version over the file's */
  readonly override?: { readonly name: string; readonly value: string } | undefined;
  /** the app version rolled back to */
  readonly target: string;
}

/**
 * The one instruction that keeps the next deploy from undoing the rollback. Pure.
 * The deploy renders the job from the config (env override first), so that is what must say `target`.
 */
export function configInstruction(c: ConfigVersion): string {
  const field = `services[${c.index}].version`;
  const says = c.override?.value ?? c.inFile;
  if (says === c.target) {
    const where = c.override ? `${c.override.name}=${c.target}, over ${field} in ${c.file}` : `${field} in ${c.file}`;
    return `the config already says ${c.target} (${where}): keep it at ${c.target} until the fix is deployed; Terraform's next plan finds no changes`;
  }
  if (c.override) {
    const file = c.inFile === c.target ? '' : ` and ${field}: ${c.target} in ${c.file} (it says ${c.inFile ?? 'nothing'})`;
    return `set ${c.override.name}=${c.target}${file} before the next deploy — ${c.override.name} still says ${c.override.value} and the next apply would roll ${c.override.value} out again`;
  }
  return `set ${field}: ${c.target} in ${c.file} (or ZERODROP_VERSION=${c.target}) before the next deploy — the config still says ${c.inFile ?? '(no version)'} and the next apply would roll ${c.inFile ?? 'it'} out again`;
}

/** services[index].version as written in the file (read raw: no env override). */
function versionInFile(file: string, index: number): string | undefined {
  const doc = parse(readFileSync(file, 'utf8')) as { services?: { version?: unknown }[] } | null;
  const v = doc?.services?.[index]?.version;
  return typeof v === 'string' ? v : undefined;
}

export interface RollbackOptions extends TargetOptions {
  /** the service, i.e. its Nomad job */
  readonly job: string;
  /** the app version to go back to. @default - the newest stable job version with another app version */
  readonly to?: string;
  readonly signal?: AbortSignal;
  /** @default console.log */
  readonly log?: (line: string) => void;
}

export interface RollbackResult {
  /** the revert's deployment was successful and the job runs `to` */
  readonly ok: boolean;
  readonly job: string;
  readonly from: JobVersionSeen;
  readonly to: JobVersionSeen;
  /** the deployment the revert started, as it ended (or as last seen) */
  readonly deployment?: NomadDeployment;
  /** the job's app version after the wait */
  readonly runningAppVersion?: string;
  readonly elapsedMs: number;
  /** one line: how it ended */
  readonly why: string;
  /** how to bring the config in line; set once Nomad holds `to` */
  readonly instruction?: string;
  readonly gate?: GateRecord;
}

/** A path as the user would type it: relative inside the working dir, absolute outside it. */
const shown = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};

/** Reverts, waits for the revert's deployment (bounded by the timing model's rollback wait) and judges it. */
export async function rollback(o: RollbackOptions): Promise<RollbackResult> {
  const started = Date.now();
  const log = o.log ?? ((line: string) => console.log(line));
  const say = (line: string) => log(`[rollback] ${line}`);
  const target = await deployTarget(o);
  say(`target: ${target.description}`);
  const config = loadConfig(target.config, { env: target.env });
  const index = config.services.findIndex((s) => s.name === o.job);
  if (index < 0) {
    throw new RollbackRefused('usage', `no service "${o.job}" in ${shown(target.config)} (services: ${config.services.map((s) => s.name).join(', ')}) — name it with --job, or the config that deploys it with -c FILE`);
  }
  const service = config.services[index]!;
  const plan = timingPlans(config).get(service.name)!;
  const nomad: NomadClientOptions = { address: target.nomadAddr, region: config.cluster.nomad.region, ...(target.env.NOMAD_TOKEN ? { token: target.env.NOMAD_TOKEN } : {}) };
  const jobPath = `/v1/job/${encodeURIComponent(o.job)}`;

  const versions = await jobVersions(nomad, o.job, o.signal);
  if (!versions) throw new RollbackRefused('usage', `job "${o.job}" not found at Nomad ${target.nomadAddr} — nothing to roll back (is --job right, and -c the cluster it runs on?)`);
  const latest = (await nomadGet<NomadDeployment | null>(nomad, `${jobPath}/deployment`, o.signal)).body;
  if (latest && !deploymentEnded(latest)) {
    const gated = service.promotion === 'gated' ? `, or let the gate decide it (\`npm run gate -- --job ${o.job}\`)` : '';
    throw new RollbackRefused(
      'state',
      `job "${o.job}": deployment ${latest.ID} of job version ${latest.JobVersion} is still ${latest.Status} (${latest.StatusDescription}) — a revert now would cut it off half-way. ` +
        `Wait for it to end (\`nomad deployment status ${latest.ID}\`), or fail it (\`nomad deployment fail ${latest.ID}\`: auto-revert then goes back to the last stable version by itself)${gated}; then roll back if still needed`,
    );
  }
  const { from, to } = chooseRollback(o.job, versions.map(versionSeen), o.to);
  say(`${o.job}: job version ${from.jobVersion} (${app(from)}) → job version ${to.jobVersion} (${app(to)}, stable), through Nomad ${target.nomadAddr}`);

  try {
    await revertJob(nomad, o.job, to.jobVersion, from.jobVersion, o.signal);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    throw new Error(`Nomad refused the revert of "${o.job}" to job version ${to.jobVersion}: ${err.message} — if the job moved past version ${from.jobVersion} meanwhile (someone deployed), run the rollback again`, { cause: err });
  }
  // A gated service's reverted version waits for promotion like any gated rollout: its gate decides.
  const stopGate = new AbortController();
  const gate = service.promotion === 'gated'
    ? gateJob({ job: o.job, config: target.config, nomadAddr: target.nomadAddr, env: target.env, afterJobVersion: from.jobVersion, signal: o.signal ? AbortSignal.any([o.signal, stopGate.signal]) : stopGate.signal, log }).catch((err: Error) => {
        say(`gate: ${err.message}`);
        return undefined;
      })
    : undefined;
  const waitMs = rollbackWaitMs(plan);
  const deployment = await awaitDeployment(nomad, o.job, waitMs, { afterJobVersion: from.jobVersion, ...(o.signal ? { signal: o.signal } : {}) }).then((r) => r.deployment).catch((err: Error) => {
    stopGate.abort();
    // The revert is in: say so, or the user would think nothing changed.
    throw new Error(`the revert of "${o.job}" to job version ${to.jobVersion} (${app(to)}) is registered, but following its deployment failed: ${err.message} — follow it with \`nomad job status ${o.job}\`, and set the config to ${app(to)} once it succeeded`, { cause: err });
  });
  stopGate.abort();
  const gateRecord = gate ? await gate : undefined;
  const runningAppVersion = await appVersionOf(nomad, o.job, o.signal);
  const elapsedMs = Date.now() - started;

  const dep = deployment ? `deployment ${deployment.ID.slice(0, 8)} (job version ${deployment.JobVersion}) ${deployment.Status}: ${deployment.StatusDescription}` : '';
  let why: string;
  let ok = false;
  if (!deployment) why = `no deployment of a job version above ${from.jobVersion} appeared within ${d(waitMs)} (the rollback wait: the service's apply timeout) — check \`nomad job status ${o.job}\``;
  else if (!deploymentEnded(deployment)) why = `${dep} — still running after ${d(waitMs)} (the rollback wait: the service's apply timeout); follow it with \`nomad deployment status ${deployment.ID}\``;
  else if (deployment.Status !== 'successful' || deploymentReverted(deployment)) why = `${dep} — the rollback did not take; with auto-revert Nomad goes back to the last stable job version (now job ${o.job} runs ${runningAppVersion ?? '?'})`;
  else if (runningAppVersion !== to.appVersion) why = `${dep}; but job ${o.job} now runs ${runningAppVersion ?? '?'}, not ${app(to)} — another deploy came in meanwhile?`;
  else {
    ok = true;
    why = `${dep}; job ${o.job} runs ${runningAppVersion}`;
  }
  say(why);
  if (gateRecord) say(`gate: ${gateRecord.outcome} — ${gateRecord.why}`);
  say(`${ok ? 'rolled back' : 'FAILED'} in ${(elapsedMs / 1000).toFixed(1)} s (from the start of the rollback to the deployment's end)`);
  const instruction = runningAppVersion !== undefined && runningAppVersion === to.appVersion
    ? configInstruction({ file: shown(target.config), index, inFile: versionInFile(target.config, index), override: versionOverride(o.job, target.env), target: runningAppVersion })
    : undefined;
  if (instruction) say(`NEXT: ${instruction}`);
  return { ok, job: o.job, from, to, ...(deployment ? { deployment } : {}), ...(runningAppVersion !== undefined ? { runningAppVersion } : {}), elapsedMs, why, ...(instruction ? { instruction } : {}), ...(gateRecord ? { gate: gateRecord } : {}) };
}
