#!/usr/bin/env tsx
/**
 * `npm run deploy [-- --stacks edge,app] [--config FILE] [--version V]`
 *
 * `cdktf deploy` of the edge and app stacks to the cluster the environment points at
 * (NOMAD_ADDR, CONSUL_HTTP_ADDR, NOMAD_TOKEN, CONSUL_HTTP_TOKEN). With no NOMAD_ADDR and a
 * local cluster up (`npm run cluster -- up`), it targets that cluster with
 * examples/local.yaml, reads its Consul token from the cluster's token file, and keeps the
 * Terraform state in the cluster's state dir. Providers come from the local mirror built
 * by `npm run tools` (TF_CLI_CONFIG_FILE), so nothing is downloaded.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { $ } from 'zx';
import { clusterEnv, clusterState, type ClusterOptions } from './cluster.ts';
import { applyStackViaApi } from './nomad-api-deploy.ts';
import { toolPaths } from './tools.ts';

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
   * @default - `cdktf` when both provider binaries are built, else `nomad-api`
   */
  readonly engine?: 'cdktf' | 'nomad-api';
}

export interface DeployTarget {
  readonly kind: 'local' | 'env';
  readonly config: string;
  /** The child's env: addresses, tokens, engine and provider mirror. */
  readonly env: NodeJS.ProcessEnv;
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
    // raw_exec commands given as bare names (traefik, node) are looked up on PATH at synth.
    PATH: [path.dirname(tools.traefik), path.dirname(process.execPath), base.PATH].filter(Boolean).join(':'),
    ...(opts.version ? { ZERODROP_VERSION: opts.version } : {}),
  };
  if (base.NOMAD_ADDR && !opts.cluster) {
    const config = opts.config || base.ZERODROP_CONFIG || DEFAULTS.config;
    return { kind: 'env', config, env: { ...env, ZERODROP_CONFIG: config }, description: `${config} → ${base.NOMAD_ADDR} (from NOMAD_ADDR)` };
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
    description: `${path.relative(process.cwd(), config) || config} → local cluster ${c.nomadAddr}`,
  };
}

/** `cdktf` when the pinned providers are in the mirror, else `nomad-api`. */
export function defaultEngine(): 'cdktf' | 'nomad-api' {
  const tools = toolPaths();
  return [tools.terraformrc, tools.engine.bin, ...Object.values(tools.providers)].every((f) => existsSync(f)) ? 'cdktf' : 'nomad-api';
}

/** Deploys the stacks, in order; resolves with the CLI output when quiet. */
export async function deploy(opts: DeployOptions = {}): Promise<{ target: DeployTarget; output: string }> {
  const target = await deployTarget(opts);
  const stacks = [...(opts.stacks ?? DEFAULTS.stacks)];
  const engine = opts.engine ?? defaultEngine();
  if (engine === 'nomad-api') return deployViaApi(target, stacks, opts);
  const args = ['deploy', ...stacks, '--auto-approve', '--skip-provider-lock', '--ignore-missing-stack-dependencies'];
  if (!opts.quiet) console.log(`[deploy] ${stacks.join(' + ')}: ${target.description}`);
  const started = Date.now();
  const p = $({ cwd: REPO_ROOT, env: target.env, quiet: opts.quiet ?? false, nothrow: true, timeout: opts.timeoutMs ?? DEFAULTS.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) })`${path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf')} ${args}`;
  const out = await p;
  if (out.exitCode !== 0) {
    const tail = (out.stdout + out.stderr).trim().split('\n').slice(-40).join('\n');
    throw new Error(`cdktf deploy ${stacks.join(' ')} failed (exit ${out.exitCode}) after ${Math.round((Date.now() - started) / 1000)} s${opts.quiet ? `:\n${tail}` : ''}`);
  }
  if (!opts.quiet) console.log(`[deploy] done in ${Math.round((Date.now() - started) / 1000)} s`);
  return { target, output: out.stdout + out.stderr };
}

async function deployViaApi(target: DeployTarget, stacks: string[], opts: DeployOptions): Promise<{ target: DeployTarget; output: string }> {
  const lines: string[] = [];
  const log = (line: string) => (opts.quiet ? lines.push(line) : console.log(line));
  log(`[deploy] ${stacks.join(' + ')}: ${target.description} (engine nomad-api: the Terraform providers are not built here — README "Terraform providers")`);
  const started = Date.now();
  const outdir = path.join(REPO_ROOT, 'cdktf.out');
  const synth = await $({ cwd: REPO_ROOT, env: { ...target.env, CDKTF_OUTDIR: outdir }, quiet: true, nothrow: true, timeout: 120_000 })`${process.execPath} --import tsx main.ts`;
  if (synth.exitCode !== 0) throw new Error(`synth failed (exit ${synth.exitCode}):\n${synth.stderr.trim()}`);
  const env = target.env;
  for (const stack of stacks) {
    await applyStackViaApi(outdir, stack, {
      nomadAddr: env.NOMAD_ADDR ?? 'http://127.0.0.1:4646',
      consulAddr: env.CONSUL_HTTP_ADDR ?? 'http://127.0.0.1:8500',
      ...(env.NOMAD_TOKEN ? { nomadToken: env.NOMAD_TOKEN } : {}),
      ...(env.CONSUL_HTTP_TOKEN ? { consulToken: env.CONSUL_HTTP_TOKEN } : {}),
    }, log);
  }
  log(`[deploy] done in ${Math.round((Date.now() - started) / 1000)} s`);
  return { target, output: lines.join('\n') };
}

export async function main(argv = process.argv): Promise<number> {
  const o = new Command('deploy')
    .option('-s, --stacks <list>', 'stacks to deploy, in order', DEFAULTS.stacks.join(','))
    .option('-c, --config <file>', 'config file (env ZERODROP_CONFIG)')
    .option('-v, --version <version>', 'release to deploy for every service (env ZERODROP_VERSION)')
    .option('-e, --engine <engine>', 'cdktf | nomad-api (default: cdktf when the providers are built)')
    .parse(argv)
    .opts<{ stacks: string; config?: string; version?: string; engine?: 'cdktf' | 'nomad-api' }>();
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
