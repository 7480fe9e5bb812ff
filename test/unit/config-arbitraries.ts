import fc from 'fast-check';

/**
 * fast-check arbitraries for zerodrop configs: near-valid configs with hostile values mixed in.
 * Shared by the unit fuzz test (test/unit/config-fuzz.test.ts) and the e2e check that every
 * accepted config gives jobs a real Nomad validates (test/e2e/nomad-roundtrip.test.ts).
 */

const hostile = fc.constantFrom(
  '${file("/etc/passwd")}', '%{ if true }x%{ endif }', '{{ .consul_token }}', '$${x}', '', ' ', '`', '/readyz?x=1', '/readyz#x', 'a\nb',
  '-..-', '*.example.com', 'ftp://x:21', 'http://${var.x}:4646', 'http://{{x}}:8500', '1e400s', `${'9'.repeat(400)}s`, '0s', '-1s', '500ms', '99999999999999h', 'NaN',
);
export const junk = fc.oneof(hostile, fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }));
export const INJECTIONS = ['${file("/etc/passwd")}', '%{ if true }x%{ endif }', '{{ .consul_token }}', '{{ with nomadVar "nomad/jobs/traefik" }}{{ .consul_token }}{{ end }}', '`) || Host(`evil'];
/** A valid text, or one with a Terraform or Nomad template sequence in it (prefix, suffix or alone). */
const injected = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 12, arbitrary: valid },
    { weight: 1, arbitrary: fc.constantFrom(...INJECTIONS) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.constantFrom(...INJECTIONS), fc.boolean()).map(([v, i, before]) => (before ? `${i}${v}` : `${v}${i}`)) },
  );

/** Mostly a valid value, sometimes junk: enough accepted configs to exercise the builders. */
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 60, arbitrary: valid }, { weight: 1, arbitrary: junk });
/** Usually left out (the default applies), sometimes set. */
const optional = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const host = injected(fc.tuple(label, label).map(([a, b]) => `${a}.${b}.com`));
const port = fc.integer({ min: 1, max: 65535 });
/** Durations in the range timing rules are sensitive to: some pass, some break a rule. */
const shortDuration = fc.oneof(fc.integer({ min: 1, max: 12 }).map((n) => `${n}s`), fc.integer({ min: 100, max: 3000 }).map((n) => `${n}ms`));
const checkDuration = fc.integer({ min: 1, max: 3 }).map((n) => `${n}s`);
const envKey = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('LOG_LEVEL', 'FEATURE_X', '_A1') }, { weight: 1, arbitrary: fc.constantFrom('BAD-NAME', 'PORT', '', '1X', 'a.b') });

const serviceArb = fc.record(
  {
    name: maybe(fc.constantFrom('api', 'web', 'billing')),
    version: maybe(injected(fc.constantFrom('v1', '1.4.2'))),
    driver: maybe(fc.constant({ type: 'docker', image: 'ghcr.io/example/api' })),
    host: maybe(fc.oneof(host, fc.array(host, { minLength: 1, maxLength: 3 }))),
    warmup: maybe(shortDuration),
    count: optional(maybe(fc.integer({ min: 1, max: 5 }))),
    canary: optional(maybe(fc.integer({ min: 1, max: 2 }))),
    ports: optional(maybe(fc.record({ http: maybe(port), internal: maybe(port), internalStatic: optional(maybe(port)) }, { requiredKeys: [] }))),
    readiness: fc.option(
      fc.record(
        { path: optional(maybe(injected(fc.constantFrom('/readyz', '/ready', '/health/ready')))), interval: optional(maybe(checkDuration)), timeout: optional(maybe(checkDuration)), servedOnRoutedPort: maybe(fc.boolean()) },
        { requiredKeys: ['servedOnRoutedPort'] },
      ),
      { nil: undefined, freq: 20 },
    ),
    liveness: optional(fc.record({ path: optional(maybe(injected(fc.constantFrom('/livez', '/alive')))), interval: optional(maybe(checkDuration)), timeout: optional(maybe(checkDuration)) }, { requiredKeys: [] })),
    drainGrace: optional(maybe(shortDuration)),
    shutdownDelay: optional(maybe(shortDuration)),
    longestRequest: optional(maybe(shortDuration)),
    killTimeout: optional(maybe(shortDuration)),
    env: optional(maybe(fc.dictionary(envKey, maybe(injected(fc.string({ maxLength: 8 }))), { maxKeys: 3 }))),
  },
  { requiredKeys: ['name', 'version', 'driver', 'host', 'warmup'] },
);

export const configArb = fc.record(
  {
    cluster: optional(
      fc.record(
        {
          nomad: optional(fc.record({ address: optional(maybe(injected(fc.constantFrom('http://127.0.0.1:4646', 'https://nomad.example.com:4646')))), region: optional(maybe(injected(fc.constantFrom('global', 'eu-west')))), datacenters: optional(maybe(fc.array(injected(fc.constantFrom('*', 'dc1')), { minLength: 1, maxLength: 2 }))) }, { requiredKeys: [] })),
          consul: optional(fc.record({ address: optional(maybe(injected(fc.constantFrom('http://127.0.0.1:8500', 'https://[::1]:8501')))), acl: optional(maybe(fc.boolean())) }, { requiredKeys: [] })),
          state: optional(maybe(fc.oneof(fc.constant({ backend: 'local' }), fc.record({ backend: fc.constant('consul'), path: maybe(injected(fc.constantFrom('zerodrop/terraform', 'a/b'))) })))),
        },
        { requiredKeys: [] },
      ),
    ),
    traefik: optional(
      fc.record(
        {
          entryPoint: optional(fc.record({ port: optional(maybe(port)), host: optional(maybe(injected(fc.constantFrom('', '127.0.0.1', '::1', '0.0.0.0')))) }, { requiredKeys: [] })),
          adminPort: optional(maybe(port)),
          consulAddress: optional(maybe(injected(fc.constantFrom('http://127.0.0.1:8500', 'http://consul.service:8500')))),
          adminHost: optional(maybe(injected(fc.constantFrom('', '127.0.0.1', '10.0.0.5')))),
          acceptGrace: optional(maybe(shortDuration)),
          discovery: optional(fc.record({ refreshInterval: optional(maybe(shortDuration)), watch: optional(maybe(fc.boolean())), throttle: optional(maybe(shortDuration)) }, { requiredKeys: [] })),
          healthCheck: optional(fc.record({ enabled: optional(maybe(fc.boolean())), interval: optional(maybe(checkDuration)), timeout: optional(maybe(checkDuration)) }, { requiredKeys: [] })),
          retry: optional(fc.record({ attempts: optional(maybe(fc.integer({ min: 1, max: 10 }))), initialInterval: optional(maybe(shortDuration)) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    ),
    timing: optional(fc.record({ margin: optional(maybe(shortDuration)) }, { requiredKeys: [] })),
    services: fc.uniqueArray(serviceArb, { minLength: 1, maxLength: 3, selector: (s) => JSON.stringify(s.name) }),
  },
  { requiredKeys: ['services'] },
);

