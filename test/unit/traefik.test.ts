import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../config/index.ts';
import { traefikPlan } from '../../timing/model.ts';
import { routerRule, traefikConsulPolicyRules, traefikNames, traefikServiceTags, traefikStaticConfig, traefikStaticYaml } from '../../traefik/index.ts';
import { trackNames, traefikCanaryTags } from '../../traefik/service-tags.ts';
import { minimalProps, NO_ENV } from './fixtures.ts';

const config = (traefik = {}, service = {}) => resolveConfig({ ...minimalProps(service), traefik }, { env: NO_ENV });

/** The Traefik objects a set of tags defines: `routers/<name>` etc. → its sorted settings. */
function objects(tags: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const t of tags) {
    const x = /^traefik\.http\.(routers|services|middlewares)\.([^.]+)\.(.*)$/.exec(t);
    if (x) m.set(`${x[1]}/${x[2]}`, [...(m.get(`${x[1]}/${x[2]}`) ?? []), x[3]!].sort());
  }
  return m;
}

describe('traefikStaticConfig()', () => {
  const c = config();
  const plan = traefikPlan(c);
  const stat = traefikStaticConfig({ traefik: c.traefik, plan }) as any;

  test('routes only services that opt in, and only while their checks pass', () => {
    expect(stat.providers.consulCatalog).toMatchObject({ exposedByDefault: false, strictChecks: ['passing'], prefix: 'traefik' });
  });

  test('polls the catalog every 2s by default (Traefik default 15s), with the 2s throttle explicit', () => {
    expect(stat.providers.consulCatalog).toMatchObject({ refreshInterval: '2s', watch: false });
    expect(stat.providers.providersThrottleDuration).toBe('2s');
  });

  test('watch mode uses Consul blocking queries', () => {
    expect((traefikStaticConfig({ traefik: config({ discovery: { watch: true } }).traefik, plan }) as any).providers.consulCatalog.watch).toBe(true);
  });

  test('reads Consul at the configured endpoint', () => {
    expect(stat.providers.consulCatalog.endpoint).toEqual({ address: '127.0.0.1:8500', scheme: 'http' });
  });

  test('the public entry point is the default one for routers; the admin one is not', () => {
    expect(stat.entryPoints.web.asDefault).toBe(true);
    expect(stat.entryPoints.traefik.asDefault).toBeUndefined();
  });

  test('has ping, Prometheus metrics with fine duration buckets, a JSON access log, and the read-only API, all on the admin entry point', () => {
    expect(stat.ping).toEqual({ entryPoint: 'traefik', terminatingStatusCode: 503 });
    expect(stat.metrics.prometheus.entryPoint).toBe('traefik');
    expect(stat.accessLog).toEqual({ format: 'json' });
    expect(stat.api).toEqual({ insecure: true, dashboard: false });
    expect(stat.metrics.prometheus.buckets).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  });

  test('YAML output parses back to the same object', () => {
    expect(parse(traefikStaticYaml({ traefik: c.traefik, plan, consulTokenExpression: '{{ x }}' }))).toEqual({
      ...stat,
      providers: { ...stat.providers, consulCatalog: { ...stat.providers.consulCatalog, endpoint: { ...stat.providers.consulCatalog.endpoint, token: '{{ x }}' } } },
    });
  });
});

describe('traefikServiceTags()', () => {
  const tagsOf = (traefik = {}, service = {}, naming?: 'content' | 'fixed') => {
    const c = config(traefik, service);
    return traefikServiceTags(c.services[0]!, c.traefik, naming);
  };
  const named = (traefik = {}, service = {}) => {
    const c = config(traefik, service);
    return traefikNames(c.services[0]!, c.traefik);
  };

  test('route the host, minus the probe endpoints, through a retry middleware, with a health-check', () => {
    const n = named();
    expect(tagsOf()).toEqual(
      expect.arrayContaining([
        'traefik.enable=true',
        `traefik.http.routers.${n.router}.rule=Host(\`api.example.com\`) && !Path(\`/readyz\`) && !Path(\`/livez\`)`,
        `traefik.http.routers.${n.router}.service=${n.service}`,
        `traefik.http.routers.${n.router}.middlewares=${n.retry}`,
        `traefik.http.middlewares.${n.retry}.retry.attempts=4`,
        `traefik.http.services.${n.service}.loadbalancer.healthcheck.path=/readyz`,
      ]),
    );
    expect(n.router).toMatch(/^api-[0-9a-f]{8}$/);
    expect(n.retry).toMatch(/^api-retry-[0-9a-f]{8}$/);
  });

  test('routers name no entry point: they take the default one, so renaming it orphans nothing', () => {
    expect(tagsOf().some((t) => t.includes('.entrypoints='))).toBe(false);
    expect(tagsOf({}, {}, 'fixed')).toContain('traefik.http.routers.api.entrypoints=web');
  });

  test('health-check the routed port by default: no healthcheck.port tag to pin every server', () => {
    expect(tagsOf().some((t) => t.includes('healthcheck.port'))).toBe(false);
    expect(tagsOf({}, { ports: { internalStatic: 9901 } }).some((t) => t.endsWith('healthcheck.port=9901'))).toBe(true);
  });

  test('several hosts: one router matching any of them', () => {
    const n = named({}, { host: ['api.example.com', 'api2.example.com'] });
    expect(tagsOf({}, { host: ['api.example.com', 'api2.example.com'] })).toContain(
      `traefik.http.routers.${n.router}.rule=(Host(\`api.example.com\`) || Host(\`api2.example.com\`)) && !Path(\`/readyz\`) && !Path(\`/livez\`)`,
    );
  });

  test('no retry middleware when attempts is 1, no health-check when disabled', () => {
    const tags = tagsOf({ retry: { attempts: 1 }, healthCheck: { enabled: false } });
    expect(tags.filter((t) => t.includes('retry') || t.includes('healthcheck'))).toEqual([]);
  });

  test('the same settings give the same names on every synth; a new app version changes no tag', () => {
    expect(tagsOf()).toEqual(tagsOf());
    const c1 = config();
    const c2 = resolveConfig({ ...minimalProps(), services: [{ ...minimalProps().services[0]!, version: 'v2' }] }, { env: NO_ENV });
    expect(traefikServiceTags(c2.services[0]!, c2.traefik)).toEqual(traefikServiceTags(c1.services[0]!, c1.traefik));
  });

  // Traefik's consulCatalog merges one configuration per instance and drops any object two
  // instances define differently (pkg/provider/configuration.go, Merge). This models that rule
  // over the tags of an old and a new instance; test/e2e/traefik-changes.test.ts shows it on a real Traefik.
  const conflicts = (a: string[], b: string[]) => {
    const [oa, ob] = [objects(a), objects(b)];
    return [...oa].filter(([k, v]) => ob.has(k) && JSON.stringify(ob.get(k)) !== JSON.stringify(v)).map(([k]) => k);
  };
  const changes: [string, object, object][] = [
    ['retry attempts', { retry: { attempts: 3 } }, {}],
    ['retry initial interval', { retry: { initialInterval: '250ms' } }, {}],
    ['health-check interval and timeout', { healthCheck: { interval: '2s', timeout: '2s' } }, {}],
    ['health-check switched off', { healthCheck: { enabled: false } }, {}],
    ['readiness path', {}, { readiness: { path: '/ready', servedOnRoutedPort: true } }],
    ['a second host', {}, { host: ['api.example.com', 'api2.example.com'] }],
    ['static internal port for the health-check', {}, { ports: { internalStatic: 9901 } }],
  ];

  test.each(changes)('a rollout that changes %s: no object is defined twice with different settings', (_, traefik, service) => {
    expect(conflicts(tagsOf(), tagsOf(traefik, service))).toEqual([]);
    // the changed object really is new, not silently the same
    expect(tagsOf(traefik, service)).not.toEqual(tagsOf());
  });

  test.each(changes)('negative control, fixed names: a rollout that changes %s defines an object twice (Traefik drops it)', (_, traefik, service) => {
    expect(conflicts(tagsOf({}, {}, 'fixed'), tagsOf(traefik, service, 'fixed'))).not.toEqual([]);
  });

  // consulCatalog creates a service under a tag-given name only when a tag defines it; a router
  // pointing at any other name routes nowhere (404).
  test.each([
    ['defaults', {}, {}],
    ['health-check off', { healthCheck: { enabled: false } }, {}],
    ['retry off and health-check off', { retry: { attempts: 1 }, healthCheck: { enabled: false } }, {}],
  ])('%s: the router points at a service its own tags define', (_, traefik, service) => {
    for (const naming of ['content', 'fixed'] as const) {
      const tags = tagsOf(traefik, service, naming);
      const target = tags.map((t) => /^traefik\.http\.routers\.[^.]+\.service=(.+)$/.exec(t)?.[1]).find(Boolean);
      expect(target).toBeDefined();
      expect(tags.some((t) => t.startsWith(`traefik.http.services.${target}.loadbalancer.`))).toBe(true);
    }
  });

  test('only what changed gets a new name: a retry change keeps the load-balancer service shared by both versions', () => {
    const [a, b] = [named(), named({ retry: { attempts: 3 } })];
    expect(b.service).toBe(a.service);
    expect(b.retry).not.toBe(a.retry);
    expect(b.router).not.toBe(a.router);
    const [h1, h2] = [named(), named({ healthCheck: { interval: '2s' } })];
    expect(h2.service).not.toBe(h1.service);
    expect(h2.retry).toBe(h1.retry);
  });
});

describe('traefikConsulPolicyRules()', () => {
  test('grants read on the routed services and nodes, nothing else', () => {
    expect(traefikConsulPolicyRules(['web', 'api'])).toBe(
      '# Health queries join services to nodes, so nodes must be readable.\nnode_prefix "" {\n  policy = "read"\n}\nservice "api" {\n  policy = "read"\n}\nservice "web" {\n  policy = "read"\n}\n',
    );
  });
});

describe('gated services: canary_tags', () => {
  const GATE = { smoke: [{ path: '/' }], analysis: { maxP99Ratio: 2 } };
  const gated = (service: object = {}) => {
    const c = config({}, { promotion: 'gated', gate: GATE, ...service });
    return { s: c.services[0]!, t: c.traefik };
  };

  test('the canary keeps the production router and service with identical settings (its normal share) and adds its own router and service', () => {
    const { s, t } = gated();
    const stable = objects(traefikServiceTags(s, t));
    const canary = objects(traefikCanaryTags(s, t));
    const shared = [...canary.keys()].filter((k) => stable.has(k));
    // every object both define is defined identically: Traefik merges them
    for (const k of shared) expect(canary.get(k), k).toEqual(stable.get(k));
    const prod = traefikNames(s, t);
    expect(shared.sort()).toEqual([`middlewares/${prod.retry}`, `routers/${prod.router}`, `services/${prod.service}`].sort());
    const own = trackNames(s, t, 'canary');
    expect(canary.has(`routers/${own.router}`)).toBe(true);
    expect(stable.has(`routers/${own.router}`)).toBe(false);
    expect(own.router).toMatch(/^api_canary-[0-9a-f]{8}$/);
    expect(own.service).toMatch(/^api_canary-[0-9a-f]{8}$/);
  });

  test('the canary router matches the production host plus the canary header, above the production router, with no retry', () => {
    const { s, t } = gated();
    const own = trackNames(s, t, 'canary');
    const tags = traefikCanaryTags(s, t).filter((x) => x.startsWith(`traefik.http.routers.${own.router}.`));
    expect(tags).toEqual([
      `traefik.http.routers.${own.router}.rule=Host(\`api.example.com\`) && Header(\`X-Zerodrop-Canary\`, \`1\`) && !Path(\`/readyz\`) && !Path(\`/livez\`)`,
      `traefik.http.routers.${own.router}.priority=${routerRule(s).length + 1000}`,
      `traefik.http.routers.${own.router}.service=${own.service}`,
    ]);
    // the canary's own service is health-checked like the production one, so Traefik's UP/DOWN for it is the canary's
    expect(traefikCanaryTags(s, t)).toContain(`traefik.http.services.${own.service}.loadbalancer.healthcheck.path=/readyz`);
  });

  test('stable instances of a gated service answer the stable header on their own router and service (the analysis baseline)', () => {
    const { s, t } = gated();
    const st = trackNames(s, t, 'stable');
    expect(traefikServiceTags(s, t)).toContain(`traefik.http.routers.${st.router}.rule=Host(\`api.example.com\`) && Header(\`X-Zerodrop-Canary\`, \`0\`) && !Path(\`/readyz\`) && !Path(\`/livez\`)`);
    expect(traefikCanaryTags(s, t).some((x) => x.includes(st.router))).toBe(false);
  });

  test('no service can ever define a track name: "_" is not allowed in service names', () => {
    const { s, t } = gated();
    const other = config({}, { name: 'api-canary', host: 'x.example.com' });
    const names = Object.values(traefikNames(other.services[0]!, other.traefik));
    expect(names).not.toContain(trackNames(s, t, 'canary').router);
    expect(names.every((n) => !n.includes('_'))).toBe(true);
  });

  test('auto promotion: no track routers, tags unchanged', () => {
    const c = config();
    expect(traefikServiceTags(c.services[0]!, c.traefik).some((x) => x.includes('X-Zerodrop-Canary'))).toBe(false);
  });
});
