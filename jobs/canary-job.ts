import { toNanos } from '../config/duration.ts';
import type { ServiceConfig, ZerodropConfig } from '../config/schema.ts';
import type { TimingPlan } from '../timing/model.ts';
import { traefikCanaryTags, traefikServiceTags, type TraefikNaming } from '../traefik/service-tags.ts';
import type { ServiceDiscovery } from '../traefik/static-config.ts';
import { jobIdentity, type NomadJob, type NomadTask } from './nomad-api.ts';

export interface CanaryJobProps {
  readonly service: ServiceConfig;
  readonly plan: TimingPlan;
  readonly config: Pick<ZerodropConfig, 'cluster' | 'traefik'>;
  /** how Traefik objects in the tags are named (see `TraefikNaming`) @default 'content' */
  readonly traefikNaming?: TraefikNaming;
  /**
   * Where the service registers. @default 'consul' — the health-gated catalog the kit relies on.
   * 'nomad' (Nomad's built-in service discovery) only for the experiments: Traefik's nomad provider
   * routes to an instance as soon as it is registered, ready or not (see `ServiceDiscovery`).
   */
  readonly discovery?: ServiceDiscovery;
}

/** The job's Meta key that holds the service's app version: what rollouts and rollbacks read back from Nomad. */
export const VERSION_META = 'zerodrop.version';

/** The task's env contract with the app (see app/README.md). */
export function appEnv(service: ServiceConfig, plan: TimingPlan): Record<string, string> {
  return {
    ...service.env,
    PORT: '${NOMAD_PORT_http}',
    INTERNAL_PORT: '${NOMAD_PORT_internal}',
    // raw_exec shares the host network: bind where Nomad allocated the port, not 0.0.0.0.
    ...(service.driver.type === 'raw_exec' ? { BIND_ADDR: '${NOMAD_IP_http}' } : {}),
    APP_VERSION: service.version,
    DRAIN_GRACE_MS: String(plan.drainGraceMs),
  };
}

/**
 * A service job that rolls out by canary: health-gated Consul registration (readiness on
 * the internal port), Traefik tags, auto-promote/auto-revert, and every duration from
 * the timing model. Returns Nomad API JSON (durations in nanoseconds).
 */
export function canaryJob({ service, plan, config, traefikNaming = 'content', discovery = 'consul' }: CanaryJobProps): NomadJob {
  const docker = service.driver.type === 'docker';
  const internalPort = service.ports.internalStatic !== undefined ? { Label: 'internal', Value: service.ports.internalStatic, ...(docker ? { To: service.ports.internal } : {}) } : undefined;
  return {
    ...jobIdentity(service.name, 'service', config.cluster.nomad),
    Meta: { [VERSION_META]: service.version },
    TaskGroups: [
      {
        Name: service.name,
        Count: service.count,
        Networks: [
          {
            Mode: 'host',
            DynamicPorts: [
              { Label: 'http', ...(docker ? { To: service.ports.http } : {}) },
              ...(internalPort ? [] : [{ Label: 'internal', ...(docker ? { To: service.ports.internal } : {}) }]),
            ],
            ...(internalPort ? { ReservedPorts: [internalPort] } : {}),
          },
        ],
        Services: [
          {
            Name: service.name,
            PortLabel: 'http',
            Provider: discovery,
            Tags: traefikServiceTags(service, config.traefik, traefikNaming),
            ...(service.promotion === 'gated' ? { CanaryTags: traefikCanaryTags(service, config.traefik, traefikNaming) } : {}),
            Checks: [
              {
                // Registered critical (Consul's default), so the catalog Traefik reads lists
                // an instance only once its readiness passes: never routable before ready.
                Name: `${service.name}-ready`,
                Type: 'http',
                PortLabel: 'internal',
                Path: service.readiness.path,
                Interval: toNanos(service.readiness.intervalMs),
                Timeout: toNanos(service.readiness.timeoutMs),
                OnUpdate: 'require_healthy',
              },
              {
                Name: `${service.name}-alive`,
                Type: 'http',
                PortLabel: 'internal',
                Path: service.liveness.path,
                Interval: toNanos(service.liveness.intervalMs),
                Timeout: toNanos(service.liveness.timeoutMs),
                // Nomad refuses on_update "ignore" together with check_restart (found by
                // /v1/validate/job), so liveness also gates deployment health.
                OnUpdate: 'require_healthy',
                CheckRestart: { Limit: service.liveness.failures, Grace: toNanos(plan.livenessGraceMs), IgnoreWarnings: false },
              },
            ],
          },
        ],
        // A static internal port can be held by one allocation per node: without this, a canary
        // placed beside an old allocation fails on the port collision.
        ...(internalPort ? { Constraints: [{ Operand: 'distinct_hosts' as const, RTarget: 'true' }] } : {}),
        // Nomad bin-packs by default: all instances could land on one node, and draining or losing
        // that node would take every instance at once. Spread them over the nodes instead.
        ...(service.count > 1 ? { Spreads: [{ Attribute: '${node.unique.id}', Weight: 100 }] } : {}),
        Update: {
          MaxParallel: service.maxParallel,
          Canary: service.canary,
          // gated: the promotion gate promotes (or fails the deployment) once Traefik, the smoke requests and the analysis agree.
          AutoPromote: service.promotion !== 'gated',
          AutoRevert: true,
          HealthCheck: 'checks',
          MinHealthyTime: toNanos(plan.minHealthyTimeMs),
          HealthyDeadline: toNanos(plan.healthyDeadlineMs),
          ProgressDeadline: toNanos(plan.progressDeadlineMs),
        },
        Tasks: [appTask(service, plan)],
      },
    ],
  };
}

function appTask(service: ServiceConfig, plan: TimingPlan): NomadTask {
  const driver = service.driver;
  return {
    Name: 'app',
    Driver: driver.type,
    Config: driver.type === 'docker' ? { image: `${driver.image}:${service.version}`, ports: ['http', 'internal'] } : { command: driver.command, args: [...driver.args] },
    Env: appEnv(service, plan),
    // The app drains on SIGTERM; Nomad's raw_exec default would be SIGINT.
    KillSignal: 'SIGTERM',
    KillTimeout: toNanos(plan.killTimeoutMs),
    ShutdownDelay: toNanos(plan.shutdownDelayMs),
    Resources: { CPU: service.resources.cpu, MemoryMB: service.resources.memoryMb },
  };
}
