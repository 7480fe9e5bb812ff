/**
 * Which cluster `npm run deploy` deploys to, worked out in one place and said out loud:
 * - no config named (`-c`, or ZERODROP_CONFIG): the local cluster running under the default state
 *   dir, with examples/local.yaml. NOMAD_ADDR does not change that (`npm run cluster -- up` prints
 *   it for the nomad/consul CLIs); with none running, deploy stops and says how to pick a target.
 * - a config named: its cluster. Addresses it leaves out come from NOMAD_ADDR/CONSUL_HTTP_ADDR,
 *   else from the running local cluster. When that is a local cluster, its Consul token, state dir
 *   and synth dir are used, as without a config.
 * - `cluster` given (demo, tests, verify): that local cluster, with the named config or the local one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { parse } from 'yaml';
import { loadConfig } from '../config/load.ts';
import type { ZerodropConfig } from '../config/schema.ts';
import { clusterEnv, clusterState, type ClusterOptions } from '../cluster/index.ts';
import { engineMissing, toolPaths } from '../toolchain/index.ts';


export const TARGET_DEFAULTS = {
  /** config for a local cluster when none is named */
  localConfig: path.join(REPO_ROOT, 'examples', 'local.yaml'),
  /** synth output for a cluster that is not a local one (CDKTF_OUTDIR overrides, as for `cdktf synth`) */
  outdir:      path.join(REPO_ROOT, 'cdktf.out'),
} as const;

export interface TargetOptions {
  /** @default - ZERODROP_CONFIG, else examples/local.yaml on the running local cluster */
  readonly config?: string;
  /** Sets every service's version (ZERODROP_VERSION). @default - the config's */
  readonly version?: string;
  /** Target this local cluster, whatever the env says. @default - see the module comment */
  readonly cluster?: Pick<ClusterOptions, 'stateDir' | 'portBase'>;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface DeployTarget {
  readonly kind: 'local' | 'config';
  readonly config: string;
  /** The config file as the target reads it (its env's addresses and overrides), read once per command. */
  readonly resolved: ZerodropConfig;
  /** Nomad address the stacks are synthesized for */
  readonly nomadAddr: string;
  /** The child's env: addresses, tokens, engine and provider mirror. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Synth output. A local cluster keeps its own beside its state: Terraform's working dirs
   * (`.terraform`) remember the backend, so two clusters sharing one would need re-init.
   */
  readonly outdir: string;
  /** One line: what goes where, and why that target. */
  readonly description: string;
}

/** The `cluster.nomad.address` a config file sets itself, if any (read raw: no env fallback). */
export function nomadAddressInFile(file: string): string | undefined {
  try {
    const doc = parse(readFileSync(file, 'utf8')) as { cluster?: { nomad?: { address?: unknown } } } | null;
    const addr = doc?.cluster?.nomad?.address;
    return typeof addr === 'string' ? addr : undefined;
  } catch {
    return undefined; // loadConfig reports an unreadable or broken file properly
  }
}

const origin = (url: string) => new URL(url).origin;
const shown = (file: string) => path.relative(process.cwd(), file) || file;

/** Works out what to deploy where; throws with the fix when there is no cluster to target. */
export async function deployTarget(opts: TargetOptions = {}): Promise<DeployTarget> {
  const base = opts.env ?? process.env;
  const tools = toolPaths({}, base);
  if (!existsSync(tools.engine.bin)) throw new Error(engineMissing(tools.engine));
  const env: NodeJS.ProcessEnv = {
    ...base,
    CHECKPOINT_DISABLE: '1',
    // The mirror of providers built from source, once `npm run tools` wrote it; without it (a CI
    // runner that reaches the registry) `terraform init` installs the providers from the registry.
    ...(existsSync(tools.terraformrc) ? { TF_CLI_CONFIG_FILE: tools.terraformrc } : {}),
    TERRAFORM_BINARY_NAME: tools.engine.bin,
    TF_IN_AUTOMATION: '1',
    // raw_exec commands given as bare names (traefik, node) are looked up on PATH at synth.
    PATH: [path.dirname(tools.traefik), path.dirname(process.execPath), base.PATH].filter(Boolean).join(':'),
    ...(opts.version ? { ZERODROP_VERSION: opts.version } : {}),
  };

  if (opts.cluster) return localTarget(opts.cluster, opts.config || TARGET_DEFAULTS.localConfig, env, 'the local cluster asked for');

  const named = opts.config || base.ZERODROP_CONFIG;
  const running = clusterState({});
  const local = clusterEnv({});
  const localUp = !!running.consulPid && !!running.nomadPid;
  if (!named) {
    if (!localUp) {
      throw new Error(
        `no target: no local cluster is running in ${shown(local.stateDir)} and no config is named — ` +
          'start one with `npm run cluster -- up`, or name the cluster to deploy to with -c FILE ' +
          '(e.g. -c zerodrop.yaml; addresses it leaves out come from NOMAD_ADDR/CONSUL_HTTP_ADDR)',
      );
    }
    const ignored = base.NOMAD_ADDR && origin(base.NOMAD_ADDR) !== origin(local.nomadAddr) ? `; NOMAD_ADDR=${base.NOMAD_ADDR} is not used without -c` : '';
    return localTarget({}, TARGET_DEFAULTS.localConfig, env, `the local cluster running in ${shown(local.stateDir)}, since no -c names a config${ignored}`);
  }

  const config = path.resolve(named);
  const from = opts.config ? '-c' : 'ZERODROP_CONFIG';
  const inFile = nomadAddressInFile(config);
  let why: string;
  if (inFile) why = `cluster.nomad.address in ${shown(config)}`;
  else if (base.NOMAD_ADDR) why = `NOMAD_ADDR (${shown(config)} leaves cluster.nomad.address out)`;
  else if (localUp) return localTarget({}, config, env, `the running local cluster: ${shown(config)} (${from}) leaves cluster.nomad.address out and NOMAD_ADDR is unset`);
  else why = `the default address (${shown(config)} leaves cluster.nomad.address out, NOMAD_ADDR is unset, no local cluster runs)`;

  // Validates the file now (every problem at once) and gives the address the stacks will use.
  const resolved = loadConfig(config, { env });
  const nomadAddr = resolved.cluster.nomad.address;
  if (localUp && origin(nomadAddr) === origin(local.nomadAddr)) return localTarget({}, config, env, `the local cluster: ${why} points at it`);
  return {
    kind: 'config',
    config,
    resolved,
    nomadAddr,
    env: { ...env, ZERODROP_CONFIG: config },
    outdir: base.CDKTF_OUTDIR ? path.resolve(base.CDKTF_OUTDIR) : TARGET_DEFAULTS.outdir,
    description: `${shown(config)} (${from}) → Nomad ${nomadAddr}, from ${why}; tokens from NOMAD_TOKEN/CONSUL_HTTP_TOKEN`,
  };
}

async function localTarget(cluster: Pick<ClusterOptions, 'stateDir' | 'portBase'>, config: string, env: NodeJS.ProcessEnv, why: string): Promise<DeployTarget> {
  const state = clusterState(cluster);
  const c = clusterEnv(cluster);
  if (!state.consulPid || !state.nomadPid) {
    throw new Error(`no local cluster is running in ${shown(c.stateDir)} (consul pid ${state.consulPid ?? '-'}, nomad pid ${state.nomadPid ?? '-'}) — run \`npm run cluster -- up\``);
  }
  const traefik = toolPaths().traefik;
  if (!existsSync(traefik)) throw new Error(`traefik: ${traefik} not found — run \`npm run tools\` first (the local cluster runs it as a raw_exec task)`);
  const stateDir = path.join(c.stateDir, 'terraform');
  await mkdir(stateDir, { recursive: true });
  const targetEnv = {
    ...env,
    ...c.env,
    // The cluster's own management token: one exported for another cluster must not leak in.
    CONSUL_HTTP_TOKEN: (await readFile(c.consulTokenFile, 'utf8')).trim(),
    ZERODROP_CONFIG: config,
    ZERODROP_TF_STATE_DIR: stateDir,
  };
  return {
    kind: 'local',
    config,
    resolved: loadConfig(config, { env: targetEnv }),
    nomadAddr: c.nomadAddr,
    env: targetEnv,
    outdir: path.join(c.stateDir, 'cdktf.out'),
    description: `${shown(config)} → local cluster ${c.nomadAddr} (${why})`,
  };
}
