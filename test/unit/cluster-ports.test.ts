import { describe, expect, test } from 'vitest';
import { clusterEnv, clusterPorts, consulConfig, clusterLayout, exportLines, listenPorts, nomadConfig, PORT_BLOCK } from '../../cluster/layout.ts';
import { mirrorBinPath, terraformPlatform } from '../../toolchain/index.ts';
import { PROVIDER_NOMAD } from '../../pins/index.ts';

describe('cluster', () => {
  describe('clusterPorts()', () => {
    test('derives every agent port and the dynamic range from one base', () => {
      expect(clusterPorts(18500)).toEqual({
        consul: { http: 18500, dns: 18501, serfLan: 18502, serfWan: 18503, server: 18504, grpc: 18505 },
        nomad: { http: 18510, rpc: 18511, serf: 18512 },
        dynamic: { min: 18600, max: 18899 },
      });
    });

    test('keeps every port inside [base, base + PORT_BLOCK), so bases a block apart never clash', () => {
      const a = clusterPorts(18500);
      const b = clusterPorts(18500 + PORT_BLOCK);
      const all = (p: typeof a) => [...listenPorts(p), p.dynamic.min, p.dynamic.max];
      for (const port of all(a)) {
        expect(port).toBeGreaterThanOrEqual(18500);
        expect(port).toBeLessThan(18500 + PORT_BLOCK);
      }
      expect(Math.max(...all(a))).toBeLessThan(Math.min(...all(b)));
    });

    test('agents never listen inside the dynamic range', () => {
      const p = clusterPorts(20000);
      for (const port of listenPorts(p)) expect(port < p.dynamic.min || port > p.dynamic.max).toBe(true);
    });

    // Both edges of the allowed range, and the refusals just outside them.
    const refusals: [string, number][] = [
      ['privileged port', 1023],
      ['block would pass 65535', 65535 - PORT_BLOCK + 2],
      ['not an integer', 18500.5],
      ['not a number', Number('x')],
    ];
    for (const [why, base] of refusals) {
      test(`refuses a base that is ${why} (${base})`, () => {
        expect(() => clusterPorts(base)).toThrow(`portBase: ${base} — must be an integer between 1024 and ${65535 - PORT_BLOCK + 1}`);
      });
    }
    test('accepts both edges (1024 and 65535 - PORT_BLOCK + 1)', () => {
      expect(clusterPorts(1024).consul.http).toBe(1024);
      expect(clusterPorts(65535 - PORT_BLOCK + 1).dynamic.max).toBe(65535);
    });
  });

  describe('clusterEnv()', () => {
    test('addresses are loopback URLs and the token is only a path', () => {
      const e = clusterEnv({ stateDir: '/tmp/zd-state', portBase: 19000 });
      expect(e.env).toEqual({ NOMAD_ADDR: 'http://127.0.0.1:19010', CONSUL_HTTP_ADDR: 'http://127.0.0.1:19000' });
      expect(e.consulTokenFile).toBe('/tmp/zd-state/consul.token');
      expect(exportLines(e)).toContain('export CONSUL_HTTP_TOKEN="$(cat /tmp/zd-state/consul.token)"');
    });
  });

  describe('agent configs', () => {
    const l = clusterLayout({ stateDir: '/tmp/zd-state', portBase: 19000 });
    const keys = { consul: 'CONSUL-KEY', nomad: 'NOMAD-KEY' };
    test('consul enforces ACLs with default deny, binds loopback only and encrypts gossip', () => {
      const c = JSON.parse(consulConfig(l, 'TOKEN', keys));
      expect(c.acl).toMatchObject({ enabled: true, default_policy: 'deny', tokens: { initial_management: 'TOKEN', agent: 'TOKEN' } });
      expect(c).toMatchObject({ client_addr: '127.0.0.1', bind_addr: '127.0.0.1', encrypt: 'CONSUL-KEY', server: true, bootstrap_expect: 1 });
      expect(c.ports).toMatchObject({ http: 19000, grpc: 19005 });
    });
    test('nomad pins max_kill_timeout, lo, the dynamic range and the consul token in the file', () => {
      const n = JSON.parse(nomadConfig(l, 'TOKEN', keys));
      expect(n.client).toMatchObject({ enabled: true, max_kill_timeout: '30s', network_interface: 'lo', min_dynamic_port: 19100, max_dynamic_port: 19399 });
      expect(n.client.options['driver.allowlist']).toBe('raw_exec');
      expect(n.consul).toEqual({ address: '127.0.0.1:19000', grpc_address: '127.0.0.1:19005', token: 'TOKEN' });
      expect(n.server).toMatchObject({ enabled: true, bootstrap_expect: 1, encrypt: 'NOMAD-KEY' });
      expect(n.plugin).toEqual({ raw_exec: { config: { enabled: true } } });
    });
    test('the config files are JSON (the agents pick the parser by the .json name)', () => {
      expect(l.consul.config).toBe('/tmp/zd-state/consul.json');
      expect(l.nomad.config).toBe('/tmp/zd-state/nomad.json');
    });
  });
});

describe('tools', () => {
  test('terraformPlatform() names node platforms the way Terraform does', () => {
    expect(terraformPlatform('linux', 'x64')).toBe('linux_amd64');
    expect(terraformPlatform('darwin', 'arm64')).toBe('darwin_arm64');
  });
  test('mirrorBinPath() is the unpacked filesystem-mirror layout', () => {
    expect(mirrorBinPath('/m', 'registry.terraform.io', PROVIDER_NOMAD.provider, 'linux_amd64')).toBe(
      '/m/registry.terraform.io/hashicorp/nomad/2.5.2/linux_amd64/terraform-provider-nomad_v2.5.2',
    );
  });
});
