/**
 * A disposable Hetzner Cloud cluster (`npm run hetzner`, scripts/hetzner.ts).
 *
 * - up: `cdktf deploy` of the hetzner stack (app.ts). Needs HCLOUD_TOKEN. Secrets (gossip
 *   keys, management tokens) are generated once per run into `.zerodrop/hetzner/<runId>/secrets.json`
 *   (mode 0600) and passed as TF_VAR_… only; prints the env for `npm run deploy`/`verify`.
 * - verify: `npm run verify` against the load balancer, watching the run's Nomad.
 * - down: `cdktf destroy` of the run's state, then a sweep of everything labelled
 *   zerodrop-run=<runId> (hetzner/sweep.ts), so a failed or half-finished up leaves nothing billed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
import { HETZNER_APP } from './app.ts';
import { SECRET_VARIABLES, type SecretVariable } from './cloud-init.ts';
import type { HetznerConfig } from './config.ts';
import { DEFAULT_ENDPOINT, deleteUrl, listUrl, SWEEP_ORDER } from './sweep.ts';
import { runProcessTree, treeRunFailure } from '../lib/process-tree.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { sleep } from '../lib/wait.ts';
import { CDKTF_CLI, toolPaths } from '../toolchain/index.ts';


export const DEFAULTS = {
  config: process.env.ZERODROP_HETZNER_CONFIG || 'hetzner.yaml',
  runsDir: path.join(REPO_ROOT, '.zerodrop', 'hetzner'),
  sshKeys: ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub'].map((f) => path.join(os.homedir(), '.ssh', f)),
  /** attempts per delete while a resource is still in use (a firewall until its servers are gone) */
  deleteAttempts: 10,
  deleteRetryMs: 3_000,
} as const;

export class HetznerError extends Error {
  override readonly name = 'HetznerError';
}

export const TOKEN_MISSING =
  'HCLOUD_TOKEN is not set — create an API token with read & write access in the Hetzner Cloud console (project → Security → API tokens) and export HCLOUD_TOKEN=<token>; nothing was created';

export function requireToken(env: NodeJS.ProcessEnv = process.env): string {
  const t = env.HCLOUD_TOKEN?.trim();
  if (!t) throw new HetznerError(TOKEN_MISSING);
  return t;
}

export interface RunPaths {
  dir: string;
  secrets: string;
  run: string;
  state: string;
  outdir: string;
}

export function runPaths(runId: string, runsDir: string = DEFAULTS.runsDir): RunPaths {
  const dir = path.join(runsDir, runId);
  return { dir, secrets: path.join(dir, 'secrets.json'), run: path.join(dir, 'run.json'), state: path.join(dir, 'terraform.tfstate'), outdir: path.join(dir, 'cdktf.out') };
}

/** Fresh secrets of a run: 32-byte base64 gossip keys, UUID management tokens. */
export function newSecrets(): Record<SecretVariable, string> {
  return {
    consul_gossip_key: randomBytes(32).toString('base64'),
    nomad_gossip_key: randomBytes(32).toString('base64'),
    consul_management_token: randomUUID(),
    nomad_management_token: randomUUID(),
  };
}

async function loadOrCreateSecrets(p: RunPaths): Promise<Record<SecretVariable, string>> {
  if (existsSync(p.secrets)) return JSON.parse(await readFile(p.secrets, 'utf8'));
  const s = newSecrets();
  await writeFile(p.secrets, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  await chmod(p.secrets, 0o600);
  return s;
}

function sshPublicKey(file?: string): string {
  const candidates = file ? [file] : DEFAULTS.sshKeys;
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new HetznerError(`no SSH public key: ${candidates.join(', ')} — pass --ssh-key FILE`);
  return readFileSync(found, 'utf8').trim();
}

function cdktfEnv(p: RunPaths, configFile: string, expiresAt: string, vars: Record<string, string>): NodeJS.ProcessEnv {
  const rc = toolPaths().terraformrc;
  return {
    ...process.env,
    ...(existsSync(rc) ? { TF_CLI_CONFIG_FILE: rc } : {}),
    CHECKPOINT_DISABLE: '1',
    ZERODROP_HETZNER_CONFIG: path.resolve(configFile),
    ZERODROP_HETZNER_EXPIRES: expiresAt,
    ZERODROP_HETZNER_STATE: p.state,
    CDKTF_OUTDIR: p.outdir,
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`TF_VAR_${k}`, v])),
  };
}

/**
 * `cdktf deploy|destroy hetzner`, its output as it comes. In a process group of its own: on Ctrl-C
 * (`signal`) terraform is stopped first with SIGINT and writes its state, so `down` knows what was
 * created (lib/process-tree.ts); the terminal's signal alone would end cdktf and with it terraform.
 */
async function cdktf(verb: 'deploy' | 'destroy', p: RunPaths, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  const r = await runProcessTree(CDKTF_CLI, [verb, 'hetzner', '--app', HETZNER_APP, '--output', p.outdir, '--auto-approve'], { cwd: REPO_ROOT, env, timeoutMs: CDKTF_TIMEOUT_MS, output: 'inherit', ...(signal ? { signal } : {}) });
  const failure = treeRunFailure(r, CDKTF_TIMEOUT_MS);
  if (failure) throw new HetznerError(`cdktf ${verb} hetzner ${failure} (output above)${r.stopped ? ' — `npm run hetzner -- down` removes whatever it created' : ''}`);
}

/** The longest a `cdktf deploy|destroy` of the hetzner stack may take (servers and a load balancer: minutes). */
const CDKTF_TIMEOUT_MS = 30 * 60_000;

interface Outputs {
  load_balancer_ipv4: string;
  server_ipv4: string;
  node_ipv4: string[];
}

async function outputs(p: RunPaths): Promise<Outputs> {
  const dir = path.join(p.outdir, 'stacks', 'hetzner');
  // the engine cdktf drives (terraform, or OpenTofu where only it is built)
  const out = await $({ cwd: dir, quiet: true })`${toolPaths().engine.bin} output -json`;
  const j = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, v.value])) as unknown as Outputs;
}

/** The lines to paste into a shell (tokens read from the run's secrets file, never printed). */
export function envLines(o: Pick<Outputs, 'load_balancer_ipv4' | 'server_ipv4'>, p: Pick<RunPaths, 'secrets'>): string[] {
  const secret = (k: SecretVariable) => `"$(node -p 'require(${JSON.stringify(p.secrets)}).${k}')"`;
  return [
    `export NOMAD_ADDR=http://${o.server_ipv4}:4646`,
    `export NOMAD_TOKEN=${secret('nomad_management_token')}`,
    `export CONSUL_HTTP_ADDR=http://${o.server_ipv4}:8500`,
    `export CONSUL_HTTP_TOKEN=${secret('consul_management_token')}`,
    `export ZERODROP_VERIFY_URL=http://${o.load_balancer_ipv4}/`,
  ];
}

export async function hetznerUp(config: HetznerConfig, configFile: string, sshKeyFile: string | undefined, signal?: AbortSignal): Promise<void> {
  requireToken();
  const p = runPaths(config.runId);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  const run = existsSync(p.run) ? JSON.parse(await readFile(p.run, 'utf8')) : { runId: config.runId, expiresAt: new Date(Date.now() + config.ttlMs).toISOString() };
  await writeFile(p.run, JSON.stringify(run, null, 2) + '\n');
  const secrets = await loadOrCreateSecrets(p);
  console.log(`[hetzner] run ${config.runId}: ${config.nodes} × ${config.serverType} in ${config.location} + ${config.loadBalancerType}, expires ${run.expiresAt}; on failure run \`npm run hetzner -- down\``);
  await cdktf('deploy', p, cdktfEnv(p, configFile, run.expiresAt, { ...secrets, ssh_public_key: sshPublicKey(sshKeyFile) }), signal);
  const o = await outputs(p);
  console.log(`\n[hetzner] up. Load balancer http://${o.load_balancer_ipv4}/ (healthy once \`npm run deploy\` runs Traefik). For npm run deploy / verify and the CLIs:\n${envLines(o, p).join('\n')}`);
}

export async function hetznerVerify(config: HetznerConfig, rest: string[]): Promise<number> {
  const p = runPaths(config.runId);
  if (!existsSync(p.secrets)) throw new HetznerError(`no run ${config.runId} here (${p.dir}) — npm run hetzner -- up first`);
  const o = await outputs(p);
  const s = JSON.parse(await readFile(p.secrets, 'utf8')) as Record<SecretVariable, string>;
  const env = { ...process.env, NOMAD_TOKEN: s.nomad_management_token, CONSUL_HTTP_TOKEN: s.consul_management_token, NOMAD_ADDR: `http://${o.server_ipv4}:4646`, CONSUL_HTTP_ADDR: `http://${o.server_ipv4}:8500` };
  const r = await $({ cwd: REPO_ROOT, env, stdio: 'inherit', nothrow: true })`npx tsx scripts/verify.ts --url ${`http://${o.load_balancer_ipv4}/`} --nomad-addr ${env.NOMAD_ADDR} ${rest}`;
  return r.exitCode ?? 1;
}

type Fetch = typeof fetch;

/** Deletes every resource labelled zerodrop-run=<runId>; returns what it deleted (`kind/id name`). */
export async function sweepRun(runId: string, token: string, opts: { endpoint?: string; fetchImpl?: Fetch; retryMs?: number; log?: (s: string) => void } = {}): Promise<string[]> {
  const endpoint = opts.endpoint ?? DEFAULT_ENDPOINT;
  const f = opts.fetchImpl ?? fetch;
  const log = opts.log ?? ((s: string) => console.log(s));
  const headers = { Authorization: `Bearer ${token}` };
  const deleted: string[] = [];
  for (const kind of SWEEP_ORDER) {
    const items: { id: number; name: string }[] = [];
    for (let page = 1; ; page++) {
      const res = await f(listUrl(endpoint, kind, runId, page), { headers, signal: AbortSignal.timeout(15_000) });
      if (!res.ok) throw new HetznerError(`list ${kind}: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as Record<string, unknown> & { meta?: { pagination?: { next_page?: number | null } } };
      items.push(...((body[kind] as { id: number; name: string }[]) ?? []));
      if (!body.meta?.pagination?.next_page) break;
    }
    for (const item of items) {
      for (let attempt = 1; ; attempt++) {
        const res = await f(deleteUrl(endpoint, kind, item.id), { method: 'DELETE', headers, signal: AbortSignal.timeout(15_000) });
        if (res.ok || res.status === 404) {
          deleted.push(`${kind}/${item.id} ${item.name}`);
          log(`[hetzner] deleted ${kind}/${item.id} ${item.name}`);
          break;
        }
        // still in use (a firewall whose servers are being deleted): wait and try again
        if ((res.status === 409 || res.status === 423 || res.status === 422) && attempt < DEFAULTS.deleteAttempts) {
          await sleep(opts.retryMs ?? DEFAULTS.deleteRetryMs);
          continue;
        }
        throw new HetznerError(`delete ${kind}/${item.id} ${item.name}: HTTP ${res.status} ${await res.text()}`);
      }
    }
  }
  return deleted;
}

export async function hetznerDown(config: HetznerConfig, configFile: string, signal?: AbortSignal): Promise<void> {
  const token = requireToken();
  const p = runPaths(config.runId);
  let destroyFailed = false;
  if (existsSync(p.state)) {
    const run = existsSync(p.run) ? JSON.parse(await readFile(p.run, 'utf8')) : { expiresAt: new Date().toISOString() };
    const secrets = existsSync(p.secrets) ? JSON.parse(await readFile(p.secrets, 'utf8')) : Object.fromEntries(SECRET_VARIABLES.map((v) => [v, 'unused-on-destroy']));
    try {
      await cdktf('destroy', p, cdktfEnv(p, configFile, run.expiresAt, { ...secrets, ssh_public_key: 'unused-on-destroy' }), signal);
    } catch (err) {
      destroyFailed = true;
      console.error(`[hetzner] destroy failed (${(err as Error).message.split('\n')[0]}); sweeping by label`);
    }
  }
  const swept = await sweepRun(config.runId, token, config.endpoint ? { endpoint: config.endpoint } : {});
  console.log(`[hetzner] sweep of zerodrop-run=${config.runId}: ${swept.length ? `${swept.length} deleted` : 'nothing left'}`);
  if (!destroyFailed) await rm(p.dir, { recursive: true, force: true });
}
