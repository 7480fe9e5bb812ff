import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Testing } from 'cdktf';
import { testApp } from './fixtures.ts';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consulAgentConfig, nomadAgentConfig, type JsonValue } from '../../agents/index.ts';
import { ConfigError } from '../../config/errors.ts';
import { hetznerAgentInput, nodePlans, renderCloudInit, secretPlaceholder, SECRET_VARIABLES, NODE_PATHS } from '../../hetzner/cloud-init.ts';
import { expiryLabel, parseExpiryLabel, parseHetznerConfig, resolveHetznerConfig, type HetznerConfig } from '../../hetzner/config.ts';
import { CONSUL_RELEASE, NOMAD_RELEASE, releaseFor, TRAEFIK_RELEASE } from '../../hetzner/releases.ts';
import { listUrl } from '../../hetzner/sweep.ts';
import { clusterLayout, localAgentInput, localNodeAgentInput } from '../../cluster/index.ts';
import { requireToken, sweepRun, TOKEN_MISSING } from '../../hetzner/index.ts';
import { HetznerStack } from '../../hetzner/stack.ts';

const TRAEFIK_SUM = 'a'.repeat(64);
const config = (extra: Record<string, unknown> = {}): HetznerConfig =>
  resolveHetznerConfig({ runId: 'unit-1', operatorCidr: '203.0.113.7/32', nodes: 3, traefikSha256: TRAEFIK_SUM, ...extra });
const EXPIRES = new Date('2026-04-01T12:00:00Z');

/** Every leaf replaced by its type: the structure of a config without its values. */
function shape(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.length ? [shape(v[0]!)] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

describe('hetzner config', () => {
  test('defaults fill everything but runId and operatorCidr', () => {
    const c = resolveHetznerConfig({ runId: 'a1', operatorCidr: '198.51.100.0/24' });
    expect(c).toMatchObject({ location: 'fsn1', serverType: 'cx22', image: 'ubuntu-24.04', nodes: 1, ttl: '4h', arch: 'amd64', networkZone: 'eu-central', ttlMs: 4 * 3_600_000 });
    expect(resolveHetznerConfig({ runId: 'a1', operatorCidr: '198.51.100.0/24', serverType: 'cax11' }).arch).toBe('arm64');
  });

  test('every problem at once, each with its path and a fix', () => {
    let err: unknown;
    try {
      resolveHetznerConfig({ location: 'mars', operatorCidr: '0.0.0.0/0', nodes: 0, ttl: '15', extra: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).message;
    for (const s of ['hetzner.location', 'hetzner.operatorCidr: "0.0.0.0/0" — prefix /0 opens', 'hetzner.nodes', 'hetzner.runId: (missing) — is required', 'hetzner.ttl', 'unknown key(s) extra']) expect(text).toContain(s);
  });

  test('a file must have the hetzner section at the top', () => {
    expect(parseHetznerConfig('hetzner:\n  runId: x1\n  operatorCidr: 203.0.113.7/32\n').runId).toBe('x1');
    expect(() => parseHetznerConfig('runId: x1\n')).toThrow('one top-level key, `hetzner:`');
  });

  test('expiry labels use no colons (Hetzner label values) and read back', () => {
    expect(expiryLabel(EXPIRES)).toBe('2026-04-01T12-00-00Z');
    expect(parseExpiryLabel('2026-04-01T12-00-00Z')?.toISOString()).toBe(EXPIRES.toISOString());
  });
});

describe('release pins', () => {
  test('Consul and Nomad carry official sums for both arches; Traefik needs one given', () => {
    expect(releaseFor(CONSUL_RELEASE, 'amd64')).toMatchObject({ url: 'https://releases.hashicorp.com/consul/1.16.3/consul_1.16.3_linux_amd64.zip', sha256: '9d0d7ad123844d43543d285cc0b3e15393d75ffa384bf84e5d64226a7f3d3132' });
    expect(releaseFor(NOMAD_RELEASE, 'arm64').sha256).toBe('1b85902b62fcaf992c98f6c3970742608c919d2d2e8db59933702859600b866e');
    expect(() => releaseFor(TRAEFIK_RELEASE, 'amd64')).toThrow('set hetzner.traefikSha256 to the linux_amd64 line of https://github.com/traefik/traefik/releases/download/v3.6.12/traefik_v3.6.12_checksums.txt');
    expect(releaseFor(TRAEFIK_RELEASE, 'amd64', TRAEFIK_SUM).url).toBe('https://github.com/traefik/traefik/releases/download/v3.6.12/traefik_v3.6.12_linux_amd64.tar.gz');
    expect(() => releaseFor(CONSUL_RELEASE, 'amd64', TRAEFIK_SUM)).toThrow('they must agree');
  });
});

describe('cloud-init', () => {
  const c = config();
  const plans = nodePlans(c, '10.0.1.0/24');
  const serverIps = ['10.0.1.10'];
  const render = (i: number) => renderCloudInit({ config: c, node: plans[i]!, serverIps });
  type Doc = { write_files: { path: string; content: string; permissions: string }[]; runcmd: string[][]; packages: string[] };
  const doc = (i: number) => parse(render(i)) as Doc;
  const fileOf = (d: Doc, p: string) => d.write_files.find((f) => f.path === p);

  test('node 0 is the server, the others clients joining it', () => {
    expect(plans.map((n) => [n.name, n.role, n.privateIp])).toEqual([
      ['zd-unit-1-0', 'server', '10.0.1.10'],
      ['zd-unit-1-1', 'client', '10.0.1.11'],
      ['zd-unit-1-2', 'client', '10.0.1.12'],
    ]);
    expect(nodePlans({ ...c, nodes: 1 }, '10.0.1.0/24')[0]!.role).toBe('all-in-one');
  });

  test('is #cloud-config YAML that installs every release only after its sha256 checks', () => {
    const text = render(1);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const install = fileOf(doc(1), NODE_PATHS.install)!.content;
    for (const r of [releaseFor(CONSUL_RELEASE, 'amd64'), releaseFor(NOMAD_RELEASE, 'amd64'), releaseFor(TRAEFIK_RELEASE, 'amd64', TRAEFIK_SUM)]) {
      const file = `${r.name}.${r.format}`;
      const lines = install.split('\n');
      const check = lines.indexOf(`echo '${r.sha256}  ${file}' | sha256sum --check --strict -`);
      expect(check).toBeGreaterThan(lines.findIndex((l) => l.includes(r.url)));
      expect(lines.findIndex((l) => (l.startsWith('unzip') || l.startsWith('tar')) && l.includes(file))).toBeGreaterThan(check);
    }
    expect(install.split('\n').slice(0, 2)).toEqual(['#!/bin/sh', 'set -eu']);
    // the server node runs no Traefik and installs none
    expect(fileOf(doc(0), NODE_PATHS.install)!.content).not.toContain('traefik');
  });

  test('writes the generated agent configs root-only, and starts docker, consul and nomad', () => {
    const d = doc(1);
    const input = hetznerAgentInput(plans[1]!, serverIps);
    expect(JSON.parse(fileOf(d, NODE_PATHS.consulConfig)!.content)).toEqual(consulAgentConfig(input));
    expect(JSON.parse(fileOf(d, NODE_PATHS.nomadConfig)!.content)).toEqual(nomadAgentConfig(input));
    expect(fileOf(d, NODE_PATHS.consulConfig)!.permissions).toBe('0600');
    expect(d.packages).toContain('docker.io');
    expect(d.runcmd.map((r) => r.join(' '))).toEqual(expect.arrayContaining(['systemctl enable --now consul.service', 'systemctl enable --now nomad.service', 'systemctl enable --now docker.service']));
    const nomad = JSON.parse(fileOf(d, NODE_PATHS.nomadConfig)!.content);
    expect(nomad.acl).toEqual({ enabled: true });
    expect(nomad.client.server_join).toEqual({ retry_join: ['10.0.1.10:4647'] });
    expect(nomad.client.options['driver.allowlist']).toBe('raw_exec,docker');
  });

  test('the server bootstraps Nomad ACLs and Consul ACLs (initial_management), gossip encrypted', () => {
    const d = doc(0);
    expect(d.runcmd.at(-1)).toEqual([NODE_PATHS.aclBootstrap]);
    expect(fileOf(d, NODE_PATHS.aclBootstrap)!.content).toContain(`nomad acl bootstrap ${NODE_PATHS.nomadBootstrapToken}`);
    const consul = JSON.parse(fileOf(d, NODE_PATHS.consulConfig)!.content);
    expect(consul.acl.tokens.initial_management).toBe(secretPlaceholder('consul_management_token'));
    expect(consul.encrypt).toBe(secretPlaceholder('consul_gossip_key'));
  });

  test('holds no secret: only placeholders, no base64 key or UUID', () => {
    for (const i of [0, 1]) {
      const text = render(i);
      expect(text).not.toMatch(/[A-Za-z0-9+/]{43}=/);
      expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    }
    for (const v of SECRET_VARIABLES) expect(render(0)).toContain(secretPlaceholder(v));
  });
});

describe('agent configs: loopback and Hetzner from one generator', () => {
  const l = clusterLayout({ stateDir: '/tmp/zd-state', portBase: 19000 });
  const local = localAgentInput(l, 'TOKEN', { consul: 'CK', nomad: 'NK' });
  const hetzner = hetznerAgentInput(nodePlans({ nodes: 1, runId: 'eq' }, '10.0.1.0/24')[0]!, ['10.0.1.10']);

  test('the same input shape: only values differ (addresses, ports, dirs, secrets), plus the loopback-only client settings', () => {
    expect(local.role).toBe(hetzner.role);
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(local)).toEqual(keys(hetzner));
    expect(keys(hetzner.client!)).toEqual(['drivers', 'hostNetworks', 'maxKillTimeout']);
    expect(keys(local.client!)).toEqual(['drivers', 'dynamicPorts', 'hostNetworks', 'maxKillTimeout', 'networkInterface']);
    expect(local.client!.maxKillTimeout).toBe(hetzner.client!.maxKillTimeout);
  });

  test('Consul configs have an identical structure', () => {
    expect(shape(consulAgentConfig(local))).toEqual(shape(consulAgentConfig(hetzner)));
  });

  test('Nomad configs are identical in structure but for the loopback client settings and the docker plugin', () => {
    const a = nomadAgentConfig(local) as Record<string, Record<string, unknown>>;
    const b = nomadAgentConfig(hetzner) as Record<string, Record<string, unknown>>;
    const { network_interface, min_dynamic_port, max_dynamic_port, ...localClient } = a.client!;
    expect([network_interface, min_dynamic_port, max_dynamic_port]).toEqual(['lo', 19100, 19399]);
    expect(shape({ ...a, client: localClient, plugin: {} } as JsonValue)).toEqual(shape({ ...b, plugin: {} } as JsonValue));
    expect(Object.keys(b.plugin!)).toEqual(['raw_exec', 'docker']);
    expect(a.plugin!.raw_exec).toEqual(b.plugin!.raw_exec);
  });
});

describe('agent configs: a multi-node loopback cluster and a multi-node Hetzner cluster, role by role', () => {
  const l = clusterLayout({ stateDir: '/tmp/zd-state', portBase: 19000, nodes: 3 });
  const keys = { consul: 'CK', nomad: 'NK' };
  const plans = nodePlans({ nodes: 4, runId: 'eq' }, '10.0.1.0/24');
  const serverIps = [plans[0]!.privateIp];
  const localServer = localAgentInput(l, 'TOKEN', keys);
  const localClients = l.clients.map((n) => localNodeAgentInput(l, n, 'TOKEN', keys));
  const hetznerServer = hetznerAgentInput(plans[0]!, serverIps);
  const hetznerClients = plans.slice(1).map((p) => hetznerAgentInput(p, serverIps));

  test('the same roles: one server, then clients joining it', () => {
    expect([localServer.role, ...localClients.map((c) => c.role)]).toEqual([hetznerServer.role, ...hetznerClients.map((c) => c.role)]);
    expect(localClients.map((c) => c.join)).toEqual([['127.0.0.1'], ['127.0.0.1'], ['127.0.0.1']]);
    expect(hetznerClients.map((c) => c.join)).toEqual([serverIps, serverIps, serverIps]);
  });

  test('server configs have an identical structure', () => {
    expect(shape(consulAgentConfig(localServer))).toEqual(shape(consulAgentConfig(hetznerServer)));
    expect(shape(nomadAgentConfig(localServer))).toEqual(shape(nomadAgentConfig(hetznerServer)));
  });

  test("client configs: identical structure but for the loopback client settings and the docker plugin; each node's edge network is its own address", () => {
    localClients.forEach((local, i) => {
      const hetzner = hetznerClients[i]!;
      expect(shape(consulAgentConfig(local))).toEqual(shape(consulAgentConfig(hetzner)));
      const a = nomadAgentConfig(local) as Record<string, Record<string, unknown>>;
      const b = nomadAgentConfig(hetzner) as Record<string, Record<string, unknown>>;
      const { network_interface, min_dynamic_port, max_dynamic_port, ...localClient } = a.client!;
      expect(network_interface).toBe('lo');
      expect(shape({ ...a, client: localClient, plugin: {} } as JsonValue)).toEqual(shape({ ...b, plugin: {} } as JsonValue));
      expect(a.client!.host_network).toEqual([{ edge: { cidr: `${l.clients[i]!.address}/32` } }]);
      expect(b.client!.host_network).toEqual([{ edge: { cidr: `${plans[i + 1]!.privateIp}/32` } }]);
    });
  });

  test('client nodes get disjoint dynamic port ranges inside the cluster block, and distinct addresses', () => {
    const ranges = l.clients.map((n) => n.dynamic);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.min).toBeGreaterThan(ranges[i - 1]!.max);
    expect(ranges[0]!.min).toBe(l.ports.dynamic.min);
    expect(ranges.at(-1)!.max).toBeLessThanOrEqual(l.ports.dynamic.max);
    expect(new Set(l.clients.map((n) => n.address)).size).toBe(3);
    expect(l.clients.map((n) => n.address)).not.toContain('127.0.0.1');
  });
});

describe('HetznerStack', () => {
  const synth = (c = config()) => JSON.parse(Testing.synth(new HetznerStack(testApp(), 'hetzner', { config: c, expiresAt: EXPIRES })));
  const s = synth();
  const r = s.resource;

  test('labels every labelled resource with the run id and the expiry', () => {
    const labels = { 'zerodrop-run': 'unit-1', 'zerodrop-expires': '2026-04-01T12-00-00Z' };
    for (const type of ['hcloud_ssh_key', 'hcloud_network', 'hcloud_firewall', 'hcloud_server', 'hcloud_load_balancer']) {
      for (const res of Object.values(r[type]) as { labels: Record<string, string> }[]) expect(res.labels).toMatchObject(labels);
    }
    expect(Object.keys(r.hcloud_server)).toHaveLength(3);
  });

  test('firewall: only the entry point public; SSH, Nomad and Consul APIs from the operator only', () => {
    const rules = (Object.values(r.hcloud_firewall)[0] as { rule: { port?: string; protocol: string; source_ips: string[] }[] }).rule;
    const open = rules.filter((x) => x.source_ips.includes('0.0.0.0/0'));
    expect(open.map((x) => `${x.protocol}/${x.port ?? ''}`).sort()).toEqual(['icmp/', 'tcp/80']);
    for (const port of ['22', '4646', '8500']) expect(rules.find((x) => x.port === port)?.source_ips).toEqual(['203.0.113.7/32']);
  });

  test('servers: location, type, image, private network address and cloud-init', () => {
    const node = r.hcloud_server['node-1'];
    expect(node).toMatchObject({ location: 'fsn1', server_type: 'cx22', image: 'ubuntu-24.04', network: [{ ip: '10.0.1.11' }] });
    expect(node.datacenter).toBeUndefined();
    expect(node.user_data.startsWith('#cloud-config\n')).toBe(true);
  });

  test("load balancer checks Traefik's catalog-ready path (/ready: /ping's answer once the catalog is loaded) on the admin port and targets the clients over the private network", () => {
    const svc = Object.values(r.hcloud_load_balancer_service)[0] as Record<string, unknown>;
    expect(svc).toMatchObject({ protocol: 'http', listen_port: 80, destination_port: 80, health_check: { protocol: 'http', port: 8082, http: { path: '/ready', status_codes: ['200'] } } });
    const targets = Object.values(r.hcloud_load_balancer_target) as { use_private_ip: boolean }[];
    expect(targets).toHaveLength(2);
    expect(targets.every((t) => t.use_private_ip)).toBe(true);
  });

  test('secrets are sensitive variables referenced from user_data, never literals', () => {
    for (const v of SECRET_VARIABLES) expect(s.variable[v]).toMatchObject({ sensitive: true, type: 'string' });
    const userData = r.hcloud_server['node-0'].user_data as string;
    expect(userData).toContain('${var.consul_management_token}');
    expect(userData).toContain('${var.nomad_management_token}');
    expect(userData).not.toContain('@@zerodrop-secret');
    // every Terraform interpolation left in user_data is a secret variable's reference
    const refs = new Set(userData.match(/(?<!\$)\$\{[^}]*\}/g));
    expect([...refs].sort()).toEqual(SECRET_VARIABLES.map((v) => `\${var.${v}}`).sort());
    expect(s.provider.hcloud).toEqual([{}]); // token from HCLOUD_TOKEN, never in the JSON
  });

  test('refuses a client node without a Traefik sha256, naming where to read it', () => {
    expect(() => synth(config({ traefikSha256: undefined }))).toThrow('hetzner.traefikSha256');
  });
});

describe('npm run hetzner', () => {
  test('refuses without HCLOUD_TOKEN', () => {
    expect(() => requireToken({})).toThrow(TOKEN_MISSING);
    expect(requireToken({ HCLOUD_TOKEN: 't' })).toBe('t');
  });

  describe('sweep by label (against a fake API on 127.0.0.1)', () => {
    const requests: string[] = [];
    let busyFirewall = 1;
    const server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      const u = new URL(req.url!, 'http://x');
      if (req.headers.authorization !== 'Bearer T') return void res.writeHead(401).end();
      if (req.method === 'GET') {
        const kind = u.pathname.split('/').pop()!;
        const selector = u.searchParams.get('label_selector');
        const items = selector === 'zerodrop-run=r1' && kind !== 'ssh_keys' ? [{ id: 7, name: `zd-r1-${kind}` }] : [];
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ [kind]: items, meta: { pagination: { next_page: null } } }));
      }
      if (u.pathname.endsWith('/firewalls/7') && busyFirewall-- > 0) return void res.writeHead(409).end('{"error":{"code":"resource_in_use"}}');
      res.writeHead(204).end();
    });
    let endpoint = '';
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    test('deletes everything labelled with the run, load balancer first, retrying a firewall in use', async () => {
      const deleted = await sweepRun('r1', 'T', { endpoint, retryMs: 10, log: () => {} });
      expect(deleted).toEqual(['load_balancers/7 zd-r1-load_balancers', 'servers/7 zd-r1-servers', 'firewalls/7 zd-r1-firewalls', 'networks/7 zd-r1-networks']);
      expect(requests.filter((q) => q.startsWith('DELETE /v1/firewalls'))).toHaveLength(2);
      expect(listUrl(endpoint, 'servers', 'r1')).toContain('label_selector=zerodrop-run%3Dr1');
    });
  });
});
