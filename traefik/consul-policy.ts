/**
 * Consul ACL rules for Traefik's consulCatalog provider: read the catalog entries
 * (services and their health, which needs node reads) of the routed services, and nothing else
 * (Traefik's own service is one: its tags define the catalog-ready route).
 */
export function traefikConsulPolicyRules(serviceNames: readonly string[]): string {
  const services = [...serviceNames].sort().map((name) => `service "${name}" {\n  policy = "read"\n}`);
  return ['# Health queries join services to nodes, so nodes must be readable.', 'node_prefix "" {\n  policy = "read"\n}', ...services].join('\n') + '\n';
}
