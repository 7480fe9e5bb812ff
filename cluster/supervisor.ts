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
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { $ } from 'zx';
import { requestJson } from '../lib/http.ts';
import { pidAlive, procPidList, readProcFile } from '../lib/proc.ts';
import { tail } from '../lib/tail.ts';
import { waitUntil } from '../lib/wait.ts';
import { toolPaths } from '../toolchain/index.ts';
import { agentConfigFiles } from '../agents/index.ts';
import { frontProxyYaml } from '../traefik/index.ts';
import { clusterEnv, clusterLayout, consulConfig, DEFAULTS, gossipKey, listenPorts, localNodeAgentInput, nomadConfig, PORT_BLOCK, type AgentFiles, type ClusterEnv, type ClusterLayout, type ClusterOptions, type FrontOptions, type GossipKeys } from './layout.ts';


// ---------------------------------------------------------------------------------------------
// Processes

export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

/** The pid in a pid file, if that process is still the agent we started (binary + our config file). */
export function ownedPid(pidFile: string, bin: string, config: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !pidAlive(pid)) return undefined;
  const argv = (readProcFile(pid, 'cmdline') ?? '').split('\0');
  // pids get reused: only a process running our binary with our config file (`path` or `--flag=path`) is ours
  return argv[0] === bin && argv.some((a) => a === config || a.endsWith(`=${config}`)) ? pid : undefined;
}

/** Live pids (not this process) for which `match` holds, from /proc. */
function procPids(match: (pid: number) => boolean): number[] {
  return (procPidList() ?? []).filter((pid) => pid !== process.pid && match(pid) && pidAlive(pid));
}

/** Pids whose command line, environment or open files mention `dir` (Nomad executors, logmons and tasks of this cluster). */
export function pidsReferencing(dir: string, exclude: readonly number[] = []): number[] {
  return procPids((pid) => {
    if (exclude.includes(pid)) return false;
    const cmd = readProcFile(pid, 'cmdline');
    const env = readProcFile(pid, 'environ');
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

async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Something accepts TCP connections on host:port (bounded by httpTimeoutMs). */
async function listening(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(DEFAULTS.httpTimeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
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
export async function healthChecks(e: ClusterEnv, token: string | undefined, l?: ClusterLayout): Promise<HealthCheck[]> {
  const expected = Math.max(1, l?.clients.length ?? 1);
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
    check(expected === 1 ? 'nomad node ready with raw_exec' : `${expected} nomad nodes ready with raw_exec`, async () => {
      const nodes = await getJson<NomadNodeStub[]>(`${e.nomadAddr}/v1/nodes?resources=false`);
      if (!nodes.length) throw new Error('no node registered yet');
      const problems: string[] = [];
      for (const node of nodes) {
        const raw = node.Drivers?.raw_exec;
        if (node.Status !== 'ready') problems.push(`node ${node.Name} is ${node.Status}`);
        else if (!raw?.Healthy) problems.push(`${node.Name}: raw_exec not healthy: ${raw?.HealthDescription ?? 'not detected'}`);
      }
      if (problems.length) throw new Error(problems.join('; '));
      if (nodes.length < expected) throw new Error(`${nodes.length} of ${expected} nodes registered`);
      // A job with Consul services may run only where Nomad has found its Consul agent (an implicit
      // constraint on attr.consul.version); a node that has not yet would silently take no instances.
      for (const node of nodes) {
        const detail = await getJson<{ Attributes?: Record<string, string> }>(`${e.nomadAddr}/v1/node/${node.ID}`);
        if (!detail.Attributes?.['consul.version']) throw new Error(`${node.Name} has not found its Consul agent yet`);
      }
      return `${nodes.map((n) => n.Name).join(', ')} ready, raw_exec healthy`;
    }),
    check('nomad registered in consul (ACL token works)', async () => {
      const svc = await getJson<unknown[]>(`${e.consulAddr}/v1/catalog/service/nomad-client`, token);
      if (svc.length < expected) throw new Error(`${svc.length} of ${expected} nomad-client instance(s) in the catalog yet`);
      return `${svc.length} nomad-client instance(s)`;
    }),
    ...(l?.front
      ? [
          check(`front proxy on ${l.front.address}:${l.front.port}`, async () => {
            if (!(await listening(l.front!.port, l.front!.address))) throw new Error('not listening yet');
            return `sends to ${l.front!.backends.join(', ')}, checking /ping on :${l.front!.edgeAdminPort}`;
          }),
        ]
      : []),
  ]);
}

// ---------------------------------------------------------------------------------------------
// up / down / status


function bins(opts: ClusterOptions) {
  const t = toolPaths();
  return { consul: opts.consulBin ?? t.consul, nomad: opts.nomadBin ?? t.nomad, traefik: t.traefik };
}

export type Agent = 'consul' | 'nomad';

/** Each agent's argv after the binary; the config path is its own entry, which ownedPid() recognises. */
const AGENT_ARGS: Record<Agent | 'front', (config: string) => string[]> = {
  consul: (config) => ['agent', '-config-file', config],
  nomad: (config) => ['agent', '-config', config],
  front: (config) => [`--configFile=${config}`],
};

/** One process of the cluster: how to start it and how to recognise it. */
interface ClusterProcess {
  readonly label: string;
  readonly bin: string;
  readonly args: string[];
  readonly files: Pick<AgentFiles, 'config' | 'log' | 'pid'>;
}

/** Every process of a cluster in start order: Consul server and clients, Nomad server and clients, the front. */
function clusterProcesses(l: ClusterLayout, b: ReturnType<typeof bins>): { consul: ClusterProcess[]; nomad: ClusterProcess[]; front?: ClusterProcess } {
  const agent = (kind: Agent, label: string, files: AgentFiles): ClusterProcess => ({ label, bin: b[kind], args: AGENT_ARGS[kind](files.config), files });
  return {
    consul: [agent('consul', 'consul', l.consul), ...l.clients.map((n) => agent('consul', `consul ${n.name}`, n.consul))],
    nomad: [agent('nomad', 'nomad', l.nomad), ...l.clients.map((n) => agent('nomad', `nomad ${n.name}`, n.nomad))],
    ...(l.front ? { front: { label: 'front proxy', bin: b.traefik, args: AGENT_ARGS.front(l.front.staticConfig), files: { config: l.front.staticConfig, log: l.front.log, pid: l.front.pid } } } : {}),
  };
}

const ownedBy = (p: ClusterProcess) => ownedPid(p.files.pid, p.bin, p.files.config);

/** What `up` started, kept in the state dir so `down` and `status` need no flags. */
interface Topology {
  nodes: number;
  front?: Partial<FrontOptions>;
  /** loopback addresses `up` added to lo (and `down` removes) */
  addedAddresses: string[];
}

function readTopology(file: string): Topology | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Topology;
  } catch {
    return undefined;
  }
}

/** The layout of the cluster in the state dir: node count and front from the options, else from what `up` recorded. */
export function runningLayout(opts: ClusterOptions = {}): ClusterLayout {
  if (opts.nodes !== undefined) return clusterLayout(opts);
  const t = readTopology(clusterLayout(opts).topologyFile);
  return clusterLayout({ ...opts, nodes: t?.nodes ?? 1, front: { ...t?.front, ...opts.front } });
}

export interface NodeState {
  name: string;
  address: string;
  consulPid?: number;
  nomadPid?: number;
}

export interface ClusterState {
  /** the server node (with one node: the all-in-one node) */
  consulPid?: number;
  nomadPid?: number;
  /** client nodes of a multi-node cluster */
  nodes?: NodeState[];
  frontPid?: number;
}

export function clusterState(opts: ClusterOptions = {}): ClusterState {
  const l = runningLayout(opts);
  const procs = clusterProcesses(l, bins(opts));
  const consulPid = ownedBy(procs.consul[0]!);
  const nomadPid = ownedBy(procs.nomad[0]!);
  const frontPid = procs.front ? ownedBy(procs.front) : undefined;
  const nodes = l.clients.map((n, i) => {
    const c = ownedBy(procs.consul[i + 1]!);
    const m = ownedBy(procs.nomad[i + 1]!);
    return { name: n.name, address: n.address, ...(c ? { consulPid: c } : {}), ...(m ? { nomadPid: m } : {}) };
  });
  return { ...(consulPid ? { consulPid } : {}), ...(nomadPid ? { nomadPid } : {}), ...(nodes.length ? { nodes } : {}), ...(frontPid ? { frontPid } : {}) };
}

/** Pids of every process of the cluster that runs, and how many it has in all. */
function runningPids(l: ClusterLayout, opts: ClusterOptions): { running: number[]; total: number } {
  const procs = clusterProcesses(l, bins(opts));
  const all = [...procs.consul, ...procs.nomad, ...(procs.front ? [procs.front] : [])];
  return { running: all.map(ownedBy).filter((p): p is number => p !== undefined), total: all.length };
}

export async function readToken(e: Pick<ClusterEnv, 'consulTokenFile'>): Promise<string | undefined> {
  return (await readFile(e.consulTokenFile, 'utf8').catch(() => undefined))?.trim();
}

/** Addresses on lo (Nomad's host networks match interface addresses, so a node's 127.0.0.x must be one). */
async function loopbackAddresses(): Promise<string[]> {
  const out = await $({ quiet: true, timeout: '10s' })`ip -4 -o addr show dev lo`;
  return [...out.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

/** Adds the client nodes' addresses to lo (as /32) where missing; returns the ones it added. */
async function addLoopbackAddresses(addresses: readonly string[]): Promise<string[]> {
  const present = await loopbackAddresses();
  const added: string[] = [];
  for (const a of addresses.filter((x) => !present.includes(x))) {
    const r = await $({ quiet: true, nothrow: true, timeout: '10s' })`ip addr add ${a}/32 dev lo`;
    if (r.exitCode !== 0) {
      await removeLoopbackAddresses(added);
      throw new ClusterError(`could not add ${a}/32 to lo (${r.stderr.trim()}): a node's Traefik listens on its node's address, which Nomad's host network finds only on an interface — run as root, or add it first: \`ip addr add ${a}/32 dev lo\``);
    }
    added.push(a);
  }
  return added;
}

async function removeLoopbackAddresses(addresses: readonly string[]): Promise<void> {
  for (const a of addresses) await $({ quiet: true, nothrow: true, timeout: '10s' })`ip addr del ${a}/32 dev lo`;
}

/** Ports the cluster's processes will listen on that something else holds, as `host:port`. */
async function busyPorts(l: ClusterLayout): Promise<string[]> {
  const wanted: [string, number][] = listenPorts(l.ports).map((p) => ['127.0.0.1', p]);
  const p = l.ports;
  // a client node's agents: Consul's HTTP, DNS and LAN gossip, Nomad's HTTP, on the node's address
  for (const n of l.clients) for (const port of [p.consul.http, p.consul.dns, p.consul.serfLan, p.nomad.http]) wanted.push([n.address, port]);
  if (l.front) wanted.push([l.front.address, l.front.port]);
  const busy: string[] = [];
  for (const [host, port] of wanted) if (!(await portFree(port, host))) busy.push(`${host}:${port}`);
  return busy;
}

/**
 * Start Consul then Nomad (and with client nodes, their agents and the front proxy) and wait
 * (bounded) until Consul has a leader, every Nomad node is ready with raw_exec healthy, Nomad has
 * registered every node in Consul, and the front listens. On any failure, or on `signal`
 * aborting, whatever was started is stopped again and a ClusterError is thrown.
 */
export async function clusterUp(opts: ClusterOptions & { signal?: AbortSignal } = {}): Promise<ClusterEnv> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const l = runningLayout(opts);
  const e = clusterEnv(opts);
  const b = bins(opts);
  for (const [name, bin] of Object.entries(b)) {
    if ((name !== 'traefik' || l.front) && !existsSync(bin)) throw new ClusterError(`${name}: ${bin} not found — build it with \`npm run tools\``);
  }
  const { running, total } = runningPids(l, opts);
  if (running.length === total) {
    log(`[cluster] already running (${running.length} processes: pids ${running.join(', ')}) in ${l.stateDir}`);
    return e;
  }
  if (running.length) {
    throw new ClusterError(`part of a cluster is running in ${l.stateDir} (pids ${running.join(', ')}) — run \`npm run cluster -- down\` first`);
  }
  const busy = await busyPorts(l);
  if (busy.length) {
    throw new ClusterError(`${busy.join(', ')} in use — another cluster or program holds them — pass --port-base (ZERODROP_PORT_BASE) at least ${PORT_BLOCK} away from ${l.ports.consul.http}${l.front ? ', or another --front-port' : ''}`);
  }

  await mkdir(l.stateDir, { recursive: true, mode: 0o700 });
  const token = randomUUID();
  const keys: GossipKeys = { consul: gossipKey(), nomad: gossipKey() };
  const procs = clusterProcesses(l, b);
  const allProcs = [...procs.consul, ...procs.nomad, ...(procs.front ? [procs.front] : [])];
  try {
    const addedAddresses = await addLoopbackAddresses(l.clients.map((n) => n.address));
    // written before anything starts, so `down` after a failed or interrupted `up` finds all of it
    await writeFile(l.topologyFile, JSON.stringify({ nodes: Math.max(1, l.clients.length), ...(l.front ? { front: opts.front ?? {} } : {}), addedAddresses } satisfies Topology) + '\n');
    for (const dir of [l.consul.dataDir, l.nomad.dataDir, ...l.clients.flatMap((n) => [n.consul.dataDir, n.nomad.dataDir])]) await rm(dir, { recursive: true, force: true });
    for (const dir of [l.consul.dataDir, l.nomad.dataDir, ...l.clients.flatMap((n) => [n.consul.dataDir, n.nomad.dataDir])]) await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(l.tokenFile, token + '\n', { mode: 0o600 });
    await chmod(l.tokenFile, 0o600);
    // configs hold the management token and the gossip keys: mode 0600
    await writeFile(l.consul.config, consulConfig(l, token, keys), { mode: 0o600 });
    await writeFile(l.nomad.config, nomadConfig(l, token, keys), { mode: 0o600 });
    for (const n of l.clients) {
      const files = agentConfigFiles(localNodeAgentInput(l, n, token, keys));
      await writeFile(n.consul.config, files.consul, { mode: 0o600 });
      await writeFile(n.nomad.config, files.nomad, { mode: 0o600 });
    }
    if (l.front) {
      await mkdir(path.dirname(l.front.staticConfig), { recursive: true });
      const front = frontProxyYaml({ host: l.front.address, port: l.front.port, backends: l.front.backends, healthPort: l.front.edgeAdminPort, checkIntervalMs: l.front.checkIntervalMs, checkTimeoutMs: l.front.checkTimeoutMs, dynamicConfigFile: l.front.dynamicConfig });
      await writeFile(l.front.staticConfig, front.static);
      await writeFile(l.front.dynamicConfig, front.dynamic);
    }
    for (const p of allProcs) await writeFile(p.files.log, '');

    const started: StartedProcess[] = [];
    for (const p of allProcs) {
      // the config path is its own argv entry: ownedPid() recognises our processes by it
      const pid = startDaemon(p.bin, p.args, p.files.log, p.files.pid);
      started.push({ label: p.label, pid, log: p.files.log });
      log(`[cluster] ${p.label.padEnd(6)} pid ${pid}, log ${p.files.log}`);
    }
    const checks = await awaitHealthy(e, token, l, started, opts, 'start-up');
    for (const c of checks) log(`[cluster] ok  ${c.name}: ${c.detail}`);
    return e;
  } catch (err) {
    log(`[cluster] start failed; stopping what was started`);
    await clusterDown({ ...opts, log: () => {} }).catch((down) => log(`[cluster] cleanup: ${(down as Error).message}`));
    throw err;
  }
}

interface StartedProcess {
  readonly label: string;
  readonly pid: number;
  readonly log: string;
}

/**
 * Waits (bounded by `readyTimeoutMs`) until every health check of the cluster passes; fails at once,
 * with the tail of its log, when one of `started` exits meanwhile. Returns the passing checks.
 */
async function awaitHealthy(e: ClusterEnv, token: string | undefined, l: ClusterLayout, started: readonly StartedProcess[], opts: ClusterOptions & { signal?: AbortSignal }, during: string): Promise<HealthCheck[]> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs;
  let last: HealthCheck[] = [];
  const ready = await waitUntil(async () => {
    if (opts.signal?.aborted) throw new ClusterError('interrupted while waiting for the cluster');
    for (const { label, pid, log } of started) {
      if (!pidAlive(pid)) throw new ClusterError(`${label} exited during ${during}; last lines of ${log}:\n${await tail(log, DEFAULTS.logTailLines)}`);
    }
    last = await healthChecks(e, token, l);
    return last.every((c) => c.ok);
  }, { timeoutMs: readyTimeoutMs, intervalMs: DEFAULTS.pollMs });
  if (!ready) {
    const failed = last.filter((c) => !c.ok);
    const logs = failed.some((c) => c.name.startsWith('front')) && l.front ? l.front.log : failed.some((c) => c.name.includes('nomad')) ? l.nomad.log : l.consul.log;
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
 * The fault matrix (test/e2e/faults.test.ts) restarts an agent mid-deploy with it. On a
 * multi-node cluster this is the server node's agent.
 */
export async function restartAgent(agent: Agent, opts: ClusterOptions = {}): Promise<AgentRestart> {
  const l = runningLayout(opts);
  const e = clusterEnv(opts);
  const p = clusterProcesses(l, bins(opts))[agent][0]!;
  const oldPid = ownedBy(p);
  if (!oldPid) throw new ClusterError(`${agent} is not running in ${l.stateDir} — nothing to restart (\`npm run cluster -- up\` starts the cluster)`);
  const started = Date.now();
  await stopPids([oldPid]);
  const stoppedMs = Date.now() - started;
  const newPid = startDaemon(p.bin, p.args, p.files.log, p.files.pid);
  await awaitHealthy(e, await readToken(e), l, [{ label: p.label, pid: newPid, log: p.files.log }], opts, 'its restart');
  return { agent, oldPid, newPid, stoppedMs, readyMs: Date.now() - started };
}

/**
 * Pids of one allocation's task processes on this cluster: NOMAD_ALLOC_ID=<allocId…> (a full id or
 * a unique prefix) in their environment, and `command` in their argv (Nomad's executor carries the
 * client's environment, not the task's). Read from /proc; [] when none runs.
 */
export function allocTaskPids(allocId: string, command: string): number[] {
  return procPids((pid) => {
    const env = readProcFile(pid, 'environ');
    if (!env || !env.split('\0').some((v) => v.startsWith(`NOMAD_ALLOC_ID=${allocId}`))) return false;
    return (readProcFile(pid, 'cmdline') ?? '').split('\0').some((a) => a.includes(command));
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
 * included, then remove the data dirs, pid files, configs, token and the loopback addresses `up`
 * added. Safe to run twice.
 * Left behind on purpose: the logs, and Nomad's `/sys/fs/cgroup/<ctrl>/nomad` parents — Nomad
 * 1.11 hard-codes that path (client `cgroup_parent` is only reported, not used), so every Nomad
 * client on the machine shares it and removing it could pull it from under another cluster.
 */
export async function clusterDown(opts: ClusterOptions = {}): Promise<{ stopped: string[] }> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const l = runningLayout(opts);
  const e = clusterEnv(opts);
  const procs = clusterProcesses(l, bins(opts));
  const stopped: string[] = [];
  const stop = async (p: ClusterProcess) => {
    const pid = ownedBy(p);
    if (!pid) return;
    await stopPids([pid]);
    stopped.push(`${p.label} (pid ${pid})`);
  };
  if (ownedBy(procs.nomad[0]!)) await purgeJobs(e, log);
  // clients first: a client outliving its server only retries; the server outliving a client would mark it down
  for (const p of [...procs.nomad.slice(1), procs.nomad[0]!]) await stop(p);
  // Executors and task processes carry the data dir in argv or env (NOMAD_ALLOC_DIR), logmons hold log files under it;
  // nothing else on the machine does, so this sweeps exactly this cluster's leftovers.
  const nomadDirs = [l.nomad.dataDir, ...l.clients.map((n) => n.nomad.dataDir)].filter((d) => existsSync(d));
  const leftovers = [...new Set(nomadDirs.flatMap((d) => pidsReferencing(d)))];
  if (leftovers.length) {
    await stopPids(leftovers);
    stopped.push(`${leftovers.length} nomad task process(es) (${leftovers.join(', ')})`);
  }
  for (const p of [...procs.consul.slice(1), procs.consul[0]!]) await stop(p);
  if (procs.front) await stop(procs.front);
  for (const dir of [l.nomad.dataDir, ...l.clients.flatMap((n) => [n.nomad.dataDir])]) await unmountUnder(dir);
  // the configs go too: they hold the token, and up writes them afresh (logs stay for post-mortems)
  const agentFiles = (f: AgentFiles) => [f.dataDir, f.pid, f.config];
  const files = [
    ...agentFiles(l.nomad), ...agentFiles(l.consul), l.tokenFile,
    ...l.clients.flatMap((n) => [...agentFiles(n.nomad), ...agentFiles(n.consul)]),
    ...(l.front ? [l.front.pid, l.front.staticConfig, l.front.dynamicConfig] : []),
  ];
  for (const p of files) await rm(p, { recursive: true, force: true });
  const topology = readTopology(l.topologyFile);
  if (topology?.addedAddresses.length) {
    await removeLoopbackAddresses(topology.addedAddresses);
    stopped.push(`loopback addresses ${topology.addedAddresses.join(', ')}`);
  }
  await rm(l.topologyFile, { force: true });
  log(stopped.length ? `[cluster] stopped ${stopped.join(', ')}; removed data dirs in ${l.stateDir}` : `[cluster] nothing running in ${l.stateDir}`);
  return { stopped };
}

export interface ClusterStatus extends ClusterEnv, ClusterState {
  checks: HealthCheck[];
  healthy: boolean;
  layout: ClusterLayout;
}

export async function clusterStatus(opts: ClusterOptions = {}): Promise<ClusterStatus> {
  const e = clusterEnv(opts);
  const l = runningLayout(opts);
  const state = clusterState(opts);
  const { running, total } = runningPids(l, opts);
  const checks = running.length ? await healthChecks(e, await readToken(e), l) : [];
  return { ...e, ...state, layout: l, checks, healthy: running.length === total && checks.every((c) => c.ok) };
}
