/**
 * The deploy (`npm run deploy`, scripts/deploy.ts): a thin convenience over
 * `cdktf deploy edge app` (Terraform; OpenTofu where only `tofu` is installed).
 *
 * It says which cluster it deploys to and why (deploy/target.ts: the running local
 * cluster unless -c names a config), synthesizes once, refuses a stack whose local state holds a
 * tainted resource, and runs `cdktf deploy --skip-synth` with TF_CLI_CONFIG_FILE set to the config
 * `npm run tools` writes: providers built from source come from its mirror, any other from the
 * registry.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { $ } from 'zx';
import { deployTarget, type DeployTarget, type TargetOptions } from './target.ts';
import { gateJob, type GateRecord } from '../gate/index.ts';
import { CDKTF_CLI, toolPaths } from '../toolchain/index.ts';
import { jobVersion } from '../lib/nomad.ts';
import { deployRunTimeoutMs, timingPlans, traefikPlan } from '../timing/model.ts';
import { runProcessTree, treeRunFailure } from '../lib/process-tree.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { lastLines } from '../lib/tail.ts';

export type { DeployTarget } from './target.ts';


export const DEFAULTS = {
  /** stacks to deploy; cdktf applies them in their dependency order (main.ts: app, then edge) */
  stacks:        ['edge', 'app'] as readonly string[],
} as const;

export interface DeployOptions extends TargetOptions {
  /** @default DEFAULTS.stacks */
  readonly stacks?: readonly string[];
  /** The whole cdktf run. @default - derived from the services' apply timeouts (timing/model.ts `deployRunTimeoutMs`) */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Quiet mode for tests: output is captured and returned instead of streamed. @default false */
  readonly quiet?: boolean;
}

/** The parts of a synthesized cdk.tf.json that deploy and the tests read. */
export interface CdkTfJson {
  readonly terraform?: {
    readonly required_providers?: Record<string, { readonly source?: string; readonly version?: string }>;
    readonly backend?: { readonly local?: { readonly path?: string } };
  };
  readonly resource?: {
    readonly nomad_job?: Record<string, { jobspec: string; detach?: boolean; timeouts?: { update?: string } }>;
  };
}

export interface TerraformState {
  readonly resources?: readonly { readonly type: string; readonly name: string; readonly instances?: readonly { readonly status?: string }[] }[];
}

/**
 * Resources Terraform would destroy and re-create on the next apply because their create failed
 * (`status: tainted`). For a nomad_job that means a purge: every allocation stops.
 */
export function taintedResources(state: TerraformState): string[] {
  return (state.resources ?? []).filter((r) => r.instances?.some((i) => i.status === 'tainted')).map((r) => `${r.type}.${r.name}`);
}

/** Refuses to apply a stack whose local state holds a tainted resource, naming the fix. */
async function refuseTainted(outdir: string, stack: string, tf: CdkTfJson, engine: string): Promise<void> {
  const local = tf.terraform?.backend?.local?.path;
  // Remote state (Consul): not read here; the job's prevent_destroy makes Terraform's plan fail instead.
  if (!local) return;
  const stackDir = path.join(outdir, 'stacks', stack);
  const stateFile = path.resolve(stackDir, local);
  if (!existsSync(stateFile)) return;
  const tainted = taintedResources(parseLocalState(await readFile(stateFile, 'utf8'), stateFile, stack));
  if (!tainted.length) return;
  throw new Error(
    `${stack}: ${tainted.join(', ')} tainted in ${stateFile} (its first apply failed), so this apply would destroy and re-create it — ` +
      `for a nomad_job a purge that stops every allocation, which its prevent_destroy makes Terraform refuse. Keep it: (cd ${stackDir} && ${tainted.map((r) => `${engine} untaint ${r}`).join(' && ')}), then deploy again.`,
  );
}

/**
 * A stack's local Terraform state, or an error that says how to get it back: an apply cut off while
 * Terraform wrote the file leaves it empty or truncated, and Terraform itself would then take the
 * stack for new. Pure.
 */
export function parseLocalState(text: string, stateFile: string, stack: string): TerraformState {
  try {
    return JSON.parse(text) as TerraformState;
  } catch {
    const backup = `${stateFile}.backup`;
    throw new Error(
      `${stack}: ${stateFile} is ${text.trim() ? 'not whole JSON' : 'empty'} — an apply was cut off while Terraform wrote it. ` +
        `Terraform kept the state from before that apply in ${backup}: restore it with \`cp '${backup}' '${stateFile}'\` and deploy again ` +
        `(the next apply compares the cluster with it and changes only what differs).`,
    );
  }
}

/**
 * Required providers that are not in the local mirror, so Terraform installs them from the
 * registry (fails without one: say so before it does). Pure.
 */
export function providersFromRegistry(tf: CdkTfJson, providers: ReturnType<typeof toolPaths>['providers']): string[] {
  return Object.entries(tf.terraform?.required_providers ?? {})
    .filter(([type, req]) => !(providers[type]?.built && providers[type]!.info.version === req.version))
    .map(([type, req]) => `${providers[type]?.info.namespace ?? 'hashicorp'}/${type} ${req.version ?? ''}`.trim());
}

/** Synthesizes every stack into the target's outdir with the target's env (`main.ts`, as `cdktf synth` would). */
export async function synthStacks(target: DeployTarget, signal?: AbortSignal): Promise<string[]> {
  const synth = await $({ cwd: REPO_ROOT, env: { ...target.env, CDKTF_OUTDIR: target.outdir }, quiet: true, nothrow: true, timeout: 120_000, ...(signal ? { signal } : {}) })`${process.execPath} --import tsx main.ts`;
  if (synth.exitCode !== 0) throw new Error(`synth failed (exit ${synth.exitCode}):\n${synth.stderr.trim()}`);
  return synth.stderr.split('\n').filter((line) => line.startsWith('zerodrop: WARNING'));
}

/**
 * Synthesizes once, then applies the stacks with one `cdktf deploy <stacks…> --skip-synth`, which
 * orders them by their dependencies (main.ts).
 */
export async function deploy(opts: DeployOptions = {}): Promise<{ target: DeployTarget; output: string; gates: GateRecord[] }> {
  const target = await deployTarget(opts);
  const stacks = [...(opts.stacks ?? DEFAULTS.stacks)];
  const lines: string[] = [];
  const log = (line: string) => (opts.quiet ? lines.push(line) : console.log(line));
  const started = Date.now();
  log(`[deploy] target: ${target.description}`);
  const outdir = target.outdir;
  for (const warning of await synthStacks(target, opts.signal)) log(`[deploy] ${warning}`);
  const providers = toolPaths().providers;
  for (const stack of stacks) {
    const file = path.join(outdir, 'stacks', stack, 'cdk.tf.json');
    if (!existsSync(file)) throw new Error(`stack '${stack}': no ${file} after synth — the stacks are ${DEFAULTS.stacks.join(', ')}`);
    const tf = JSON.parse(await readFile(file, 'utf8')) as CdkTfJson;
    await refuseTainted(outdir, stack, tf, path.basename(target.env.TERRAFORM_BINARY_NAME ?? 'terraform'));
    const fromRegistry = providersFromRegistry(tf, providers);
    if (fromRegistry.length) {
      log(`[deploy] ${stack}: ${fromRegistry.join(', ')} not in the local mirror — Terraform installs it from the registry (offline: build it with \`npm run tools\`, docs/providers.md)`);
    }
  }
  // Gated services: the gate runs beside `cdktf deploy`, which waits (detach = false) until the gate
  // promotes the canary or fails the deployment.
  const stopGates = new AbortController();
  const gates = stacks.includes('app') ? await startGates(target, log, opts.signal ? AbortSignal.any([opts.signal, stopGates.signal]) : stopGates.signal) : [];
  let deployError: unknown;
  const timeoutMs = opts.timeoutMs ?? deployRunTimeoutMs(servicePlans(target).values(), stacks, traefikPlan(target.resolved));
  await cdktfDeploy(target, stacks, { ...opts, timeoutMs }, log).catch((err: unknown) => (deployError = err));
  stopGates.abort();
  const records = await Promise.all(gates);
  const failed = records.filter((r) => r.outcome === 'failed');
  if (failed.length) {
    const why = failed.map((r) => `${r.job}: ${r.why}`).join('; ');
    throw Object.assign(new Error(`promotion gate failed the deployment (Nomad reverts to the last stable version) — ${why}${deployError ? `\n${(deployError as Error).message}` : ''}`), { gates: records });
  }
  if (deployError) throw deployError;
  log(`[deploy] done in ${Math.round((Date.now() - started) / 1000)} s`);
  return { target, output: lines.join('\n'), gates: records };
}

/**
 * The services' timing plans, as main.ts derives them for this target (the negative controls'
 * ZERODROP_UNSAFE_SKIP_TIMING_CHECKS included: their configs are refused otherwise).
 */
export function servicePlans(target: Pick<DeployTarget, 'resolved' | 'env'>) {
  return timingPlans(target.resolved, { unsafeSkipChecks: target.env.ZERODROP_UNSAFE_SKIP_TIMING_CHECKS === '1' });
}

/** Starts the gate of every gated service whose job already runs (a new job has no canary to gate). */
async function startGates(target: DeployTarget, log: (line: string) => void, signal: AbortSignal): Promise<Promise<GateRecord>[]> {
  const config = target.resolved;
  const nomad = { address: target.nomadAddr, ...(target.env.NOMAD_TOKEN ? { token: target.env.NOMAD_TOKEN } : {}) };
  const started: Promise<GateRecord>[] = [];
  for (const service of config.services.filter((s) => s.promotion === 'gated')) {
    const before = await jobVersion(nomad, service.name, signal);
    if (before === undefined) {
      log(`[deploy] ${service.name}: gated, but the job is new — its first version has no canary to gate`);
      continue;
    }
    log(`[deploy] ${service.name}: promotion gated — the gate follows the deployment after job version ${before}`);
    started.push(gateJob({ job: service.name, config: target.config, nomadAddr: target.nomadAddr, env: target.env, afterJobVersion: before, signal, log }));
  }
  return started;
}

async function cdktfDeploy(target: DeployTarget, stacks: readonly string[], opts: DeployOptions & { timeoutMs: number }, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  // The stacks were just synthesized with the same env; cdktf applies them as they are.
  const args = ['deploy', ...stacks, '--skip-synth', '--output', target.outdir, '--auto-approve', '--skip-provider-lock', '--ignore-missing-stack-dependencies'];
  // Quiet (tests, verify): captured, and the tail goes into the error. Otherwise cdktf's output as it comes:
  // its own UI on a terminal, plain lines (CI=1, no colour codes) into a pipe or log file.
  const quiet = opts.quiet ?? false;
  const plain = quiet || !process.stdout.isTTY;
  const env = plain ? { ...target.env, CI: '1', TF_CLI_ARGS_init: '-no-color', TF_CLI_ARGS_plan: '-no-color', TF_CLI_ARGS_apply: '-no-color' } : target.env;
  // In a process group of its own: a stop (Ctrl-C, the deadline) reaches terraform first, with
  // SIGINT, so it writes its state before cdktf goes (lib/process-tree.ts).
  const out = await runProcessTree(CDKTF_CLI, args, { cwd: REPO_ROOT, env, timeoutMs: opts.timeoutMs, output: quiet ? 'capture' : 'inherit', ...(opts.signal ? { signal: opts.signal } : {}) });
  const failure = treeRunFailure(out, opts.timeoutMs);
  if (failure) {
    const tail = quiet ? `:\n${lastLines(out.output.trim(), 40)}` : ' (output above)';
    throw new Error(`cdktf deploy ${stacks.join(' ')} ${failure} after ${Math.round((Date.now() - started) / 1000)} s${tail}`);
  }
  log(`[deploy] cdktf deploy ${stacks.join(' ')} done in ${Math.round((Date.now() - started) / 1000)} s`);
}
