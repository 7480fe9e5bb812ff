import type { TraefikConfig } from '../config/schema.ts';
import { edgeTag } from './service-tags.ts';
import { ADMIN_ENTRY_POINT } from './static-config.ts';

/**
 * What a front load balancer should health-check on each node's Traefik (admin port). /ping
 * answers 200 as soon as Traefik's internal routes are loaded, which can be a moment before its
 * first Consul catalog load; a front that marks a freshly (re)started Traefik up in that moment
 * gets 404s for every host (measured: one 404 in a Traefik restart behind a front checking /ping).
 * This path is served by the same ping handler (200, or 503 while Traefik drains), but through a
 * router that Traefik only has once it has loaded the catalog: the router is defined by the tags
 * of Traefik's own Consul service.
 */
export const CATALOG_READY_PATH = '/ready';

/** Tags of Traefik's own Consul service: the router of CATALOG_READY_PATH on the admin entry point to `ping@internal`. */
export function traefikCatalogReadyTags(traefik: Pick<TraefikConfig, 'jobName'>): string[] {
  const router = `traefik.http.routers.${traefik.jobName}-catalog-ready`;
  return ['traefik.enable=true', edgeTag(traefik), `${router}.rule=Path(\`${CATALOG_READY_PATH}\`)`, `${router}.entrypoints=${ADMIN_ENTRY_POINT}`, `${router}.service=ping@internal`];
}
