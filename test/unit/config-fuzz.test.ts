import { Testing } from 'cdktf';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, resolveConfig, type ZerodropConfig } from '../../config/index.ts';
import { canaryJob, traefikJob } from '../../jobs/index.ts';
import { AppStack, EdgeStack } from '../../stacks/index.ts';
import { timingConfigIssues, timingPlans } from '../../timing/model.ts';
import { minimalProps, NO_ENV } from './fixtures.ts';

/**
 * Property-based fuzzing of the config: near-valid configs with hostile values mixed in,
 * and arbitrary JSON values. Only a ConfigError may escape; every rejection names a path;
 * every accepted config passes the timing rules and synthesizes with no Terraform
 * interpolation and no template directive that came from the input.
 */

const hostile = fc.constantFrom(
  '${file("/etc/passwd")}', '%{ if true }x%{ endif }', '{{ .consul_token }}', '$${x}', '', ' ', '`', '/readyz?x=1', '/readyz#x', 'a\nb',
  '-..-', '*.example.com', 'ftp://x:21', 'http://${var.x}:4646', 'http://{{x}}:8500', '1e400s', `${'9'.repeat(400)}s`, '0s', '-1s', '500ms', '99999999999999h', 'NaN',
);
const junk = fc.oneof(hostile, fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }));
const INJECTIONS = ['${file("/etc/passwd")}', '%{ if true }x%{ endif }', '{{ .consul_token }}', '{{ with nomadVar "nomad/jobs/traefik" }}{{ .consul_token }}{{ end }}', '`) || Host(`evil'];
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

const duration = fc.oneof(
  fc.integer({ min: 1, max: 120 }).map((n) => `${n}s`),
  fc.integer({ min: 1, max: 5000 }).map((n) => `${n}ms`),
  fc.integer({ min: 1, max: 30 }).map((n) => `${n}m`),
);
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

const configArb = fc.record(
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

/** resolveConfig as synth runs it (timing rules included); a ConfigError comes back as its issues. */
function outcome(input: unknown): { config: ZerodropConfig } | { issues: ConfigError['issues'] } {
  try {
    return { config: resolveConfig(input, { env: NO_ENV, moreIssues: timingConfigIssues }) };
  } catch (err) {
    if (err instanceof ConfigError) return { issues: err.issues };
    throw err; // anything else is a crash: the property fails with it
  }
}

/** Strings a cdktf stack writes on purpose as Terraform references: the token's plumbing in the edge stack. */
const GENERATED_REFERENCES = [/^resource\.nomad_variable\.[^.]+\.items\.consul_token$/, /^resource\.consul_acl_token\.[^.]+\.policies\.\d+$/, /^data\.consul_acl_token_secret_id\.[^.]+\.accessor_id$/];

/** Every string in a synthesized stack with its dotted path. */
function* strings(value: unknown, path = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}.${i}`);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* strings(v, path ? `${path}.${k}` : k);
}

/** `${` or `%{` that Terraform would evaluate: not doubled (`$${`, `%%{` are literal). */
function unescapedInterpolation(text: string): boolean {
  return /[$%]\{/.test(text.replaceAll('$${', '').replaceAll('%%{', ''));
}

const TOKEN_DIRECTIVES = ['{{ with nomadVar "nomad/jobs/traefik" }}', '{{ .consul_token }}', '{{ end }}'];
const ADMIN_HOST_DIRECTIVE = '{{ env "NOMAD_IP_admin" }}';

describe('config fuzz', () => {
  test('arbitrary JSON never crashes: only ConfigErrors, each issue naming a path', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), configArb.map((c) => ({ ...c, services: [...c.services, fc.sample(fc.anything(), 1)[0]] }))), (input) => {
        const result = outcome(input);
        if ('issues' in result) for (const issue of result.issues) expect(issue.path).toMatch(/\S/);
      }),
      { numRuns: 300 },
    );
  });

  test('near-valid configs: rejections name a path; accepted ones pass the timing rules and build jobs with no template directive from the input', () => {
    let accepted = 0;
    fc.assert(
      fc.property(configArb, (input) => {
        const result = outcome(input);
        if ('issues' in result) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) expect(issue.path).toMatch(/\S/);
          return;
        }
        accepted++;
        const { config } = result;
        const plans = timingPlans(config); // throws if a timing rule is broken
        const traefik = traefikJob(config);
        const tmpl = traefik.TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl;
        // Exactly the kit's own directives, each as often as the kit writes it: the token (with ACLs) and the admin address (without adminHost).
        const expected = [...(config.cluster.consul.acl ? TOKEN_DIRECTIVES : []), ...(config.traefik.adminHost === undefined ? [ADMIN_HOST_DIRECTIVE] : [])];
        expect((tmpl.match(/\{\{.*?\}\}/g) ?? []).sort()).toEqual(expected.sort());
        for (const service of config.services) {
          // Tags become Traefik router rules: no template sequence and no backtick (rule syntax) from the input.
          const tags = canaryJob({ service, plan: plans.get(service.name)!, config }).TaskGroups[0]!.Services![0]!.Tags!.join('\n');
          expect(tags).not.toMatch(/\{\{|\$\{|%\{/);
          expect(tags.replaceAll(/(Host|Path)\(`[^`]*`\)/g, '')).not.toContain('`');
        }
      }),
      { numRuns: 800 },
    );
    // The property means little if nearly everything is refused.
    expect(accepted).toBeGreaterThan(20);
  });

  test('the fields rendered into the Traefik template: an injected directive is refused, never rendered', () => {
    const half = (valid: fc.Arbitrary<string>) => fc.oneof(valid, fc.constantFrom(...INJECTIONS), fc.tuple(valid, fc.constantFrom(...INJECTIONS)).map(([v, i]) => `${v}${i}`));
    const traefikFields = fc.record(
      {
        entryPoint: fc.record({ host: half(fc.constantFrom('', '127.0.0.1', '::1')), name: half(fc.constantFrom('web', 'public')) }, { requiredKeys: [] }),
        adminHost: half(fc.constantFrom('', '127.0.0.1')),
        consulAddress: half(fc.constantFrom('http://127.0.0.1:8500', 'https://consul.example.com:8501')),
        jobName: half(fc.constantFrom('traefik', 'edge')),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(traefikFields, fc.boolean(), (traefik, acl) => {
        const result = outcome({ ...minimalProps(), cluster: { consul: { acl } }, traefik });
        if ('issues' in result) return;
        const { config } = result;
        const tmpl = traefikJob(config).TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl;
        const token = [`{{ with nomadVar "nomad/jobs/${config.traefik.jobName}" }}`, '{{ .consul_token }}', '{{ end }}'];
        const expected = [...(acl ? token : []), ...(config.traefik.adminHost === undefined ? [ADMIN_HOST_DIRECTIVE] : [])];
        expect((tmpl.match(/\{\{.*?\}\}/g) ?? []).sort()).toEqual(expected.sort());
      }),
      { numRuns: 300 },
    );
  });

  test('accepted configs synthesize stacks with no unescaped ${ or %{ in any Terraform block', () => {
    let synthesized = 0;
    fc.assert(
      fc.property(configArb, (input) => {
        const result = outcome(input);
        if ('issues' in result) return;
        const { config } = result;
        const app = Testing.app();
        const edge = JSON.parse(Testing.synth(new EdgeStack(app, 'edge', { config })));
        const apps = JSON.parse(Testing.synth(new AppStack(app, 'app', { config, plans: timingPlans(config) })));
        synthesized++;
        for (const [path, text] of [...strings(edge), ...strings(apps)]) {
          if (GENERATED_REFERENCES.some((r) => r.test(path))) continue;
          expect(unescapedInterpolation(text), `${path}: ${text}`).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
    expect(synthesized).toBeGreaterThan(10);
  });
});

describe('unescapedInterpolation()', () => {
  // The detector the property relies on must itself be able to fail.
  test.each([
    ['${var.x}', true],
    ['a%{ if }', true],
    ['$${NOMAD_PORT_http}', false],
    ['%%{ x }', false],
    ['$$${x}', false], // "$" then the escape "$${": literal, as escapeTerraformTemplate writes it
    ['$${x} ${y}', true],
    ['plain $ and % and {}', false],
  ])('%j → %j', (text, expected) => expect(unescapedInterpolation(text)).toBe(expected));
});
