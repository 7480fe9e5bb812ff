/**
 * The fault matrix on a real local cluster (Consul + Nomad built from Go modules, Traefik as a
 * Nomad job, the reference app), every case a verifier run with its report under
 * reports/e2e/faults/<case>/ and its figures printed as `[e2e] …`:
 *
 * - a canary that crashes 500 ms after becoming ready: the deployment fails and reverts; drops measured
 *   (at most a few 502s: requests in flight to the canary when it exits);
 * - 3 s requests (`GET /slow?ms=3000`, longestRequest 3s) in flight through the cut-over: all complete;
 * - every old allocation SIGKILLed right after the deployment stops it (during shutdown_delay,
 *   while Traefik may still route to it): the drops measured (502s at the kill, nothing else);
 * - five deploys one after another through `npm run deploy` at 200 req/s: 0 drops, and p99
 *   during the deploys ÷ p99 of the baseline;
 * - Traefik, the Consul agent, the Nomad agent restarted mid-deploy: each measured; the deploy
 *   must end (successful or failed, never a timeout). These do not assert 100 %: one node has one
 *   Traefik, one Consul and one Nomad (docs/faults.md says what covers them in production).
 *
 * Every config is examples/local.yaml with `longestRequest: 3s`, v1 included, so no case changes
 * the edge stack (a Traefik swap would drop on its own, see the edge test of traefik-changes.test.ts).
 * Needs `npm run tools`.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { allocTaskPids, clusterEnv, restartAgent, type AgentRestart } from '../../cluster/index.ts';
import { nomadGet, nomadPost } from '../../lib/nomad.ts';
import { mixFromFlags, verify, type VerifyOptions } from '../../verify/index.ts';
import { sleep } from '../../lib/wait.ts';
import { phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-faults'), portBase: 22900 };
const entry = { port: 18780, admin: 18782 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'faults');
const nomad = { address: clusterEnv(cluster).nomadAddr };

/** The longest request every case allows for: kill_timeout 5 s, Traefik's graceTimeOut 5 s. */
const longestRequest = (c: any) => (c.services[0].longestRequest = '3s');

interface TaskEvent { Type: string; ExitCode?: number; DisplayMessage?: string }
interface AllocStub { ID: string; JobVersion: number; ClientStatus: string; DesiredStatus: string; TaskStates?: Record<string, { Restarts: number; FinishedAt: string | null; Events: TaskEvent[] | null }> }

const allocations = async (job: string) => (await nomadGet<AllocStub[]>(nomad, `/v1/job/${job}/allocations`)).body;
const eventsOf = (report: { events: { kind: string }[] }) => report.events.map((e) => e.kind);
const ended = (status: string) => status === 'successful' || status === 'failed';
const ms = (v: number | null) => (v === null ? '-' : v.toFixed(1));
type Report = Awaited<ReturnType<typeof verify>>['report'];
const deploymentsOf = (report: Report) => report.deployments?.map((d) => `job ${d.jobVersion} ${d.status}`).join(', ') ?? '-';

/** The fault began before the first deployment ended: it was mid-deploy. */
function midDeploy(report: Report, what: string): boolean {
  const at = (kinds: string[]) => report.events.find((x) => kinds.includes(x.kind))?.atMs ?? NaN;
  return at([`fault-${what}-restart`]) < at(['successful', 'failed', 'cancelled']);
}

/** When each of these allocations' tasks finished (epoch ms; NaN while one still runs). */
async function finishedAt(ids: readonly string[]): Promise<number[]> {
  const all = await allocations('web');
  return ids.map((id) => {
    const a = all.find((x) => x.ID === id);
    const states = Object.values(a?.TaskStates ?? {});
    return a && ['complete', 'failed'].includes(a.ClientStatus) && states.length ? Math.max(...states.map((t) => Date.parse(t.FinishedAt ?? ''))) : NaN;
  });
}

/** One line of figures per case: total, OK, what failed and how. */
function figures(name: string, report: Report): string {
  return `[e2e] ${name}: ${report.requests.total} requests, ${report.successPercent} OK (${report.requests.notOk} not OK; by status ${JSON.stringify(report.requests.byStatus)}, by error ${JSON.stringify(report.requests.byErrorKind)}); deployment ${report.deployment.status}; p99 baseline ${ms(report.latencyMs.baseline.p99)} / deploy ${ms(report.latencyMs.deploy.p99)} ms`;
}

describe('fault matrix', () => {
  const { configWith } = useLocalCluster(cluster, entry, longestRequest);
  const faultConfig = (name: string, change: (c: any) => void = () => undefined) => configWith(name, (c) => {
    longestRequest(c);
    change(c);
  });
  // The tail outlasts the old allocations' stop after the deploy ends (shutdown_delay 6 s + kill_timeout 5 s from promotion).
  const on = (over: Partial<VerifyOptions>) => verifyOn(cluster, entry, { baselineS: 5, tailS: 12, ...over });

  test('a canary that crashes after becoming ready: the deployment fails and reverts; only requests in flight at the crash may fail (502)', async () => {
    const config = await faultConfig('v2-crash', (c) => (c.services[0].env = { FAULT: 'crash-after-ready' }));
    const { report, exitCode } = await phase('verify crash-after-ready', () =>
      verify(on({ version: 'v2-crash', expect: 'failed', config, reportDir: path.join(reports, 'crash-after-ready') })),
    );
    const crashVersion = report.deployments?.[0]?.jobVersion;
    // The fault really fired: the canaries' task exited 1 (a never-ready canary would not).
    const crashes = (await allocations('web'))
      .filter((a) => a.JobVersion === crashVersion)
      .flatMap((a) => Object.values(a.TaskStates ?? {}).flatMap((t) => t.Events ?? []))
      .filter((e) => e.Type === 'Terminated' && e.ExitCode === 1).length;
    const crashAnswers = report.versions.bySecond.reduce((n, s) => n + (s.counts['v2-crash'] ?? 0), 0);
    console.log(`${figures('crash-after-ready', report)}; canary exits with code 1: ${crashes}; answers from the crashing version: ${crashAnswers}`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(crashes).toBeGreaterThanOrEqual(1);
    expect(report.deployment.status).toBe('failed');
    expect(eventsOf(report)).toContain('reverted');
    // Measured, not promised: a request in flight to a canary at the moment it exits gets Traefik's
    // 502 (its retry middleware re-sends only requests that never reached a server). Anything else
    // (a 503 or 404, a refused connection reaching the client, more than a handful) fails the case.
    for (const d of report.drops) expect(d.status, JSON.stringify(d)).toBe(502);
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBeLessThanOrEqual(5);
    expect(exitCode).toBe(report.requests.notOk === 0 ? 0 : 1);
  });

  test('3 s requests in flight through the cut-over (longestRequest 3s): every one completes', async () => {
    const config = await faultConfig('v3-slow');
    const old = (await allocations('web')).filter((a) => a.ClientStatus === 'running').map((a) => a.ID);
    const { report, exitCode } = await phase('verify 3 s requests', () =>
      verify(on({ version: 'v3', config, mix: mixFromFlags(['9 GET /', '1 GET /slow?ms=3000']), timeoutMs: 6_000, reportDir: path.join(reports, 'slow-3s') })),
    );
    const slow = report.mix.find((m) => m.path === '/slow?ms=3000')!;
    // 10 slow requests a second for 3 s each: about 30 in flight at every moment, each cut-over included,
    // as long as every old allocation stopped while the load still ran.
    const loadEnd = report.startedAtEpochMs + report.durationMs;
    const oldEnds = (await finishedAt(old)).map((t) => (loadEnd - t) / 1000);
    console.log(`${figures('3 s requests', report)}; GET /slow?ms=3000: ${slow.ok} of ${slow.total} OK, p99 ${ms(slow.okLatencyP99Ms)} ms, max ${ms(slow.okLatencyMaxMs)} ms; the ${old.length} old allocations stopped ${oldEnds.map((s) => s.toFixed(1)).join(' s, ')} s before the load ended`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(old).toHaveLength(2);
    expect(oldEnds.every((s) => s > 0), 'every old allocation stopped within the load').toBe(true);
    expect(slow.total).toBeGreaterThanOrEqual(300);
    expect(slow.okLatencyMaxMs ?? 0).toBeGreaterThanOrEqual(3_000);
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expect(report.deployment.status).toBe('successful');
    expect(exitCode).toBe(0);
  });

  test('every old allocation SIGKILLed mid-drain: the drops measured, all 502s at the kill', async () => {
    const config = await faultConfig('v4-sigkill');
    const kills: { alloc: string; pids: number[]; atMs: number }[] = [];
    const { report } = await phase('verify SIGKILL mid-drain', () =>
      verify(on({
        version: 'v4',
        config,
        // 1 s requests, so some are in flight on the old instance when it dies
        mix: mixFromFlags(['9 GET /', '1 GET /slow?ms=1000']),
        reportDir: path.join(reports, 'sigkill-mid-drain'),
        onEvent: (e, addEvent) => {
          // Nomad has just marked it to stop: it deregisters, then waits shutdown_delay (6 s) before SIGTERM.
          const alloc = e.kind === 'old-stopping' ? /alloc (\w+)/.exec(e.detail ?? '')?.[1] : undefined;
          if (!alloc) return;
          const pids = allocTaskPids(alloc, 'app/server.ts');
          for (const pid of pids) process.kill(pid, 'SIGKILL');
          kills.push({ alloc, pids, atMs: e.atMs });
          addEvent('fault-sigkill', `alloc ${alloc}: app pid ${pids.join(', ') || 'none found'}`);
        },
      })),
    );
    const killed = kills.filter((k) => k.pids.length).length;
    const lastKillMs = Math.max(...kills.map((k) => k.atMs));
    const byEntry = report.mix.map((m) => `${m.name} ${m.notOk} of ${m.total}`).join(', ');
    const inFlight = report.drops.filter((d) => d.sentMs < lastKillMs).length;
    const lastSent = Math.max(0, ...report.drops.map((d) => d.sentMs - lastKillMs));
    console.log(`${figures('SIGKILL mid-drain', report)}; not OK by entry: ${byEntry}; old allocations SIGKILLed: ${killed} of ${kills.length} stopped; drops: ${inFlight} in flight at the kill, ${report.drops.length - inFlight} sent after it, the last ${lastSent.toFixed(0)} ms after`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(killed).toBeGreaterThanOrEqual(2);
    expect(report.deployment.status).toBe('successful');
    // The honest verdict, measured, not 100 %: Traefik answers 502 for the requests in flight on the
    // killed instances (its retry middleware re-sends only what could not reach a server) and for
    // requests it sends them before its health-check (1 s) marks them DOWN; nothing else drops:
    // no refused connections, no timeouts, nothing sent outside that window.
    for (const d of report.drops) {
      expect(d.status, JSON.stringify(d)).toBe(502);
      expect(d.sentMs, JSON.stringify(d)).toBeGreaterThanOrEqual(lastKillMs - 1_100);
      expect(d.sentMs, JSON.stringify(d)).toBeLessThanOrEqual(lastKillMs + 1_500);
    }
  });

  test('five deploys in one run at 200 req/s: every read served, p99 during the deploys against the baseline', async () => {
    const config = await faultConfig('five');
    const e = clusterEnv(cluster);
    const versions = ['v5', 'v6', 'v7', 'v8', 'v9'];
    // The CLI as an operator runs it; the env points it at this file's cluster (deploy/target.ts).
    const deployCmd = versions
      .map((v) => `ZERODROP_STATE_DIR='${cluster.stateDir}' ZERODROP_PORT_BASE=${cluster.portBase} NOMAD_ADDR=${e.nomadAddr} npm run --silent deploy -- -c '${config}' -s app -v ${v}`)
      .join(' && ');
    const { report, exitCode } = await phase('verify five deploys', () =>
      verify(on({ rate: 200, baselineS: 10, tailS: 10, maxDurationS: 480, deployCmd, reportDir: path.join(reports, 'five-deploys') })),
    );
    const ratio = (report.latencyMs.deploy.p99 ?? NaN) / (report.latencyMs.baseline.p99 ?? NaN);
    console.log(`${figures('five deploys', report)}; deployments ${deploymentsOf(report)}; p99 deploy ÷ baseline ${ratio.toFixed(2)}; deploy command ${report.events.find((x) => x.kind === 'deploy-cmd-exit')?.detail}`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(report.events.find((x) => x.kind === 'deploy-cmd-exit')?.detail).toBe('exit 0');
    expect(report.deployments?.map((d) => d.status)).toEqual(['successful', 'successful', 'successful', 'successful', 'successful']);
    expect(report.requests.total).toBeGreaterThanOrEqual(20_000);
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expect(exitCode).toBe(0);
  });

  /**
   * Restarts `what` `delayMs` after the first canary is placed (the deployment is under way), recorded on
   * the timeline. Not on canary-healthy: a promotion right after it can hide that event from the watch.
   */
  function restartMidDeploy(what: string, delayMs: number, restart: () => Promise<string>) {
    let done: Promise<string> | undefined;
    const onEvent: VerifyOptions['onEvent'] = (e, addEvent) => {
      if (e.kind !== 'canary-placed' || done) return;
      done = sleep(delayMs).then(() => {
        addEvent(`fault-${what}-restart`, 'restart begins');
        return restart().then(
          (detail) => (addEvent(`fault-${what}-back`, detail), detail),
          (err: unknown) => (addEvent(`fault-${what}-failed`, (err as Error).message), Promise.reject(err)),
        );
      });
    };
    return { onEvent, restarted: () => done ?? Promise.reject(new Error(`${what} was never restarted: no canary was placed`)) };
  }

  // Before the agent restarts: a Nomad agent restart leaves Traefik's re-attached executor and logmon
  // slower to restart in place (5 s more without a listener, measured), which is not what this case is about.
  test('Traefik restarted mid-deploy (nomad alloc restart): measured, and the deploy ends', async () => {
    const config = await faultConfig('v10-traefik');
    // At placement: Traefik keeps accepting for acceptGrace (10 s) first, so its gap falls near the promotion.
    const fault = restartMidDeploy('traefik', 0, async () => {
      const alloc = (await allocations('traefik')).find((a) => a.ClientStatus === 'running');
      if (!alloc) throw new Error('no running Traefik allocation');
      const started = Date.now();
      // What `nomad alloc restart` does: SIGTERM (Traefik keeps accepting for acceptGrace), then start the task again.
      // The call waits for the stop (acceptGrace 10 s + drain) and may outlast its own 15 s timeout; the restart goes on.
      const answer = await nomadPost(nomad, `/v1/client/allocation/${alloc.ID}/restart`, {}).then(() => 'returned', (err: unknown) => `failed (${(err as Error).message.split('\n')[0]})`);
      return `alloc ${alloc.ID.slice(0, 8)}: restart call ${answer} after ${((Date.now() - started) / 1000).toFixed(1)} s`;
    });
    const { report } = await phase('verify traefik restart', () =>
      verify(on({ version: 'v10', config, maxDurationS: 300, tailS: 15, onEvent: fault.onEvent, reportDir: path.join(reports, 'traefik-restart') })),
    );
    const restarted = await fault.restarted();
    const span = report.drops.length ? (report.drops.at(-1)!.scheduledMs - report.drops[0]!.scheduledMs) / 1000 : 0;
    const signaled = (await allocations('traefik')).flatMap((a) => Object.values(a.TaskStates ?? {}).flatMap((t) => t.Events ?? [])).filter((e) => e.Type === 'Restart Signaled').length;
    console.log(`${figures('traefik restart', report)}; ${restarted}; restarts signaled ${signaled}; drops within ${span.toFixed(2)} s; deployments ${deploymentsOf(report)}`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(midDeploy(report, 'traefik'), 'restarted before the deployment ended').toBe(true);
    expect(signaled).toBe(1);
    expect(ended(report.deployment.status), `deployment ${report.deployment.status}`).toBe(true);
    expect(eventsOf(report)).toContain('deploy-cmd-exit');
    // One Traefik: the only drops are its restart gap, refused while nothing listens, 404 before its first catalog load.
    const { '404': notFound = 0, ...otherStatus } = report.requests.byStatus;
    expect(otherStatus).toEqual({});
    expect(report.requests.byErrorKind.refused + notFound).toBe(report.requests.notOk);
    expect(span, 'the drops form one window around the Traefik restart').toBeLessThan(10);
  });

  const agentDetail = (r: AgentRestart) => `pid ${r.oldPid} → ${r.newPid}, stopped in ${(r.stoppedMs / 1000).toFixed(1)} s, healthy again after ${(r.readyMs / 1000).toFixed(1)} s`;

  test.each([
    ['consul', 'v11'],
    ['nomad', 'v12'],
  ] as const)('the %s agent restarted mid-deploy: measured, and the deploy ends', async (agent, version) => {
    const config = await faultConfig(`${version}-${agent}`);
    // 5 s after placement: the canaries are ready and inside min_healthy_time (6 s), their promotion next.
    const fault = restartMidDeploy(agent, 5_000, async () => agentDetail(await restartAgent(agent, { ...cluster, log: () => undefined })));
    const { report } = await phase(`verify ${agent} restart`, () =>
      verify(on({ version, config, maxDurationS: 300, onEvent: fault.onEvent, reportDir: path.join(reports, `${agent}-restart`) })),
    );
    const restarted = await fault.restarted();
    console.log(`${figures(`${agent} restart`, report)}; ${agent} ${restarted}; deployments ${deploymentsOf(report)}; deploy command ${report.events.find((x) => x.kind === 'deploy-cmd-exit')?.detail?.split('\n')[0]}`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(midDeploy(report, agent), 'restarted before the deployment ended').toBe(true);
    // The honest verdict: the deploy ended one way or the other, within its bounds; the ratio is a measurement.
    expect(ended(report.deployment.status), `deployment ${report.deployment.status}`).toBe(true);
    expect(eventsOf(report)).toContain('deploy-cmd-exit');
  });
});
