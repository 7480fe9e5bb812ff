import { stringify } from 'yaml';
import { formatDuration as d } from '../config/duration.ts';
import { CATALOG_READY_PATH } from './catalog-ready.ts';
import { listenAddress } from './static-config.ts';

/**
 * A front proxy before the nodes' Traefiks, as a cloud load balancer would be: a plain Traefik
 * (file provider, outside Nomad) that sends every request to one of the nodes' entry points and
 * health-checks each node's Traefik on its admin port (CATALOG_READY_PATH: /ping's answer, once
 * that Traefik has loaded the catalog). A node whose Traefik drains (503 for `traefik.acceptGrace`),
 * stops or has not loaded the catalog yet is taken out after one failed check.
 */
export interface FrontProxyProps {
  /** where the front listens */
  readonly host: string;
  readonly port: number;
  /** the nodes' Traefik entry points, e.g. `http://10.0.1.11:80` */
  readonly backends: readonly string[];
  /** the nodes' Traefik admin port (CATALOG_READY_PATH) */
  readonly healthPort: number;
  readonly checkIntervalMs: number;
  readonly checkTimeoutMs: number;
  /** the file `frontProxyStaticConfig` points its file provider at */
  readonly dynamicConfigFile: string;
}

const FRONT = 'front';

export function frontProxyStaticConfig(p: FrontProxyProps): Record<string, unknown> {
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: { [FRONT]: { address: listenAddress(p.host, p.port) } },
    providers: { file: { filename: p.dynamicConfigFile, watch: false } },
    log: { level: 'INFO', format: 'json' },
  };
}

export function frontProxyDynamicConfig(p: FrontProxyProps): Record<string, unknown> {
  if (p.backends.length === 0) throw new RangeError('backends: empty — a front proxy needs at least one node Traefik to send to');
  return {
    http: {
      routers: { [FRONT]: { entryPoints: [FRONT], rule: 'PathPrefix(`/`)', service: FRONT } },
      services: {
        [FRONT]: {
          loadBalancer: {
            // the Host header goes through: the nodes' Traefiks route by it
            passHostHeader: true,
            servers: p.backends.map((url) => ({ url })),
            healthCheck: { path: CATALOG_READY_PATH, port: p.healthPort, interval: d(p.checkIntervalMs), timeout: d(p.checkTimeoutMs) },
          },
        },
      },
    },
  };
}

export function frontProxyYaml(p: FrontProxyProps): { static: string; dynamic: string } {
  return { static: stringify(frontProxyStaticConfig(p), { lineWidth: 0 }), dynamic: stringify(frontProxyDynamicConfig(p), { lineWidth: 0 }) };
}
