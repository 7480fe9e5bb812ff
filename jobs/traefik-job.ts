import { toNanos } from '../config/duration.ts';
import type { ZerodropConfig } from '../config/schema.ts';
import { TRAEFIK_PING, traefikPlan } from '../timing/model.ts';
import { traefikCatalogReadyTags } from '../traefik/catalog-ready.ts';
import { traefikStaticYaml, type ServiceDiscovery } from '../traefik/static-config.ts';
import { jobIdentity, type NomadJob } from './nomad-api.ts';

/** Where the edge stack stores Traefik's Consul token: a Nomad variable only the Traefik job can read. */
export function traefikVariablePath(jobName: string): string {
  return `nomad/jobs/${jobName}`;
}

/**
 * Traefik as a system job (one per client), its static config rendered by a Nomad
 * template into the secrets dir, reading the Consul token from a Nomad variable.
 * Changes roll one node at a time behind its /ping check, and every stop drains
 * (see `TraefikPlan` in timing/model.ts for each duration).
 */
export function traefikJob(config: Pick<ZerodropConfig, 'cluster' | 'traefik' | 'timing' | 'services'>, opts: { readonly discovery?: ServiceDiscovery } = {}): NomadJob {
  const t = config.traefik;
  const plan = traefikPlan(config);
  const tokenExpression = config.cluster.consul.acl ? `{{ with nomadVar "${traefikVariablePath(t.jobName)}" }}{{ .consul_token }}{{ end }}` : undefined;
  const configFile = '${NOMAD_SECRETS_DIR}/traefik.yaml';
  const staticYaml = traefikStaticYaml({
    traefik: t,
    plan,
    ...(tokenExpression ? { consulTokenExpression: tokenExpression } : {}),
    onlyKitServices: !config.cluster.consul.acl,
    // Not every interface: the address Nomad allocated the admin port on, which the Consul
    // check of /ping (run against that address) and a scraper on the cluster network reach.
    defaultAdminHostExpression: '{{ env "NOMAD_IP_admin" }}',
    // on a host network, each node's own address there (NOMAD_IP_<label> is the allocated one)
    ...(t.hostNetwork ? { entryHostExpression: '{{ env "NOMAD_IP_web" }}' } : {}),
    // Experiments only (E1/E2): Traefik's nomad provider instead of the Consul catalog.
    ...(opts.discovery === 'nomad' ? { discovery: 'nomad' as const, nomadAddress: config.cluster.nomad.address } : {}),
  });
  const hostNetwork = t.hostNetwork ? { HostNetwork: t.hostNetwork } : {};
  return {
    ...jobIdentity(t.jobName, 'system', config.cluster.nomad),
    // Nomad before 1.11 reads only this for a system job: without it an edge change replaces
    // Traefik on every node at once. One node, then a wait that covers its whole swap (the
    // group update below is what Nomad 1.11+ gates on instead; it ignores the stagger).
    Update: { MaxParallel: 1, Stagger: toNanos(plan.staggerMs) },
    TaskGroups: [
      {
        Name: 'traefik',
        Count: 1,
        Networks: [
          {
            Mode: 'host',
            ReservedPorts: [
              { Label: 'web', Value: t.entryPoint.port, ...hostNetwork },
              { Label: 'admin', Value: t.adminPort, ...hostNetwork },
            ],
          },
        ],
        Services: [
          {
            Name: t.jobName,
            PortLabel: 'admin',
            Provider: 'consul',
            // the route a front load balancer checks: it exists only once Traefik has read the catalog
            Tags: traefikCatalogReadyTags(t),
            Checks: [{ Name: `${t.jobName}-ping`, Type: 'http', PortLabel: 'admin', Path: '/ping', Interval: toNanos(TRAEFIK_PING.intervalMs), Timeout: toNanos(TRAEFIK_PING.timeoutMs) }],
          },
        ],
        // Nomad 1.11+ (system job deployments): one node at a time, each gated on its /ping
        // check; no canary: a canary Traefik would need the node's reserved ports, which the old
        // one holds.
        Update: {
          MaxParallel: 1,
          Canary: 0,
          AutoPromote: false,
          AutoRevert: true,
          HealthCheck: 'checks',
          MinHealthyTime: toNanos(plan.minHealthyTimeMs),
          HealthyDeadline: toNanos(plan.healthyDeadlineMs),
          ProgressDeadline: toNanos(plan.progressDeadlineMs),
        },
        Tasks: [
          {
            Name: 'traefik',
            Driver: t.driver.type,
            Config:
              t.driver.type === 'docker'
                ? { image: t.driver.image, network_mode: 'host', args: [`--configFile=${configFile}`] }
                : { command: t.driver.command, args: [`--configFile=${configFile}`] },
            Templates: [
              {
                EmbeddedTmpl: staticYaml,
                DestPath: 'secrets/traefik.yaml',
                // restart is the only correct mode: the token sits in Traefik's static config,
                // which Traefik cannot reload (no signal re-reads it), and a Traefik left on a
                // revoked token stops seeing catalog changes, the outage this kit exists to
                // prevent. Nomad fires it only when the rendered file changes (a new token),
                // not on every read of the variable. Each restart drains (accept grace with
                // /ping at 503, then graceTimeOut, inside kill_timeout), and the splay spreads
                // the restarts of the nodes, which all see a new token at the same moment.
                ChangeMode: 'restart',
                Splay: toNanos(plan.templateSplayMs),
                Perms: '0600',
              },
            ],
            KillSignal: 'SIGTERM',
            KillTimeout: toNanos(plan.killTimeoutMs),
            ShutdownDelay: toNanos(plan.shutdownDelayMs),
            Resources: { CPU: t.resources.cpu, MemoryMB: t.resources.memoryMb },
          },
        ],
      },
    ],
  };
}
