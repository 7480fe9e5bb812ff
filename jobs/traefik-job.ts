import { toNanos } from '../config/duration.ts';
import type { ZerodropConfig } from '../config/schema.ts';
import { traefikStaticYaml } from '../traefik/static-config.ts';
import type { NomadJob } from './nomad-api.ts';

/** Where the edge stack stores Traefik's Consul token: a Nomad variable only the Traefik job can read. */
export function traefikVariablePath(jobName: string): string {
  return `nomad/jobs/${jobName}`;
}

/** Traefik's own entry point lifeCycle.graceTimeOut (see traefik/static-config.ts) plus room to exit. */
const TRAEFIK_KILL_TIMEOUT_MS = 12_000;

/**
 * Traefik as a system job (one per client), its static config rendered by a Nomad
 * template into the secrets dir, reading the Consul token from a Nomad variable.
 */
export function traefikJob(config: Pick<ZerodropConfig, 'cluster' | 'traefik'>): NomadJob {
  const t = config.traefik;
  const tokenExpression = config.cluster.consul.acl ? `{{ with nomadVar "${traefikVariablePath(t.jobName)}" }}{{ .consul_token }}{{ end }}` : undefined;
  const configFile = '${NOMAD_SECRETS_DIR}/traefik.yaml';
  return {
    ID: t.jobName,
    Name: t.jobName,
    Type: 'system',
    Region: config.cluster.nomad.region,
    Datacenters: [...config.cluster.nomad.datacenters],
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
            Checks: [{ Name: `${t.jobName}-ping`, Type: 'http', PortLabel: 'admin', Path: '/ping', Interval: toNanos(5000), Timeout: toNanos(2000) }],
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
            KillTimeout: toNanos(TRAEFIK_KILL_TIMEOUT_MS),
            Resources: { CPU: t.resources.cpu, MemoryMB: t.resources.memoryMb },
          },
        ],
      },
    ],
  };
}
