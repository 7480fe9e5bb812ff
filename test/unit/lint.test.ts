import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../config/index.ts';
import { configWarnings } from '../../config/lint.ts';
import { minimalProps, NO_ENV } from './fixtures.ts';

const warnings = (service: object = {}, traefik: object = {}) => configWarnings(resolveConfig({ ...minimalProps(service), traefik }, { env: NO_ENV }));

describe('configWarnings()', () => {
  test('the defaults warn about nothing', () => {
    expect(warnings()).toEqual([]);
  });
  test('no Traefik health-check: warned, and for a gated service the gate is named', () => {
    expect(warnings({ readiness: { servedOnRoutedPort: false } })[0]).toMatch(/Traefik does not health-check it \(readiness.servedOnRoutedPort: false\)/);
    const gated = warnings({ readiness: { servedOnRoutedPort: false }, promotion: 'gated', gate: { smoke: [{ path: '/' }], analysis: { maxP99: '1s' } } });
    expect(gated[0]).toMatch(/the promotion gate cannot see a canary DOWN in Traefik/);
    expect(warnings({}, { healthCheck: { enabled: false } })[0]).toMatch(/traefik.healthCheck.enabled: false/);
  });
  test('a liveness path that looks like a dependency check', () => {
    expect(warnings({ liveness: { path: '/health/db' } })[0]).toMatch(/looks like a dependency check/);
  });
  test('a liveness timeout equal to its interval', () => {
    expect(warnings({ liveness: { interval: '2s', timeout: '2s' } })[0]).toMatch(/liveness.timeout 2s = liveness.interval/);
  });
  test('fewer canaries than count: the instances left after promotion are named', () => {
    expect(warnings({ count: 2, canary: 1 })[0]).toMatch(/canary 1 < count 2: .* runs on 1 instance\(s\)/);
    expect(warnings({ count: 4, canary: 1, maxParallel: 2 })[0]).toMatch(/runs on 2 instance\(s\)/);
    expect(warnings({ count: 3, canary: 2, maxParallel: 3 })[0]).toMatch(/runs on 2 instance\(s\)/);
    expect(warnings({ count: 3, canary: 3 })).toEqual([]);
  });
});
