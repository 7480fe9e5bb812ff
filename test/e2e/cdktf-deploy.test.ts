/**
 * The `cdktf deploy` path on a real local cluster, with real Terraform and the provider from the
 * local mirror (terraform-provider-nomad v1.4.20 standing in for 2.5.2, README "Terraform
 * providers"). The edge stack needs the Consul provider, which cannot be built here, so it goes
 * through the APIs; the app stack goes through Terraform:
 * v1 answers through Traefik → what Nomad holds is every field the builder set → v2 rolls out by
 * canary and is promoted → a canary that never becomes ready makes `terraform apply` fail
 * (detach = false) and Nomad reverts → a failed *first* apply taints the job, and `npm run
 * deploy` refuses to purge it until the untaint command it names has run. Prints how long each phase took. Needs `npm run tools`.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { $ } from 'zx';
import { unescapeTerraformTemplate } from '../../stacks/terraform-strings.ts';
import { clusterDown, clusterUp } from '../../scripts/cluster.ts';
import { deploy, taintedResources, type TerraformState } from '../../scripts/deploy.ts';
import type { CdkTfJson } from '../../scripts/nomad-api-deploy.ts';
import { toolPaths } from '../../scripts/tools.ts';
import { droppedFields, phase } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-cdktf'), portBase: 20100 };
const nomad = `http://127.0.0.1:${cluster.portBase + 10}`;
const tools = toolPaths();
const statePath = path.join(cluster.stateDir, 'terraform', 'terraform.app.tfstate');
const appState = async () => JSON.parse(await readFile(statePath, 'utf8')) as TerraformState;
const built = [tools.consul, tools.nomad, tools.traefik].every((f) => existsSync(f)) && tools.providers.nomad?.built === true;

interface Deployment {
  Status: string;
  StatusDescription: string;
  JobVersion: number;
  TaskGroups: Record<string, { Promoted: boolean; PlacedCanaries: string[] | null; DesiredCanaries: number }>;
}

async function nomadGet<T>(p: string): Promise<T> {
  const res = await fetch(`${nomad}${p}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${p}: ${res.status}`);
  return (await res.json()) as T;
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

describe.skipIf(!built)('cdktf deploy with real Terraform on a local cluster', () => {
  beforeAll(async () => {
    await rm(cluster.stateDir, { recursive: true, force: true });
    await phase('cluster up', () => clusterUp({ ...cluster, log: () => undefined }));
  });
  afterAll(async () => {
    await phase('cluster down', () => clusterDown({ ...cluster, log: () => undefined }));
  });

  test('edge through the APIs, app through Terraform: v1 answers through Traefik with every field the builder set', async () => {
    const { engines } = await phase('deploy edge + app v1', () => deploy({ cluster, quiet: true, version: 'v1' }));
    expect(engines.map((e) => [e.stack, e.engine])).toEqual([['edge', 'nomad-api'], ['app', 'cdktf']]);
    expect(engines[0]!.why).toContain('hashicorp/consul');
    // Forcing Terraform on the edge stack stops before any apply, with the reason.
    await expect(deploy({ cluster, quiet: true, version: 'v1', stacks: ['edge'], engine: 'cdktf' })).rejects.toThrow(/^edge: cannot deploy with cdktf — provider hashicorp\/consul .* is not built here/);

    const state = JSON.parse(await readFile(statePath, 'utf8')) as { resources: { type: string; instances: { attributes: { id: string } }[] }[] };
    expect(state.resources.map((r) => [r.type, r.instances[0]?.attributes.id])).toEqual([['nomad_job', 'web']]);

    expect(await phase('first 200 through Traefik', () => getThroughTraefik())).toEqual({ status: 200, version: 'v1' });

    // What the builder meant, as Terraform received it, against what Nomad holds after the provider applied it.
    const tf = JSON.parse(await readFile(path.join(cluster.stateDir, 'cdktf.out', 'stacks', 'app', 'cdk.tf.json'), 'utf8')) as CdkTfJson;
    const intended = (JSON.parse(unescapeTerraformTemplate(tf.resource!.nomad_job!['job-web']!.jobspec)) as { Job: unknown }).Job;
    expect(droppedFields(intended, await nomadGet('/v1/job/web'))).toEqual([]);
  });

  test('v1 → v2 through terraform apply: the canary is promoted, the deployment successful, reads return v2', async () => {
    await phase('deploy app v2', () => deploy({ cluster, quiet: true, version: 'v2', stacks: ['app'] }));
    const d = await nomadGet<Deployment>('/v1/job/web/deployment');
    expect(d.Status).toBe('successful');
    expect(d.TaskGroups.web).toMatchObject({ Promoted: true, DesiredCanaries: 1 });
    expect(d.TaskGroups.web!.PlacedCanaries).toHaveLength(1);
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
    await rm(statePath);
    // WHEN that first apply fails (the canary-less first deployment never becomes healthy)
    const broken = deploy({ cluster, quiet: true, version: 'v4-broken', stacks: ['app'], config: path.resolve('examples/broken-canary.yaml') });
    await expect(phase('first apply, broken app v4', () => broken)).rejects.toThrow(/terminated with status 'failed'/);
    // THEN Terraform has tainted the job, and a deploy refuses rather than purge and re-create it
    expect(taintedResources(await appState())).toEqual(['nomad_job.job-web']);
    const stackDir = path.join(cluster.stateDir, 'cdktf.out', 'stacks', 'app');
    const refusal = deploy({ cluster, quiet: true, version: 'v5', stacks: ['app'] });
    await expect(refusal).rejects.toThrow(`(cd ${stackDir} && terraform untaint nomad_job.job-web), then deploy again`);
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
