import { describe, expect, test } from 'vitest';
import { clusterLayout } from '../../cluster/index.ts';
import { frontProxyDynamicConfig, frontProxyStaticConfig } from '../../traefik/index.ts';

/** The front of a multi-node cluster: a plain Traefik before the nodes' Traefiks, checking each one's /ping. */
describe('front proxy config', () => {
  const l = clusterLayout({ stateDir: '/tmp/zd-front', portBase: 19000, nodes: 3, front: { port: 19080, edgePort: 19080, edgeAdminPort: 19082 } });
  const props = { host: l.front!.address, port: l.front!.port, backends: l.front!.backends, healthPort: l.front!.edgeAdminPort, checkIntervalMs: 1_000, checkTimeoutMs: 1_000, dynamicConfigFile: l.front!.dynamicConfig };
  const dyn = frontProxyDynamicConfig(props) as any;

  test("sends to every node's Traefik entry point, on the node's own address", () => {
    expect(dyn.http.services.front.loadBalancer.servers).toEqual([{ url: 'http://127.0.0.2:19080' }, { url: 'http://127.0.0.3:19080' }, { url: 'http://127.0.0.4:19080' }]);
  });

  test("health-checks each node's catalog-ready path (/ping's answer once the catalog is loaded) on the admin port, every second, and passes the Host header on", () => {
    expect(dyn.http.services.front.loadBalancer).toMatchObject({ passHostHeader: true, healthCheck: { path: '/ready', port: 19082, interval: '1s', timeout: '1s' } });
  });

  test('listens on 127.0.0.1 (the nodes use .2 and up, so the port may repeat) and reads only its own file', () => {
    expect(frontProxyStaticConfig(props)).toMatchObject({ entryPoints: { front: { address: '127.0.0.1:19080' } }, providers: { file: { filename: '/tmp/zd-front/front/dynamic.yaml', watch: false } } });
  });

  test('refuses an empty backend list', () => {
    expect(() => frontProxyDynamicConfig({ ...props, backends: [] })).toThrow(/backends: empty/);
  });

  test('a one-node cluster has no front and no client nodes; more than MAX_NODES is refused with the field', () => {
    const one = clusterLayout({ stateDir: '/tmp/zd-front', portBase: 19000 });
    expect(one.front).toBeUndefined();
    expect(one.clients).toEqual([]);
    expect(() => clusterLayout({ stateDir: '/tmp/zd-front', portBase: 19000, nodes: 9 })).toThrow(/nodes: 9 — must be an integer from 1 to 5/);
  });
});
