import { LocalBackend, TerraformOutput, TerraformStack, TerraformVariable, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { Firewall } from '../.gen/providers/hcloud/firewall/index.ts';
import { LoadBalancer } from '../.gen/providers/hcloud/load-balancer/index.ts';
import { LoadBalancerNetwork } from '../.gen/providers/hcloud/load-balancer-network/index.ts';
import { LoadBalancerService } from '../.gen/providers/hcloud/load-balancer-service/index.ts';
import { LoadBalancerTargetA as LoadBalancerTarget } from '../.gen/providers/hcloud/load-balancer-target/index.ts';
import { Network } from '../.gen/providers/hcloud/network/index.ts';
import { NetworkSubnet } from '../.gen/providers/hcloud/network-subnet/index.ts';
import { HcloudProvider } from '../.gen/providers/hcloud/provider/index.ts';
import { CATALOG_READY_PATH } from '../traefik/catalog-ready.ts';
import { Server } from '../.gen/providers/hcloud/server/index.ts';
import { SshKey } from '../.gen/providers/hcloud/ssh-key/index.ts';
import { loadBalancerIp, nodePlans, renderCloudInit, secretPlaceholder, SECRET_VARIABLES } from './cloud-init.ts';
import { HETZNER_DEFAULTS, LOAD_BALANCER_CHECK, runLabels, type HetznerConfig } from './config.ts';
import { escapeTerraformTemplate } from '../stacks/terraform-strings.ts';

export interface HetznerStackProps {
  readonly config: HetznerConfig;
  /** written into every resource's `zerodrop-expires` label */
  readonly expiresAt: Date;
  /** local state file (absolute) @default - cdktf's default next to the synth output */
  readonly stateFile?: string;
  /** the kit's `cluster.nomad.maxKillTimeout` @default '30s' */
  readonly maxKillTimeout?: string;
}

/** What a Nomad/Consul API is reachable from: the operator only. The entry point is public. */
export const OPERATOR_PORTS = { ssh: 22, nomad: 4646, consul: 8500 } as const;

/**
 * A disposable Hetzner Cloud cluster: private network, firewall, N nodes with cloud-init, a load
 * balancer health-checking Traefik's /ping. The provider reads HCLOUD_TOKEN from the environment;
 * the secrets are sensitive Terraform variables (TF_VAR_…), never in the synthesized JSON.
 */
export class HetznerStack extends TerraformStack {
  constructor(scope: Construct, id: string, { config, expiresAt, stateFile, maxKillTimeout }: HetznerStackProps) {
    super(scope, id);
    if (stateFile) new LocalBackend(this, { path: stateFile });
    new HcloudProvider(this, 'hcloud', config.endpoint ? { endpoint: config.endpoint } : {});
    const labels = runLabels(config.runId, expiresAt);
    const name = (suffix: string) => `zd-${config.runId}-${suffix}`;

    const sshPublicKey = new TerraformVariable(this, 'ssh_public_key', { type: 'string', description: 'public key installed for root on every node' });
    const secrets = Object.fromEntries(
      SECRET_VARIABLES.map((v) => [v, new TerraformVariable(this, v, { type: 'string', sensitive: true, nullable: false, description: `zerodrop secret (set TF_VAR_${v})` })]),
    ) as Record<(typeof SECRET_VARIABLES)[number], TerraformVariable>;
    const withSecrets = (yaml: string) => SECRET_VARIABLES.reduce((text, v) => text.split(secretPlaceholder(v)).join(secrets[v].stringValue), escapeTerraformTemplate(yaml));

    const sshKey = new SshKey(this, 'ssh-key', { name: name('key'), publicKey: sshPublicKey.stringValue, labels });
    const network = new Network(this, 'network', { name: name('net'), ipRange: HETZNER_DEFAULTS.networkCidr, labels });
    const networkId = Token.asNumber(network.id);
    const subnet = new NetworkSubnet(this, 'subnet', { networkId, type: 'cloud', networkZone: config.networkZone, ipRange: HETZNER_DEFAULTS.subnetCidr });

    const everyone = ['0.0.0.0/0', '::/0'];
    const firewall = new Firewall(this, 'firewall', {
      name: name('fw'),
      labels,
      rule: [
        { direction: 'in', protocol: 'tcp', port: String(config.entryPort), sourceIps: everyone, description: 'Traefik entry point' },
        { direction: 'in', protocol: 'icmp', sourceIps: everyone, description: 'ping' },
        ...Object.entries(OPERATOR_PORTS).map(([what, port]) => ({ direction: 'in', protocol: 'tcp', port: String(port), sourceIps: [config.operatorCidr], description: `${what} from the operator only` })),
      ],
    });

    const plans = nodePlans(config, HETZNER_DEFAULTS.subnetCidr);
    const serverIps = plans.filter((n) => n.role !== 'client').map((n) => n.privateIp);
    const servers = plans.map(
      (node) =>
        new Server(this, `node-${node.index}`, {
          name: node.name,
          serverType: config.serverType,
          image: config.image,
          location: config.location,
          sshKeys: [sshKey.id],
          firewallIds: [Token.asNumber(firewall.id)],
          labels: { ...labels, 'zerodrop-role': node.role },
          userData: withSecrets(renderCloudInit({ config, node, serverIps, ...(maxKillTimeout ? { maxKillTimeout } : {}) })),
          publicNet: [{ ipv4Enabled: true, ipv6Enabled: true }],
          network: [{ networkId, ip: node.privateIp }],
          dependsOn: [subnet],
        }),
    );

    const lb = new LoadBalancer(this, 'lb', { name: name('lb'), loadBalancerType: config.loadBalancerType, location: config.location, labels });
    const lbId = Token.asNumber(lb.id);
    const lbNetwork = new LoadBalancerNetwork(this, 'lb-network', { loadBalancerId: lbId, networkId, ip: loadBalancerIp(HETZNER_DEFAULTS.subnetCidr), dependsOn: [subnet] });
    new LoadBalancerService(this, 'lb-http', {
      loadBalancerId: lb.id,
      protocol: 'http',
      listenPort: 80,
      destinationPort: config.entryPort,
      healthCheck: { protocol: 'http', port: config.adminPort, interval: LOAD_BALANCER_CHECK.intervalS, timeout: LOAD_BALANCER_CHECK.timeoutS, retries: LOAD_BALANCER_CHECK.retries, http: { path: CATALOG_READY_PATH, statusCodes: ['200'] } },
    });
    plans.forEach((node, i) => {
      if (node.role === 'server') return; // no Traefik on a server-only node
      new LoadBalancerTarget(this, `lb-target-${node.index}`, { type: 'server', loadBalancerId: lbId, serverId: Token.asNumber(servers[i]!.id), usePrivateIp: true, dependsOn: [lbNetwork] });
    });

    const head = servers[0]!;
    new TerraformOutput(this, 'load_balancer_ipv4', { value: lb.ipv4 });
    new TerraformOutput(this, 'server_ipv4', { value: head.ipv4Address });
    new TerraformOutput(this, 'node_ipv4', { value: servers.map((s) => s.ipv4Address) });
  }
}
