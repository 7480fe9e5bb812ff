import { toNanos } from '../config/duration.ts';
import type { ZerodropConfig } from '../config/schema.ts';
import { TRAEFIK_TIMING } from '../timing/model.ts';
import { traefikStaticYaml } from '../traefik/static-config.ts';
import { jobIdentity, type NomadJob } from './nomad-api.ts';

/** Where the edge stack stores Traefik's Consul token: a Nomad variable only the Traefik job can read. */
export function traefikVariablePath(jobName: string): string {
  return `nomad/jobs/${jobName}`;
}

/**
 * Traefik as a system job (one per client), its static config rendered by a Nomad
 * template into the secrets dir, reading the Consul token from a Nomad variable.
 */
export function traefikJob(config: Pick<ZerodropConfig, 'cluster' | 'traefik'>): NomadJob {
  const t = config.traefik;
  const tokenExpression = config.cluster.consul.acl ? `{{ with nomadVar "${traefikVariablePath(t.jobName)}" }}{{ .consul_token }}{{ end }}` : undefined;
  const configFile = '${NOMAD_SECRETS_DIR}/traefik.yaml';
  return {
    ...jobIdentity(t.jobName, 'system', config.cluster.nomad),
    TaskGroups: [
      {
        Name: 'traefik',
        Count: 1,
        Networks: [
          {
            Mode: 'host',
            ReservedPorts: [
              { Label: 'web', Value: t.entryPoint.port },
              { Label: 'admin', Value: t.adminPort },
            ],
          },
        ],
        Services: [
          {
            Name: t.jobName,
            PortLabel: 'admin',
            Provider: 'consul',
            Checks: [{ Name: `${t.jobName}-ping`, Type: 'http', PortLabel: 'admin', Path: '/ping', Interval: toNanos(TRAEFIK_TIMING.pingIntervalMs), Timeout: toNanos(TRAEFIK_TIMING.pingTimeoutMs) }],
          },
        ],
        Tasks: [
          {
            Name: 'traefik',
            Driver: t.driver.type,
            Config:
              t.driver.type === 'docker'
                ? { image: t.driver.image, network_mode: 'host', args: [`--configFile=${configFile}`] }
                : { command: t.driver.command, args: [`--configFile=${configFile}`] },
            Templates: [{ EmbeddedTmpl: traefikStaticYaml({ traefik: t, consulTokenExpression: tokenExpression }), DestPath: 'secrets/traefik.yaml', ChangeMode: 'restart', Perms: '0600' }],
            KillSignal: 'SIGTERM',
            KillTimeout: toNanos(TRAEFIK_TIMING.killTimeoutMs),
            Resources: { CPU: t.resources.cpu, MemoryMB: t.resources.memoryMb },
          },
        ],
      },
    ],
  };
}
