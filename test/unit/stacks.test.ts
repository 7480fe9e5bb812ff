import { Testing } from 'cdktf';
import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../config/index.ts';
import { AppStack, EdgeStack, escapeTerraformTemplate, terraformDuration } from '../../stacks/index.ts';
import { unescapeTerraformTemplate } from '../../stacks/terraform-strings.ts';
import { timingPlans } from '../../timing/model.ts';
import { minimalProps, NO_ENV, testApp } from './fixtures.ts';

function synth(props = minimalProps()) {
  const config = resolveConfig(props, { env: NO_ENV });
  const app = testApp();
  const edge = new EdgeStack(app, 'edge', { config });
  const appStack = new AppStack(app, 'app', { config, plans: timingPlans(config) });
  return { edge: JSON.parse(Testing.synth(edge)), app: JSON.parse(Testing.synth(appStack)) };
}

describe('escapeTerraformTemplate()', () => {
  // cdktf writes strings verbatim and Terraform reads ${…} as its own reference ("Invalid reference").
  test.each([
    ['${NOMAD_PORT_http}', '$${NOMAD_PORT_http}'],
    ['%{ if x }', '%%{ if x }'],
    ['a $ b % c {d}', 'a $ b % c {d}'],
    ['$${already}', '$$${already}'],
  ])('%j → %j', (input, output) => expect(escapeTerraformTemplate(input)).toBe(output));
});

describe('unescapeTerraformTemplate()', () => {
  // What Terraform hands Nomad: escaping undone exactly once (the e2e tests read jobspecs back this way).
  test.each(['${NOMAD_PORT_http}', '%{ if x }', 'plain $ and %', '$${already}'])('round-trips %j', (text) => {
    expect(unescapeTerraformTemplate(escapeTerraformTemplate(text))).toBe(text);
  });
});

describe('terraformDuration()', () => {
  test.each([
    [180_000, '3m'],
    [90_500, '91s'],
  ])('%j → %j', (ms, text) => expect(terraformDuration(ms)).toBe(text));
});

describe('AppStack', () => {
  const { app } = synth();
  const job = app.resource.nomad_job['job-api'];

  test('one nomad_job per service with a JSON jobspec, waiting for the rollout', () => {
    expect(job).toMatchObject({ json: true, detach: false, purge_on_destroy: true, timeouts: { create: '2m', update: '2m' } });
  });

  test('escapes Nomad interpolation so Terraform passes it through', () => {
    expect(job.jobspec).toContain('"PORT":"$${NOMAD_PORT_http}"');
    expect(job.jobspec).not.toMatch(/[^$]\$\{NOMAD/);
  });

  test('reads the Nomad address from the config and no token at all', () => {
    expect(app.provider.nomad).toEqual([{ address: 'http://127.0.0.1:4646', region: 'global' }]);
  });

  test('keeps state locally by default, at the project root', () => {
    expect(app.terraform.backend).toEqual({ local: { path: '../../../terraform.app.tfstate' } });
  });

  test('moves local state to ZERODROP_TF_STATE_DIR (a disposable cluster keeps its state with it)', () => {
    const config = resolveConfig(minimalProps(), { env: { ...NO_ENV, ZERODROP_TF_STATE_DIR: '/tmp/zd-state' } });
    const stack = new AppStack(testApp(), 'app', { config, plans: timingPlans(config) });
    expect(JSON.parse(Testing.synth(stack)).terraform.backend).toEqual({ local: { path: '/tmp/zd-state/terraform.app.tfstate' } });
  });

  test('requires exactly the provider versions the bindings were generated from, whatever the env says', () => {
    expect(app.terraform.required_providers).toEqual({ nomad: { source: 'nomad', version: '2.5.2' } });
    const config = resolveConfig(minimalProps(), { env: { ...NO_ENV, ZERODROP_PROVIDER_NOMAD_VERSION: '1.4.20' } });
    const stack = new EdgeStack(testApp(), 'edge', { config });
    expect(JSON.parse(Testing.synth(stack)).terraform.required_providers).toEqual({ nomad: { source: 'nomad', version: '2.5.2' }, consul: { source: 'consul', version: '2.22.1' } });
  });

  test('keeps state in Consul KV with locking when asked, without a token in the config', () => {
    const props = { ...minimalProps(), cluster: { ...minimalProps().cluster, state: { backend: 'consul' as const, path: 'zd/tf' } } };
    expect(synth(props).app.terraform.backend).toEqual({ consul: { address: '127.0.0.1:8500', scheme: 'http', path: 'zd/tf/app', lock: true } });
  });
});

describe('EdgeStack', () => {
  const { edge } = synth();

  test('creates a Consul policy for Traefik that reads only the routed services', () => {
    expect(edge.resource.consul_acl_policy['traefik-policy'].rules).toContain('service "api" {');
    // and Traefik's own service: its tags define the catalog-ready route a front checks
    expect(edge.resource.consul_acl_policy['traefik-policy'].rules).toContain('service "traefik" {');
    expect(edge.resource.consul_acl_policy['traefik-policy'].rules).not.toMatch(/write|service_prefix/);
  });

  test('hands the token secret to Traefik through a Nomad variable, never a literal', () => {
    expect(edge.resource.nomad_variable['traefik-consul-token']).toMatchObject({
      path: 'nomad/jobs/traefik',
      items: { consul_token: '${data.consul_acl_token_secret_id.traefik-token-secret.secret_id}' },
    });
    expect(edge.resource.nomad_job.traefik.depends_on).toEqual(['nomad_variable.traefik-consul-token']);
  });

  test('the Traefik jobspec escapes its own ${NOMAD_SECRETS_DIR}', () => {
    expect(edge.resource.nomad_job.traefik.jobspec).toContain('--configFile=$${NOMAD_SECRETS_DIR}/traefik.yaml');
  });

  test('without Consul ACLs there is no policy, token or variable', () => {
    const props = { ...minimalProps(), cluster: { ...minimalProps().cluster, consul: { address: 'http://127.0.0.1:8500', acl: false } } };
    const { edge } = synth(props);
    expect(Object.keys(edge.resource)).toEqual(['nomad_job']);
  });
});

describe('prevent_destroy on every nomad_job', () => {
  // A failed first apply taints the job, and the next plan would replace it: purge, then register
  // anew. prevent_destroy turns that plan into an error for cdktf deploy and any pipeline alike.
  test('app and edge jobs refuse to be destroyed by default; nothing else carries it', () => {
    const { app, edge } = synth();
    expect(app.resource.nomad_job['job-api'].lifecycle).toEqual({ prevent_destroy: true });
    expect(edge.resource.nomad_job.traefik.lifecycle).toEqual({ prevent_destroy: true });
    expect(edge.resource.nomad_variable['traefik-consul-token'].lifecycle).toBeUndefined();
  });

  test('allowDestroy (ZERODROP_ALLOW_DESTROY=1 at synth) lifts it, for a destroy on purpose', () => {
    const config = resolveConfig(minimalProps(), { env: NO_ENV });
    const app = testApp();
    const appStack = JSON.parse(Testing.synth(new AppStack(app, 'app', { config, plans: timingPlans(config), allowDestroy: true })));
    const edge = JSON.parse(Testing.synth(new EdgeStack(app, 'edge', { config, allowDestroy: true })));
    expect(appStack.resource.nomad_job['job-api'].lifecycle).toEqual({ prevent_destroy: false });
    expect(edge.resource.nomad_job.traefik.lifecycle).toEqual({ prevent_destroy: false });
  });
});
