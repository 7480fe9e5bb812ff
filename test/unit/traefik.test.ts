import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../config/index.ts';
import { traefikConsulPolicyRules, traefikServiceTags, traefikStaticConfig, traefikStaticYaml } from '../../traefik/index.ts';
import { minimalProps, NO_ENV } from './fixtures.ts';

const config = (traefik = {}, service = {}) => resolveConfig({ ...minimalProps(service), traefik }, { env: NO_ENV });

describe('traefikStaticConfig()', () => {
  const c = config();
  const stat = traefikStaticConfig({ traefik: c.traefik }) as any;

  test('routes only services that opt in, and only while their checks pass', () => {
    expect(stat.providers.consulCatalog).toMatchObject({ exposedByDefault: false, strictChecks: ['passing'], prefix: 'traefik' });
  });

  test('polls the catalog every 2s by default (Traefik default 15s), with the 2s throttle explicit', () => {
    expect(stat.providers.consulCatalog).toMatchObject({ refreshInterval: '2s', watch: false });
    expect(stat.providers.providersThrottleDuration).toBe('2s');
  });

  test('watch mode uses Consul blocking queries', () => {
    expect((traefikStaticConfig({ traefik: config({ discovery: { watch: true } }).traefik }) as any).providers.consulCatalog.watch).toBe(true);
  });

  test('reads Consul at the configured endpoint', () => {
    expect(stat.providers.consulCatalog.endpoint).toEqual({ address: '127.0.0.1:8500', scheme: 'http' });
  });

  test('has ping, Prometheus metrics and a JSON access log, and no API', () => {
    expect(stat.ping).toEqual({ entryPoint: 'admin' });
    expect(stat.metrics.prometheus.entryPoint).toBe('admin');
    expect(stat.accessLog).toEqual({ format: 'json' });
    expect(stat.api).toBeUndefined();
  });

  test('YAML output parses back to the same object', () => {
    expect(parse(traefikStaticYaml({ traefik: c.traefik, consulTokenExpression: '{{ x }}' }))).toEqual({
      ...stat,
      providers: { ...stat.providers, consulCatalog: { ...stat.providers.consulCatalog, endpoint: { ...stat.providers.consulCatalog.endpoint, token: '{{ x }}' } } },
    });
  });
});

describe('traefikServiceTags()', () => {
  test('route the host, minus the probe endpoints, through a retry middleware', () => {
    const c = config();
    expect(traefikServiceTags(c.services[0]!, c.traefik)).toEqual(
      expect.arrayContaining([
        'traefik.enable=true',
        'traefik.http.routers.api.rule=Host(`api.example.com`) && !Path(`/readyz`) && !Path(`/livez`)',
        'traefik.http.routers.api.middlewares=api-retry',
        'traefik.http.middlewares.api-retry.retry.attempts=4',
        'traefik.http.services.api.loadbalancer.healthcheck.path=/readyz',
      ]),
    );
  });

  test('health-check the routed port by default: no healthcheck.port tag to pin every server', () => {
    const c = config();
    expect(traefikServiceTags(c.services[0]!, c.traefik).some((t) => t.includes('healthcheck.port'))).toBe(false);
  });

  test('no retry middleware when attempts is 1, no health-check when disabled', () => {
    const c = config({ retry: { attempts: 1 }, healthCheck: { enabled: false } });
    const tags = traefikServiceTags(c.services[0]!, c.traefik);
    expect(tags.filter((t) => t.includes('retry') || t.includes('healthcheck'))).toEqual([]);
  });
});

describe('traefikConsulPolicyRules()', () => {
  test('grants read on the routed services and nodes, nothing else', () => {
    expect(traefikConsulPolicyRules(['web', 'api'])).toBe(
      '# Health queries join services to nodes, so nodes must be readable.\nnode_prefix "" {\n  policy = "read"\n}\nservice "api" {\n  policy = "read"\n}\nservice "web" {\n  policy = "read"\n}\n',
    );
  });
});
