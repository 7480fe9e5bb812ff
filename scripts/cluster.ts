#!/usr/bin/env tsx
/**
 * `npm run cluster -- up|down|status [--state-dir DIR] [--port-base N]`: a local Consul + Nomad
 * pair (each one server with bootstrap_expect 1, Nomad also the client), bound to 127.0.0.1 only,
 * with Consul ACLs enforced (default deny) so the least-privilege tokens the edge stack creates
 * are really tested, and gossip encrypted. The agent configs come from agents/index.ts, the
 * generator the Hetzner cloud-init uses too.
 *
 * Everything lives in the state dir (default `.zerodrop/cluster`, gitignored): one JSON config per
 * agent, data dirs, logs, pid files, and `consul.token` (mode 0600, the management token). Ports
 * derive from one base so two clusters (e.g. a test and a developer's) cannot collide.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { Command } from 'commander';
import { $ } from 'zx';
import { consulAgentConfig, nomadAgentConfig, toJsonFile, type AgentInput } from '../agents/index.ts';
import { requestJson } from '../lib/http.ts';
import { toolPaths } from '../toolchain/index.ts';


// ---------------------------------------------------------------------------------------------
// Defaults (env overrides)

export const DEFAULTS = {
  /** where configs, data, logs, pids and the token go (env ZERODROP_STATE_DIR) */
  stateDir:        process.env.ZERODROP_STATE_DIR || path.join(REPO_ROOT, '.zerodrop', 'cluster'),
  /** first port of the cluster's block (env ZERODROP_PORT_BASE); see clusterPorts() */
  portBase:        Number(process.env.ZERODROP_PORT_BASE || 18500),
  /** how long `up` waits for a Consul leader and a ready Nomad node */
  readyTimeoutMs:  60_000,
  /** per-request timeout of every health poll */
  httpTimeoutMs:   2_000,
  /** poll interval while waiting */
  pollMs:          500,
  /** SIGTERM → SIGKILL grace per process */
  stopTimeoutMs:   15_000,
  /** how long `down` waits for Nomad to stop the allocations of purged jobs */
  drainJobsMs:     20_000,
  /** lines of an agent's log shown on failure */
  logTailLines:    30,
} as const;

export interface ClusterOptions {
  /** @default DEFAULTS.stateDir (`.zerodrop/cluster`, env ZERODROP_STATE_DIR) */
  stateDir?: string;
  /** @default DEFAULTS.portBase (18500, env ZERODROP_PORT_BASE) */
  portBase?: number;
  /** @default DEFAULTS.readyTimeoutMs (60 s) */
  readyTimeoutMs?: number;
  /** @default - `toolPaths().consul` */
  consulBin?: string;
  /** @default - `toolPaths().nomad` */
  nomadBin?: string;
  /** progress output @default console.log */
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Ports (pure)

/** Size of the block of ports one cluster owns, starting at the base. */
export const PORT_BLOCK = 400;

export interface ClusterPorts {
  consul: { http: number; dns: number; serfLan: number; serfWan: number; server: number; grpc: number };
  nomad: { http: number; rpc: number; serf: number };
  /** Nomad client dynamic port range (allocations' ports), inclusive */
  dynamic: { min: number; max: number };
}

/**
 * Port layout of a cluster: consul base+0..5, nomad base+10..12, dynamic ports base+100..base+399.
 * Everything a cluster binds lies in [base, base+PORT_BLOCK), so bases PORT_BLOCK apart never clash.
 */
export function clusterPorts(base: number): ClusterPorts {
  const max = 65535 - PORT_BLOCK + 1;
  if (!Number.isInteger(base) || base < 1024 || base > max) {
    throw new RangeError(`portBase: ${base} — must be an integer between 1024 and ${max} (the cluster uses ${PORT_BLOCK} ports from it) — pick e.g. 18500, or another multiple of ${PORT_BLOCK} apart`);
  }
  return {
    consul: { http: base, dns: base + 1, serfLan: base + 2, serfWan: base + 3, server: base + 4, grpc: base + 5 },
    nomad: { http: base + 10, rpc: base + 11, serf: base + 12 },
    dynamic: { min: base + 100, max: base + PORT_BLOCK - 1 },
  };
}

/** Every port the agents listen on themselves (the dynamic range is only used by allocations). */
export function listenPorts(p: ClusterPorts): number[] {
  return [...Object.values(p.consul), ...Object.values(p.nomad)];
}

// ---------------------------------------------------------------------------------------------
// Layout and env (pure)

export interface ClusterLayout {
  stateDir: string;
  ports: ClusterPorts;
  consul: { config: string; dataDir: string; log: string; pid: string };
  nomad: { config: string; dataDir: string; log: string; pid: string; allocMountsDir: string };
  /** management token, mode 0600 */
  tokenFile: string;
}

export function clusterLayout(opts: Pick<ClusterOptions, 'stateDir' | 'portBase'> = {}): ClusterLayout {
  const stateDir = path.resolve(opts.stateDir ?? DEFAULTS.stateDir);
  const agent = (name: string) => ({
    config: path.join(stateDir, `${name}.json`),
    dataDir: path.join(stateDir, `${name}-data`),
    log: path.join(stateDir, `${name}.log`),
    pid: path.join(stateDir, `${name}.pid`),
  });
  return {
    stateDir,
    ports: clusterPorts(opts.portBase ?? DEFAULTS.portBase),
    consul: agent('consul'),
    nomad: { ...agent('nomad'), allocMountsDir: path.join(stateDir, 'nomad-alloc-mounts') },
    tokenFile: path.join(stateDir, 'consul.token'),
  };
}

export interface ClusterEnv {
  /** `http://127.0.0.1:<port>` */
  nomadAddr: string;
  /** `http://127.0.0.1:<port>` */
  consulAddr: string;
  /** file holding the Consul management token (read it; it is never printed) */
  consulTokenFile: string;
  ports: ClusterPorts;
  stateDir: string;
  /** ready to spread into a child's env (without the token: read `consulTokenFile`) */
  env: { NOMAD_ADDR: string; CONSUL_HTTP_ADDR: string };
}

export function clusterEnv(opts: Pick<ClusterOptions, 'stateDir' | 'portBase'> = {}): ClusterEnv {
  const l = clusterLayout(opts);
  const nomadAddr = `http://127.0.0.1:${l.ports.nomad.http}`;
  const consulAddr = `http://127.0.0.1:${l.ports.consul.http}`;
  return { nomadAddr, consulAddr, consulTokenFile: l.tokenFile, ports: l.ports, stateDir: l.stateDir, env: { NOMAD_ADDR: nomadAddr, CONSUL_HTTP_ADDR: consulAddr } };
}

/** The lines to paste into a shell; the token is read from its file, never echoed. */
export function exportLines(e: ClusterEnv): string[] {
  return [`export NOMAD_ADDR=${e.nomadAddr}`, `export CONSUL_HTTP_ADDR=${e.consulAddr}`, `export CONSUL_HTTP_TOKEN="$(cat ${e.consulTokenFile})"`];
}

/** Gossip keys of one `up` (random each time, like the token). */
export interface GossipKeys {
  consul: string;
  nomad: string;
}

/**
 * The agent-config input of the loopback cluster: one all-in-one node on 127.0.0.1, the same
 * generator and input shape as a Hetzner node (hetzner/cloud-init.ts), with loopback addresses,
 * this cluster's port block, raw_exec only and no Nomad ACLs (the kit deploys locally without a
 * Nomad token).
 */
export function localAgentInput(l: ClusterLayout, token: string, keys: GossipKeys): AgentInput {
  const p = l.ports;
  return {
    role: 'all-in-one',
    nodeName: `zerodrop-${p.nomad.http}`,
    dataDirs: { consul: l.consul.dataDir, nomad: l.nomad.dataDir },
    address: '127.0.0.1',
    apiAddress: '127.0.0.1',
    ports: { consul: p.consul, nomad: p.nomad },
    join: [],
    bootstrapExpect: 1,
    gossipKeys: keys,
    consulToken: token,
    nomadAcl: false,
    client: {
      // zerodrop runs raw_exec only here; docker would poll a daemon that is not there
      drivers: ['raw_exec'],
      maxKillTimeout: '30s',
      // dynamic ports land on 127.0.0.1, inside this cluster's block
      networkInterface: 'lo',
      dynamicPorts: p.dynamic,
      // next to the data dir by default, i.e. loose in the state dir; named so down removes it
      allocMountsDir: l.nomad.allocMountsDir,
    },
  };
}

/** Consul's JSON config (holds the management token and the gossip key: written mode 0600). */
export function consulConfig(l: ClusterLayout, token: string, keys: GossipKeys): string {
  return toJsonFile(consulAgentConfig(localAgentInput(l, token, keys)));
}

/** Nomad's JSON config (holds the Consul management token and the gossip key: written mode 0600). */
export function nomadConfig(l: ClusterLayout, token: string, keys: GossipKeys): string {
  return toJsonFile(nomadAgentConfig(localAgentInput(l, token, keys)));
}

/** A gossip encryption key as both agents want it: 32 random bytes, base64. */
export function gossipKey(): string {
  return randomBytes(32).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Processes

export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  const stat = readProc(pid, 'stat');
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** The pid in a pid file, if that process is still the agent we started (binary + our config file). */
export function ownedPid(pidFile: string, bin: string, config: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !pidAlive(pid)) return undefined;
  const argv = (readProc(pid, 'cmdline') ?? '').split('\0');
  // pids get reused: only a process running our binary with our config file is ours
  return argv[0] === bin && argv.includes(config) ? pid : undefined;
}

/** Pids whose command line, environment or open files mention `dir` (Nomad executors, logmons and tasks of this cluster). */
export function pidsReferencing(dir: string, exclude: readonly number[] = []): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid || exclude.includes(pid)) continue;
    const cmd = readProc(pid, 'cmdline');
    const env = readProc(pid, 'environ');
    if (((cmd && cmd.includes(dir)) || (env && env.includes(dir)) || opensUnder(pid, dir)) && pidAlive(pid)) out.push(pid);
  }
  return out;
}

/** Has the process a file open under `dir`? (`nomad logmon` carries the data dir in neither argv nor env, only in its log fds.) */
function opensUnder(pid: number, dir: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // gone, or not ours to look at
  }
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir + '/');
    } catch {
      return false;
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL; resolves when every pid is gone (bounded). */
export async function stopPids(pids: readonly number[], timeoutMs = DEFAULTS.stopTimeoutMs): Promise<void> {
  const signal = (sig: NodeJS.Signals) => pids.forEach((pid) => { try { process.kill(pid, sig); } catch { /* gone */ } });
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(pidAlive)) await sleep(100);
  if (pids.some(pidAlive)) {
    signal('SIGKILL');
    const hard = Date.now() + 5_000;
    while (Date.now() < hard && pids.some(pidAlive)) await sleep(50);
  }
  const left = pids.filter(pidAlive);
  if (left.length) throw new ClusterError(`pids ${left.join(', ')} survived SIGKILL for 5s`);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * The agents' environment: ours minus anything that would point them elsewhere or change their
 * behaviour (AWS_CA_BUNDLE breaks Nomad's env_aws fingerprinter; CONSUL_HTTP_TOKEN/NOMAD_ADDR
 * would override the config files).
 */
export function agentEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(AWS_|CONSUL_|NOMAD_|VAULT_)/.test(k)));
}

/**
 * Start an agent as a daemon. Node's spawn rather than zx's `$`: the agent must outlive this
 * script (detached, own process group, stdio to its log, unref'd), and `$` waits for exit.
 */
function startDaemon(bin: string, args: string[], logFile: string, pidFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env: agentEnv() });
    if (child.pid === undefined) throw new ClusterError(`could not start ${bin}`);
    child.unref();
    // written synchronously so a Ctrl-C right after start still finds it
    writeFileSync(pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

async function tail(file: string, n = DEFAULTS.logTailLines): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

// ---------------------------------------------------------------------------------------------
// HTTP

const AGENT_HINT = 'is the local cluster up? `npm run cluster -- status` checks it; the agents log into the state dir';

async function getJson<T>(url: string, token?: string): Promise<T> {
  return (await requestJson<T>(url, { token, tokenHeader: 'X-Consul-Token', timeoutMs: DEFAULTS.httpTimeoutMs, hint: AGENT_HINT })).body;
}

interface NomadNodeStub {
  ID: string;
  Name: string;
  Status: string;
  Drivers?: Record<string, { Detected: boolean; Healthy: boolean; HealthDescription?: string }>;
}

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** The checks `up` waits for and `status` reports; each one answers within httpTimeoutMs. */
export async function healthChecks(e: ClusterEnv, token: string | undefined): Promise<HealthCheck[]> {
  const check = async (name: string, fn: () => Promise<string>): Promise<HealthCheck> => {
    try {
      return { name, ok: true, detail: await fn() };
    } catch (err) {
      return { name, ok: false, detail: (err as Error).message };
    }
  };
  return Promise.all([
    check('consul leader', async () => {
      const leader = await getJson<string>(`${e.consulAddr}/v1/status/leader`);
      if (!leader) throw new Error('no leader yet');
      return leader;
    }),
    check('nomad node ready with raw_exec', async () => {
      const nodes = await getJson<NomadNodeStub[]>(`${e.nomadAddr}/v1/nodes?resources=false`);
      const node = nodes[0];
      if (!node) throw new Error('no node registered yet');
      const raw = node.Drivers?.raw_exec;
      if (node.Status !== 'ready') throw new Error(`node ${node.Name} is ${node.Status}`);
      if (!raw?.Healthy) throw new Error(`raw_exec not healthy: ${raw?.HealthDescription ?? 'not detected'}`);
      return `${node.Name} ready, raw_exec healthy`;
    }),
    check('nomad registered in consul (ACL token works)', async () => {
      const svc = await getJson<unknown[]>(`${e.consulAddr}/v1/catalog/service/nomad-client`, token);
      if (!svc.length) throw new Error('service nomad-client not in the catalog yet');
      return `${svc.length} nomad-client instance(s)`;
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// up / down / status

function bins(opts: ClusterOptions) {
  const t = toolPaths();
  return { consul: opts.consulBin ?? t.consul, nomad: opts.nomadBin ?? t.nomad };
}

export interface ClusterState {
  consulPid?: number;
  nomadPid?: number;
}

export function clusterState(opts: ClusterOptions = {}): ClusterState {
  const l = clusterLayout(opts);
  const b = bins(opts);
  const consulPid = ownedPid(l.consul.pid, b.consul, l.consul.config);
  const nomadPid = ownedPid(l.nomad.pid, b.nomad, l.nomad.config);
  return { ...(consulPid ? { consulPid } : {}), ...(nomadPid ? { nomadPid } : {}) };
}

export async function readToken(e: Pick<ClusterEnv, 'consulTokenFile'>): Promise<string | undefined> {
  return (await readFile(e.consulTokenFile, 'utf8').catch(() => undefined))?.trim();
}

/**
 * Start Consul then Nomad and wait (bounded) until Consul has a leader, the Nomad node is ready
 * with raw_exec healthy, and Nomad has registered itself in Consul. On any failure, or on
 * `signal` aborting, whatever was started is stopped again and a ClusterError is thrown.
 */
export async function clusterUp(opts: ClusterOptions & { signal?: AbortSignal } = {}): Promise<ClusterEnv> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const l = clusterLayout(opts);
  const e = clusterEnv(opts);
  const b = bins(opts);
  for (const [name, bin] of Object.entries(b)) {
    if (!existsSync(bin)) throw new ClusterError(`${name}: ${bin} not found — build it with \`npm run tools\``);
  }
  const state = clusterState(opts);
  if (state.consulPid && state.nomadPid) {
    log(`[cluster] already running (consul pid ${state.consulPid}, nomad pid ${state.nomadPid}) in ${l.stateDir}`);
    return e;
  }
  if (state.consulPid || state.nomadPid) {
    throw new ClusterError(`half a cluster is running in ${l.stateDir} (consul pid ${state.consulPid ?? '-'}, nomad pid ${state.nomadPid ?? '-'}) — run \`npm run cluster -- down\` first`);
  }
  const busy: number[] = [];
  for (const port of listenPorts(l.ports)) if (!(await portFree(port))) busy.push(port);
  if (busy.length) {
    throw new ClusterError(`ports ${busy.join(', ')} on 127.0.0.1 are in use — another cluster or program holds them — pass --port-base (ZERODROP_PORT_BASE) at least ${PORT_BLOCK} away from ${l.ports.consul.http}`);
  }

  await mkdir(l.stateDir, { recursive: true, mode: 0o700 });
  await rm(l.consul.dataDir, { recursive: true, force: true });
  await rm(l.nomad.dataDir, { recursive: true, force: true });
  await rm(l.nomad.allocMountsDir, { recursive: true, force: true });
  await mkdir(l.consul.dataDir, { recursive: true });
  await mkdir(l.nomad.dataDir, { recursive: true });
  const token = randomUUID();
  await writeFile(l.tokenFile, token + '\n', { mode: 0o600 });
  await chmod(l.tokenFile, 0o600);
  const keys: GossipKeys = { consul: gossipKey(), nomad: gossipKey() };
  await writeFile(l.consul.config, consulConfig(l, token, keys), { mode: 0o600 });
  await writeFile(l.nomad.config, nomadConfig(l, token, keys), { mode: 0o600 });
  for (const f of [l.consul.log, l.nomad.log]) await writeFile(f, '');

  try {
    // the config path is its own argv entry: ownedPid() recognises our agents by it
    const cpid = startDaemon(b.consul, ['agent', '-config-file', l.consul.config], l.consul.log, l.consul.pid);
    log(`[cluster] consul pid ${cpid}, log ${l.consul.log}`);
    const npid = startDaemon(b.nomad, ['agent', '-config', l.nomad.config], l.nomad.log, l.nomad.pid);
    log(`[cluster] nomad  pid ${npid}, log ${l.nomad.log}`);

    const deadline = Date.now() + (opts.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs);
    let last: HealthCheck[] = [];
    for (;;) {
      if (opts.signal?.aborted) throw new ClusterError('interrupted while waiting for the cluster');
      for (const [name, pid, logFile] of [['consul', cpid, l.consul.log], ['nomad', npid, l.nomad.log]] as const) {
        if (!pidAlive(pid)) throw new ClusterError(`${name} exited during start-up; last lines of ${logFile}:\n${await tail(logFile)}`);
      }
      last = await healthChecks(e, token);
      if (last.every((c) => c.ok)) break;
      if (Date.now() > deadline) {
        const failed = last.filter((c) => !c.ok);
        const logs = failed.some((c) => c.name.startsWith('nomad')) ? l.nomad.log : l.consul.log;
        throw new ClusterError(
          `not ready after ${(opts.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs) / 1000}s: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}\nlast lines of ${logs}:\n${await tail(logs)}`,
        );
      }
      await sleep(DEFAULTS.pollMs);
    }
    for (const c of last) log(`[cluster] ok  ${c.name}: ${c.detail}`);
    return e;
  } catch (err) {
    log(`[cluster] start failed; stopping what was started`);
    await clusterDown({ ...opts, log: () => {} }).catch((down) => log(`[cluster] cleanup: ${(down as Error).message}`));
    throw err;
  }
}

/** Purge every job so Nomad stops its allocations (Nomad clients leave tasks running on agent exit). */
async function purgeJobs(e: ClusterEnv, log: (s: string) => void): Promise<void> {
  let jobs: { ID: string; Namespace: string }[];
  try {
    jobs = await getJson(`${e.nomadAddr}/v1/jobs?namespace=*`);
  } catch {
    return; // not answering: the process sweep below still catches its tasks
  }
  for (const j of jobs) {
    await requestJson(`${e.nomadAddr}/v1/job/${encodeURIComponent(j.ID)}?purge=true&namespace=${encodeURIComponent(j.Namespace)}`, {
      method: 'DELETE',
      timeoutMs: DEFAULTS.httpTimeoutMs,
    }).catch(() => undefined);
  }
  if (jobs.length) log(`[cluster] purged ${jobs.length} job(s); waiting for their allocations to stop`);
  const deadline = Date.now() + DEFAULTS.drainJobsMs;
  while (Date.now() < deadline) {
    const allocs = await getJson<{ ClientStatus: string }[]>(`${e.nomadAddr}/v1/allocations?namespace=*`).catch(() => []);
    if (!allocs.some((a) => a.ClientStatus === 'running' || a.ClientStatus === 'pending')) return;
    await sleep(DEFAULTS.pollMs);
  }
}

/** Unmount whatever Nomad mounted under its data dir (task secrets tmpfs), deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const mp of mounts) await $({ quiet: true, nothrow: true, timeout: '10s' })`umount -l ${mp}`;
}

/**
 * Stop exactly what `up` started (pid file + /proc/<pid>/cmdline check), Nomad's task processes
 * included, then remove the data dirs, pid files, configs and token. Safe to run twice.
 * Left behind on purpose: the logs, and Nomad's `/sys/fs/cgroup/<ctrl>/nomad` parents — Nomad
 * 1.11 hard-codes that path (client `cgroup_parent` is only reported, not used), so every Nomad
 * client on the machine shares it and removing it could pull it from under another cluster.
 */
export async function clusterDown(opts: ClusterOptions = {}): Promise<{ stopped: string[] }> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const l = clusterLayout(opts);
  const e = clusterEnv(opts);
  const b = bins(opts);
  const stopped: string[] = [];
  const nomadPid = ownedPid(l.nomad.pid, b.nomad, l.nomad.config);
  if (nomadPid) {
    await purgeJobs(e, log);
    await stopPids([nomadPid]);
    stopped.push(`nomad (pid ${nomadPid})`);
  }
  // Executors and task processes carry the data dir in argv or env (NOMAD_ALLOC_DIR), logmons hold log files under it;
  // nothing else on the machine does, so this sweeps exactly this cluster's leftovers.
  const leftovers = existsSync(l.nomad.dataDir) ? pidsReferencing(l.nomad.dataDir) : [];
  if (leftovers.length) {
    await stopPids(leftovers);
    stopped.push(`${leftovers.length} nomad task process(es) (${leftovers.join(', ')})`);
  }
  const consulPid = ownedPid(l.consul.pid, b.consul, l.consul.config);
  if (consulPid) {
    await stopPids([consulPid]);
    stopped.push(`consul (pid ${consulPid})`);
  }
  await unmountUnder(l.nomad.dataDir);
  await unmountUnder(l.nomad.allocMountsDir);
  // the configs go too: they hold the token, and up writes them afresh (logs stay for post-mortems)
  for (const p of [l.nomad.allocMountsDir, l.nomad.dataDir, l.consul.dataDir, l.nomad.pid, l.consul.pid, l.tokenFile, l.nomad.config, l.consul.config]) await rm(p, { recursive: true, force: true });
  log(stopped.length ? `[cluster] stopped ${stopped.join(', ')}; removed data dirs in ${l.stateDir}` : `[cluster] nothing running in ${l.stateDir}`);
  return { stopped };
}

export interface ClusterStatus extends ClusterEnv {
  consulPid?: number;
  nomadPid?: number;
  checks: HealthCheck[];
  healthy: boolean;
}

export async function clusterStatus(opts: ClusterOptions = {}): Promise<ClusterStatus> {
  const e = clusterEnv(opts);
  const state = clusterState(opts);
  const checks = state.consulPid || state.nomadPid ? await healthChecks(e, await readToken(e)) : [];
  return { ...e, ...state, checks, healthy: !!state.consulPid && !!state.nomadPid && checks.every((c) => c.ok) };
}

// ---------------------------------------------------------------------------------------------
// CLI

export async function main(argv = process.argv): Promise<number> {
  const program = new Command('cluster')
    .argument('<command>', 'up | down | status')
    .option('--state-dir <dir>', 'state dir (env ZERODROP_STATE_DIR)', DEFAULTS.stateDir)
    .option('--port-base <n>', 'first port of the cluster block (env ZERODROP_PORT_BASE)', String(DEFAULTS.portBase))
    .option('--timeout <seconds>', 'how long up waits for readiness', String(DEFAULTS.readyTimeoutMs / 1000))
    .parse(argv);
  const [cmd] = program.args;
  const o = program.opts<{ stateDir: string; portBase: string; timeout: string }>();
  const opts: ClusterOptions = { stateDir: o.stateDir, portBase: Number(o.portBase), readyTimeoutMs: Number(o.timeout) * 1000 };
  try {
    if (cmd === 'up') {
      const ac = new AbortController();
      const onSignal = () => {
        console.error('\n[cluster] interrupted: cleaning up');
        ac.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const e = await clusterUp({ ...opts, signal: ac.signal });
        console.log(`\n  nomad   ${e.nomadAddr}\n  consul  ${e.consulAddr} (ACLs on, default deny)\n  token   ${e.consulTokenFile}\n`);
        const isDefault = path.resolve(opts.stateDir ?? DEFAULTS.stateDir) === path.resolve(DEFAULTS.stateDir) && (opts.portBase ?? DEFAULTS.portBase) === DEFAULTS.portBase;
        const deployCmd = isDefault ? '`npm run deploy`' : `\`ZERODROP_STATE_DIR=${e.stateDir} ZERODROP_PORT_BASE=${opts.portBase} npm run deploy\``;
        console.log(`${deployCmd} deploys to this cluster while it runs (no exports needed; -c FILE deploys to the cluster a config names).`);
        console.log(`For the nomad and consul CLIs:\n${exportLines(e).join('\n')}`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    }
    if (cmd === 'down') {
      await clusterDown(opts);
      return 0;
    }
    if (cmd === 'status') {
      const s = await clusterStatus(opts);
      console.log(`state dir ${s.stateDir}`);
      console.log(`  consul  ${s.consulPid ? `pid ${s.consulPid}` : 'not running'}  ${s.consulAddr}`);
      console.log(`  nomad   ${s.nomadPid ? `pid ${s.nomadPid}` : 'not running'}  ${s.nomadAddr}`);
      console.log(`  dynamic ports ${s.ports.dynamic.min}-${s.ports.dynamic.max}`);
      for (const c of s.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
      if (s.consulPid || s.nomadPid) console.log('\n' + exportLines(s).join('\n'));
      return s.healthy ? 0 : 1;
    }
    console.error(`command: '${cmd}' — unknown — use up, down or status`);
    return 2;
  } catch (err) {
    console.error(`[cluster] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
