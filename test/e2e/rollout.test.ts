/**
 * The zero-drop evidence, on a real local cluster (Consul + Nomad built from Go modules,
 * Traefik as a Nomad job, the reference app): the kit's default config keeps 100 % of reads
 * through a canary rollout under 100 req/s; the negative control (every
 * protection removed on purpose) must show drops; a canary that never becomes ready must
 * fail, auto-revert, and still keep 100 % of reads.
 * Prints how long each phase took. Needs `npm run tools`.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { clusterDown, clusterUp } from '../../cluster/index.ts';
import { deploy } from '../../deploy/index.ts';
import { toolPaths } from '../../toolchain/index.ts';
import { verify, type VerifyOptions } from '../../verify/index.ts';
import { expectCutOverMeasured, phase, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-rollout'), portBase: 19300 };
const tools = toolPaths();
const missing = [tools.consul, tools.nomad, tools.traefik, tools.engine.bin].filter((f) => !existsSync(f));
const reports = path.join(process.cwd(), 'reports', 'e2e');
const base = (over: Partial<VerifyOptions>) => verifyOn(cluster, { port: 18080, admin: 18082 }, { reportDir: reports, ...over });

/** Status of one GET through Traefik (undici's request: fetch drops the Host header). */
async function statusThroughTraefik(): Promise<number> {
  const res = await request('http://127.0.0.1:18080/', { headers: { host: 'web.localhost' }, signal: AbortSignal.timeout(2_000) });
  await res.body.dump();
  return res.statusCode;
}

describe('zero-drop rollouts on a real local cluster', () => {
  beforeAll(async () => {
    // Fails rather than skips: a green run must mean the rollouts were measured.
    expect(missing, 'not built — run `npm run tools`').toEqual([]);
    await rm(cluster.stateDir, { recursive: true, force: true });
    await phase('cluster up', () => clusterUp({ ...cluster, log: () => undefined }));
    await phase('deploy edge + app v1', () => deploy({ cluster, quiet: true, version: 'v1' }));
  });

  afterAll(async () => {
    await phase('cluster down', () => clusterDown({ ...cluster, log: () => undefined }));
  });

  // One rollout of the default config here; consecutive rollouts on one cluster are the fault
  // matrix's five deploys and traefik-changes' four.
  test('the default config keeps every read through the canary rollout v1 → v2 at 100 req/s', async () => {
    const version = 'v2';
    const { report, exitCode } = await phase('verify v1 → v2', () => verify(base({ version, reportDir: path.join(reports, `default-${version}`) })));
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(report.requests.total).toBeGreaterThanOrEqual(2500);
    expectCutOverMeasured(report);
    expect(report.durationMs).toBeGreaterThanOrEqual(25_000);
    expect(report.requests.notOk, JSON.stringify(report.drops.slice(0, 5))).toBe(0);
    expect(report.deployment.status).toBe('successful');
    expect(exitCode).toBe(0);
  });

  test('a canary that never becomes ready fails and auto-reverts, and every read is still served', async () => {
    const { report, exitCode } = await phase('verify broken canary', () =>
      verify(base({ version: 'v4-broken', expect: 'failed', config: path.resolve('examples/broken-canary.yaml'), reportDir: path.join(reports, 'broken-canary') })),
    );
    expect(report.deployment.status).toBe('failed');
    expect(report.events.map((e) => e.kind)).toContain('reverted');
    // terraform apply waited for the deployment (detach = false) and failed with it
    expect(report.events.find((e) => e.kind === 'deploy-cmd-exit')?.detail).toMatch(/^cdktf deploy app failed \(exit 1\)/);
    expect(report.requests.notOk).toBe(0);
    expect(exitCode).toBe(0);
  });

  test('negative control: the unsafe config drops reads and the verifier says so', async () => {
    const unsafe = { ...process.env, ZERODROP_UNSAFE_SKIP_TIMING_CHECKS: '1' };
    const config = path.resolve('examples/unsafe.yaml');
    await phase('deploy unsafe edge + app', () => deploy({ cluster, quiet: true, config, version: 'v5', env: unsafe }));
    // Traefik restarts with the 15 s refresh; give it one refresh to find the app again.
    await new Promise((r) => setTimeout(r, 17_000));
    // GIVEN the unsafe config serves before its rollout: its drops must come from the rollout, not
    // from a route Traefik never built (every read a 404 would also fail the verdict).
    expect(await statusThroughTraefik(), 'GET web.localhost through Traefik before the unsafe rollout').toBe(200);
    const { report, exitCode } = await phase('verify negative control', () =>
      verify(base({ version: 'v6', config, deployOptions: { cluster, quiet: true, env: unsafe }, reportDir: path.join(reports, 'negative-control') })),
    );
    expect(report.deployment.status).toBe('successful');
    expect(report.requests.notOk).toBeGreaterThan(0);
    expect(report.successRatio).toBeLessThan(1);
    expect(exitCode).toBe(1);
  });
});
