import { formatDuration as d } from '../config/duration.ts';
import type { ServiceConfig, TraefikConfig } from '../config/schema.ts';

/** Names of the Traefik objects a service gets, so tests and docs can refer to them. */
export function traefikNames(service: Pick<ServiceConfig, 'name'>) {
  return { router: service.name, service: service.name, retry: `${service.name}-retry` };
}

/** The public router rule: the service's host, minus the probe endpoints (they are for Consul and Traefik, not the internet). */
export function routerRule(service: Pick<ServiceConfig, 'host' | 'readiness' | 'liveness'>): string {
  return `Host(\`${service.host}\`) && !Path(\`${service.readiness.path}\`) && !Path(\`${service.liveness.path}\`)`;
}

/**
 * Consul service tags that make Traefik (consulCatalog) route to the service: router,
 * load-balancer health-check and retry middleware.
 */
export function traefikServiceTags(service: ServiceConfig, traefik: TraefikConfig): string[] {
  const n = traefikNames(service);
  const router = `traefik.http.routers.${n.router}`;
  const lb = `traefik.http.services.${n.service}.loadbalancer`;
  const tags = [
    'traefik.enable=true',
    `${router}.rule=${routerRule(service)}`,
    `${router}.entrypoints=${traefik.entryPoint.name}`,
    `${router}.service=${n.service}`,
  ];
  if (traefik.retry.attempts > 1) {
    const mw = `traefik.http.middlewares.${n.retry}.retry`;
    tags.push(`${router}.middlewares=${n.retry}`, `${mw}.attempts=${traefik.retry.attempts}`, `${mw}.initialinterval=${d(traefik.retry.initialInterval)}`);
  }
  if (traefik.healthCheck.enabled) {
    tags.push(
      `${lb}.healthcheck.path=${service.readiness.path}`,
      `${lb}.healthcheck.interval=${d(traefik.healthCheck.interval)}`,
      `${lb}.healthcheck.timeout=${d(traefik.healthCheck.timeout)}`,
    );
    // healthcheck.port replaces the port of EVERY server of the service, so it cannot
    // follow Nomad's per-allocation dynamic ports: only a static internal port works.
    if (service.ports.internalStatic !== undefined) tags.push(`${lb}.healthcheck.port=${service.ports.internalStatic}`);
  }
  return tags;
}
