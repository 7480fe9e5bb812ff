/**
 * The `cdktf deploy` path on a real local cluster, with real Terraform and the providers the
 * bindings were generated from (hashicorp/nomad 2.5.2, hashicorp/consul 2.22.1; from the local
 * mirror `npm run tools` builds, else from the registry). Both stacks go through Terraform:
 * the edge stack's Consul token reaches Traefik through the Nomad variable → v1 answers through
 * Traefik → what Nomad holds is every field the builder set → v2 rolls out by canary and is
 * promoted → a canary that never becomes ready makes `terraform apply` fail (detach = false) and
 * Nomad reverts → a failed *first* apply taints the job, and `npm run deploy` refuses to purge it
 * until the untaint command it names has run. Prints how long each phase took. Needs `npm run tools`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { $ } from 'zx';
import { unescapeTerraformTemplate } from '../../stacks/terraform-strings.ts';
import { clusterDown, clusterEnv, clusterUp } from '../../cluster/index.ts';
import { deploy, taintedResources, type CdkTfJson, type TerraformState } from '../../deploy/index.ts';
import { toolPaths } from '../../toolchain/index.ts';
import { droppedFields, phase } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-cdktf'), portBase: 20100 };
const nomad = `http://127.0.0.1:${cluster.portBase + 10}`;
const consul = clusterEnv(cluster).consulAddr;
const tools = toolPaths();
const stacksDir = path.join(cluster.stateDir, 'cdktf.out', 'stacks');
const statePath = (stack: string) => path.join(cluster.stateDir, 'terraform', `terraform.${stack}.tfstate`);
const appState = async () => JSON.parse(await readFile(statePath('app'), 'utf8')) as TerraformState;
const missing = [tools.consul, tools.nomad, tools.traefik, tools.engine.bin].filter((f) => !existsSync(f));

interface Deployment {
  Status: string;
  StatusDescription: string;
  JobVersion: number;
  TaskGroups: Record<string, { Promoted: boolean; PlacedCanaries: string[] | null; DesiredCanaries: number }>;
}

interface StateResource {
  mode: string;
  type: string;
  instances: { attributes: Record<string, unknown> }[];
}

async function nomadGet<T>(p: string): Promise<T> {
  const res = await fetch(`${nomad}${p}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${nomad}${p}: ${res.status}`);
  return (await res.json()) as T;
}

async function consulGet<T>(p: string): Promise<T> {
  const token = (await readFile(clusterEnv(cluster).consulTokenFile, 'utf8')).trim();
  const res = await fetch(`${consul}${p}`, { headers: { 'X-Consul-Token': token }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${consul}${p}: ${res.status}`);
  return (await res.json()) as T;
}

/** Provider versions Terraform selected in a stack's working dir (`terraform version -json`) and locked (`.terraform.lock.hcl`). */
async function providersUsed(stack: string): Promise<{ selected: Record<string, string>; locked: Record<string, string> }> {
  const dir = path.join(stacksDir, stack);
  const out = await $({ cwd: dir, quiet: true, env: { ...process.env, TF_CLI_CONFIG_FILE: tools.terraformrc, CHECKPOINT_DISABLE: '1' } })`${tools.engine.bin} version -json`;
  const selected = (JSON.parse(out.stdout) as { provider_selections?: Record<string, string> }).provider_selections ?? {};
  const lock = await readFile(path.join(dir, '.terraform.lock.hcl'), 'utf8');
  const locked = Object.fromEntries([...lock.matchAll(/provider "([^"]+)" \{\s*version\s*=\s*"([^"]+)"/g)].map((m) => [m[1]!, m[2]!]));
  return { selected, locked };
}

/** GET through Traefik until it answers 200 (it routes once Consul says the app is passing), at most `ms`. */
async function getThroughTraefik(ms = 30_000): Promise<{ status: number; version: string | null }> {
  const until = Date.now() + ms;
  let last = { status: 0, version: null as string | null };
  while (Date.now() < until) {
    try {
      // undici's request, not fetch: fetch drops a Host header (a forbidden header name in the Fetch spec).
      const res = await request('http://127.0.0.1:18080/', { headers: { host: 'web.localhost' }, signal: AbortSignal.timeout(2_000) });
      const version = res.headers['x-app-version'];
      last = { status: res.statusCode, version: typeof version === 'string' ? version : null };
      await res.body.dump();
      if (res.statusCode === 200) return last;
    } catch {
      /* Traefik not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

describe('cdktf deploy with real Terraform on a local cluster', () => {
  beforeAll(async () => {
    // Fails rather than skips: a green run must mean this path was exercised.
    expect(missing, 'not built — run `npm run tools`').toEqual([]);
    await rm(cluster.stateDir, { recursive: true, force: true });
    await phase('cluster up', () => clusterUp({ ...cluster, log: () => undefined }));
  });
  afterAll(async () => {
    await phase('cluster down', () => clusterDown({ ...cluster, log: () => undefined }));
  });

  test('both stacks through cdktf deploy with hashicorp/nomad 2.5.2 and hashicorp/consul 2.22.1, a failing `terraform` first on PATH never run: v1 answers through Traefik with every field the builder set', async () => {
    // GIVEN a `terraform` first on PATH that fails whenever it runs (the engine is OpenTofu: the
    // kit never picks up a terraform by itself); the negative control below shows it would be noticed
    const bad = await mkdtemp(path.join(tmpdir(), 'zd-bad-terraform-'));
    await writeFile(path.join(bad, 'terraform'), '#!/bin/sh\necho "terraform must not run" >&2\nexit 3\n', { mode: 0o755 });
    const withBadTerraform = { ...process.env, PATH: `${bad}:${process.env.PATH}` };
    const { output } = await phase('deploy edge + app v1', () => deploy({ cluster, quiet: true, version: 'v1', env: withBadTerraform }));
    expect(output).toMatch(/^\[deploy\] target: .* → local cluster http:\/\/127\.0\.0\.1:20110 \(the local cluster asked for\)$/m);
    expect(output).toMatch(/^\[deploy\] cdktf deploy edge app done in \d+ s$/m);

    // The versions the engine really used, in each stack's working dir (each engine names its own registry).
    const registry = tools.engine.kind === 'tofu' ? 'registry.opentofu.org' : 'registry.terraform.io';
    expect(await providersUsed('edge')).toEqual({
      selected: { [`${registry}/hashicorp/nomad`]: '2.5.2', [`${registry}/hashicorp/consul`]: '2.22.1' },
      locked: { [`${registry}/hashicorp/nomad`]: '2.5.2', [`${registry}/hashicorp/consul`]: '2.22.1' },
    });
    expect(await providersUsed('app')).toEqual({ selected: { [`${registry}/hashicorp/nomad`]: '2.5.2' }, locked: { [`${registry}/hashicorp/nomad`]: '2.5.2' } });

    // Terraform state of both stacks holds what it created.
    const edge = (JSON.parse(await readFile(statePath('edge'), 'utf8')) as { resources: StateResource[] }).resources;
    expect(edge.filter((r) => r.mode === 'managed').map((r) => r.type).sort()).toEqual(['consul_acl_policy', 'consul_acl_token', 'nomad_job', 'nomad_variable']);
    const app = JSON.parse(await readFile(statePath('app'), 'utf8')) as { resources: StateResource[] };
    expect(app.resources.map((r) => [r.type, r.instances[0]?.attributes.id])).toEqual([['nomad_job', 'web']]);

    // The Nomad variable Traefik reads holds the secret of exactly the token Terraform created, with only its policy.
    const accessor = edge.find((r) => r.type === 'consul_acl_token')!.instances[0]!.attributes.id as string;
    const token = await consulGet<{ SecretID: string; Policies: { Name: string }[] }>(`/v1/acl/token/${accessor}`);
    expect(token.Policies.map((p) => p.Name)).toEqual(['zerodrop-traefik']);
    const variable = await nomadGet<{ Items: Record<string, string> }>('/v1/var/nomad/jobs/traefik');
    expect(variable.Items.consul_token === token.SecretID, 'nomad variable consul_token is the created token’s secret').toBe(true);

    expect(await phase('first 200 through Traefik', () => getThroughTraefik())).toEqual({ status: 200, version: 'v1' });

    // What the builder meant, as Terraform received it, against what Nomad holds after the provider applied it.
    const tf = JSON.parse(await readFile(path.join(stacksDir, 'app', 'cdk.tf.json'), 'utf8')) as CdkTfJson;
    const intended = (JSON.parse(unescapeTerraformTemplate(tf.resource!.nomad_job!['job-web']!.jobspec)) as { Job: unknown }).Job;
    expect(droppedFields(intended, await nomadGet('/v1/job/web'))).toEqual([]);

    // Negative control: named as the engine (ZERODROP_TERRAFORM_BIN), that terraform fails the deploy.
    const named = deploy({ cluster, quiet: true, version: 'v1', stacks: ['app'], env: { ...withBadTerraform, ZERODROP_TERRAFORM_BIN: path.join(bad, 'terraform') } });
    await expect(named).rejects.toThrow(/cdktf deploy app failed/);
  });

  test('v1 → v2 through terraform apply: the canary is promoted, the deployment successful, reads return v2', async () => {
    await phase('deploy app v2', () => deploy({ cluster, quiet: true, version: 'v2', stacks: ['app'] }));
    const d = await nomadGet<Deployment>('/v1/job/web/deployment');
    expect(d.Status).toBe('successful');
    // canary defaults to count (2): a full set of new instances before any old one stops
    expect(d.TaskGroups.web).toMatchObject({ Promoted: true, DesiredCanaries: 2 });
    expect(d.TaskGroups.web!.PlacedCanaries).toHaveLength(2);
    expect(await getThroughTraefik()).toEqual({ status: 200, version: 'v2' });
  });

  test('a canary that never becomes ready fails terraform apply (detach = false), and Nomad reverts to v2', async () => {
    const broken = deploy({ cluster, quiet: true, version: 'v3-broken', stacks: ['app'], config: path.resolve('examples/broken-canary.yaml') });
    await expect(phase('deploy broken app v3', () => broken)).rejects.toThrow(/cdktf deploy app failed[\s\S]*deployment '[^']+' terminated with status 'failed'/);
    const deployments = await nomadGet<Deployment[]>('/v1/job/web/deployments');
    expect(deployments.map((x) => x.Status)).toContain('failed');
    // auto_revert registers the last stable version again; Traefik keeps routing to v2 throughout.
    const job = await nomadGet<{ Meta: Record<string, string> }>('/v1/job/web');
    expect(job.Meta['zerodrop.version']).toBe('v2');
    expect(await getThroughTraefik()).toEqual({ status: 200, version: 'v2' });
    // A failed update leaves the resource as it was: Terraform taints only a failed create.
    expect(taintedResources(await appState())).toEqual([]);
  });

  test('a failed first apply taints the job: deploy refuses and names the untaint command, after which it updates in place', async () => {
    // GIVEN no job and no state, so the next apply is a create
    const del = await fetch(`${nomad}/v1/job/web?purge=true`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    expect(del.status).toBe(200);
    await rm(statePath('app'));
    // WHEN that first apply fails (the canary-less first deployment never becomes healthy)
    const broken = deploy({ cluster, quiet: true, version: 'v4-broken', stacks: ['app'], config: path.resolve('examples/broken-canary.yaml') });
    await expect(phase('first apply, broken app v4', () => broken)).rejects.toThrow(/terminated with status 'failed'/);
    // THEN Terraform has tainted the job, and a deploy refuses rather than purge and re-create it
    expect(taintedResources(await appState())).toEqual(['nomad_job.job-web']);
    const stackDir = path.join(stacksDir, 'app');
    const refusal = deploy({ cluster, quiet: true, version: 'v5', stacks: ['app'] });
    await expect(refusal).rejects.toThrow(`(cd ${stackDir} && ${path.basename(tools.engine.bin)} untaint nomad_job.job-web), then deploy again`);
    // AND the command it names works: the next deploy updates the job in place (its version goes on)
    const before = await nomadGet<{ Version: number }>('/v1/job/web');
    await $({ cwd: stackDir, quiet: true, env: { ...process.env, TF_CLI_CONFIG_FILE: tools.terraformrc } })`${tools.engine.bin} untaint nomad_job.job-web`;
    await phase('deploy app v5 after untaint', () => deploy({ cluster, quiet: true, version: 'v5', stacks: ['app'] }));
    const after = await nomadGet<{ Version: number; Meta: Record<string, string> }>('/v1/job/web');
    expect(after.Version).toBeGreaterThan(before.Version);
    expect(after.Meta['zerodrop.version']).toBe('v5');
    expect(await getThroughTraefik()).toEqual({ status: 200, version: 'v5' });
  });
});
