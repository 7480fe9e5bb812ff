/**
 * Rollouts that change what Traefik sees for a service, under load on a real local cluster.
 * Traefik's consulCatalog merges one configuration per Consul instance and drops any router,
 * service or middleware two instances define differently; while old and new instances coexist
 * that would leave the host without a router (404 for every request). The kit names each object
 * after its settings, so each of these rollouts must keep 100 % of reads:
 *   the app version only (the control) → retry attempts → health-check interval → a second host.
 * Negative control: the fixed one-name-per-object layout (ZERODROP_UNSAFE_FIXED_TRAEFIK_NAMES=1)
 * with a retry change must show the 404s, so the test can fail.
 *
 * Last, a change to the edge stack (Traefik's own config) with ONE Traefik: the Traefik system job
 * rolls (/ping-gated), the old Traefik keeps accepting for `traefik.acceptGrace` with /ping
 * answering 503, then stops; the new one starts on the same reserved ports. With no front load
 * balancer nothing covers the gap between the old one closing its listener and the new one opening
 * it: the test measures that gap (connections refused while no Traefik listens, then 404 from the
 * new Traefik until its first catalog load), asserts nothing else drops, and that the rollout
 * completes. Behind a front, the same change keeps every request (multinode.test.ts).
 * Needs `npm run tools`.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import { deploy } from '../../deploy/index.ts';
import { verify, type VerifyOptions } from '../../verify/index.ts';
import { expectCutOverMeasured, phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-traefik-changes'), portBase: 20500 };
// Its own entry point, so this file never shares a port with another cluster's Traefik.
const entry = { port: 18180, admin: 18182 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'traefik-changes');
const base = (over: Partial<VerifyOptions>) => verifyOn(cluster, entry, over);

const retry3 = (c: any) => (c.traefik.retry.attempts = 3);
const healthCheck2s = (c: any) => (c.traefik.healthCheck = { interval: '2s', timeout: '2s' });
const secondHost = (c: any) => (c.services[0].host = ['web.localhost', 'web2.localhost']);

describe('rollouts that change a Traefik setting keep every read', () => {
  const { configWith } = useLocalCluster(cluster, entry);

  test('the probe endpoints are not routed: /readyz and /livez through the public entry point answer 404', async () => {
    for (const probe of ['/readyz', '/livez']) {
      const res = await request(`http://127.0.0.1:${entry.port}${probe}`, { headers: { host: 'web.localhost' }, signal: AbortSignal.timeout(5000) });
      await res.body.dump();
      expect(res.statusCode, probe).toBe(404);
    }
    // routers take the default entry point only: the admin one does not route the app
    const admin = await request(`http://127.0.0.1:${entry.admin}/`, { headers: { host: 'web.localhost' }, signal: AbortSignal.timeout(5000) });
    await admin.body.dump();
    expect(admin.statusCode).toBe(404);
    // the control: the same request for / is routed
    const root = await request(`http://127.0.0.1:${entry.port}/`, { headers: { host: 'web.localhost' }, signal: AbortSignal.timeout(5000) });
    await root.body.dump();
    expect(root.statusCode).toBe(200);
  });

  // Each row builds on the one before, so every rollout changes exactly one thing.
  const rollouts: [string, string, ((c: any) => void)[]][] = [
    ['the app version only (control)', 'v2', []],
    ['retry attempts 4 → 3', 'v3', [retry3]],
    ['health-check interval and timeout 1s → 2s', 'v4', [retry3, healthCheck2s]],
    ['a second host in the rule', 'v5', [retry3, healthCheck2s, secondHost]],
  ];

  test.each(rollouts)('a rollout that changes %s: 100 %% of reads at 100 req/s', async (name, version, changes) => {
    const config = await configWith(version, (c) => changes.forEach((f) => f(c)));
    const { report, exitCode } = await phase(`verify ${name}`, () => verify(base({ version, config, reportDir: path.join(reports, version) })));
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(report.requests.total).toBeGreaterThanOrEqual(2500);
    expectCutOverMeasured(report);
    expect(report.requests.notOk, JSON.stringify(report.requests.byStatus)).toBe(0);
    expect(report.deployment.status).toBe('successful');
    // the tail is served by the new version alone
    expect(Object.keys(report.versions.bySecond.at(-1)!.counts)).toEqual([version]);
    expect(exitCode).toBe(0);
  });

  test('after the host rollout the second host is routed too', async () => {
    // undici's request, not fetch: fetch does not send a Host header of its own choosing
    const res = await request(`http://127.0.0.1:${entry.port}/`, { headers: { host: 'web2.localhost' }, signal: AbortSignal.timeout(5000) });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-app-version']).toBe('v5');
  });

  test('negative control: with one fixed name per object, a retry change takes the host down (404)', async () => {
    const unsafe = { ...process.env, ZERODROP_UNSAFE_FIXED_TRAEFIK_NAMES: '1' };
    const fixed = await configWith('v6-fixed', (c) => [retry3, healthCheck2s, secondHost].forEach((f) => f(c)));
    // Moving to the fixed names is itself safe (no name is shared with the content-named instances).
    await phase('deploy app v6 with fixed names', () => deploy({ cluster, quiet: true, stacks: ['app'], version: 'v6', config: fixed, env: unsafe }));
    const changed = await configWith('v7-fixed', (c) => [healthCheck2s, secondHost].forEach((f) => f(c)));
    const { report, exitCode } = await phase('verify negative control', () =>
      verify(base({ version: 'v7', config: changed, deployOptions: { cluster, quiet: true, env: unsafe }, reportDir: path.join(reports, 'negative-control-fixed-names') })),
    );
    expect(report.deployment.status).toBe('successful');
    expect(report.requests.byStatus['404'] ?? 0).toBeGreaterThan(0);
    expect(report.successRatio).toBeLessThan(1);
    expect(exitCode).toBe(1);
  });

  test('an edge change with one Traefik: Traefik rolls to a new config, the deployment succeeds, the only drops are the restart gap', async () => {
    // the app's settings as the negative control left them (v7); only the edge stack is deployed
    const changed = await configWith('edge-refresh-1s', (c) => {
      [healthCheck2s, secondHost].forEach((f) => f(c));
      c.traefik.discovery.refreshInterval = '1s';
    });
    const { report } = await phase('verify edge change', () =>
      verify(base({ job: 'traefik', version: 'v7', config: changed, deployOptions: { cluster, quiet: true, stacks: ['edge'] }, reportDir: path.join(reports, 'edge-refresh-2s-to-1s') })),
    );
    console.log(`[e2e] edge change: ${report.requests.total} requests, ${report.successPercent} OK, by status ${JSON.stringify(report.requests.byStatus)}, by error ${JSON.stringify(report.requests.byErrorKind)}`);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(report.deployment.status).toBe('successful');
    // The restart gap only: connections refused/reset while no Traefik listens, and 404 from the
    // new Traefik before its first catalog load; no 502/503 (backends), no timeouts, and all of it
    // inside one short window around the swap.
    const { '404': notFound = 0, ...otherStatus } = report.requests.byStatus;
    expect(otherStatus).toEqual({});
    const { refused, reset, ...others } = report.requests.byErrorKind;
    expect(Object.values(others).every((n) => n === 0), JSON.stringify(report.requests.byErrorKind)).toBe(true);
    expect(refused + reset + notFound).toBe(report.requests.notOk);
    if (report.drops.length) {
      const span = report.drops.at(-1)!.scheduledMs - report.drops[0]!.scheduledMs;
      expect(span, 'the drops form one window around the Traefik swap').toBeLessThan(10_000);
    }
  });
});
