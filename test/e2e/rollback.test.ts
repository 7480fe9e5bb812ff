/**
 * `npm run rollback` on a real local cluster, under load: v1 (the hook), v2 (good) and v3 (the
 * "bad" version, deployed successfully) through the kit's deploy; then the verifier runs
 * `npm run rollback -- --job web` as its deploy command, so 100 req/s go through the rollback:
 * 0 drops, the revert's deployment successful, the tail served by v2 alone, and the time from the
 * command to the first second served by v2 alone. Before it, a negative control: `--to` a version
 * Nomad does not hold is refused (exit 2) naming the versions seen, and the job is unchanged.
 * After it, what Terraform does next: `terraform plan` with the config left at v3 and fixed to v2,
 * then the deploy of the fixed config. Needs `npm run tools`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { $ } from 'zx';
import { clusterEnv } from '../../cluster/index.ts';
import { deploy, deployTarget, synthStacks } from '../../deploy/index.ts';
import { verify } from '../../verify/index.ts';
import { phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-rollback'), portBase: 22500 };
const entry = { port: 18680, admin: 18682 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'rollback');
const c = clusterEnv(cluster);

interface Job { Version: number; Meta: Record<string, string> }
interface Deployment { ID: string; JobVersion: number; Status: string; StatusDescription: string }
async function nomad<T>(p: string): Promise<T> {
  const res = await fetch(`${c.nomadAddr}${p}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${c.nomadAddr}${p}: ${res.status}`);
  return (await res.json()) as T;
}
const job = () => nomad<Job>('/v1/job/web');
const latestDeployment = () => nomad<Deployment>('/v1/job/web/deployment');

/** `npm run rollback` as a user runs it, pointed at this cluster as the README says: NOMAD_ADDR and the config. */
const rollbackCmd = (config: string, args = '') => `NOMAD_ADDR=${c.nomadAddr} npm run --silent rollback -- --job web -c ${config}${args ? ` ${args}` : ''}`;

/** The first second from which every answer came from `version`, and the load's seconds after it. */
function allFrom(bySecond: readonly { second: number; counts: Record<string, number> }[], version: string): number | undefined {
  const lastOther = bySecond.findLastIndex((s) => Object.keys(s.counts).some((v) => v !== version));
  return bySecond[lastOther + 1]?.second;
}

describe('npm run rollback under load', () => {
  const { configWith } = useLocalCluster(cluster, entry);
  const at = (version: string) => configWith(version, (cfg) => (cfg.services[0].version = version));
  let v2 = '';
  let v3 = '';

  test('v2 (good), then v3 (the bad one) deployed through the kit', async () => {
    v2 = await at('v2');
    v3 = await at('v3');
    await phase('deploy app v2', () => deploy({ cluster, quiet: true, stacks: ['app'], config: v2 }));
    await phase('deploy app v3', () => deploy({ cluster, quiet: true, stacks: ['app'], config: v3 }));
    expect((await job()).Meta['zerodrop.version']).toBe('v3');
  });

  test('negative control: --to a version Nomad does not hold is refused (exit 2), naming the versions seen; the job is unchanged', async () => {
    const before = await job();
    const r = await phase('rollback --to v9', () => $({ quiet: true, nothrow: true, timeout: 120_000 })`bash -c ${rollbackCmd(v3, '--to v9')}`);
    console.log(`[e2e] rollback --to v9: exit ${r.exitCode}\n${r.stdout}${r.stderr}`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/REFUSED, nothing changed: --to v9: no job version of "web" holds app version v9 — job versions Nomad keeps \(newest first; it keeps the last 6 by default\): 2 \(v3, stable, running\), 1 \(v2, stable\), 0 \(v1, stable\); pick --to v2 or --to v1/);
    const after = await job();
    expect(after.Version).toBe(before.Version);
    expect(after.Meta['zerodrop.version']).toBe('v3');
  });

  test('rollback v3 → v2 under 100 req/s: 0 drops, deployment successful, the tail served by v2 alone, with its time', async () => {
    const dir = path.join(reports, 'v3-to-v2');
    await mkdir(dir, { recursive: true });
    const out = path.join(dir, 'rollback-output.txt');
    const { report, exitCode } = await phase('verify rollback v3 → v2', () =>
      verify(verifyOn(cluster, entry, { version: 'v2', deployCmd: `${rollbackCmd(v3)} > ${out} 2>&1`, reportDir: dir, log: (l) => (/^\[verify\]\s+[\d.]+ s {2}[a-z]/.test(l) ? console.log(l) : undefined) })),
    );
    const printed = await readFile(out, 'utf8');
    console.log(`[e2e] npm run rollback printed:\n${printed}`);
    expect(report.events.find((e) => e.kind === 'deploy-cmd-exit')?.detail).toBe('exit 0');
    expect(printed).toMatch(/\[rollback\] web: job version 2 \(v3\) → job version 1 \(v2, stable\), through Nomad /);
    expect(printed).toMatch(/\[rollback\] deployment \w{8} \(job version 3\) successful: .*; job web runs v2/);
    expect(printed).toMatch(/\[rollback\] NEXT: set services\[0\]\.version: v2 in \S*v3\.yaml \(or ZERODROP_VERSION=v2\) before the next deploy/);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(report.requests.notOk, JSON.stringify(report.requests.byStatus)).toBe(0);
    expect(report.deployment.status).toBe('successful');
    expect(Object.keys(report.versions.bySecond.at(-1)!.counts)).toEqual(['v2']);
    expect(exitCode).toBe(0);
    expect((await job()).Meta['zerodrop.version']).toBe('v2');

    const startMs = report.events.find((e) => e.kind === 'deploy-cmd-start')!.atMs;
    const successMs = report.events.find((e) => e.kind === 'successful')?.atMs;
    const exitMs = report.events.find((e) => e.kind === 'deploy-cmd-exit')!.atMs;
    const v2From = allFrom(report.versions.bySecond, 'v2')!;
    const cli = printed.match(/rolled back in ([\d.]+) s/)?.[1];
    const line =
      `command start at ${(startMs / 1000).toFixed(1)} s of the load; deployment successful after ${successMs === undefined ? '?' : ((successMs - startMs) / 1000).toFixed(1)} s; ` +
      `command exited after ${((exitMs - startMs) / 1000).toFixed(1)} s (its own figure: ${cli} s); every answer from v2 from second ${v2From} of the load on: ` +
      `${((v2From * 1000 - startMs) / 1000).toFixed(1)} s from command to 100 % v2`;
    console.log(`[e2e] rollback time: ${line}`);
    await writeFile(path.join(dir, 'rollback-time.txt'), `${line}\n`);
    expect(v2From * 1000).toBeGreaterThan(startMs);
  });

  test('after the rollback: what terraform plan says with the config left at v3 and fixed to v2, and the deploy of v2', async () => {
    const lines: string[] = [];
    const note = (l: string) => {
      lines.push(l);
      console.log(`[e2e] ${l}`);
    };
    const plan = async (config: string, label: string) => {
      const target = await deployTarget({ cluster, config });
      await synthStacks(target);
      const r = await phase(`terraform plan, config at ${label}`, () =>
        $({ cwd: path.join(target.outdir, 'stacks', 'app'), env: target.env, quiet: true, nothrow: true, timeout: 5 * 60_000 })`${target.env.TERRAFORM_BINARY_NAME!} plan -detailed-exitcode -no-color -input=false`,
      );
      const shown = r.stdout.split('\n').filter((l) => /^\s*(#|[~+-] |Plan:|No changes)|version|APP_VERSION/.test(l)).slice(0, 40);
      note(`terraform plan -detailed-exitcode, config at ${label}: exit ${r.exitCode}\n${shown.join('\n')}`);
      return r;
    };
    const before = await job();
    // Left at v3: the provider reads back the job Nomad runs (v2) and plans v3 again.
    const left = await plan(v3, 'v3 (left as it was)');
    expect(left.exitCode, left.stdout + left.stderr).toBe(2);
    expect(left.stdout).toMatch(/"zerodrop\.version" = "v2" -> "v3"/);
    expect(left.stdout).toMatch(/Plan: 0 to add, 1 to change, 0 to destroy\./);
    // Fixed to v2: what runs is what the config says.
    const fixed = await plan(v2, 'v2 (fixed)');
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    expect((await job()).Version, 'a plan changes nothing').toBe(before.Version);

    const deployBefore = await latestDeployment();
    const started = Date.now();
    const applied = await phase('deploy app, config fixed to v2', () => deploy({ cluster, quiet: true, stacks: ['app'], config: v2 }).then(() => 'exit 0', (err: Error) => `failed: ${err.message.slice(0, 400)}`));
    const after = await job();
    const deployAfter = await latestDeployment();
    note(
      `npm run deploy with the config fixed to v2: ${applied} in ${((Date.now() - started) / 1000).toFixed(1)} s; job version ${before.Version} → ${after.Version}, runs ${after.Meta['zerodrop.version']}; ` +
        `latest deployment ${deployBefore.ID.slice(0, 8)} (job version ${deployBefore.JobVersion}) → ${deployAfter.ID.slice(0, 8)} (job version ${deployAfter.JobVersion}, ${deployAfter.Status})`,
    );
    const again = await plan(v2, 'v2, after that deploy');
    await writeFile(path.join(reports, 'v3-to-v2', 'terraform-after-rollback.txt'), `${lines.join('\n\n')}\n`);
    expect(applied).toBe('exit 0');
    expect(after.Meta['zerodrop.version']).toBe('v2');
    expect(after.Version, 'the deploy of the fixed config registers no new job version').toBe(before.Version);
    expect(deployAfter.ID, 'and starts no deployment').toBe(deployBefore.ID);
    expect(again.exitCode, 'no perpetual diff once the config says v2').toBe(0);
  });
});
