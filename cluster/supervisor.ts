/**
 * Supervision of the local cluster (`npm run cluster`, scripts/cluster.ts): a local Consul + Nomad
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
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { $ } from 'zx';
import { requestJson } from '../lib/http.ts';
import { tail } from '../lib/tail.ts';
import { waitUntil } from '../lib/wait.ts';
import { toolPaths } from '../toolchain/index.ts';
import { clusterEnv, clusterLayout, consulConfig, DEFAULTS, gossipKey, listenPorts, nomadConfig, PORT_BLOCK, type ClusterEnv, type ClusterOptions, type GossipKeys } from './layout.ts';


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

/** Live pids (not this process) for which `match` holds, from /proc. */
function procPids(match: (pid: number) => boolean): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid && match(pid) && pidAlive(pid));
}

/** Pids whose command line, environment or open files mention `dir` (Nomad executors, logmons and tasks of this cluster). */
export function pidsReferencing(dir: string, exclude: readonly number[] = []): number[] {
  return procPids((pid) => {
    if (exclude.includes(pid)) return false;
    const cmd = readProc(pid, 'cmdline');
    const env = readProc(pid, 'environ');
    return !!(cmd && cmd.includes(dir)) || !!(env && env.includes(dir)) || opensUnder(pid, dir);
  });
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

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL; resolves when every pid is gone (bounded). */
export async function stopPids(pids: readonly number[], timeoutMs = DEFAULTS.stopTimeoutMs): Promise<void> {
  const signal = (sig: NodeJS.Signals) => pids.forEach((pid) => { try { process.kill(pid, sig); } catch { /* gone */ } });
  signal('SIGTERM');
  const gone = () => !pids.some(pidAlive);
  if (!(await waitUntil(gone, { timeoutMs, intervalMs: 100 }))) {
    signal('SIGKILL');
    await waitUntil(gone, { timeoutMs: 5_000, intervalMs: 50 });
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

export type Agent = 'consul' | 'nomad';

/** Each agent's argv after the binary; the config path is its own entry, which ownedPid() recognises. */
const AGENT_ARGS: Record<Agent, (config: string) => string[]> = {
  consul: (config) => ['agent', '-config-file', config],
  nomad: (config) => ['agent', '-config', config],
};

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
    const cpid = startDaemon(b.consul, AGENT_ARGS.consul(l.consul.config), l.consul.log, l.consul.pid);
    log(`[cluster] consul pid ${cpid}, log ${l.consul.log}`);
    const npid = startDaemon(b.nomad, AGENT_ARGS.nomad(l.nomad.config), l.nomad.log, l.nomad.pid);
    log(`[cluster] nomad  pid ${npid}, log ${l.nomad.log}`);

    const checks = await awaitHealthy(e, token, [{ agent: 'consul', pid: cpid }, { agent: 'nomad', pid: npid }], opts, 'start-up');
    for (const c of checks) log(`[cluster] ok  ${c.name}: ${c.detail}`);
    return e;
  } catch (err) {
    log(`[cluster] start failed; stopping what was started`);
    await clusterDown({ ...opts, log: () => {} }).catch((down) => log(`[cluster] cleanup: ${(down as Error).message}`));
    throw err;
  }
}

/**
 * Waits (bounded by `readyTimeoutMs`) until every health check of the cluster passes; fails at once,
 * with the tail of its log, when one of `started` exits meanwhile. Returns the passing checks.
 */
async function awaitHealthy(e: ClusterEnv, token: string | undefined, started: readonly { agent: Agent; pid: number }[], opts: ClusterOptions & { signal?: AbortSignal }, during: string): Promise<HealthCheck[]> {
  const l = clusterLayout(opts);
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs;
  let last: HealthCheck[] = [];
  const ready = await waitUntil(async () => {
    if (opts.signal?.aborted) throw new ClusterError('interrupted while waiting for the cluster');
    for (const { agent, pid } of started) {
      if (!pidAlive(pid)) throw new ClusterError(`${agent} exited during ${during}; last lines of ${l[agent].log}:\n${await tail(l[agent].log, DEFAULTS.logTailLines)}`);
    }
    last = await healthChecks(e, token);
    return last.every((c) => c.ok);
  }, { timeoutMs: readyTimeoutMs, intervalMs: DEFAULTS.pollMs });
  if (!ready) {
    const failed = last.filter((c) => !c.ok);
    const logs = failed.some((c) => c.name.startsWith('nomad')) ? l.nomad.log : l.consul.log;
    throw new ClusterError(`not ready after ${during} within ${readyTimeoutMs / 1000}s: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}\nlast lines of ${logs}:\n${await tail(logs, DEFAULTS.logTailLines)}`);
  }
  return last;
}

export interface AgentRestart {
  readonly agent: Agent;
  readonly oldPid: number;
  readonly newPid: number;
  /** From SIGTERM until the old process had exited. */
  readonly stoppedMs: number;
  /** From SIGTERM until every health check passed again. */
  readonly readyMs: number;
}

/**
 * Restarts one agent of a running cluster in place, as an operator or an upgrade would: SIGTERM,
 * wait until it has exited (bounded; SIGKILL after DEFAULTS.stopTimeoutMs), start it again with
 * the same config and data dir, wait (bounded) until the checks `up` waits for pass again. Nomad's
 * task processes keep running while its agent is down; the new agent re-attaches to them.
 * The fault matrix (test/e2e/faults.test.ts) restarts an agent mid-deploy with it.
 */
export async function restartAgent(agent: Agent, opts: ClusterOptions = {}): Promise<AgentRestart> {
  const l = clusterLayout(opts);
  const e = clusterEnv(opts);
  const bin = bins(opts)[agent];
  const files = l[agent];
  const oldPid = ownedPid(files.pid, bin, files.config);
  if (!oldPid) throw new ClusterError(`${agent} is not running in ${l.stateDir} — nothing to restart (\`npm run cluster -- up\` starts the cluster)`);
  const started = Date.now();
  await stopPids([oldPid]);
  const stoppedMs = Date.now() - started;
  const newPid = startDaemon(bin, AGENT_ARGS[agent](files.config), files.log, files.pid);
  await awaitHealthy(e, await readToken(e), [{ agent, pid: newPid }], opts, 'its restart');
  return { agent, oldPid, newPid, stoppedMs, readyMs: Date.now() - started };
}

/**
 * Pids of one allocation's task processes on this cluster: NOMAD_ALLOC_ID=<allocId…> (a full id or
 * a unique prefix) in their environment, and `command` in their argv (Nomad's executor carries the
 * client's environment, not the task's). Read from /proc; [] when none runs.
 */
export function allocTaskPids(allocId: string, command: string): number[] {
  return procPids((pid) => {
    const env = readProc(pid, 'environ');
    if (!env || !env.split('\0').some((v) => v.startsWith(`NOMAD_ALLOC_ID=${allocId}`))) return false;
    return (readProc(pid, 'cmdline') ?? '').split('\0').some((a) => a.includes(command));
  });
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
  await waitUntil(async () => {
    const allocs = await getJson<{ ClientStatus: string }[]>(`${e.nomadAddr}/v1/allocations?namespace=*`).catch(() => []);
    return !allocs.some((a) => a.ClientStatus === 'running' || a.ClientStatus === 'pending');
  }, { timeoutMs: DEFAULTS.drainJobsMs, intervalMs: DEFAULTS.pollMs });
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
