/**
 * The local cluster's shape, pure: defaults, the port block, the state-dir layout, the env that
 * points the CLIs and the kit at it, and the agent input (agents/ turns it into Consul and Nomad
 * JSON configs). Nothing here starts or reads a process.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { consulAgentConfig, EDGE_HOST_NETWORK, nomadAgentConfig, toJsonFile, type AgentInput } from '../agents/index.ts';
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
  /**
   * Nomad client nodes. 1: one all-in-one node on 127.0.0.1 (server and client). More: a server
   * node on 127.0.0.1 and that many client nodes on 127.0.0.2, .3, …, each with its own Consul
   * client agent, data dirs and share of the dynamic port range, and a front proxy before their
   * Traefiks. @default 1 (`down` and `status` read it from the running cluster)
   */
  nodes?: number;
  /** The front proxy of a multi-node cluster (ignored with one node). @default FRONT_DEFAULTS */
  front?: Partial<FrontOptions>;
}

/** Most client nodes of a loopback cluster: each takes a share of the 300-port dynamic range. */
export const MAX_NODES = 5;

/**
 * The front of a multi-node cluster: a Traefik outside Nomad, as a cloud load balancer would be,
 * sending to every node's Traefik and checking each one's /ping.
 */
export interface FrontOptions {
  /** where the front listens on 127.0.0.1 (the nodes' Traefiks listen on 127.0.0.2…, so it may equal edgePort) */
  readonly port: number;
  /** the nodes' Traefik entry port (`traefik.entryPoint.port` of the kit's config) */
  readonly edgePort: number;
  /** the nodes' Traefik admin port, where /ping answers (`traefik.adminPort`) */
  readonly edgeAdminPort: number;
  /** health-check interval; a node whose /ping fails or times out once is taken out until it passes again */
  readonly checkIntervalMs: number;
  readonly checkTimeoutMs: number;
}

/** Matches examples/multinode.yaml: Traefik on 18080/18082 on every node, the front on 127.0.0.1:18080. */
export const FRONT_DEFAULTS: FrontOptions = { port: 18080, edgePort: 18080, edgeAdminPort: 18082, checkIntervalMs: 1_000, checkTimeoutMs: 1_000 };

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

export interface AgentFiles {
  config: string;
  dataDir: string;
  log: string;
  pid: string;
}

/** One Nomad client node of a multi-node cluster: its own address, agents and share of the dynamic ports. */
export interface NodeLayout {
  /** 1-based */
  index: number;
  name: string;
  /** 127.0.0.(1 + index): its agents' APIs and its Traefik listen here */
  address: string;
  consul: AgentFiles;
  nomad: AgentFiles;
  dynamic: { min: number; max: number };
}

export interface FrontLayout extends FrontOptions {
  /** 127.0.0.1 */
  address: string;
  /** the nodes' Traefiks, `http://127.0.0.x:<edgePort>` */
  backends: string[];
  staticConfig: string;
  dynamicConfig: string;
  log: string;
  pid: string;
}

export interface ClusterLayout {
  stateDir: string;
  ports: ClusterPorts;
  /** the server node (with one node: the all-in-one node) */
  consul: AgentFiles;
  nomad: AgentFiles;
  /** client nodes; empty for a one-node cluster */
  clients: NodeLayout[];
  /** the front proxy; only with client nodes */
  front?: FrontLayout;
  /** management token, mode 0600 */
  tokenFile: string;
  /** what `up` started (node count, front ports, loopback addresses it added), for `down` and `status` */
  topologyFile: string;
}

/** The address of client node `index` (1-based) of a multi-node cluster. */
export function nodeAddress(index: number): string {
  return `127.0.0.${1 + index}`;
}

export function clusterLayout(opts: Pick<ClusterOptions, 'stateDir' | 'portBase' | 'nodes' | 'front'> = {}): ClusterLayout {
  const stateDir = path.resolve(opts.stateDir ?? DEFAULTS.stateDir);
  const nodes = opts.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
    throw new RangeError(`nodes: ${nodes} — must be an integer from 1 to ${MAX_NODES} (each client node takes its own 127.0.0.x and a share of the cluster's ${PORT_BLOCK - 100} dynamic ports)`);
  }
  const agent = (dir: string, name: string): AgentFiles => ({
    config: path.join(dir, `${name}.json`),
    dataDir: path.join(dir, `${name}-data`),
    log: path.join(dir, `${name}.log`),
    pid: path.join(dir, `${name}.pid`),
  });
  const ports = clusterPorts(opts.portBase ?? DEFAULTS.portBase);
  const clients: NodeLayout[] = [];
  if (nodes > 1) {
    const share = Math.floor((ports.dynamic.max - ports.dynamic.min + 1) / nodes);
    for (let index = 1; index <= nodes; index++) {
      const dir = path.join(stateDir, `node-${index}`);
      const min = ports.dynamic.min + (index - 1) * share;
      clients.push({
        index,
        name: `zerodrop-${ports.nomad.http}-node-${index}`,
        address: nodeAddress(index),
        consul: agent(dir, 'consul'),
        nomad: agent(dir, 'nomad'),
        dynamic: { min, max: min + share - 1 },
      });
    }
  }
  const f = { ...FRONT_DEFAULTS, ...opts.front };
  const frontDir = path.join(stateDir, 'front');
  return {
    stateDir,
    ports,
    consul: agent(stateDir, 'consul'),
    nomad: agent(stateDir, 'nomad'),
    clients,
    ...(clients.length
      ? {
          front: {
            ...f,
            address: '127.0.0.1',
            backends: clients.map((c) => `http://${c.address}:${f.edgePort}`),
            staticConfig: path.join(frontDir, 'traefik.yaml'),
            dynamicConfig: path.join(frontDir, 'dynamic.yaml'),
            log: path.join(frontDir, 'traefik.log'),
            pid: path.join(frontDir, 'traefik.pid'),
          },
        }
      : {}),
    tokenFile: path.join(stateDir, 'consul.token'),
    topologyFile: path.join(stateDir, 'topology.json'),
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

/** One loopback node's agents: what differs between the all-in-one node, the server node and a client node. */
interface LoopbackNode {
  readonly role: AgentInput['role'];
  readonly nodeName: string;
  readonly address: string;
  readonly dataDirs: AgentInput['dataDirs'];
  readonly join: readonly string[];
  /** a Nomad client's own share of the dynamic ports */
  readonly client?: { readonly dynamicPorts: { min: number; max: number } };
}

/**
 * Loopback addresses, this cluster's port block (every node the same numbers on its own address),
 * raw_exec only, no Nomad ACLs (the kit deploys locally without a Nomad token); the same generator
 * and input shape as a Hetzner node (hetzner/cloud-init.ts).
 */
function loopbackAgentInput(l: ClusterLayout, token: string, keys: GossipKeys, node: LoopbackNode): AgentInput {
  const p = l.ports;
  return {
    role: node.role,
    nodeName: node.nodeName,
    dataDirs: node.dataDirs,
    address: node.address,
    apiAddress: node.address,
    ports: { consul: p.consul, nomad: p.nomad },
    join: node.join,
    bootstrapExpect: 1,
    gossipKeys: keys,
    consulToken: token,
    nomadAcl: false,
    ...(node.client
      ? {
          client: {
            // zerodrop runs raw_exec only here; docker would poll a daemon that is not there
            drivers: ['raw_exec'],
            maxKillTimeout: '30s',
            // allocations listen on 127.0.0.1 on every node, inside this node's share of the block
            networkInterface: 'lo',
            dynamicPorts: node.client.dynamicPorts,
            // where the kit's Traefik listens with traefik.hostNetwork: edge (a Hetzner node: its private address)
            hostNetworks: { [EDGE_HOST_NETWORK]: `${node.address}/32` },
          },
        }
      : {}),
  };
}

/**
 * The agent input of the cluster's first node on 127.0.0.1: the all-in-one node of a one-node
 * cluster, or the server node (Consul and Nomad servers only) of a multi-node one.
 */
export function localAgentInput(l: ClusterLayout, token: string, keys: GossipKeys): AgentInput {
  const multi = l.clients.length > 0;
  return loopbackAgentInput(l, token, keys, {
    role: multi ? 'server' : 'all-in-one',
    nodeName: `zerodrop-${l.ports.nomad.http}`,
    address: '127.0.0.1',
    dataDirs: { consul: l.consul.dataDir, nomad: l.nomad.dataDir },
    join: [],
    ...(multi ? {} : { client: { dynamicPorts: l.ports.dynamic } }),
  });
}

/**
 * A client node of a multi-node cluster: a Consul client agent and a Nomad client on the node's own
 * 127.0.0.x, joining the server on 127.0.0.1, with its own share of the dynamic range.
 */
export function localNodeAgentInput(l: ClusterLayout, node: NodeLayout, token: string, keys: GossipKeys): AgentInput {
  return loopbackAgentInput(l, token, keys, {
    role: 'client',
    nodeName: node.name,
    address: node.address,
    dataDirs: { consul: node.consul.dataDir, nomad: node.nomad.dataDir },
    join: ['127.0.0.1'],
    client: { dynamicPorts: node.dynamic },
  });
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

