#!/usr/bin/env tsx
/**
 * `npm run deploy [-- --stacks edge,app] [--config FILE] [--version V]`
 *
 * Deploys the edge and app stacks to the cluster the environment points at
 * (NOMAD_ADDR, CONSUL_HTTP_ADDR, NOMAD_TOKEN, CONSUL_HTTP_TOKEN). With no NOMAD_ADDR and a
 * local cluster up (`npm run cluster -- up`), it targets that cluster with
 * examples/local.yaml, reads its Consul token from the cluster's token file, and keeps the
 * Terraform state in the cluster's state dir. Each stack goes through `cdktf deploy` when its
 * providers are in the local mirror built by `npm run tools` (TF_CLI_CONFIG_FILE, nothing is
 * downloaded), else through the Nomad/Consul APIs (see `stackEngine`, README "Terraform providers").
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { $ } from 'zx';
import { clusterEnv, clusterState, type ClusterOptions } from './cluster.ts';
import { applyStackViaApi, type CdkTfJson } from './nomad-api-deploy.ts';
import { toolPaths, type ToolPaths } from './tools.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULTS = {
  /** stacks in deploy order */
  stacks:        ['edge', 'app'] as readonly string[],
  /** config for a local cluster when none is named */
  localConfig:   path.join(REPO_ROOT, 'examples', 'local.yaml'),
  /** config otherwise */
  config:        path.join(REPO_ROOT, 'zerodrop.yaml'),
  /** the whole cdktf run; the app stack's own apply timeout is inside it */
  timeoutMs:     20 * 60_000,
} as const;

export interface DeployOptions {
  /** @default DEFAULTS.stacks */
  readonly stacks?: readonly string[];
  /** @default - ZERODROP_CONFIG, else examples/local.yaml for a local cluster, else zerodrop.yaml */
  readonly config?: string;
  /** Sets every service's version (ZERODROP_VERSION). @default - the config's */
  readonly version?: string;
  /**
   * Target this local cluster, whatever NOMAD_ADDR / ZERODROP_CONFIG say (tests and the demo
   * pass it). @default - NOMAD_ADDR's cluster if set, else the default local cluster
   */
  readonly cluster?: Pick<ClusterOptions, 'stateDir' | 'portBase'>;
  readonly env?: NodeJS.ProcessEnv;
  /** @default DEFAULTS.timeoutMs */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Quiet mode for tests: output is captured and returned instead of streamed. @default false */
  readonly quiet?: boolean;
  /**
   * `cdktf`: `cdktf deploy` with the providers from the local mirror. `nomad-api`: apply the
   * same synthesized stacks through the Nomad/Consul APIs (scripts/nomad-api-deploy.ts).
   * @default - per stack: `cdktf` where its providers are built (`stackEngine`), else `nomad-api`
   */
  readonly engine?: Engine;
}

export interface DeployTarget {
  readonly kind: 'local' | 'env';
  readonly config: string;
  /** The child's env: addresses, tokens, engine and provider mirror. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Synth output. A local cluster keeps its own beside its state: Terraform's working dirs
   * (`.terraform`) remember the backend, so two clusters sharing one would need re-init.
   */
  readonly outdir: string;
  readonly description: string;
}

/** Works out what to deploy where; throws with the fix when there is no cluster to target. */
export async function deployTarget(opts: DeployOptions = {}): Promise<DeployTarget> {
  const base = opts.env ?? process.env;
  const tools = toolPaths();
  if (!existsSync(tools.traefik)) throw new Error(`traefik: ${tools.traefik} not found — run \`npm run tools\` first`);
  const env: NodeJS.ProcessEnv = {
    ...base,
    CHECKPOINT_DISABLE: '1',
    TF_CLI_CONFIG_FILE: tools.terraformrc,
    TERRAFORM_BINARY_NAME: tools.engine.bin,
    TF_IN_AUTOMATION: '1',
    ...standInEnv(tools.providers, base),
    // raw_exec commands given as bare names (traefik, node) are looked up on PATH at synth.
    PATH: [path.dirname(tools.traefik), path.dirname(process.execPath), base.PATH].filter(Boolean).join(':'),
    ...(opts.version ? { ZERODROP_VERSION: opts.version } : {}),
  };
  if (base.NOMAD_ADDR && !opts.cluster) {
    const config = opts.config || base.ZERODROP_CONFIG || DEFAULTS.config;
    return { kind: 'env', config, env: { ...env, ZERODROP_CONFIG: config }, outdir: path.join(REPO_ROOT, 'cdktf.out'), description: `${config} → ${base.NOMAD_ADDR} (from NOMAD_ADDR)` };
  }
  const local = clusterState(opts.cluster ?? {});
  if (!local.consulPid || !local.nomadPid) {
    throw new Error('no cluster to deploy to: NOMAD_ADDR is unset and no local cluster is running — run `npm run cluster -- up`, or export NOMAD_ADDR/CONSUL_HTTP_ADDR (and tokens) for a remote one');
  }
  const c = clusterEnv(opts.cluster ?? {});
  // An explicitly named cluster gets the local example unless a config is named too.
  const config = opts.config || (opts.cluster ? undefined : base.ZERODROP_CONFIG) || DEFAULTS.localConfig;
  const stateDir = path.join(c.stateDir, 'terraform');
  await mkdir(stateDir, { recursive: true });
  return {
    kind: 'local',
    config,
    env: {
      ...env,
      ...c.env,
      CONSUL_HTTP_TOKEN: (await readFile(c.consulTokenFile, 'utf8')).trim(),
      ZERODROP_CONFIG: config,
      ZERODROP_TF_STATE_DIR: stateDir,
    },
    outdir: path.join(c.stateDir, 'cdktf.out'),
    description: `${path.relative(process.cwd(), config) || config} → local cluster ${c.nomadAddr}`,
  };
}

export type Engine = 'cdktf' | 'nomad-api';

/** Which engine applies a stack, and why. */
export interface StackEngine {
  readonly stack: string;
  readonly engine: Engine;
  readonly why: string;
}

/** The part of a Terraform state (format 4) the taint check reads. */
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
async function refuseTainted(outdir: string, stack: string, tf: CdkTfJson): Promise<void> {
  const local = tf.terraform?.backend?.local?.path;
  if (!local) return; // remote state: Terraform's own plan shows "must be replaced"
  const stackDir = path.join(outdir, 'stacks', stack);
  const stateFile = path.resolve(stackDir, local);
  if (!existsSync(stateFile)) return;
  const tainted = taintedResources(JSON.parse(await readFile(stateFile, 'utf8')) as TerraformState);
  if (!tainted.length) return;
  throw new Error(
    `${stack}: ${tainted.join(', ')} tainted in ${stateFile} (its first apply failed), so this apply would destroy and re-create it — ` +
      `for a nomad_job a purge that stops every allocation. Keep it: (cd ${stackDir} && ${tainted.map((r) => `terraform untaint ${r}`).join(' && ')}), then deploy again.`,
  );
}

/**
 * `cdktf` when every provider the stack requires is built, at the version it requires, with every
 * resource type the stack uses; otherwise `nomad-api`, with the first reason it cannot be `cdktf`.
 * Pure: reads the synthesized stack and the provider builds only.
 */
export function stackEngine(stack: string, tf: CdkTfJson, providers: ToolPaths['providers']): StackEngine {
  for (const [type, req] of Object.entries(tf.terraform?.required_providers ?? {})) {
    const p = providers[type];
    if (!p?.built) return { stack, engine: 'nomad-api', why: `provider hashicorp/${type} ${req.version ?? ''} is not built here (README "Terraform providers")` };
    if (req.version !== p.info.version) return { stack, engine: 'nomad-api', why: `the stack requires hashicorp/${type} ${req.version}, the built one is ${p.info.version}` };
    const missing = Object.keys(tf.resource ?? {}).filter((r) => p.info.lacks?.includes(r));
    if (missing.length) return { stack, engine: 'nomad-api', why: `hashicorp/${type} ${p.info.version} has no ${missing.join(', ')}` };
  }
  const used = Object.entries(tf.terraform?.required_providers ?? {}).map(([type]) => {
    const info = providers[type]!.info;
    return `hashicorp/${type} ${info.version}${info.standInFor ? ` (stand-in for ${info.standInFor})` : ''}`;
  });
  return { stack, engine: 'cdktf', why: used.join(', ') || 'no providers' };
}

/**
 * Env that makes the stacks require the built stand-in providers
 * (ZERODROP_PROVIDER_<TYPE>_VERSION, see config/load.ts); a value already set wins.
 */
export function standInEnv(providers: ToolPaths['providers'], base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [type, p] of Object.entries(providers)) {
    const key = `ZERODROP_PROVIDER_${type.toUpperCase()}_VERSION`;
    if (p.built && p.info.standInFor && !base[key]) env[key] = p.info.version;
  }
  return env;
}

/**
 * Deploys the stacks in order. Synthesizes once, then applies each stack with `cdktf deploy
 * --skip-synth` where it can (`stackEngine`) and through the Nomad/Consul APIs otherwise; an
 * explicit `engine` applies every stack with that engine (and fails if cdktf cannot).
 */
export async function deploy(opts: DeployOptions = {}): Promise<{ target: DeployTarget; output: string; engines: StackEngine[] }> {
  const target = await deployTarget(opts);
  const stacks = [...(opts.stacks ?? DEFAULTS.stacks)];
  const lines: string[] = [];
  const log = (line: string) => (opts.quiet ? lines.push(line) : console.log(line));
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const outdir = target.outdir;
  const synth = await $({ cwd: REPO_ROOT, env: { ...target.env, CDKTF_OUTDIR: outdir }, quiet: true, nothrow: true, timeout: 120_000, ...(opts.signal ? { signal: opts.signal } : {}) })`${process.execPath} --import tsx main.ts`;
  if (synth.exitCode !== 0) throw new Error(`synth failed (exit ${synth.exitCode}):\n${synth.stderr.trim()}`);
  const providers = toolPaths().providers;
  const engines: StackEngine[] = [];
  for (const stack of stacks) {
    const tf = JSON.parse(await readFile(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as CdkTfJson;
    const auto = stackEngine(stack, tf, providers);
    if (opts.engine === 'cdktf' && auto.engine !== 'cdktf') throw new Error(`${stack}: cannot deploy with cdktf — ${auto.why}; leave --engine out to apply it through the APIs`);
    const chosen: StackEngine = opts.engine === 'nomad-api' ? { stack, engine: 'nomad-api', why: 'asked for' } : auto;
    engines.push(chosen);
    log(`[deploy] ${stack}: ${target.description}; engine ${chosen.engine} — ${chosen.why}`);
    if (chosen.engine === 'cdktf') {
      await refuseTainted(outdir, stack, tf);
      await cdktfDeploy(target, stack, opts, log);
    } else {
      await applyStackViaApi(stack, tf, { nomadToken: target.env.NOMAD_TOKEN, consulToken: target.env.CONSUL_HTTP_TOKEN }, log);
    }
  }
  log(`[deploy] done in ${seconds()} s`);
  return { target, output: lines.join('\n'), engines };
}

async function cdktfDeploy(target: DeployTarget, stack: string, opts: DeployOptions, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  // The stacks were just synthesized with the same env; cdktf applies them as they are.
  const args = ['deploy', stack, '--skip-synth', '--output', target.outdir, '--auto-approve', '--skip-provider-lock', '--ignore-missing-stack-dependencies'];
  // Quiet (tests, verify): captured, and the tail goes into the error. Otherwise cdktf's output as it comes:
  // its own UI on a terminal, plain lines (CI=1, no colour codes) into a pipe or log file.
  const quiet = opts.quiet ?? false;
  const plain = quiet || !process.stdout.isTTY;
  const env = plain ? { ...target.env, CI: '1', TF_CLI_ARGS_init: '-no-color', TF_CLI_ARGS_plan: '-no-color', TF_CLI_ARGS_apply: '-no-color' } : target.env;
  const out = await $({ cwd: REPO_ROOT, env, quiet, nothrow: true, timeout: opts.timeoutMs ?? DEFAULTS.timeoutMs, ...(quiet ? {} : { stdio: 'inherit' as const }), ...(opts.signal ? { signal: opts.signal } : {}) })`${path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf')} ${args}`;
  if (out.exitCode !== 0) {
    const tail = quiet ? `:\n${(out.stdout + out.stderr).trim().split('\n').slice(-40).join('\n')}` : ' (output above)';
    throw new Error(`cdktf deploy ${stack} failed (exit ${out.exitCode}) after ${Math.round((Date.now() - started) / 1000)} s${tail}`);
  }
  log(`[deploy] ${stack}: cdktf deploy done in ${Math.round((Date.now() - started) / 1000)} s`);
}

export async function main(argv = process.argv): Promise<number> {
  const o = new Command('deploy')
    .option('-s, --stacks <list>', 'stacks to deploy, in order', DEFAULTS.stacks.join(','))
    .option('-c, --config <file>', 'config file (env ZERODROP_CONFIG)')
    .option('-v, --version <version>', 'release to deploy for every service (env ZERODROP_VERSION)')
    .addOption(new Option('-e, --engine <engine>', 'apply every stack with this engine (default: per stack, cdktf where its providers are built)').choices(['cdktf', 'nomad-api']))
    .parse(argv)
    .opts<{ stacks: string; config?: string; version?: string; engine?: Engine }>();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    await deploy({ stacks: o.stacks.split(',').filter(Boolean), ...(o.engine ? { engine: o.engine } : {}), ...(o.config ? { config: o.config } : {}), ...(o.version ? { version: o.version } : {}), signal: ac.signal });
    return 0;
  } catch (err) {
    console.error(`[deploy] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
