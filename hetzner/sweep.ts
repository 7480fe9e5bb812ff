/**
 * The label sweep of `npm run hetzner -- down`: every resource of a run found by its
 * `zerodrop-run` label and deleted in an order the API accepts (a load balancer before the network
 * it is attached to, servers before the firewall they use). Pure: URLs and order only; the
 * requests are made by lifecycle.ts.
 */

export const DEFAULT_ENDPOINT = 'https://api.hetzner.cloud/v1';

/** API collections a run creates, in deletion order. */
export const SWEEP_ORDER = ['load_balancers', 'servers', 'firewalls', 'networks', 'ssh_keys'] as const;
export type SweepKind = (typeof SWEEP_ORDER)[number];

export function labelSelector(runId: string): string {
  return `zerodrop-run=${runId}`;
}

/** One page of a collection, filtered by the run's label. */
export function listUrl(endpoint: string, kind: SweepKind, runId: string, page = 1): string {
  const u = new URL(`${endpoint.replace(/\/$/, '')}/${kind}`);
  u.searchParams.set('label_selector', labelSelector(runId));
  u.searchParams.set('per_page', '50');
  u.searchParams.set('page', String(page));
  return u.toString();
}

export function deleteUrl(endpoint: string, kind: SweepKind, id: number): string {
  return `${endpoint.replace(/\/$/, '')}/${kind}/${id}`;
}
