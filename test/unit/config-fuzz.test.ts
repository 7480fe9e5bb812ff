import { Testing } from 'cdktf';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, resolveConfig, type ZerodropConfig } from '../../config/index.ts';
import { canaryJob, traefikJob } from '../../jobs/index.ts';
import { AppStack, EdgeStack } from '../../stacks/index.ts';
import { timingConfigIssues, timingPlans } from '../../timing/model.ts';
import { configArb, INJECTIONS } from './config-arbitraries.ts';
import { minimalProps, NO_ENV, testApp } from './fixtures.ts';

/**
 * Property-based fuzzing of the config: near-valid configs with hostile values mixed in,
 * and arbitrary JSON values. Only a ConfigError may escape; every rejection names a path;
 * every accepted config passes the timing rules and synthesizes with no Terraform
 * interpolation and no template directive that came from the input.
 */

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
        const app = testApp();
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
