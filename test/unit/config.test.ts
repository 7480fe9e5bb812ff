import { FRONT_DEFAULTS } from '../../cluster/layout.ts';
import { LOAD_BALANCER_CHECK } from '../../hetzner/config.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatDuration, parseDurationMs, resolveConfig } from '../../config/index.ts';
import { loadConfig } from '../../config/load.ts';
import { issuesOf, minimalProps, NO_ENV } from './fixtures.ts';

describe('parseDurationMs()', () => {
  // "15" must not silently mean 15 ms: every duration carries its unit.
  test.each([
    ['500ms', 500],
    ['6s', 6000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['15', undefined],
    ['', undefined],
    ['6 s', undefined],
    ['-1s', undefined],
    ['1d', undefined],
  ])('%j → %j', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  test.each([
    [0, '0s'],
    [100, '100ms'],
    [1500, '1.5s'],
    [17_000, '17s'],
    [90_000, '1m30s'],
    [300_000, '5m'],
  ])('formatDuration(%j) is %j', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('resolveConfig()', () => {
  describe('defaults', () => {
    const config = resolveConfig(minimalProps(), { env: NO_ENV });
    const service = config.services[0]!;
    // One test per default: the config reference (docs/config.md) quotes these values.
    test.each([
      ['traefik refresh interval', config.traefik.discovery.refreshIntervalMs, 2000],
      ['traefik watch', config.traefik.discovery.watch, false],
      ['traefik throttle', config.traefik.discovery.throttleMs, 2000],
      ['traefik health-check enabled', config.traefik.healthCheck.enabled, true],
      ['traefik health-check interval', config.traefik.healthCheck.intervalMs, 1000],
      ['traefik health-check timeout', config.traefik.healthCheck.timeoutMs, 1000],
      ['traefik retry attempts', config.traefik.retry.attempts, 4],
      ['traefik retry initial interval', config.traefik.retry.initialIntervalMs, 100],
      ['traefik entry point', config.traefik.entryPoint, { name: 'web', port: 80, host: '' }],
      ['traefik admin port', config.traefik.adminPort, 8082],
      ['traefik driver', config.traefik.driver, { type: 'docker', image: 'traefik:v3.6.12' }],
      ['traefik consul address follows the cluster', config.traefik.consulAddress, 'http://127.0.0.1:8500'],
      ['nomad max kill timeout', config.cluster.nomad.maxKillTimeoutMs, 30_000],
      ['nomad datacenters', config.cluster.nomad.datacenters, ['*']],
      ['consul acl', config.cluster.consul.acl, true],
      ['state backend', config.cluster.state, { backend: 'local' }],
      ['timing margin', config.timing.marginMs, 2000],
      ['service count', service.count, 2],
      ['service canary follows count (capacity kept)', service.canary, 2],
      ['service max parallel', service.maxParallel, 1],
      ['service ports', service.ports, { http: 8080, internal: 8081 }],
      ['readiness', service.readiness, { path: '/readyz', intervalMs: 1000, timeoutMs: 1000, servedOnRoutedPort: true }],
      ['liveness', service.liveness, { path: '/livez', intervalMs: 5000, timeoutMs: 2000, failures: 3 }],
      ['longest request', service.longestRequestMs, 1000],
      ['shutdown delay is left to the timing model', service.shutdownDelayMs, undefined],
      ['drain grace is left to the timing model', service.drainGraceMs, undefined],
      ['kill timeout is left to the timing model', service.killTimeoutMs, undefined],
      ['resources', service.resources, { cpu: 100, memoryMb: 128 }],
      ['env', service.env, {}],
    ])('%s', (_name, actual, expected) => expect(actual).toEqual(expected));
  });

  test('every resolved duration names its unit (…Ms); the YAML keys are only input', () => {
    // GIVEN a config that sets every duration zerodrop reads
    const props = minimalProps({
      readiness: { interval: '2s', timeout: '1s', servedOnRoutedPort: true },
      liveness: { interval: '5s', timeout: '2s', grace: '20s' },
      drainGrace: '1s',
      longestRequest: '2s',
      shutdownDelay: '6s',
      killTimeout: '20s',
      minHealthyTime: '7s',
      healthyDeadline: '40s',
      progressDeadline: '1m',
      applyTimeout: '10m',
      promotion: 'gated',
      gate: { smoke: [{ path: '/api' }], analysis: { window: '30s', maxP99: '250ms' }, deadline: '5m' },
    });
    props.cluster = { ...props.cluster, nomad: { ...props.cluster!.nomad, maxKillTimeout: '45s' } };
    props.traefik = { acceptGrace: '5s', discovery: { refreshInterval: '3s', throttle: '1s' }, healthCheck: { interval: '2s', timeout: '1s' }, retry: { initialInterval: '200ms' } };
    props.timing = { margin: '3s' };
    // WHEN it is resolved
    const config = resolveConfig(props, { env: NO_ENV });
    // every field of nested objects (not of arrays: the services are walked on their own), by path
    const fields = (o: unknown, at = ''): [string, unknown][] =>
      o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.entries(o).flatMap(([k, v]) => [[`${at}${k}`, v] as [string, unknown], ...fields(v, `${at}${k}.`)]) : [];
    const all = fields(config);
    const service = fields(config.services[0]);
    // THEN each is a number of milliseconds under its …Ms name, and no unit-less name is left
    expect(Object.fromEntries(all.filter(([p]) => p.endsWith('Ms')))).toEqual({
      'cluster.nomad.maxKillTimeoutMs': 45_000,
      'traefik.acceptGraceMs': 5000,
      'traefik.discovery.refreshIntervalMs': 3000,
      'traefik.discovery.throttleMs': 1000,
      'traefik.healthCheck.intervalMs': 2000,
      'traefik.healthCheck.timeoutMs': 1000,
      'traefik.retry.initialIntervalMs': 200,
      'timing.marginMs': 3000,
    });
    expect(Object.fromEntries(service.filter(([p]) => p.endsWith('Ms')))).toEqual({
      'readiness.intervalMs': 2000,
      'readiness.timeoutMs': 1000,
      'liveness.intervalMs': 5000,
      'liveness.timeoutMs': 2000,
      'liveness.graceMs': 20_000,
      warmupMs: 12_000,
      drainGraceMs: 1000,
      longestRequestMs: 2000,
      shutdownDelayMs: 6000,
      killTimeoutMs: 20_000,
      minHealthyTimeMs: 7000,
      healthyDeadlineMs: 40_000,
      progressDeadlineMs: 60_000,
      applyTimeoutMs: 600_000,
      'gate.analysis.windowMs': 30_000,
      'gate.analysis.maxP99Ms': 250,
      'gate.deadlineMs': 300_000,
    });
    const yamlDurations = /(^|\.)(maxKillTimeout|acceptGrace|refreshInterval|throttle|interval|timeout|initialInterval|margin|grace|warmup|drainGrace|longestRequest|shutdownDelay|killTimeout|minHealthyTime|healthyDeadline|progressDeadline|applyTimeout|window|maxP99|deadline)$/;
    expect([...all, ...service].map(([p]) => p).filter((p) => yamlDurations.test(p))).toEqual([]);
  });

  test('takes cluster addresses from NOMAD_ADDR and CONSUL_HTTP_ADDR when the config leaves them out', () => {
    // GIVEN a config without addresses
    const props = { ...minimalProps(), cluster: {} };
    // WHEN it is resolved with the standard env vars set
    const config = resolveConfig(props, { env: { NOMAD_ADDR: 'http://127.0.0.1:14646', CONSUL_HTTP_ADDR: 'http://127.0.0.1:18500' } });
    // THEN the addresses follow the env, and Traefik reads the same Consul
    expect(config.cluster.nomad.address).toBe('http://127.0.0.1:14646');
    expect(config.traefik.consulAddress).toBe('http://127.0.0.1:18500');
  });

  test('ZERODROP_VERSION_<NAME> beats ZERODROP_VERSION, which beats the file', () => {
    const props = minimalProps();
    expect(resolveConfig(props, { env: { ZERODROP_VERSION: 'v7' } }).services[0]!.version).toBe('v7');
    expect(resolveConfig(props, { env: { ZERODROP_VERSION: 'v7', ZERODROP_VERSION_API: 'v8' } }).services[0]!.version).toBe('v8');
  });

  test('provider versions are not configurable: cluster.providers is an unknown key', () => {
    const props = { ...minimalProps(), cluster: { ...minimalProps().cluster, providers: { nomad: '1.4.20' } } };
    expect(issuesOf(() => resolveConfig(props, { env: NO_ENV }))).toEqual([expect.objectContaining({ path: 'cluster.providers', rule: expect.stringMatching(/^unknown key/) })]);
  });

  test('resolves ./relative raw_exec args against the config directory', () => {
    const props = minimalProps({ driver: { type: 'raw_exec', command: '/usr/bin/env', args: ['./app/server.ts', '--flag'] } });
    const config = resolveConfig(props, { env: NO_ENV, baseDir: '/srv/zerodrop' });
    expect(config.services[0]!.driver).toEqual({ type: 'raw_exec', command: '/usr/bin/env', args: ['/srv/zerodrop/app/server.ts', '--flag'] });
  });

  // Each row: a mistake users make, and the exact path + rule they get back.
  test.each([
    ['an unknown key, by path', { drainGrce: '5s' }, 'services[0].drainGrce', /unknown key/],
    ['a duration without unit', { warmup: '15' }, 'services[0].warmup', /must be a duration such as "500ms", "6s" or "1m30s" \(a unit is required\)/],
    ['a number where a duration goes', { warmup: 15 }, 'services[0].warmup', /must be a duration/],
    ['a zero readiness interval', { readiness: { interval: '0s', servedOnRoutedPort: true } }, 'services[0].readiness.interval', /at least 1s/],
    ['zero canaries', { canary: 0 }, 'services[0].canary', /at least 1: zerodrop rolls out by canary/],
    ['more canaries than instances', { count: 1, canary: 2 }, 'services[0].canary', /at most count \(1\)/],
    ['probes on the routed port', { ports: { http: 8080, internal: 8080 } }, 'services[0].ports.internal', /must differ from ports.http/],
    ['an uppercase name', { name: 'API' }, 'services[0].name', /lowercase letters/],
    ['an image with a tag', { driver: { type: 'docker', image: 'nginx:1.27' } }, 'services[0].driver.image', /without a tag/],
    ['an unknown driver', { driver: { type: 'exec' } }, 'services[0].driver.type', /docker.*raw_exec/],
    ['a missing warmup', { warmup: undefined }, 'services[0].warmup', /is required/],
  ])('refuses %s', (_name, override, path, rule) => {
    const issues = issuesOf(() => resolveConfig(minimalProps(override as never), { env: NO_ENV }));
    expect(issues).toContainEqual(expect.objectContaining({ path, rule: expect.stringMatching(rule) }));
  });

  test('refuses an unknown top-level key and a missing services list in one error', () => {
    const issues = issuesOf(() => resolveConfig({ traefikk: {} }, { env: NO_ENV }));
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['traefikk', 'services']));
  });

  test('refuses duplicate service names', () => {
    const props = minimalProps();
    props.services.push({ ...props.services[0]! });
    expect(issuesOf(() => resolveConfig(props, { env: NO_ENV }))).toContainEqual(expect.objectContaining({ path: 'services[1].name', rule: 'duplicates services[0].name: names must be unique' }));
  });

  test('the error message lists every problem as "path: value — rule", with no stack', () => {
    try {
      resolveConfig(minimalProps({ warmup: '15', count: 0 }), { env: NO_ENV });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        [
          '2 problems in the zerodrop config',
          '  services[0].count: 0 — must be ≥ 1',
          '  services[0].warmup: "15" — must be a duration such as "500ms", "6s" or "1m30s" (a unit is required)',
        ].join('\n'),
      );
    }
  });
});

describe('loadConfig()', () => {
  test('loads the committed zerodrop.yaml', () => {
    const config = loadConfig('zerodrop.yaml', { env: NO_ENV });
    expect(config.services.map((s) => s.name)).toEqual(['api']);
    expect(config.cluster.state).toEqual({ backend: 'consul', path: 'zerodrop/terraform', lock: true });
  });

  test('loads examples/local.yaml with raw_exec commands looked up on PATH and ./paths made absolute', () => {
    // GIVEN a PATH holding an executable named traefik (the real one is built by `npm run tools`)
    const bin = mkdtempSync(join(tmpdir(), 'zd-path-'));
    writeFileSync(join(bin, 'traefik'), '#!/bin/sh\n', { mode: 0o755 });
    // WHEN the local example is loaded
    const config = loadConfig('examples/local.yaml', { env: { PATH: `${bin}:${process.env.PATH}` } });
    // THEN both commands are absolute and the app's args point into this checkout
    expect(config.traefik.driver).toEqual({ type: 'raw_exec', command: join(bin, 'traefik') });
    const driver = config.services[0]!.driver;
    expect(driver.type === 'raw_exec' && driver.command).toMatch(/\/node$/);
    expect(driver.type === 'raw_exec' && driver.args).toContain(resolve('app/server.ts'));
  });

  test('loads examples/multinode.yaml: Traefik on the edge host network, three instances', () => {
    const bin = mkdtempSync(join(tmpdir(), 'zd-path-'));
    writeFileSync(join(bin, 'traefik'), '#!/bin/sh\n', { mode: 0o755 });
    const config = loadConfig('examples/multinode.yaml', { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(config.traefik.hostNetwork).toBe('edge');
    expect(config.traefik.entryPoint.host).toBe('');
    expect(config.services[0]!.count).toBe(3);
    // it declares the check of `npm run cluster`'s front proxy (Traefik: out after one failure)
    expect(config.traefik.frontCheck).toEqual({ intervalMs: FRONT_DEFAULTS.checkIntervalMs, timeoutMs: FRONT_DEFAULTS.checkTimeoutMs, unhealthyThreshold: 1 });
  });

  test('loads examples/hetzner-deploy.yaml: the Hetzner nodes\' edge network and ports, ACLs on, an accept grace longer than the load balancer needs to notice', () => {
    const config = loadConfig('examples/hetzner-deploy.yaml', { env: NO_ENV });
    expect(config.traefik).toMatchObject({ hostNetwork: 'edge', adminPort: 8082, entryPoint: { port: 80 } });
    expect(config.cluster.consul.acl).toBe(true);
    // it declares the Hetzner stack's load balancer check, so loading it held acceptGrace against it
    const lb = LOAD_BALANCER_CHECK;
    expect(config.traefik.frontCheck).toEqual({ intervalMs: lb.intervalS * 1000, timeoutMs: lb.timeoutS * 1000, unhealthyThreshold: lb.retries });
  });

  test('refuses a raw_exec command that is not on PATH, naming the field', () => {
    expect(() => loadConfig('examples/local.yaml', { env: { PATH: '/nonexistent' } })).toThrow(/services\[0\]\.driver\.command: "node" — is not an executable on PATH/);
  });

  test('refuses a file that does not exist, naming it', () => {
    expect(() => loadConfig('nope.yaml')).toThrow(/\(file\): "nope.yaml" — cannot be read \(ENOENT\)/);
  });
});
