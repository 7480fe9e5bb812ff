import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consulAgentConfig, nomadAgentConfig } from '../../agents/index.ts';
import { hetznerAgentInput, nodePlans } from '../../hetzner/cloud-init.ts';
import { clusterDown, clusterEnv, clusterLayout, clusterStatus, clusterUp, localAgentInput, readToken, type ClusterEnv } from '../../cluster/index.ts';
import { toolPaths } from '../../toolchain/index.ts';

// A block away from the default 18500 so a developer's own cluster keeps running meanwhile.
const PORT_BASE = 18900;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'zerodrop-cluster-e2e-'));
const opts = { stateDir, portBase: PORT_BASE, log: () => {} };

const tools = toolPaths();
const missing = [tools.consul, tools.nomad].filter((b) => !existsSync(b));

/** Every live process whose argv, env or open files mention the state dir (agents, executors, logmons, tasks). */
function processesOf(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${name}/environ`, 'utf8');
      // `nomad logmon` mentions the dir nowhere but in its open log files (which outlive the dir as "(deleted)").
      const files = readdirSync(`/proc/${name}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${name}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      if (cmd.includes(dir) || env.includes(dir) || files.some((f) => f.startsWith(dir))) out.push(`${name}: ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
    } catch {
      // exited while we looked
    }
  }
  return out;
}

async function api<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  return { status: res.status, body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}

describe('cluster', () => {
  let env: ClusterEnv;

  beforeAll(async () => {
    // Fails rather than skips: a green run must mean the cluster was exercised.
    if (missing.length) throw new Error(`not built: ${missing.join(', ')} — run \`npm run tools\` first`);
    env = await clusterUp(opts);
  }, 120_000);

  afterAll(async () => {
    await clusterDown(opts);
    rmSync(stateDir, { recursive: true, force: true });
  }, 120_000);

  test('up: Consul has a leader and the Nomad node is ready with raw_exec', async () => {
    // GIVEN the cluster from beforeAll
    // WHEN asking its status
    const s = await clusterStatus(opts);
    // THEN both agents are ours and every check passes
    expect(s.checks.filter((c) => !c.ok)).toEqual([]);
    expect(s.healthy).toBe(true);
    expect(s.nomadAddr).toBe(`http://127.0.0.1:${PORT_BASE + 10}`);
    expect(statSync(env.consulTokenFile).mode & 0o777).toBe(0o600);
  });

  test('a raw_exec batch job runs to completion, on a port inside the cluster block', async () => {
    // GIVEN a batch job that echoes and asks for one dynamic port
    const job = {
      Job: {
        ID: 'e2e-echo',
        Name: 'e2e-echo',
        Type: 'batch',
        Datacenters: ['*'],
        TaskGroups: [
          {
            Name: 'g',
            Count: 1,
            RestartPolicy: { Attempts: 0, Mode: 'fail' },
            ReschedulePolicy: { Attempts: 0, Unlimited: false },
            Networks: [{ DynamicPorts: [{ Label: 'http' }] }],
            Tasks: [{ Name: 't', Driver: 'raw_exec', Config: { command: '/bin/sh', args: ['-c', 'echo hi'] } }],
          },
        ],
      },
    };
    // WHEN it is registered
    const reg = await api<{ EvalID: string }>(`${env.nomadAddr}/v1/jobs`, { method: 'POST', body: JSON.stringify(job) });
    expect(reg.status).toBe(200);
    // THEN its allocation completes within 60 s (bounded poll)
    type Alloc = { ID: string; ClientStatus: string; AllocatedResources?: { Shared?: { Ports?: { Value: number; HostIP: string }[] } } };
    let alloc: Alloc | undefined;
    for (let i = 0; i < 120; i++) {
      const allocs = await api<Alloc[]>(`${env.nomadAddr}/v1/job/e2e-echo/allocations`);
      alloc = allocs.body[0];
      if (alloc && ['complete', 'failed', 'lost'].includes(alloc.ClientStatus)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(alloc?.ClientStatus).toBe('complete');
    const full = await api<Alloc>(`${env.nomadAddr}/v1/allocation/${alloc!.ID}`);
    const port = full.body.AllocatedResources?.Shared?.Ports?.[0];
    expect(port?.HostIP).toBe('127.0.0.1');
    expect(port!.Value).toBeGreaterThanOrEqual(env.ports.dynamic.min);
    expect(port!.Value).toBeLessThanOrEqual(env.ports.dynamic.max);
    const logs = await api<string>(`${env.nomadAddr}/v1/client/fs/logs/${alloc!.ID}?task=t&type=stdout&plain=true&origin=start`);
    expect(logs.body).toContain('hi');
  });

  test('Consul enforces ACLs: an anonymous catalog write is refused, the management token is not', async () => {
    // GIVEN a service registration
    const body = JSON.stringify({ Node: 'e2e-node', Address: '127.0.0.1', Service: { Service: 'e2e-svc', Port: 1 } });
    // WHEN written without a token THEN Consul says 403
    const anon = await api<string>(`${env.consulAddr}/v1/catalog/register`, { method: 'PUT', body });
    expect(anon.status).toBe(403);
    // WHEN written with the management token THEN it is accepted
    const token = await readToken(env);
    const mgmt = await api<boolean>(`${env.consulAddr}/v1/catalog/register`, { method: 'PUT', body, headers: { 'X-Consul-Token': token! } });
    expect(mgmt.status).toBe(200);
  });

  test('the agents run the JSON configs of the shared generator, the same the Hetzner cloud-init writes', async () => {
    // GIVEN the configs the running agents were started with
    const l = clusterLayout(opts);
    const consul = JSON.parse(readFileSync(l.consul.config, 'utf8'));
    const nomad = JSON.parse(readFileSync(l.nomad.config, 'utf8'));
    // THEN they are exactly the generator's output for the loopback input (gossip keys are per up)
    const input = localAgentInput(l, (await readToken(env))!, { consul: consul.encrypt, nomad: nomad.server.encrypt });
    expect(consul).toEqual(consulAgentConfig(input));
    expect(nomad).toEqual(nomadAgentConfig(input));
    // AND a one-node Hetzner cluster gets the same keys from the same generator
    const hetzner = hetznerAgentInput(nodePlans({ nodes: 1, runId: 'e2e' }, '10.0.1.0/24')[0]!, ['10.0.1.10']);
    expect(Object.keys(consul).sort()).toEqual(Object.keys(consulAgentConfig(hetzner)).sort());
    expect(Object.keys(nomad).sort()).toEqual(Object.keys(nomadAgentConfig(hetzner)).sort());
  });

  test('down stops every process of the cluster, and a second down is a no-op', async () => {
    // GIVEN a long-running raw_exec task that, like a draining app, takes a few seconds to stop on
    // SIGTERM: an executor, a logmon and a task process to clean up, still busy when down starts
    const drainingTask = (marker: string) => ({
      Name: 't',
      Driver: 'raw_exec',
      KillTimeout: 10e9,
      Config: { command: '/bin/sh', args: ['-c', `trap 'sleep 3; exit 0' TERM; while :; do sleep 1; done # ${marker}`] },
    });
    const job = {
      Job: { ID: 'e2e-sleep', Type: 'service', Datacenters: ['*'], TaskGroups: [{ Name: 'g', Count: 1, Tasks: [drainingTask('v1')] }] },
    };
    const runningAllocs = async (n: number) => {
      for (let i = 0; i < 120; i++) {
        const allocs = await api<{ ClientStatus: string }[]>(`${env.nomadAddr}/v1/job/e2e-sleep/allocations`);
        if (allocs.body.filter((a) => a.ClientStatus !== 'pending').length >= n && allocs.body.some((a) => a.ClientStatus === 'running')) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    expect((await api(`${env.nomadAddr}/v1/jobs`, { method: 'POST', body: JSON.stringify(job) })).status).toBe(200);
    await runningAllocs(1);
    // AND a replaced allocation, as every rollout leaves: its logmon keeps running after the task stops
    job.Job.TaskGroups[0]!.Tasks[0] = drainingTask('v2');
    expect((await api(`${env.nomadAddr}/v1/jobs`, { method: 'POST', body: JSON.stringify(job) })).status).toBe(200);
    await runningAllocs(2);
    expect(processesOf(stateDir).length).toBeGreaterThanOrEqual(3); // consul, nomad, executor/task
    // WHEN down runs
    const first = await clusterDown(opts);
    // THEN nothing of it is left, data dirs are gone, and a second down stops nothing
    expect(first.stopped.length).toBeGreaterThanOrEqual(2);
    expect(processesOf(stateDir)).toEqual([]);
    expect(existsSync(path.join(stateDir, 'nomad-data'))).toBe(false);
    expect(existsSync(clusterEnv(opts).consulTokenFile)).toBe(false);
    expect(existsSync(path.join(stateDir, 'consul.json'))).toBe(false); // holds the token too
    expect((await clusterDown(opts)).stopped).toEqual([]);
  });
});
