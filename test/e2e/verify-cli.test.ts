/**
 * The verifier as an operator runs it (`tsx scripts/verify.ts …`, a child process in a process group
 * of its own, like a terminal's foreground job), on a real local cluster, deploying through
 * `npm run deploy` as its `--deploy-cmd`:
 *
 * - Ctrl-C (SIGINT to its group) while a canary rollout is under way: exit 130 within 10 s, report
 *   files with what was recorded up to then, nothing it started left running (every process under
 *   it at the signal, terraform on cdktf's pseudo-terminal included, and both process groups gone),
 *   the app stack's Terraform state still readable; the rollout itself goes on in Nomad and ends on its own.
 * - Two deployments in one run (v3, then v4) over two URLs of the same Traefik entry point: both
 *   deployments followed with their events, the job version reported is the last one, every request
 *   OK, the requests split evenly over the URLs. The same CLI run without a signal: exit 0 (the
 *   negative control of the 130).
 *
 * - Ctrl-C of `npm run deploy` itself (no verifier) while terraform applies: cdktf runs in a group of
 *   its own, so the signal reaches the deploy script only, which stops terraform first (SIGINT),
 *   then cdktf: exit 1 saying it was interrupted, nothing left running, the state readable.
 *
 * Needs `npm run tools`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { clusterEnv } from '../../cluster/index.ts';
import { toolPaths } from '../../toolchain/index.ts';
import { deploymentEnded, jobVersion, nomadGet, type NomadDeployment } from '../../lib/nomad.ts';
import { waitUntil } from '../../lib/wait.ts';
import { procProgram } from '../../lib/proc.ts';
import { liveDescendants, liveGroupMembers, stillAlive, type ProcId } from '../../lib/process-tree.ts';
import type { Report } from '../../verify/report.ts';
import { phase, useLocalCluster } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-verify-cli'), portBase: 23700 };
const entry = { port: 18980, admin: 18982 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'verify-cli');
const nomad = { address: clusterEnv(cluster).nomadAddr };
const tsx = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');

interface CliRun {
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** ms from spawn to the SIGINT, when one was sent */
  readonly sigintAtMs?: number;
  /** ms from spawn to exit */
  readonly exitedAtMs: number;
  /** what ran just before the SIGINT: every descendant of the CLI (in any group or session), and the deploy command's group */
  readonly atSigint?: { readonly descendants: ProcId[]; readonly names: string[]; readonly deployGroup: number[] };
}

/**
 * The env of the CLI: this file's cluster is "the running local cluster" (deploy/target.ts,
 * verify/targets.ts); nothing from the caller's shell points it elsewhere.
 */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(NOMAD_|CONSUL_HTTP_|ZERODROP_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ZERODROP_STATE_DIR: cluster.stateDir, ZERODROP_PORT_BASE: String(cluster.portBase) };
}

/**
 * Runs `tsx scripts/verify.ts ARGS` in its own process group. With `sigint`, sends SIGINT to that
 * group `afterMs` after `when(stdout)` first holds (a terminal's Ctrl-C). Killed (and failed) past `timeoutMs`.
 */
function runVerifyCli(args: string[], o: { timeoutMs: number; sigint?: { when: (stdout: string) => boolean; afterMs: number; deployPidFile?: string } }): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(tsx, ['scripts/verify.ts', ...args], { cwd: process.cwd(), env: cliEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let stdout = '';
  let stderr = '';
  let sigintAtMs: number | undefined;
  let atSigint: CliRun['atSigint'];
  let armed = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (o.sigint && !armed && o.sigint.when(stdout)) {
      armed = true;
      setTimeout(() => {
        const descendants = liveDescendants(pid);
        atSigint = { descendants, names: descendants.map((p) => programOf(p.pid)), deployGroup: o.sigint!.deployPidFile ? liveGroupMembers(pidIn(o.sigint!.deployPidFile)) : [] };
        sigintAtMs = Date.now() - started;
        process.kill(-pid, 'SIGINT');
      }, o.sigint.afterMs);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const killer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
      reject(new Error(`verify CLI still running after ${o.timeoutMs} ms; stdout tail:\n${stdout.split('\n').slice(-20).join('\n')}\nstderr:\n${stderr}`));
    }, o.timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ pid, code, signal, stdout, stderr, exitedAtMs: Date.now() - started, ...(sigintAtMs !== undefined ? { sigintAtMs, atSigint } : {}) });
    });
  });
}

/** Where the deploy commands' output goes (the verifier keeps none of it). */
const deployLog = path.join(cluster.stateDir, 'deploy-cmd.log');
/** `npm run deploy` of the app stack at `version` with `config`, as an operator types it (the env names the cluster). */
const deployCli = (config: string, version: string) => `npm run --silent deploy -- -c '${config}' -s app -v ${version} >> '${deployLog}' 2>&1`;
/** The app stack's local Terraform state of this cluster (deploy/target.ts). */
const appState = path.join(cluster.stateDir, 'terraform', 'terraform.app.tfstate');

const readReport = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as Report;
const kinds = (r: Report) => r.events.map((e) => e.kind);
const tail = (run: CliRun) =>
  `exit ${run.code} ${run.signal ?? ''}\nstdout tail:\n${run.stdout.split('\n').slice(-15).join('\n')}\nstderr:\n${run.stderr}\ndeploy commands' output (tail):\n${lastLinesOf(deployLog, 30)}`;

/** The latest deployment of the job, once it is no longer running. */
async function lastDeploymentEnded(job: string, timeoutMs: number): Promise<NomadDeployment> {
  let last: NomadDeployment | undefined;
  const ended = await waitUntil(
    async () => {
      last = (await nomadGet<NomadDeployment>(nomad, `/v1/job/${job}/deployment`)).body;
      return !!last && deploymentEnded(last);
    },
    { timeoutMs, intervalMs: 500 },
  );
  if (!ended) throw new Error(`deployment of ${job} still ${last?.Status} after ${timeoutMs} ms`);
  return last!;
}

describe('the verifier CLI on a real local cluster', () => {
  const { configWith } = useLocalCluster(cluster, entry);

  test('Ctrl-C mid-rollout: exit 130 within 10 s, the report of what was recorded, nothing left running', async () => {
    const config = await configWith('v2');
    const dir = path.join(reports, 'ctrl-c');
    await rm(dir, { recursive: true, force: true });
    const pidFile = path.join(cluster.stateDir, 'ctrl-c-deploy-cmd.pid');
    const before = await jobVersion(nomad, 'web');
    // $$: the deploy command's shell, the leader of its process group
    const deployCmd = `echo $$ > '${pidFile}' && ${deployCli(config, 'v2')}`;
    const run = await phase('verify CLI, Ctrl-C mid-rollout', () =>
      runVerifyCli(['--url', `http://127.0.0.1:${entry.port}/`, '--rate', '100', '--baseline', '3', '--tail', '3', '--max-duration', '180', '--report-dir', dir, '--deploy-cmd', deployCmd], {
        timeoutMs: 180_000,
        // one second after the watch saw the Nomad deployment start: canaries on their way, nothing promoted
        sigint: {
          when: (out) => / deploy-start /.test(out),
          afterMs: 1_000,
          deployPidFile: pidFile,
        },
      }),
    );
    const report = existsSync(path.join(dir, 'report.json')) ? await readReport(dir) : undefined;
    const deployPgid = pidIn(pidFile);
    console.log(
      `[e2e] Ctrl-C: SIGINT at ${((run.sigintAtMs ?? NaN) / 1000).toFixed(1)} s, exit ${run.code} ${((run.exitedAtMs - (run.sigintAtMs ?? NaN)) / 1000).toFixed(1)} s later; ` +
        `${run.atSigint?.descendants.length} processes under the CLI at the signal (${run.atSigint?.names.join(' ')}; ${run.atSigint?.deployGroup.length} in the deploy command's group); report: ${report?.requests.total} requests, ${report?.successPercent}, ` +
        `status ${report?.deployment.status}, events ${report ? kinds(report).join(' ') : '-'}; deploy-cmd-exit ${report?.events.find((e) => e.kind === 'deploy-cmd-exit')?.detail}`,
    );
    expect(run.sigintAtMs, tail(run)).toBeDefined();
    expect(run.code, tail(run)).toBe(130);
    expect(run.exitedAtMs - run.sigintAtMs!).toBeLessThanOrEqual(10_000);
    expect(run.stderr).toMatch(/interrupted: stopping load and watch/);
    // the deploy command was a real process tree when the signal came (its shell and what `npm run deploy` started)
    expect(run.atSigint!.deployGroup.length).toBeGreaterThanOrEqual(3);
    // nothing it started outlives it: no process that ran under it at the signal (in whatever group or
    // session: cdktf runs terraform on a pseudo-terminal), nothing in its own group or the deploy command's
    expect(stillAlive(run.atSigint!.descendants), 'processes that ran under the CLI at the signal, still alive').toEqual([]);
    expect(liveGroupMembers(run.pid), 'processes left in the verifier\'s group').toEqual([]);
    expect(liveGroupMembers(deployPgid), 'processes left in the deploy command\'s group').toEqual([]);

    // the report of what was recorded until the signal
    expect(report, 'report.json written').toBeDefined();
    for (const f of ['report.json', 'report.md', 'timeline.svg']) expect(existsSync(path.join(dir, f)), f).toBe(true);
    const r = report!;
    // baseline 3 s at 100 req/s, then the deploy up to the signal
    expect(r.requests.total).toBeGreaterThanOrEqual(400);
    expect(r.requests.total).toBeLessThanOrEqual(Math.ceil(((run.sigintAtMs! + 1_000) / 1000) * 100));
    expect(r.requests.notOk, JSON.stringify(r.drops.slice(0, 5))).toBe(0);
    // the phases as far as reached: the baseline's 3 s, the deploy up to the signal (open), no tail
    expect(r.phases.baseline.total).toBeGreaterThanOrEqual(290);
    expect(r.phases.deploy.total).toBeGreaterThan(0);
    expect(r.phases.deploy.toMs).toBeNull();
    expect(r.phases.tail.total).toBe(0);
    expect(kinds(r)).toEqual(expect.arrayContaining(['deploy-cmd-start', 'deploy-start', 'deploy-cmd-exit']));
    expect(kinds(r)).not.toContain('successful');
    expect(kinds(r)).not.toContain('promoted');
    expect(r.events.find((e) => e.kind === 'deploy-cmd-exit')?.detail).toMatch(/\(stopped: interrupted\)/);
    expect(r.deployment.status).toBe('aborted');
    expect(r.measurement.valid).toBe(false);
    expect(r.measurement.invalidReason).toMatch(/^aborted after/);
    expect(r.verdict.pass).toBe(false);

    // terraform was stopped as on a terminal (SIGINT first) and left its state readable, so the next deploy works
    expect(() => JSON.parse(readFileSync(appState, 'utf8')), `${appState} after the interrupted apply`).not.toThrow();

    // Ctrl-C stops the verifier and its deploy command, not Nomad: the rollout it submitted ends on its own
    const d = await phase('the interrupted rollout ends in Nomad', () => lastDeploymentEnded('web', 120_000));
    console.log(`[e2e] Ctrl-C: the rollout went on in Nomad: deployment ${d.ID.slice(0, 8)} (job version ${d.JobVersion}) ${d.Status}`);
    expect(d.JobVersion).toBeGreaterThan(before!);
    expect(d.Status).toBe('successful');
  });

  test('two deployments in one run over two URLs: both followed, the last version reported, every request OK, exit 0', async () => {
    const config = await configWith('v3-v4');
    const dir = path.join(reports, 'two-deploys');
    await rm(dir, { recursive: true, force: true });
    const before = (await jobVersion(nomad, 'web'))!;
    const urls = [`http://127.0.0.1:${entry.port}/`, `http://localhost:${entry.port}/`];
    const deployCmd = `${deployCli(config, 'v3')} && ${deployCli(config, 'v4')}`;
    const run = await phase('verify CLI, two deploys', () =>
      runVerifyCli([...urls.flatMap((u) => ['--url', u]), '--rate', '100', '--baseline', '3', '--tail', '3', '--max-duration', '150', '--report-dir', dir, '--deploy-cmd', deployCmd], { timeoutMs: 180_000 }),
    );
    const r = await readReport(dir);
    const byDeployment = (id: string) => r.events.filter((e) => e.detail?.startsWith(`deployment ${id.slice(0, 8)}`)).map((e) => e.kind);
    console.log(
      `[e2e] two deploys: exit ${run.code} after ${(run.exitedAtMs / 1000).toFixed(1)} s; ${r.requests.total} requests, ${r.successPercent}; ` +
        `deployments ${r.deployments.map((d) => `job version ${d.jobVersion} ${d.status} (${byDeployment(d.id).join(' ')})`).join(', ')}; job version ${r.deployment.jobVersion}; ` +
        `targets ${r.targets.map((t) => `${t.url} ${t.ok}/${t.total}`).join(', ')}; deploy-cmd-exit ${r.events.find((e) => e.kind === 'deploy-cmd-exit')?.detail}`,
    );
    expect(run.code, tail(run)).toBe(0);
    expect(r.measurement.valid, r.measurement.invalidReason).toBe(true);
    expect(r.events.find((e) => e.kind === 'deploy-cmd-exit')?.detail).toBe('exit 0');
    // both deployments, in order, each with its own start, promotion and end
    expect(r.deployments.map((d) => d.status)).toEqual(['successful', 'successful']);
    expect(r.deployments[0]!.jobVersion).toBeGreaterThan(before);
    expect(r.deployments[1]!.jobVersion).toBeGreaterThan(r.deployments[0]!.jobVersion);
    for (const d of r.deployments) expect(byDeployment(d.id), `events of deployment ${d.id}`).toEqual(expect.arrayContaining(['deploy-start', 'promoted', 'successful']));
    // the job version reported is the last one, and the job runs it
    expect(r.deployment.status).toBe('successful');
    expect(r.deployment.jobVersion).toBe(r.deployments[1]!.jobVersion);
    expect(await jobVersion(nomad, 'web')).toBe(r.deployments[1]!.jobVersion);
    // the load saw v3 and then v4 answer; the last second v4 alone
    const seen = new Set(r.versions.bySecond.flatMap((s) => Object.keys(s.counts)));
    expect([...seen]).toEqual(expect.arrayContaining(['v3', 'v4']));
    expect(Object.keys(r.versions.bySecond.at(-1)!.counts)).toEqual(['v4']);
    // every request OK, over both URLs, half each (round robin)
    expect(r.requests.notOk, JSON.stringify(r.drops.slice(0, 5))).toBe(0);
    expect(r.requests.total).toBeGreaterThanOrEqual(3_000);
    expect(r.targets.map((t) => t.url)).toEqual(urls);
    expect(r.targets.map((t) => t.ok)).toEqual(r.targets.map((t) => t.total));
    expect(Math.abs(r.targets[0]!.total - r.targets[1]!.total)).toBeLessThanOrEqual(1);
    expect(r.targets[0]!.total + r.targets[1]!.total).toBe(r.requests.total);
    expect(r.verdict.pass, r.verdict.reasons.join('\n')).toBe(true);
  });

  test('Ctrl-C of `npm run deploy` itself mid-apply: terraform stopped first, exit 1 saying so, nothing left running, the state readable', async () => {
    const config = await configWith('v5');
    const before = (await jobVersion(nomad, 'web'))!;
    // the deploy script in a process group of its own, like a terminal's foreground job
    const started = Date.now();
    const child = spawn(tsx, ['scripts/deploy.ts', '-c', config, '-s', 'app', '-v', 'v5'], { cwd: process.cwd(), env: cliEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    // WHEN terraform is applying (the new job version's deployment runs; apply waits for it: detach = false)
    const applying = await waitUntil(
      async () => {
        const d = (await nomadGet<NomadDeployment>(nomad, '/v1/job/web/deployment')).body;
        return !!d && d.JobVersion > before && !deploymentEnded(d);
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(applying, `the apply reached Nomad; output:\n${out}`).toBe(true);
    const descendants = liveDescendants(child.pid!);
    const names = descendants.map((p) => programOf(p.pid));
    const sigintAt = Date.now();
    process.kill(-child.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    console.log(`[e2e] Ctrl-C of npm run deploy: SIGINT ${((sigintAt - started) / 1000).toFixed(1)} s after start, exit ${code} ${((Date.now() - sigintAt) / 1000).toFixed(1)} s later; under it at the signal: ${names.join(' ')}; last line: ${out.trim().split('\n').filter((l) => l.includes('[deploy]')).at(-1)}`);
    if (code === 'hung') process.kill(-child.pid!, 'SIGKILL');
    // THEN it ends on its own, with an error that says it was interrupted
    expect(code, out).toBe(1);
    expect(Date.now() - sigintAt).toBeLessThanOrEqual(15_000);
    expect(out).toMatch(/cdktf deploy app stopped \(interrupted\)/);
    // terraform ran under it in a group of its own, and is gone with everything else it started
    expect(names, 'terraform ran under npm run deploy at the signal').toContain(path.basename(realpathSync(toolPaths().engine.bin)));
    expect(stillAlive(descendants), 'processes that ran under npm run deploy at the signal, still alive').toEqual([]);
    expect(liveGroupMembers(child.pid!)).toEqual([]);
    // its state file written whole: the next deploy reads it
    expect(() => JSON.parse(readFileSync(appState, 'utf8')), `${appState} after the interrupted apply`).not.toThrow();
    const d = await phase('the interrupted rollout ends in Nomad', () => lastDeploymentEnded('web', 120_000));
    expect(d.JobVersion).toBeGreaterThan(before);
  });
});

/** The pid in a pid file (NaN while it is not there). */
function pidIn(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return Number.NaN;
  }
}

/** The program a process runs, by its executable ('?' once it has gone); not its comm, which is `MainThread` for a node process on Node 24. */
function programOf(pid: number): string {
  return procProgram(pid) ?? '?';
}

/** The last `n` lines of a file ('' when there is none). */
function lastLinesOf(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
