/**
 * Beyond one node: a local cluster of one server node and three client nodes (127.0.0.2–4, each
 * with its own Consul client agent and a Traefik of the system job on its address), a front proxy
 * on 127.0.0.1 that health-checks each Traefik's /ready, as a cloud load balancer would, and the
 * verifier sending through the front:
 *   - a rollout of a service with count 3 spread over the nodes;
 *   - the same rollout sent round robin to the three Traefiks directly (several URLs);
 *   - `nomad node drain` of a client under load: its instance migrates, its Traefik stops too;
 *   - an edge change: Traefik rolls one node at a time behind the front;
 * and `npm run cluster -- status` on the three nodes, then with the front stopped (exit 1).
 * Needs `npm run tools`; adds 127.0.0.2–4 to lo while it runs (as root).
 */
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
import { describe, expect, test } from 'vitest';
import { clusterEnv, clusterStatus, readToken, runningLayout } from '../../cluster/index.ts';
import { requestJson } from '../../lib/http.ts';
import { pidAlive } from '../../lib/proc.ts';
import { waitUntil } from '../../lib/wait.ts';
import { toolPaths } from '../../toolchain/index.ts';
import { verify, type VerifyOptions } from '../../verify/index.ts';
import { expectCutOverMeasured, phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-multinode'), portBase: 24100 };
const entry = { port: 19080, admin: 19082 };
const front = { port: 19080, edgePort: entry.port, edgeAdminPort: entry.admin };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'multinode');
const e = clusterEnv(cluster);

interface Alloc { ID: string; NodeID: string; NodeName: string; JobVersion: number; ClientStatus: string; DesiredStatus: string }
interface Node { ID: string; Name: string; SchedulingEligibility: string }

const get = async <T,>(p: string): Promise<T> => (await requestJson<T>(`${e.nomadAddr}${p}`, { timeoutMs: 5_000 })).body;
const running = async (job: string) => (await get<Alloc[]>(`/v1/job/${job}/allocations`)).filter((a) => a.ClientStatus === 'running' && a.DesiredStatus === 'run');
const nodes = () => get<Node[]>('/v1/nodes');

/** The verifier through the front (or `urls`), with Consul's count of routable `web` instances. */
async function throughFront(name: string, over: Partial<VerifyOptions>, urls = [`http://127.0.0.1:${front.port}/`]) {
  const token = await readToken(e);
  const { report } = await phase(`verify ${name}`, () =>
    verify(
      verifyOn(cluster, entry, {
        url: urls[0]!,
        ...(urls.length > 1 ? { moreUrls: urls.slice(1) } : {}),
        reportDir: path.join(reports, name),
        nomadAddr: e.nomadAddr,
        consul: { address: e.consulAddr, service: 'web', ...(token ? { token } : {}) },
        ...over,
      }),
    ),
  );
  console.log(`[e2e] ${name}: ${report.requests.total} requests, ${report.successPercent} OK, by status ${JSON.stringify(report.requests.byStatus)}, by error ${JSON.stringify(report.requests.byErrorKind)}; routable min ${report.capacity?.routable.min} max ${report.capacity?.routable.max}`);
  expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
  return report;
}

interface Probe { atMs: number; ping: number; ready: number; entry: number }

/** One node's Traefik, every 20 ms for `forMs`: /ping and /ready on the admin port, GET / for web.localhost on the entry point (0 = no answer). */
async function probeTraefik(address: string, forMs: number): Promise<Probe[]> {
  // node:http, not fetch: fetch drops a Host header
  const status = (url: string, host?: string) =>
    new Promise<number>((resolve) => {
      const req = http.get(url, { timeout: 500, ...(host ? { headers: { host } } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
  const samples: Probe[] = [];
  const start = Date.now();
  for (let i = 0; i < forMs / 20 && Date.now() - start < forMs; i++) {
    // The entry point is asked only after /ready answered: a 404 in a sample whose /ready said 200
    // then means routing lagged /ready, not that the two requests crossed a reload in flight.
    const [ping, ready] = await Promise.all([status(`http://${address}:${entry.admin}/ping`), status(`http://${address}:${entry.admin}/ready`)]);
    const routed = await status(`http://${address}:${entry.port}/`, 'web.localhost');
    samples.push({ atMs: Date.now() - start, ping, ready, entry: routed });
    await new Promise((r) => setTimeout(r, 20));
  }
  return samples;
}

describe('a multi-node cluster behind a health-checking front', () => {
  const { configWith } = useLocalCluster(cluster, entry, undefined, { nodes: 3, front, example: 'multinode' });

  test('three client nodes, a Traefik on each on its own address, v1 spread one per node', async () => {
    const l = runningLayout(cluster);
    expect(l.clients.map((n) => n.address)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const traefiks = await running('traefik');
    expect(new Set(traefiks.map((a) => a.NodeID)).size, 'a Traefik on every node').toBe(3);
    for (const n of l.clients) {
      const ping = await fetch(`http://${n.address}:${entry.admin}/ping`, { signal: AbortSignal.timeout(2_000) });
      expect(ping.status, `Traefik on ${n.address}`).toBe(200);
    }
    const web = await running('web');
    expect(web).toHaveLength(3);
    expect(web.map((a) => a.NodeName).sort(), 'one v1 instance per node').toEqual(l.clients.map((n) => n.name));
  });

  test('`npm run cluster -- status` lists every node with its two agents and the front, every check ok, exit 0', async () => {
    const out = await $({ quiet: true, nothrow: true, timeout: '60s' })`npx tsx scripts/cluster.ts status --state-dir ${cluster.stateDir} --port-base ${cluster.portBase}`;
    expect(out.exitCode, out.stdout + out.stderr).toBe(0);
    const l = runningLayout(cluster);
    for (const n of l.clients) expect(out.stdout).toMatch(new RegExp(`node +${n.name} on ${n.address.replaceAll('.', '\\.')}: consul pid \\d+, nomad pid \\d+`));
    expect(out.stdout).toMatch(new RegExp(`front +pid \\d+ +http://127\\.0\\.0\\.1:${front.port}/`));
    expect(out.stdout).not.toMatch(/not running|FAIL/);
  });

  test('a count-3 rollout through the front: every request OK, v2 spread over the nodes', async () => {
    const report = await throughFront('rollout-front', { version: 'v2', config: await configWith('v2') });
    expect(report.deployment.status).toBe('successful');
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expectCutOverMeasured(report);
    // canary = count: three canaries beside three old instances, never fewer than three routable
    expect(report.capacity?.routable.min).toBeGreaterThanOrEqual(3);
    expect(report.capacity?.routable.max).toBe(6);
    const web = await running('web');
    expect(web.map((a) => a.JobVersion).every((v) => v === web[0]!.JobVersion)).toBe(true);
    expect(new Set(web.map((a) => a.NodeID)).size, `v2 on every node: ${web.map((a) => a.NodeName).join(', ')}`).toBe(3);
  });

  test('the next rollout sent round robin to the three Traefiks directly: each carries a third, every request OK', async () => {
    const urls = runningLayout(cluster).clients.map((n) => `http://${n.address}:${entry.port}/`);
    const report = await throughFront('rollout-three-urls', { version: 'v3', config: await configWith('v3') }, urls);
    expect(report.deployment.status).toBe('successful');
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expect(report.targets.map((t) => t.url)).toEqual(urls);
    for (const t of report.targets) {
      expect(Math.abs(t.total - report.requests.total / 3)).toBeLessThanOrEqual(1);
      expect(t.ok).toBe(t.total);
    }
  });

  test('nomad node drain of a client under load: its instance migrates, its Traefik stops too, every request OK through the front', async () => {
    const l = runningLayout(cluster);
    const drained = (await nodes()).find((n) => n.Name === l.clients[0]!.name)!;
    const nomad = toolPaths().nomad;
    const drainCmd = `${nomad} node drain -address=${e.nomadAddr} -enable -yes -deadline 2m ${drained.ID}`;
    try {
      const report = await throughFront('node-drain', { expect: 'none', deployCmd: drainCmd });
      expect(report.deployment.status).toBe('none');
      expect(report.events.find((ev) => ev.kind === 'deploy-cmd-exit')?.detail).toBe('exit 0');
      expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
      // the drained node's instance was replaced elsewhere: three routable again by the end
      const web = await running('web');
      expect(web).toHaveLength(3);
      expect(web.some((a) => a.NodeID === drained.ID)).toBe(false);
      expect((await running('traefik')).some((a) => a.NodeID === drained.ID)).toBe(false);
      expect(report.capacity?.routable.min).toBeGreaterThanOrEqual(2);
    } finally {
      // back into service, so the edge change below rolls over three Traefiks again
      await $({ quiet: true, timeout: '30s' })`${nomad} node drain -address=${e.nomadAddr} -disable -yes ${drained.ID}`;
      await $({ quiet: true, timeout: '30s' })`${nomad} node eligibility -address=${e.nomadAddr} -enable ${drained.ID}`;
      const back = await waitUntil(async () => (await running('traefik')).length === 3, { timeoutMs: 60_000, intervalMs: 500 });
      expect(back, 'Traefik placed again on the drained node once eligible').toBe(true);
      await waitUntil(async () => (await fetch(`http://${l.clients[0]!.address}:${entry.admin}/ping`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, intervalMs: 500 });
    }
  });

  test("a node's Traefik restarted mid-rollout (nomad alloc restart): the front takes it out, every request OK", async () => {
    // The fault matrix's Traefik restart drops requests with one Traefik; behind a front the others carry them.
    const l = runningLayout(cluster);
    const node = (await nodes()).find((n) => n.Name === l.clients[1]!.name)!;
    let restart: Promise<string> | undefined;
    let probe: Promise<Probe[]> | undefined;
    const report = await throughFront('traefik-restart', {
      version: 'v4',
      config: await configWith('v4'),
      onEvent: (ev, addEvent) => {
        if (ev.kind !== 'canary-placed' || restart) return;
        addEvent('fault-traefik-restart', `Traefik on ${node.Name}`);
        probe = probeTraefik(l.clients[1]!.address, 40_000);
        restart = (async () => {
          const alloc = (await running('traefik')).find((a) => a.NodeID === node.ID)!;
          // waits for the stop (accept grace + drain) and may outlast its timeout; the restart goes on
          return requestJson(`${e.nomadAddr}/v1/client/allocation/${alloc.ID}/restart`, { method: 'POST', body: {}, timeoutMs: 30_000 }).then(() => `alloc ${alloc.ID.slice(0, 8)} restarted`, (err: unknown) => `restart call: ${(err as Error).message.split('\n')[0]}`);
        })();
      },
    });
    console.log(`[e2e] traefik restart: ${await restart}`);
    expect(restart, 'a canary was placed, so the restart was fired').toBeDefined();
    // The mechanism, on the restarted node itself: once /ready answers 200 again, its entry point
    // routes (no 404); /ping may answer 200 earlier, while the entry point still answers 404.
    const samples = await probe!;
    const down = samples.findIndex((p) => p.ready !== 200);
    const readyAgain = samples.findIndex((p, i) => i > down && p.ready === 200);
    expect(down, 'the probe saw the restart (/ready not 200)').toBeGreaterThanOrEqual(0);
    expect(readyAgain, '/ready answered 200 again').toBeGreaterThan(down);
    const after = samples.slice(readyAgain);
    expect(after.filter((p) => p.entry === 404), '404 from the entry point after /ready said 200').toEqual([]);
    const pingFirst = samples.findIndex((p, i) => i > down && p.ping === 200);
    const notFoundWhilePing = samples.filter((p, i) => i >= pingFirst && i < readyAgain && p.entry === 404).length;
    console.log(`[e2e] restarted node: ${samples.length} probes; /ping 200 again at ${(samples[pingFirst]!.atMs / 1000).toFixed(3)} s, /ready at ${(samples[readyAgain]!.atMs / 1000).toFixed(3)} s; 404s from the entry point while /ping said 200 and /ready did not: ${notFoundWhilePing}`);
    expect(report.deployment.status).toBe('successful');
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expect(await waitUntil(async () => (await running('traefik')).length === 3, { timeoutMs: 60_000, intervalMs: 500 })).toBe(true);
  });

  test('negative control: the same Traefik restart with the load sent to the three Traefiks directly, no front — the restarted one drops requests', async () => {
    const l = runningLayout(cluster);
    const node = (await nodes()).find((n) => n.Name === l.clients[1]!.name)!;
    const alloc = (await running('traefik')).find((a) => a.NodeID === node.ID)!;
    const urls = l.clients.map((n) => `http://${n.address}:${entry.port}/`);
    const restartCmd = `${toolPaths().nomad} alloc restart -address=${e.nomadAddr} ${alloc.ID}`;
    const report = await throughFront('traefik-restart-no-front', { expect: 'none', deployCmd: restartCmd }, urls);
    expect(report.deployment.status).toBe('none');
    expect(report.events.find((ev) => ev.kind === 'deploy-cmd-exit')?.detail).toBe('exit 0');
    const byUrl = Object.fromEntries(report.targets.map((t) => [t.url, t.notOk]));
    console.log(`[e2e] no front: not OK per URL ${JSON.stringify(byUrl)}`);
    expect(byUrl[urls[1]!], 'the restarted Traefik, with nothing in front to route around it').toBeGreaterThan(0);
    expect(byUrl[urls[0]!]).toBe(0);
    expect(byUrl[urls[2]!]).toBe(0);
    expect(await waitUntil(async () => (await fetch(`http://${l.clients[1]!.address}:${entry.admin}/ping`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, intervalMs: 500 })).toBe(true);
  });

  test('an edge change rolls Traefik one node at a time: every request OK through the front', async () => {
    const changed = await configWith('edge-refresh-1s', (c) => (c.traefik.discovery.refreshInterval = '1s'));
    const report = await throughFront('edge-change', { job: 'traefik', version: 'v3', config: changed, deployOptions: { cluster, quiet: true, stacks: ['edge'] } });
    expect(report.deployment.status).toBe('successful');
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expect((await running('traefik')).length).toBe(3);
  });

  test('the negative of `status`: with the front stopped it says so and exits 1 (and `down` still stops the rest)', async () => {
    const { frontPid } = await clusterStatus(cluster);
    expect(frontPid, 'the front runs before the test').toBeDefined();
    process.kill(frontPid!, 'SIGTERM');
    expect(await waitUntil(() => !pidAlive(frontPid!), { timeoutMs: 10_000, intervalMs: 100 })).toBe(true);
    const out = await $({ quiet: true, nothrow: true, timeout: '60s' })`npx tsx scripts/cluster.ts status --state-dir ${cluster.stateDir} --port-base ${cluster.portBase}`;
    expect(out.exitCode, out.stdout + out.stderr).toBe(1);
    expect(out.stdout).toMatch(/front +not running/);
  });
});
