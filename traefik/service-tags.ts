import { createHash } from 'node:crypto';
import { formatDuration as d } from '../config/duration.ts';
import { traefikHealthChecks, type ServiceConfig, type TraefikConfig } from '../config/schema.ts';

/**
 * How Traefik objects in a service's Consul tags are named.
 * - `content` (the default): each router, service and middleware is named after a hash of its own
 *   settings. Traefik's consulCatalog builds one configuration per Consul instance and merges them;
 *   an object defined twice with different settings is dropped (the router with it: 404 for every
 *   request). During a rollout old and new instances coexist, so a changed setting must land under
 *   a new name: then both definitions live side by side until the old instances are gone.
 * - `fixed`: one name per service (`<name>`, `<name>-retry`), the layout that drops the service
 *   whenever a rollout changes a Traefik setting. Only the negative-control tests use it.
 */
export type TraefikNaming = 'content' | 'fixed';

export interface TraefikNames {
  readonly router: string;
  readonly service: string;
  /** undefined when the retry middleware is off (`traefik.retry.attempts: 1`) */
  readonly retry?: string;
}

/**
 * The tag every service of this kit carries, naming the Traefik job that routes it. Without
 * Consul ACLs, Traefik's consulCatalog constraint admits only services with this tag.
 */
export function edgeTag(traefik: Pick<TraefikConfig, 'jobName'>): string {
  return `zerodrop.edge=${traefik.jobName}`;
}

/** The public router rule: the service's host, minus the probe endpoints (they are for Consul and Traefik, not the internet). */
export function routerRule(service: Pick<ServiceConfig, 'host' | 'readiness' | 'liveness'>): string {
  return `${hostMatcher(service)} && ${notProbes(service)}`;
}

/** `Host(a)`, or `(Host(a) || Host(b))` for several hosts. */
function hostMatcher(service: Pick<ServiceConfig, 'host'>): string {
  const hosts = service.host.map((h) => `Host(\`${h}\`)`);
  return hosts.length === 1 ? hosts[0]! : `(${hosts.join(' || ')})`;
}

/** The probe endpoints are for Consul and Traefik, never routed. */
function notProbes(service: Pick<ServiceConfig, 'readiness' | 'liveness'>): string {
  return `!Path(\`${service.readiness.path}\`) && !Path(\`${service.liveness.path}\`)`;
}

/** 8 hex digits of sha256 over the settings: stable across synths, different when any setting differs. */
function contentName(base: string, settings: unknown): string {
  return `${base}-${createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 8)}`;
}

/** Every setting of the three Traefik objects a service gets, as tag suffix → value. */
function traefikSettings(service: ServiceConfig, traefik: TraefikConfig) {
  const retry = traefik.retry.attempts > 1 ? { attempts: String(traefik.retry.attempts), initialinterval: d(traefik.retry.initialIntervalMs) } : undefined;
  const healthcheck = traefikHealthChecks(service, traefik)
    ? {
        path: service.readiness.path,
        interval: d(traefik.healthCheck.intervalMs),
        timeout: d(traefik.healthCheck.timeoutMs),
        // healthcheck.port replaces the port of EVERY server of the service, so it cannot
        // follow Nomad's per-allocation dynamic ports: only a static internal port works.
        ...(service.ports.internalStatic !== undefined ? { port: String(service.ports.internalStatic) } : {}),
      }
    : undefined;
  return { retry, healthcheck, rule: routerRule(service) };
}

/** Names of the Traefik objects a service gets (content-addressed unless `naming` is `fixed`). */
export function traefikNames(service: ServiceConfig, traefik: TraefikConfig, naming: TraefikNaming = 'content'): TraefikNames {
  const s = traefikSettings(service, traefik);
  if (naming === 'fixed') return { router: service.name, service: service.name, ...(s.retry ? { retry: `${service.name}-retry` } : {}) };
  const lb = contentName(service.name, { kind: 'service', healthcheck: s.healthcheck ?? null });
  const retry = s.retry ? contentName(`${service.name}-retry`, { kind: 'retry', ...s.retry }) : undefined;
  const router = contentName(service.name, { kind: 'router', rule: s.rule, service: lb, middlewares: retry ?? null });
  return { router, service: lb, ...(retry ? { retry } : {}) };
}

/**
 * Consul service tags that make Traefik (consulCatalog) route to the service: router,
 * load-balancer health-check and retry middleware. The router names no entry point: it takes
 * Traefik's default one (`asDefault`), so renaming the entry point never orphans running instances.
 */
export function traefikServiceTags(service: ServiceConfig, traefik: TraefikConfig, naming: TraefikNaming = 'content'): string[] {
  const tags = productionTags(service, traefik, naming);
  // A gated service's stable instances also answer on their own header route, the baseline of the gate's analysis.
  return service.promotion === 'gated' ? [...tags, ...trackTags(service, traefik, 'stable')] : tags;
}

/**
 * Nomad `canary_tags` of a gated service: they replace the tags while an allocation is a canary,
 * and Nomad swaps the normal tags in on promotion. The canary keeps the production router and
 * service (identical definitions, so Traefik merges them with the stable instances' and the
 * canary takes its normal share of traffic) and adds its own router and service, reached only with
 * the canary header, under names no stable instance defines.
 */
export function traefikCanaryTags(service: ServiceConfig, traefik: TraefikConfig, naming: TraefikNaming = 'content'): string[] {
  return [...productionTags(service, traefik, naming), ...trackTags(service, traefik, 'canary')];
}

/** The header that selects a gated service's canary (`1`) or its stable instances (`0`) through Traefik. */
export const TRACK_HEADER = 'X-Zerodrop-Canary';
export const TRACK_VALUE = { canary: '1', stable: '0' } as const;
export type Track = keyof typeof TRACK_VALUE;

/**
 * Priority of the header routers: above the production router's default (its rule length), so a
 * request carrying the header never falls through to the shared production service.
 */
export function trackPriority(service: Pick<ServiceConfig, 'host' | 'readiness' | 'liveness'>): number {
  return routerRule(service).length + 1000;
}

export function trackRule(service: Pick<ServiceConfig, 'host' | 'readiness' | 'liveness'>, track: Track): string {
  return `${hostMatcher(service)} && Header(\`${TRACK_HEADER}\`, \`${TRACK_VALUE[track]}\`) && ${notProbes(service)}`;
}

/**
 * Names of a track's router and service: `<name>_canary-<8 hex>` / `<name>_stable-<8 hex>`.
 * Service names cannot contain "_" (config schema), so no production, retry or other service's
 * object can ever take one of these names, whatever the hashes.
 */
export function trackNames(service: ServiceConfig, traefik: TraefikConfig, track: Track): { router: string; service: string } {
  const s = traefikSettings(service, traefik);
  const lb = contentName(`${service.name}_${track}`, { kind: 'service', healthcheck: s.healthcheck ?? null });
  return { router: contentName(`${service.name}_${track}`, { kind: 'router', rule: trackRule(service, track), service: lb, priority: trackPriority(service) }), service: lb };
}

/**
 * A header router and its own load-balancer service. No retry middleware: a retry would hide the
 * canary's failures from the smoke requests and from the analysis (its service has one server).
 */
function trackTags(service: ServiceConfig, traefik: TraefikConfig, track: Track): string[] {
  const n = trackNames(service, traefik, track);
  const s = traefikSettings(service, traefik);
  const router = `traefik.http.routers.${n.router}`;
  const lb = `traefik.http.services.${n.service}.loadbalancer`;
  const tags = [`${router}.rule=${trackRule(service, track)}`, `${router}.priority=${trackPriority(service)}`, `${router}.service=${n.service}`];
  if (s.healthcheck) tags.push(...Object.entries(s.healthcheck).map(([k, v]) => `${lb}.healthcheck.${k}=${v}`));
  else tags.push(`${lb}.passhostheader=true`);
  return tags;
}

function productionTags(service: ServiceConfig, traefik: TraefikConfig, naming: TraefikNaming): string[] {
  const n = traefikNames(service, traefik, naming);
  const s = traefikSettings(service, traefik);
  const router = `traefik.http.routers.${n.router}`;
  const lb = `traefik.http.services.${n.service}.loadbalancer`;
  const tags = ['traefik.enable=true', edgeTag(traefik), `${router}.rule=${s.rule}`, `${router}.service=${n.service}`];
  if (naming === 'fixed') tags.push(`${router}.entrypoints=${traefik.entryPoint.name}`);
  if (s.retry && n.retry) {
    const mw = `traefik.http.middlewares.${n.retry}.retry`;
    tags.push(`${router}.middlewares=${n.retry}`, `${mw}.attempts=${s.retry.attempts}`, `${mw}.initialinterval=${s.retry.initialinterval}`);
  }
  if (s.healthcheck) tags.push(...Object.entries(s.healthcheck).map(([k, v]) => `${lb}.healthcheck.${k}=${v}`));
  // Without a tag of its own the service would not exist under its name (consulCatalog would make
  // a default one named after the Consul service) and the router would point at nothing: 404.
  // Traefik's default, said explicitly, defines it.
  else tags.push(`${lb}.passhostheader=true`);
  return tags;
}
