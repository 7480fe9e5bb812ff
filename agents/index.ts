/**
 * Consul and Nomad agent configs from one typed input: the local loopback cluster
 * (`npm run cluster`) and the Hetzner cloud-init both write what these functions return, as JSON
 * files (both agents read `.json` config files). Pure: no I/O, secrets come in as strings (on
 * Hetzner, Terraform variable references) and go out unchanged.
 */

/** `server`: Consul + Nomad servers only; `client`: Consul client + Nomad client; `all-in-one`: both on one node. */
export type AgentRole = 'server' | 'client' | 'all-in-one';

export interface ConsulPorts {
  readonly http: number;
  readonly dns: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly server: number;
  readonly grpc: number;
}

export interface NomadPorts {
  readonly http: number;
  readonly rpc: number;
  readonly serf: number;
}

/** Consul's and Nomad's own default ports (what a Hetzner node uses). */
export const DEFAULT_CONSUL_PORTS: ConsulPorts = { http: 8500, dns: 8600, serfLan: 8301, serfWan: 8302, server: 8300, grpc: 8502 };
export const DEFAULT_NOMAD_PORTS: NomadPorts = { http: 4646, rpc: 4647, serf: 4648 };

export interface AgentInput {
  readonly role: AgentRole;
  /** node name of both agents */
  readonly nodeName: string;
  /** @default 'dc1' */
  readonly datacenter?: string;
  /** Consul's data dir and Nomad's data dir */
  readonly dataDirs: { readonly consul: string; readonly nomad: string };
  /** cluster-internal address: Consul bind/advertise, Nomad advertise */
  readonly address: string;
  /** where the HTTP APIs listen (Consul client_addr, Nomad http bind) */
  readonly apiAddress: string;
  readonly ports: { readonly consul: ConsulPorts; readonly nomad: NomadPorts };
  /** servers to join (Consul retry_join and Nomad server_join); empty on a single node */
  readonly join: readonly string[];
  /** number of servers a server waits for before electing a leader */
  readonly bootstrapExpect: number;
  /** gossip encryption keys (32 bytes, base64): Consul `encrypt`, Nomad `server.encrypt` */
  readonly gossipKeys: { readonly consul: string; readonly nomad: string };
  /** Consul management token: the servers' initial management token, the agents' own token and Nomad's Consul token */
  readonly consulToken: string;
  /** Nomad ACLs (the token is bootstrapped separately) */
  readonly nomadAcl: boolean;
  readonly client?: NomadClientInput;
  /** @default 'INFO' */
  readonly logLevel?: string;
}

export interface NomadClientInput {
  /** task drivers the client may use */
  readonly drivers: readonly ('raw_exec' | 'docker')[];
  /** kill_timeout is capped by this (the timing model's `maxKillTimeout`) */
  readonly maxKillTimeout: string;
  /** @default - Nomad's (fingerprinted default route) */
  readonly networkInterface?: string;
  /** @default - Nomad's (20000-32000) */
  readonly dynamicPorts?: { readonly min: number; readonly max: number };
  /**
   * Nomad host networks, name → CIDR of this node's address on it. The kit's Traefik job allocates
   * its ports on `EDGE_HOST_NETWORK` when `traefik.hostNetwork` names it, so each node's Traefik
   * listens on that node's own address. @default - none
   */
  readonly hostNetworks?: Readonly<Record<string, string>>;
}

/** The host network a node's Traefik listens on: the node's own address (its private IP on Hetzner, 127.0.0.x on a loopback multi-node cluster). */
export const EDGE_HOST_NETWORK = 'edge';

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

const isServer = (r: AgentRole) => r !== 'client';
const isClient = (r: AgentRole) => r !== 'server';

/** Cloud fingerprinters probe 169.254.169.254; env_aws fails the whole client when AWS_CA_BUNDLE is set. */
export const FINGERPRINT_DENYLIST = 'env_aws,env_gce,env_azure,env_digitalocean';

export class AgentInputError extends Error {
  override readonly name = 'AgentInputError';
}

function check(input: AgentInput): void {
  const problems: string[] = [];
  if (isClient(input.role) && !input.client) problems.push(`role '${input.role}' runs a Nomad client: client settings are required`);
  if (input.role === 'client' && input.join.length === 0) problems.push("role 'client' needs at least one server address in join");
  if (!Number.isInteger(input.bootstrapExpect) || input.bootstrapExpect < 1) problems.push(`bootstrapExpect: ${input.bootstrapExpect} — must be an integer ≥ 1`);
  if (input.client && input.client.drivers.length === 0) problems.push('client.drivers: empty — a client needs raw_exec, docker or both');
  if (problems.length) throw new AgentInputError(`agent config for ${input.nodeName}: ${problems.join('; ')}`);
}

/** Where this node's agents answer locally: the API address, or loopback when the APIs listen on every interface. */
function localApiHost(input: AgentInput): string {
  return input.apiAddress === '0.0.0.0' ? '127.0.0.1' : input.apiAddress;
}

/** Consul agent config (JSON). */
export function consulAgentConfig(input: AgentInput): JsonObject {
  check(input);
  const p = input.ports.consul;
  const server = isServer(input.role);
  return {
    node_name: input.nodeName,
    datacenter: input.datacenter ?? 'dc1',
    data_dir: input.dataDirs.consul,
    bind_addr: input.address,
    advertise_addr: input.address,
    client_addr: input.apiAddress,
    log_level: input.logLevel ?? 'INFO',
    disable_update_check: true,
    server,
    ...(server ? { bootstrap_expect: input.bootstrapExpect, performance: { raft_multiplier: 1 } } : {}),
    // with the port: a loopback cluster's agents share an address family but not the default ports
    retry_join: input.join.map((a) => `${a}:${p.serfLan}`),
    encrypt: input.gossipKeys.consul,
    ports: { http: p.http, dns: p.dns, serf_lan: p.serfLan, serf_wan: p.serfWan, server: p.server, grpc: p.grpc, grpc_tls: -1, https: -1 },
    acl: {
      enabled: true,
      default_policy: 'deny',
      enable_token_persistence: false,
      tokens: {
        ...(server ? { initial_management: input.consulToken } : {}),
        // the agent registers its own node and checks with it
        agent: input.consulToken,
      },
    },
  };
}

/** Nomad agent config (JSON). */
export function nomadAgentConfig(input: AgentInput): JsonObject {
  check(input);
  const p = input.ports;
  const server = isServer(input.role);
  const client = isClient(input.role) ? input.client : undefined;
  const config: JsonObject = {
    name: input.nodeName,
    datacenter: input.datacenter ?? 'dc1',
    data_dir: input.dataDirs.nomad,
    bind_addr: input.apiAddress,
    log_level: input.logLevel ?? 'INFO',
    disable_update_check: true,
    ports: { http: p.nomad.http, rpc: p.nomad.rpc, serf: p.nomad.serf },
    addresses: { rpc: input.address, serf: input.address },
    advertise: { http: input.address, rpc: input.address, serf: input.address },
    acl: { enabled: input.nomadAcl },
    server: server
      ? {
          enabled: true,
          bootstrap_expect: input.bootstrapExpect,
          encrypt: input.gossipKeys.nomad,
          ...(input.join.length ? { server_join: { retry_join: [...input.join] } } : {}),
          // Spread allocations over the nodes rather than bin-packing them: a drained or lost node
          // then takes one instance of a service, not all of them. Read once, when the cluster bootstraps.
          default_scheduler_config: { scheduler_algorithm: 'spread' },
        }
      : { enabled: false },
    consul: {
      // the node's own Consul agent: it registers this node's services and runs their checks
      address: `${localApiHost(input)}:${p.consul.http}`,
      grpc_address: `${localApiHost(input)}:${p.consul.grpc}`,
      // in the file, not argv: /proc/<pid>/cmdline is world-readable
      token: input.consulToken,
    },
  };
  if (!client) {
    config.client = { enabled: false };
    return config;
  }
  config.client = {
    enabled: true,
    // a client of a separate server node finds it by address; an all-in-one node talks to itself
    ...(input.role === 'client' ? { server_join: { retry_join: input.join.map((a) => `${a}:${p.nomad.rpc}`) } } : {}),
    ...(client.networkInterface ? { network_interface: client.networkInterface } : {}),
    ...(client.dynamicPorts ? { min_dynamic_port: client.dynamicPorts.min, max_dynamic_port: client.dynamicPorts.max } : {}),
    // kill_timeout is silently capped by this; pinned so the timing model's cap is the real one
    max_kill_timeout: client.maxKillTimeout,
    ...(client.hostNetworks ? { host_network: Object.entries(client.hostNetworks).map(([name, cidr]) => ({ [name]: { cidr } })) } : {}),
    options: {
      'fingerprint.denylist': FINGERPRINT_DENYLIST,
      'driver.allowlist': client.drivers.join(','),
    },
  };
  const plugin: JsonObject = {};
  if (client.drivers.includes('raw_exec')) plugin.raw_exec = { config: { enabled: true } };
  if (client.drivers.includes('docker')) plugin.docker = { config: { allow_privileged: false, volumes: { enabled: false } } };
  config.plugin = plugin;
  return config;
}

/** Both configs as the files an agent reads: pretty JSON with a trailing newline. */
export function agentConfigFiles(input: AgentInput): { consul: string; nomad: string } {
  return { consul: toJsonFile(consulAgentConfig(input)), nomad: toJsonFile(nomadAgentConfig(input)) };
}

export function toJsonFile(value: JsonObject): string {
  return JSON.stringify(value, null, 2) + '\n';
}
