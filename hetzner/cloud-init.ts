/**
 * cloud-init for the nodes of a disposable Hetzner cluster. Pure: config in, `#cloud-config` YAML
 * out. The agent configs are the ones agents/index.ts generates for the local cluster too, from
 * the same input shape with the nodes' private addresses and Consul's and Nomad's default ports.
 *
 * Secrets (gossip keys, management tokens) are never in here: the YAML carries placeholders
 * (`secretPlaceholder`), which the stack turns into Terraform variable references.
 */
import { stringify } from 'yaml';
import { agentConfigFiles, DEFAULT_CONSUL_PORTS, DEFAULT_NOMAD_PORTS, EDGE_HOST_NETWORK, type AgentInput, type AgentRole } from '../agents/index.ts';
import type { HetznerConfig } from './config.ts';
import { releaseFor, CONSUL_RELEASE, NOMAD_RELEASE, TRAEFIK_RELEASE, type ResolvedRelease } from './releases.ts';

/** The Terraform variables holding the cluster's secrets; each has a placeholder in the YAML. */
export const SECRET_VARIABLES = ['consul_gossip_key', 'nomad_gossip_key', 'consul_management_token', 'nomad_management_token'] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/** What stands for a secret in the rendered YAML until the stack substitutes a variable reference. */
export function secretPlaceholder(name: SecretVariable): string {
  return `@@zerodrop-secret:${name}@@`;
}
const SECRET = Object.fromEntries(SECRET_VARIABLES.map((v) => [v, secretPlaceholder(v)])) as Record<SecretVariable, string>;

/** Where things go on a node. */
export const NODE_PATHS = {
  consulConfig: '/etc/consul.d/consul.json',
  nomadConfig: '/etc/nomad.d/nomad.json',
  consulData: '/opt/consul',
  nomadData: '/opt/nomad',
  bin: '/usr/local/bin',
  install: '/usr/local/sbin/zerodrop-install',
  aclBootstrap: '/usr/local/sbin/zerodrop-acl-bootstrap',
  nomadBootstrapToken: '/etc/zerodrop/nomad-bootstrap.token',
  downloads: '/var/tmp/zerodrop-downloads',
} as const;

export interface NodePlan {
  readonly index: number;
  /** server name and agents' node name: `zd-<runId>-<index>` */
  readonly name: string;
  readonly role: AgentRole;
  readonly privateIp: string;
}

/** First host address of the subnet the nodes get (10.0.1.10, .11, …; the load balancer takes .5). */
export const FIRST_NODE_HOST = 10;
export const LOAD_BALANCER_HOST = 5;

function subnetHost(subnetCidr: string, host: number): string {
  const base = subnetCidr.split('/')[0]!.split('.');
  return [base[0], base[1], base[2], String(host)].join('.');
}

/** One node: all-in-one. More: node 0 runs the Consul and Nomad servers, the others are clients. */
export function nodePlans(cfg: Pick<HetznerConfig, 'nodes' | 'runId'>, subnetCidr: string): NodePlan[] {
  return Array.from({ length: cfg.nodes }, (_, index) => ({
    index,
    name: `zd-${cfg.runId}-${index}`,
    role: cfg.nodes === 1 ? 'all-in-one' : index === 0 ? 'server' : 'client',
    privateIp: subnetHost(subnetCidr, FIRST_NODE_HOST + index),
  }));
}

export function loadBalancerIp(subnetCidr: string): string {
  return subnetHost(subnetCidr, LOAD_BALANCER_HOST);
}

/** The agent-config input of a Hetzner node: same shape as the local cluster's (cluster/layout.ts `localAgentInput`). */
export function hetznerAgentInput(node: NodePlan, serverIps: readonly string[], maxKillTimeout = '30s'): AgentInput {
  return {
    role: node.role,
    nodeName: node.name,
    dataDirs: { consul: NODE_PATHS.consulData, nomad: NODE_PATHS.nomadData },
    address: node.privateIp,
    // the HTTP APIs on every interface: the firewall admits only the operator's CIDR from outside
    apiAddress: '0.0.0.0',
    ports: { consul: DEFAULT_CONSUL_PORTS, nomad: DEFAULT_NOMAD_PORTS },
    join: node.role === 'client' ? [...serverIps] : [],
    bootstrapExpect: serverIps.length,
    gossipKeys: { consul: SECRET.consul_gossip_key, nomad: SECRET.nomad_gossip_key },
    consulToken: SECRET.consul_management_token,
    nomadAcl: true,
    ...(node.role === 'server' ? {} : { client: { drivers: ['raw_exec', 'docker'] as const, maxKillTimeout, hostNetworks: { [EDGE_HOST_NETWORK]: `${node.privateIp}/32` } } }),
  } as AgentInput;
}

/** Download, check against the pinned sha256 (refusing on mismatch), unpack one binary into /usr/local/bin. */
export function installLines(r: ResolvedRelease): string[] {
  const file = `${r.name}.${r.format}`;
  return [
    `# ${r.name} ${r.version}`,
    `curl -fsSL --retry 5 --retry-delay 3 -o ${file} '${r.url}'`,
    `echo '${r.sha256}  ${file}' | sha256sum --check --strict -`,
    r.format === 'zip' ? `unzip -o -q ${file} ${r.name} -d ${NODE_PATHS.bin}` : `tar -xzf ${file} -C ${NODE_PATHS.bin} ${r.name}`,
    `chmod 0755 ${NODE_PATHS.bin}/${r.name}`,
    `${NODE_PATHS.bin}/${r.name} version | head -n 1`,
  ];
}

export function installScript(releases: readonly ResolvedRelease[]): string {
  return ['#!/bin/sh', 'set -eu', `mkdir -p ${NODE_PATHS.downloads}`, `cd ${NODE_PATHS.downloads}`, ...releases.flatMap(installLines), `rm -rf ${NODE_PATHS.downloads}`, ''].join('\n');
}

/** Waits for a Nomad leader, then bootstraps Nomad's ACLs with the token from the file (Consul's come from initial_management). */
export function aclBootstrapScript(): string {
  return [
    '#!/bin/sh',
    'set -eu',
    `export NOMAD_ADDR=http://127.0.0.1:${DEFAULT_NOMAD_PORTS.http}`,
    'i=0',
    'until curl -fsS "$NOMAD_ADDR/v1/status/leader" | grep -q ":"; do',
    '  i=$((i + 1)); [ "$i" -le 120 ] || { echo "no Nomad leader after 120 tries" >&2; exit 1; }',
    '  sleep 2',
    'done',
    `${NODE_PATHS.bin}/nomad acl bootstrap ${NODE_PATHS.nomadBootstrapToken} >/dev/null`,
    'echo "nomad ACLs bootstrapped"',
    '',
  ].join('\n');
}

function unit(description: string, exec: string, extra: readonly string[] = []): string {
  return [
    '[Unit]',
    `Description=${description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    ...extra,
    '',
    '[Service]',
    `ExecStart=${exec}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'KillMode=process',
    'Restart=on-failure',
    // the private interface can come up after the unit: bind again until it is there
    'RestartSec=5',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export interface RenderInput {
  readonly config: Pick<HetznerConfig, 'arch' | 'traefikSha256'>;
  readonly node: NodePlan;
  /** private addresses of the server nodes */
  readonly serverIps: readonly string[];
  /** the kit's `cluster.nomad.maxKillTimeout` @default '30s' */
  readonly maxKillTimeout?: string;
}

/** The releases a node installs: Consul and Nomad everywhere, Traefik where a Nomad client runs. */
export function nodeReleases(input: RenderInput): ResolvedRelease[] {
  const { arch, traefikSha256 } = input.config;
  const out = [releaseFor(CONSUL_RELEASE, arch), releaseFor(NOMAD_RELEASE, arch)];
  if (input.node.role !== 'server') out.push(releaseFor(TRAEFIK_RELEASE, arch, traefikSha256));
  return out;
}

/** `#cloud-config` YAML of one node (secrets as placeholders). */
export function renderCloudInit(input: RenderInput): string {
  const { node } = input;
  const agents = agentConfigFiles(hetznerAgentInput(node, input.serverIps, input.maxKillTimeout));
  const client = node.role !== 'server';
  const server = node.role !== 'client';
  const file = (path: string, content: string, permissions: string) => ({ path, content, owner: 'root:root', permissions });
  const doc = {
    package_update: true,
    packages: ['ca-certificates', 'curl', 'unzip', ...(client ? ['docker.io'] : [])],
    write_files: [
      file(NODE_PATHS.install, installScript(nodeReleases(input)), '0700'),
      // configs hold the Consul token and the gossip keys: root only
      file(NODE_PATHS.consulConfig, agents.consul, '0600'),
      file(NODE_PATHS.nomadConfig, agents.nomad, '0600'),
      file('/etc/systemd/system/consul.service', unit('Consul agent (zerodrop)', `${NODE_PATHS.bin}/consul agent -config-file=${NODE_PATHS.consulConfig}`), '0644'),
      file(
        '/etc/systemd/system/nomad.service',
        unit('Nomad agent (zerodrop)', `${NODE_PATHS.bin}/nomad agent -config=${NODE_PATHS.nomadConfig}`, ['After=consul.service', ...(client ? ['After=docker.service'] : [])]),
        '0644',
      ),
      ...(server ? [file(NODE_PATHS.nomadBootstrapToken, `${SECRET.nomad_management_token}\n`, '0600'), file(NODE_PATHS.aclBootstrap, aclBootstrapScript(), '0700')] : []),
    ],
    runcmd: [
      ['mkdir', '-p', NODE_PATHS.consulData, NODE_PATHS.nomadData],
      [NODE_PATHS.install],
      ['systemctl', 'daemon-reload'],
      ...(client ? [['systemctl', 'enable', '--now', 'docker.service']] : []),
      ['systemctl', 'enable', '--now', 'consul.service'],
      ['systemctl', 'enable', '--now', 'nomad.service'],
      ...(server ? [[NODE_PATHS.aclBootstrap]] : []),
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
