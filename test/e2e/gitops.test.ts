/**
 * The GitOps path on a real local cluster: `npm run pipeline -- plan|apply` exactly as the CI files
 * in examples/gitops/ run it, with `cluster.state.backend: consul` (state in Consul KV, locked) and
 * the tokens from the env. Covers: apply on main (both stacks, then the deployment watch) → no
 * changes on a second plan and a second apply, the Traefik token secret never in their output →
 * two concurrent applies of one stack: one fails on the lock, one waits, nothing half-applied →
 * a never-ready canary makes the pipeline exit 1 (Nomad reverts) → a failed *first* apply taints
 * the job and the next apply is refused by prevent_destroy, the job kept, until `tofu untaint`.
 * Lean on purpose (no load generator): the rollouts under load are in rollout.test.ts. Needs `npm run tools`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { $ } from 'zx';
import { clusterDown, clusterEnv, clusterUp } from '../../cluster/index.ts';
import { taintedResources, type TerraformState } from '../../deploy/index.ts';
import { toolPaths } from '../../toolchain/index.ts';
import { localConfigWith, phase } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-gitops'), portBase: 20900 };
const entry = { port: 18280, admin: 18282 };
const c = clusterEnv(cluster);
const tools = toolPaths();
const KV = 'zerodrop-e2e/terraform';
const outdir = path.join(cluster.stateDir, 'pipeline-cdktf.out');
const configDir = path.join(cluster.stateDir, 'configs');
const missing = [tools.consul, tools.nomad, tools.traefik, tools.engine.bin].filter((f) => !existsSync(f));

let consulToken = '';
const tfEnv = () => ({ ...process.env, TF_CLI_CONFIG_FILE: tools.terraformrc, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', CONSUL_HTTP_TOKEN: consulToken, NOMAD_ADDR: c.nomadAddr });

/** An example config with this cluster's entry point, its state in Consul KV, written where its paths resolve. */
function gitopsConfig(example: string): Promise<string> {
  return localConfigWith(configDir, example, entry, (cfg) => (cfg.cluster.state = { backend: 'consul', path: KV }), example);
}

/** `npm run pipeline -- <step>` as CI runs it: config, addresses and tokens from the env only. */
async function pipeline(step: 'plan' | 'apply', config: string, version: string): Promise<{ exitCode: number; output: string }> {
  const env = { ...process.env, ZERODROP_CONFIG: config, ZERODROP_VERSION: version, CDKTF_OUTDIR: outdir, CONSUL_HTTP_TOKEN: consulToken, ...c.env };
  const r = await $({ env, quiet: true, nothrow: true, timeout: 15 * 60_000 })`npm run pipeline -- ${step}`;
  return { exitCode: r.exitCode ?? -1, output: r.stdout + r.stderr };
}

async function api<T>(base: string, p: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${base}${p}`, { ...init, headers: { 'X-Consul-Token': consulToken }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${base}${p}: ${res.status}`);
  return (await res.json()) as T;
}
const nomadJob = () => api<{ Version: number; Meta: Record<string, string> }>(c.nomadAddr, '/v1/job/web');
const kvState = async (stack: string) => (await (await fetch(`${c.consulAddr}/v1/kv/${KV}/${stack}?raw`, { headers: { 'X-Consul-Token': consulToken }, signal: AbortSignal.timeout(10_000) })).text());

/** The secret of the Consul token Terraform created for Traefik (its accessor read from the state in Consul KV). */
async function traefikSecret(): Promise<string> {
  const state = JSON.parse(await kvState('edge')) as { resources: { type: string; instances: { attributes: { id: string } }[] }[] };
  const accessor = state.resources.find((r) => r.type === 'consul_acl_token')!.instances[0]!.attributes.id;
  return (await api<{ SecretID: string }>(c.consulAddr, `/v1/acl/token/${accessor}`)).SecretID;
}

async function getThroughTraefik(ms = 30_000): Promise<{ status: number; version: string | null }> {
  const until = Date.now() + ms;
  let last = { status: 0, version: null as string | null };
  while (Date.now() < until) {
    try {
      const res = await request(`http://127.0.0.1:${entry.port}/`, { headers: { host: 'web.localhost' }, signal: AbortSignal.timeout(2_000) });
      const v = res.headers['x-app-version'];
      last = { status: res.statusCode, version: typeof v === 'string' ? v : null };
      await res.body.dump();
      if (res.statusCode === 200) return last;
    } catch {
      /* Traefik not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

/** `terraform <args>` in a working dir, output captured. */
const tf = (cwd: string, args: string[]) => $({ cwd, env: tfEnv(), quiet: true, nothrow: true, timeout: 10 * 60_000 })`${tools.engine.bin} ${args}`;

describe('GitOps: npm run pipeline with state in Consul KV', () => {
  let good = '';
  let broken = '';
  beforeAll(async () => {
    expect(missing, 'not built — run `npm run tools`').toEqual([]);
    await rm(cluster.stateDir, { recursive: true, force: true });
    await phase('cluster up', () => clusterUp({ ...cluster, log: () => undefined }));
    consulToken = (await readFile(c.consulTokenFile, 'utf8')).trim();
    await mkdir(configDir, { recursive: true });
    good = await gitopsConfig('local');
    broken = await gitopsConfig('broken-canary');
  });
  afterAll(async () => {
    await phase('cluster down', () => clusterDown({ ...cluster, log: () => undefined }));
  });

  test('apply on main: both stacks through cdktf deploy, state in Consul KV, the watch passes, the token secret not in the output', async () => {
    const run = await phase('pipeline apply v1', () => pipeline('apply', good, 'v1'));
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toMatch(/\[pipeline\] watch deployment \w+ \(job 0\) successful: .*; job web runs v1/);
    expect(run.output).toContain('[pipeline] applied, every rollout successful');
    expect(await getThroughTraefik()).toEqual({ status: 200, version: 'v1' });
    // The state is in Consul KV, nowhere on disk.
    expect(await api<string[]>(c.consulAddr, `/v1/kv/${KV}?keys`)).toEqual(expect.arrayContaining([`${KV}/app`, `${KV}/edge`]));
    for (const stack of ['app', 'edge']) expect(existsSync(path.join(outdir, 'stacks', stack, 'terraform.tfstate')), stack).toBe(false);
    // The secret sits in the state (documented), but not in what the pipeline printed.
    const secret = await traefikSecret();
    expect(secret).toMatch(/^[0-9a-f-]{36}$/);
    expect((await kvState('edge')).includes(secret), 'the edge state holds the Traefik token secret').toBe(true);
    expect(run.output.includes(secret), 'secret in the apply output').toBe(false);
  });

  test('after a deploy: plan and a second apply report no changes on either stack (no perpetual diff), the secret stays out of both', async () => {
    const before = await nomadJob();
    const plan = await phase('pipeline plan', () => pipeline('plan', good, 'v1'));
    expect(plan.exitCode, plan.output).toBe(0);
    expect(plan.output).toContain('[pipeline] plan app: no changes');
    expect(plan.output).toContain('[pipeline] plan edge: no changes');
    for (const stack of ['app', 'edge']) {
      const p = await tf(path.join(outdir, 'stacks', stack), ['plan', '-detailed-exitcode', '-no-color', '-input=false']);
      expect(p.exitCode, `${stack}: terraform plan -detailed-exitcode\n${p.stdout}${p.stderr}`).toBe(0);
    }
    const again = await phase('pipeline apply v1 again', () => pipeline('apply', good, 'v1'));
    expect(again.exitCode, again.output).toBe(0);
    expect(again.output.match(/No changes\. Your infrastructure matches the configuration\./g)?.length, again.output).toBeGreaterThanOrEqual(2);
    expect((await nomadJob()).Version).toBe(before.Version);
    const secret = await traefikSecret();
    expect(plan.output.includes(secret) || again.output.includes(secret), 'secret in the plan or apply output').toBe(false);
  });

  test('two concurrent applies of the app stack: one fails on the lock, one waits for it, nothing half-applied, the state whole', async () => {
    // Two runners, each with its own checkout of the synthesized v2 app stack, sharing only the state in Consul.
    expect((await pipeline('plan', good, 'v2')).exitCode).toBe(0);
    const cdkTf = await readFile(path.join(outdir, 'stacks', 'app', 'cdk.tf.json'), 'utf8');
    const runners = ['a', 'b', 'c'].map((r) => path.join(cluster.stateDir, `runner-${r}`));
    for (const dir of runners) {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'cdk.tf.json'), cdkTf);
      const init = await tf(dir, ['init', '-no-color', '-input=false']);
      expect(init.exitCode, init.stderr).toBe(0);
    }
    const before = await nomadJob();
    const [a, b, wait] = runners as [string, string, string];
    const first = tf(a, ['apply', '-auto-approve', '-no-color', '-input=false']);
    // The lock is a session-bound key next to the state while the first apply holds it.
    const until = Date.now() + 60_000;
    while (Date.now() < until && !(await fetch(`${c.consulAddr}/v1/kv/${KV}/app/.lock`, { headers: { 'X-Consul-Token': consulToken }, signal: AbortSignal.timeout(5_000) })).ok) await new Promise((r) => setTimeout(r, 200));
    const [failing, waiting] = [tf(b, ['apply', '-auto-approve', '-no-color', '-input=false', '-lock-timeout=0s']), tf(wait, ['apply', '-auto-approve', '-no-color', '-input=false', '-lock-timeout=10m'])];
    const [r1, r2, r3] = await phase('three concurrent applies', () => Promise.all([first, failing, waiting]));
    expect(r1.exitCode, r1.stdout + r1.stderr).toBe(0);
    expect(r1.stdout).toContain('1 changed');
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toContain('Error acquiring the state lock');
    expect(r3.exitCode, r3.stdout + r3.stderr).toBe(0);
    expect(r3.stdout).toContain('No changes.');
    // One registration, one deployment, and the state in Consul says exactly that.
    const after = await nomadJob();
    expect(after.Version).toBe(before.Version + 1);
    expect(after.Meta['zerodrop.version']).toBe('v2');
    const list = await tf(a, ['state', 'list']);
    expect(list.stdout.trim().split('\n')).toEqual(['nomad_job.job-web']);
    const shown = JSON.parse((await tf(a, ['show', '-json'])).stdout) as { values: { root_module: { resources: { address: string; values: Record<string, unknown> }[] } } };
    const latest = await api<{ ID: string; Status: string }>(c.nomadAddr, '/v1/job/web/deployment');
    expect(shown.values.root_module.resources[0]!.values).toMatchObject({ deployment_id: latest.ID, deployment_status: 'successful' });
    expect(latest.Status).toBe('successful');
    expect(taintedResources(JSON.parse(await kvState('app')) as TerraformState)).toEqual([]);
  });

  test('a never-ready canary: the pipeline exits 1, Nomad reverts, v2 keeps answering', async () => {
    const run = await phase('pipeline apply broken v3', () => pipeline('apply', broken, 'v3-broken'));
    expect(run.exitCode, run.output).toBe(1);
    expect(run.output).toMatch(/deployment '[^']+' terminated with status 'failed'/);
    expect(run.output).toMatch(/\[pipeline\] watch .*(FAILED|REVERTED)/);
    expect(run.output).toContain('[pipeline] FAILED: the deploy failed; 1 service(s) not rolled out');
    expect((await nomadJob()).Meta['zerodrop.version']).toBe('v2');
    expect(await getThroughTraefik()).toEqual({ status: 200, version: 'v2' });
    expect(run.output.includes(await traefikSecret())).toBe(false);
  });

  test('a failed first apply taints the job; the next apply is refused by prevent_destroy (job kept, not purged) until untaint', async () => {
    // GIVEN no job and no app state, so the next apply is a create
    await api(c.nomadAddr, '/v1/job/web?purge=true', { method: 'DELETE' });
    await fetch(`${c.consulAddr}/v1/kv/${KV}/app`, { method: 'DELETE', headers: { 'X-Consul-Token': consulToken }, signal: AbortSignal.timeout(10_000) });
    // WHEN that first apply fails
    const first = await phase('pipeline apply broken v4 (first apply)', () => pipeline('apply', broken, 'v4-broken'));
    expect(first.exitCode, first.output).toBe(1);
    expect(taintedResources(JSON.parse(await kvState('app')) as TerraformState)).toEqual(['nomad_job.job-web']);
    const kept = await nomadJob();
    // THEN the next plain apply is refused by Terraform, and the job is not touched
    const refused = await phase('pipeline apply v5 (refused)', () => pipeline('apply', good, 'v5'));
    expect(refused.exitCode).toBe(1);
    // Terraform says "Instance cannot be destroyed", OpenTofu "Resource instance cannot be destroyed"
    expect(refused.output).toMatch(/instance cannot be destroyed/i);
    // (OpenTofu: "Resource instance … has prevent_destroy set"; Terraform: "Resource … has lifecycle.prevent_destroy set")
    expect(refused.output).toMatch(/Plan: 1 to add, 0 to change, 1 to destroy\.[\s\S]*Resource (instance )?nomad_job\.job-web \(job-web\) has (lifecycle\.)?prevent_destroy set/);
    const still = await nomadJob();
    expect(still.Version).toBe(kept.Version);
    expect(still.Meta['zerodrop.version']).toBe('v4-broken');
    // AND the documented recovery: untaint (against the state in Consul), then apply updates in place
    const untaint = await tf(path.join(outdir, 'stacks', 'app'), ['untaint', '-no-color', 'nomad_job.job-web']);
    expect(untaint.exitCode, untaint.stderr).toBe(0);
    const fixed = await phase('pipeline apply v5 after untaint', () => pipeline('apply', good, 'v5'));
    expect(fixed.exitCode, fixed.output).toBe(0);
    const after = await nomadJob();
    expect(after.Version).toBeGreaterThan(kept.Version);
    expect(after.Meta['zerodrop.version']).toBe('v5');
    expect(await getThroughTraefik()).toEqual({ status: 200, version: 'v5' });
  });

  test('prevent_destroy covers only what is still in the configuration: a resource removed from it is destroyed', async () => {
    // Terraform's own rule, shown with a built-in resource (no cluster involved): why renaming or
    // removing a service still destroys its job (docs/providers.md).
    const dir = path.join(cluster.stateDir, 'prevent-destroy-scope');
    await mkdir(dir, { recursive: true });
    const write = (body: object) => writeFile(path.join(dir, 'main.tf.json'), JSON.stringify(body));
    await write({ resource: { terraform_data: { job: { input: 'x', lifecycle: { prevent_destroy: true } } } } });
    expect((await tf(dir, ['init', '-no-color', '-input=false'])).exitCode).toBe(0);
    expect((await tf(dir, ['apply', '-auto-approve', '-no-color'])).exitCode).toBe(0);
    await tf(dir, ['taint', 'terraform_data.job']);
    const replace = await tf(dir, ['apply', '-auto-approve', '-no-color']);
    expect(replace.exitCode).toBe(1);
    expect(replace.stderr).toMatch(/instance cannot be destroyed/i);
    await write({});
    const removed = await tf(dir, ['apply', '-auto-approve', '-no-color']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('1 destroyed');
  });
});
