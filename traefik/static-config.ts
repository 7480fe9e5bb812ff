import { stringify } from 'yaml';
import { formatDuration as d } from '../config/duration.ts';
import type { TraefikConfig } from '../config/schema.ts';
import type { TraefikPlan } from '../timing/model.ts';
import { edgeTag } from './service-tags.ts';

/**
 * Where Traefik reads the routed instances from. `consul` (the kit): the Consul catalog, which lists
 * an instance only once its readiness check passes. `nomad`: Nomad's built-in service discovery
 * through Traefik's nomad provider, which lists every registered instance whatever its checks say
 * (a warming canary included). Only the experiments (`npm run experiments`, E1/E2) build `nomad`,
 * behind ZERODROP_UNSAFE_NOMAD_DISCOVERY=1 (main.ts); the kit never does on its own.
 */
export type ServiceDiscovery = 'consul' | 'nomad';

export interface TraefikStaticProps {
  readonly traefik: TraefikConfig;
  /** Traefik's shutdown durations (timing/model.ts `traefikPlan`). */
  readonly plan: TraefikPlan;
  /**
   * What goes in `providers.consulCatalog.endpoint.token`: a Nomad template expression
   * that reads the secret at run time, so the token never sits in a jobspec or plan.
   * @default - no token line (Consul without ACLs)
   */
  readonly consulTokenExpression?: string;
  /**
   * Route only services carrying this kit's `zerodrop.edge=<traefik job>` tag. Without Consul
   * ACLs nothing else keeps Traefik from routing any service tagged `traefik.enable=true`;
   * with ACLs, the token reads only the kit's services. @default false
   */
  readonly onlyKitServices?: boolean;
  /**
   * Interface of the admin entry point when `traefik.adminHost` is not set: a Nomad template
   * expression for the address Nomad allocated the admin port on. @default - every interface
   */
  readonly defaultAdminHostExpression?: string;
  /**
   * Interface of the public entry point instead of `traefik.entryPoint.host`: a Nomad template
   * expression (the address allocated on `traefik.hostNetwork`). @default - entryPoint.host
   */
  readonly entryHostExpression?: string;
  /** @default 'consul' — 'nomad' only for the experiments (see `ServiceDiscovery`) */
  readonly discovery?: ServiceDiscovery;
  /** Nomad's HTTP API, read by the nomad provider; required with discovery 'nomad'. */
  readonly nomadAddress?: string;
}

/**
 * The admin entry point's name. Traefik serves its API (`api.insecure`) only on the entry point
 * named `traefik`, so /ping, /metrics and /api share it; the public entry point may not take this name.
 */
export const ADMIN_ENTRY_POINT = 'traefik';

/** Request-duration buckets (seconds) fine enough for the promotion gate to interpolate a p99. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** `host:port` for an entry point address; IPv6 addresses go in brackets. */
export function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Traefik v3 static configuration, as a plain object (see `traefikStaticYaml`). */
export function traefikStaticConfig({ traefik, plan, consulTokenExpression, onlyKitServices = false, defaultAdminHostExpression, entryHostExpression, discovery = 'consul', nomadAddress }: TraefikStaticProps): Record<string, unknown> {
  const ep = traefik.entryPoint;
  // On SIGTERM: keep accepting for acceptGrace while /ping answers 503 (a front load balancer
  // health-checking /ping stops sending), then finish in-flight requests for graceTimeOut.
  const lifeCycle = { requestAcceptGraceTimeout: d(plan.acceptGraceMs), graceTimeOut: d(plan.graceTimeOutMs) };
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      [ep.name]: {
        address: listenAddress(entryHostExpression ?? ep.host, ep.port),
        // Service routers name no entry point and so take this one (and never the admin one).
        asDefault: true,
        transport: { lifeCycle },
      },
      // The admin entry point drains alike, so /ping keeps answering (503) through the accept grace.
      [ADMIN_ENTRY_POINT]: { address: listenAddress(traefik.adminHost ?? defaultAdminHostExpression ?? '', traefik.adminPort), transport: { lifeCycle } },
    },
    ping: { entryPoint: ADMIN_ENTRY_POINT, terminatingStatusCode: 503 },
    // Read-only API on the admin entry point: the promotion gate reads each server's UP/DOWN from it.
    api: { insecure: true, dashboard: false },
    metrics: { prometheus: { entryPoint: ADMIN_ENTRY_POINT, addRoutersLabels: true, addServicesLabels: true, buckets: [...DURATION_BUCKETS_S] } },
    log: { level: 'INFO', format: 'json' },
    accessLog: { format: 'json' },
    providers: {
      // Every provider reload waits this long; it is part of the routing window.
      providersThrottleDuration: d(traefik.discovery.throttleMs),
      ...(discovery === 'nomad' ? { nomad: nomadProvider(traefik, onlyKitServices, nomadAddress) } : { consulCatalog: consulCatalogProvider(traefik, onlyKitServices, consulTokenExpression) }),
    },
  };
}

function consulCatalogProvider(traefik: TraefikConfig, onlyKitServices: boolean, consulTokenExpression: string | undefined): Record<string, unknown> {
  const consul = new URL(traefik.consulAddress);
  return {
    prefix: 'traefik',
    // Only services that opt in with traefik.enable=true are routed.
    exposedByDefault: false,
    ...(onlyKitServices ? { constraints: `Tag(\`${edgeTag(traefik)}\`)` } : {}),
    // The default also admits "warning"; only a passing readiness check may take traffic.
    strictChecks: ['passing'],
    refreshInterval: d(traefik.discovery.refreshIntervalMs),
    watch: traefik.discovery.watch,
    endpoint: {
      address: consul.host,
      scheme: consul.protocol.replace(':', ''),
      ...(consulTokenExpression ? { token: consulTokenExpression } : {}),
    },
  };
}

/**
 * Traefik's nomad provider (experiments only, see `ServiceDiscovery`): the same tags, read from
 * Nomad's service registrations, which carry no health: no strictChecks equivalent exists.
 */
function nomadProvider(traefik: TraefikConfig, onlyKitServices: boolean, nomadAddress: string | undefined): Record<string, unknown> {
  if (!nomadAddress) throw new Error("traefikStaticConfig: discovery 'nomad' needs nomadAddress (Nomad's HTTP API, e.g. http://127.0.0.1:4646)");
  return {
    prefix: 'traefik',
    exposedByDefault: false,
    ...(onlyKitServices ? { constraints: `Tag(\`${edgeTag(traefik)}\`)` } : {}),
    refreshInterval: d(traefik.discovery.refreshIntervalMs),
    watch: traefik.discovery.watch,
    endpoint: { address: nomadAddress },
  };
}

export function traefikStaticYaml(props: TraefikStaticProps): string {
  return stringify(traefikStaticConfig(props), { lineWidth: 0 });
}
