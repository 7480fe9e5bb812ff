import { stringify } from 'yaml';
import { formatDuration as d } from '../config/duration.ts';
import type { TraefikConfig } from '../config/schema.ts';
import { TRAEFIK_TIMING } from '../timing/model.ts';

export interface TraefikStaticProps {
  readonly traefik: TraefikConfig;
  /**
   * What goes in `providers.consulCatalog.endpoint.token`: a Nomad template expression
   * that reads the secret at run time, so the token never sits in a jobspec or plan.
   * @default - no token line (Consul without ACLs)
   */
  readonly consulTokenExpression?: string;
}

/** Traefik v3 static configuration, as a plain object (see `traefikStaticYaml`). */
export function traefikStaticConfig({ traefik, consulTokenExpression }: TraefikStaticProps): Record<string, unknown> {
  const consul = new URL(traefik.consulAddress);
  const ep = traefik.entryPoint;
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      [ep.name]: {
        address: `${ep.host}:${ep.port}`,
        // Service routers name no entry point and so take this one (and never the admin one).
        asDefault: true,
        transport: {
          // On its own shutdown Traefik keeps serving in-flight requests this long.
          lifeCycle: { graceTimeOut: d(TRAEFIK_TIMING.graceTimeOutMs) },
        },
      },
      admin: { address: `${ep.host}:${traefik.adminPort}` },
    },
    ping: { entryPoint: 'admin' },
    metrics: { prometheus: { entryPoint: 'admin', addRoutersLabels: true, addServicesLabels: true } },
    log: { level: 'INFO', format: 'json' },
    accessLog: { format: 'json' },
    providers: {
      // Every provider reload waits this long; it is part of the routing window.
      providersThrottleDuration: d(traefik.discovery.throttle),
      consulCatalog: {
        prefix: 'traefik',
        // Only services that opt in with traefik.enable=true are routed.
        exposedByDefault: false,
        // The default also admits "warning"; only a passing readiness check may take traffic.
        strictChecks: ['passing'],
        refreshInterval: d(traefik.discovery.refreshInterval),
        watch: traefik.discovery.watch,
        endpoint: {
          address: consul.host,
          scheme: consul.protocol.replace(':', ''),
          ...(consulTokenExpression ? { token: consulTokenExpression } : {}),
        },
      },
    },
  };
}

export function traefikStaticYaml(props: TraefikStaticProps): string {
  return stringify(traefikStaticConfig(props), { lineWidth: 0 });
}
