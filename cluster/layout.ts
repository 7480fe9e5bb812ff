/**
 * The local cluster's shape, pure: defaults, the port block, the state-dir layout, the env that
 * points the CLIs and the kit at it, and the agent input (agents/ turns it into Consul and Nomad
 * JSON configs). Nothing here starts or reads a process.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { consulAgentConfig, nomadAgentConfig, toJsonFile, type AgentInput } from '../agents/index.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';

// ---------------------------------------------------------------------------------------------
// Defaults (env overrides)

export const DEFAULTS = {
  /** where configs, data, logs, pids and the token go (env ZERODROP_STATE_DIR) */
  stateDir:        process.env.ZERODROP_STATE_DIR || path.join(REPO_ROOT, '.zerodrop', 'cluster'),
  /** first port of the cluster's block (env ZERODROP_PORT_BASE); see clusterPorts() */
  portBase:        Number(process.env.ZERODROP_PORT_BASE || 18500),
  /** how long `up` waits for a Consul leader and a ready Nomad node */
  readyTimeoutMs:  60_000,
  /** per-request timeout of every health poll */
  httpTimeoutMs:   2_000,
  /** poll interval while waiting */
  pollMs:          500,
  /** SIGTERM → SIGKILL grace per process */
  stopTimeoutMs:   15_000,
  /** how long `down` waits for Nomad to stop the allocations of purged jobs */
  drainJobsMs:     20_000,
  /** lines of an agent's log shown on failure */
  logTailLines:    30,
} as const;

export interface ClusterOptions {
  /** @default DEFAULTS.stateDir (`.zerodrop/cluster`, env ZERODROP_STATE_DIR) */
  stateDir?: string;
  /** @default DEFAULTS.portBase (18500, env ZERODROP_PORT_BASE) */
  portBase?: number;
  /** @default DEFAULTS.readyTimeoutMs (60 s) */
  readyTimeoutMs?: number;
  /** @default - `toolPaths().consul` */
  consulBin?: string;
  /** @default - `toolPaths().nomad` */
  nomadBin?: string;
  /** progress output @default console.log */
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Ports (pure)

/** Size of the block of ports one cluster owns, starting at the base. */
export const PORT_BLOCK = 400;

export interface ClusterPorts {
  consul: { http: number; dns: number; serfLan: number; serfWan: number; server: number; grpc: number };
  nomad: { http: number; rpc: number; serf: number };
  /** Nomad client dynamic port range (allocations' ports), inclusive */
  dynamic: { min: number; max: number };
}

/**
 * Port layout of a cluster: consul base+0..5, nomad base+10..12, dynamic ports base+100..base+399.
 * Everything a cluster binds lies in [base, base+PORT_BLOCK), so bases PORT_BLOCK apart never clash.
 */
export function clusterPorts(base: number): ClusterPorts {
  const max = 65535 - PORT_BLOCK + 1;
  if (!Number.isInteger(base) || base < 1024 || base > max) {
    throw new RangeError(`portBase: ${base} — must be an integer between 1024 and ${max} (the cluster uses ${PORT_BLOCK} ports from it) — pick e.g. 18500, or another multiple of ${PORT_BLOCK} apart`);
  }
  return {
    consul: { http: base, dns: base + 1, serfLan: base + 2, serfWan: base + 3, server: base + 4, grpc: base + 5 },
    nomad: { http: base + 10, rpc: base + 11, serf: base + 12 },
    dynamic: { min: base + 100, max: base + PORT_BLOCK - 1 },
  };
}

/** Every port the agents listen on themselves (the dynamic range is only used by allocations). */
export function listenPorts(p: ClusterPorts): number[] {
  return [...Object.values(p.consul), ...Object.values(p.nomad)];
}

// ---------------------------------------------------------------------------------------------
// Layout and env (pure)

export interface ClusterLayout {
  stateDir: string;
  ports: ClusterPorts;
  consul: { config: string; dataDir: string; log: string; pid: string };
  nomad: { config: string; dataDir: string; log: string; pid: string; allocMountsDir: string };
  /** management token, mode 0600 */
  tokenFile: string;
}

export function clusterLayout(opts: Pick<ClusterOptions, 'stateDir' | 'portBase'> = {}): ClusterLayout {
  const stateDir = path.resolve(opts.stateDir ?? DEFAULTS.stateDir);
  const agent = (name: string) => ({
    config: path.join(stateDir, `${name}.json`),
    dataDir: path.join(stateDir, `${name}-data`),
    log: path.join(stateDir, `${name}.log`),
    pid: path.join(stateDir, `${name}.pid`),
  });
  return {
    stateDir,
    ports: clusterPorts(opts.portBase ?? DEFAULTS.portBase),
    consul: agent('consul'),
    nomad: { ...agent('nomad'), allocMountsDir: path.join(stateDir, 'nomad-alloc-mounts') },
    tokenFile: path.join(stateDir, 'consul.token'),
  };
}

export interface ClusterEnv {
  /** `http://127.0.0.1:<port>` */
  nomadAddr: string;
  /** `http://127.0.0.1:<port>` */
  consulAddr: string;
  /** file holding the Consul management token (read it; it is never printed) */
  consulTokenFile: string;
  ports: ClusterPorts;
  stateDir: string;
  /** ready to spread into a child's env (without the token: read `consulTokenFile`) */
  env: { NOMAD_ADDR: string; CONSUL_HTTP_ADDR: string };
}

export function clusterEnv(opts: Pick<ClusterOptions, 'stateDir' | 'portBase'> = {}): ClusterEnv {
  const l = clusterLayout(opts);
  const nomadAddr = `http://127.0.0.1:${l.ports.nomad.http}`;
  const consulAddr = `http://127.0.0.1:${l.ports.consul.http}`;
  return { nomadAddr, consulAddr, consulTokenFile: l.tokenFile, ports: l.ports, stateDir: l.stateDir, env: { NOMAD_ADDR: nomadAddr, CONSUL_HTTP_ADDR: consulAddr } };
}

/** The lines to paste into a shell; the token is read from its file, never echoed. */
export function exportLines(e: ClusterEnv): string[] {
  return [`export NOMAD_ADDR=${e.nomadAddr}`, `export CONSUL_HTTP_ADDR=${e.consulAddr}`, `export CONSUL_HTTP_TOKEN="$(cat ${e.consulTokenFile})"`];
}

/** Gossip keys of one `up` (random each time, like the token). */
export interface GossipKeys {
  consul: string;
  nomad: string;
}

/**
 * The agent-config input of the loopback cluster: one all-in-one node on 127.0.0.1, the same
 * generator and input shape as a Hetzner node (hetzner/cloud-init.ts), with loopback addresses,
 * this cluster's port block, raw_exec only and no Nomad ACLs (the kit deploys locally without a
 * Nomad token).
 */
export function localAgentInput(l: ClusterLayout, token: string, keys: GossipKeys): AgentInput {
  const p = l.ports;
  return {
    role: 'all-in-one',
    nodeName: `zerodrop-${p.nomad.http}`,
    dataDirs: { consul: l.consul.dataDir, nomad: l.nomad.dataDir },
    address: '127.0.0.1',
    apiAddress: '127.0.0.1',
    ports: { consul: p.consul, nomad: p.nomad },
    join: [],
    bootstrapExpect: 1,
    gossipKeys: keys,
    consulToken: token,
    nomadAcl: false,
    client: {
      // zerodrop runs raw_exec only here; docker would poll a daemon that is not there
      drivers: ['raw_exec'],
      maxKillTimeout: '30s',
      // dynamic ports land on 127.0.0.1, inside this cluster's block
      networkInterface: 'lo',
      dynamicPorts: p.dynamic,
      // next to the data dir by default, i.e. loose in the state dir; named so down removes it
      allocMountsDir: l.nomad.allocMountsDir,
    },
  };
}

/** Consul's JSON config (holds the management token and the gossip key: written mode 0600). */
export function consulConfig(l: ClusterLayout, token: string, keys: GossipKeys): string {
  return toJsonFile(consulAgentConfig(localAgentInput(l, token, keys)));
}

/** Nomad's JSON config (holds the Consul management token and the gossip key: written mode 0600). */
export function nomadConfig(l: ClusterLayout, token: string, keys: GossipKeys): string {
  return toJsonFile(nomadAgentConfig(localAgentInput(l, token, keys)));
}

/** A gossip encryption key as both agents want it: 32 random bytes, base64. */
export function gossipKey(): string {
  return randomBytes(32).toString('base64');
}

