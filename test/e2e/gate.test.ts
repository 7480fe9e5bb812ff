/**
 * The promotion gate on a real local cluster, under load: a gated service (auto_promote = false,
 * canary_tags with the canary's own header route) rolls out v1 → v2, and the gate promotes only
 * after Traefik reported the canary UP, the smoke requests passed through the canary route and the
 * analysis of Traefik's metrics held; then a canary that passes /readyz but answers 500 on a smoke
 * route (FAULT=smoke-500) is failed by the gate and Nomad reverts. Both with 0 drops for users.
 * Needs `npm run tools`.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { verify, type VerifyOptions } from '../../verify/index.ts';
import { phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-gate'), portBase: 22100 };
const entry = { port: 18580, admin: 18582 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'gate');

/** examples/local.yaml, gated, for `version`; `env` goes into the task env (FAULT). */
const gated = (version: string, env: Record<string, string> = {}, deadline?: string) => (c: any) => {
  const svc = c.services[0];
  svc.version = version;
  svc.env = env;
  svc.promotion = 'gated';
  svc.gate = {
    smoke: [
      // the version header proves the smoke request reached the canary, not a stable instance
      { path: '/', expectStatus: 200, expectHeader: { 'x-app-version': version } },
      { path: '/checkout', expectStatus: 200 },
    ],
    analysis: { window: '15s', minRequests: 50, maxErrorRatio: 0.01, maxP99Ratio: 5, rate: 10 },
    ...(deadline ? { deadline } : {}),
  };
};

const base = (over: Partial<VerifyOptions>) =>
  verifyOn(cluster, entry, {
    reportDir: reports,
    maxDurationS: 300,
    log: (l) => (l.includes('gate') || l.includes('promoted') || l.includes('failed') ? console.log(l) : undefined),
    ...over,
  });

describe('promotion gate under load', () => {
  // a new job has no canary: v1 is deployed gated without a gate run
  const { configWith } = useLocalCluster(cluster, entry, gated('v1'));
  const gatedConfig = (version: string, env: Record<string, string> = {}, deadline?: string) => configWith(version, gated(version, env, deadline));

  test('a good canary is promoted by the gate after smoke and analysis, 0 drops', async () => {
    const config = await gatedConfig('v2');
    const { report, exitCode } = await phase('verify gated v1 → v2', () => verify(base({ version: 'v2', config, reportDir: path.join(reports, 'promoted') })));
    const gate = report.events.find((e) => e.kind.startsWith('gate-'));
    expect(gate?.kind, JSON.stringify(report.events)).toBe('gate-promoted');
    expect(gate!.detail).toMatch(/smoke 2\/2 passed; analysis passed/);
    expect(report.measurement.valid, report.measurement.invalidReason).toBe(true);
    expect(report.requests.notOk, JSON.stringify(report.requests.byStatus)).toBe(0);
    expect(report.deployment.status).toBe('successful');
    expect(Object.keys(report.versions.bySecond.at(-1)!.counts)).toEqual(['v2']);
    expect(exitCode).toBe(0);
  });

  test('a canary that answers 500 on a smoke route is failed by the gate and reverted, 0 drops', async () => {
    const config = await gatedConfig('v3', { FAULT: 'smoke-500' });
    const { report, exitCode } = await phase('verify gated v2 → v3 (smoke-500)', () =>
      verify(base({ version: 'v3', config, expect: 'failed', reportDir: path.join(reports, 'smoke-500') })),
    );
    const gate = report.events.find((e) => e.kind.startsWith('gate-'));
    expect(gate?.kind, JSON.stringify(report.events)).toBe('gate-failed');
    expect(gate!.detail).toMatch(/smoke failed: GET \/checkout: status 500, expected 200/);
    expect(report.deployment.status).toBe('failed');
    expect(report.events.some((e) => e.kind === 'reverted')).toBe(true);
    expect(report.requests.notOk, JSON.stringify(report.requests.byStatus)).toBe(0);
    expect(exitCode).toBe(0);
  });

  test('a canary 10× slower than the stable instances under load is failed by the analysis and reverted, 0 drops', async () => {
    const config = await gatedConfig('v4', { FAULT: 'slow' });
    const { report, exitCode } = await phase('verify gated v2 → v4 (slow)', () => verify(base({ version: 'v4', config, expect: 'failed', reportDir: path.join(reports, 'slow') })));
    const gate = report.events.find((e) => e.kind.startsWith('gate-'));
    expect(gate?.kind, JSON.stringify(report.events)).toBe('gate-failed');
    // the smoke requests pass (slow answers are still 200): the analysis is what stops it
    expect(gate!.detail).toMatch(/analysis fail: canary p99 [\d.]+ ms = [\d.]+ × stable p99/);
    expect(report.deployment.status).toBe('failed');
    expect(report.events.some((e) => e.kind === 'reverted')).toBe(true);
    expect(report.requests.notOk, JSON.stringify(report.requests.byStatus)).toBe(0);
    expect(exitCode).toBe(0);
  });

  test('a canary whose /readyz is only on the internal port is never promoted: Traefik never sees it UP', async () => {
    // The gate can only wait this one out: a pinned deadline near the shortest the kit accepts
    // (healthy_deadline + routing window + analysis window + margin = 38 s) instead of the derived 68 s.
    const config = await gatedConfig('v5', { FAULT: 'readyz-internal-only' }, '40s');
    const { report, exitCode } = await phase('verify gated v2 → v5 (readyz-internal-only)', () =>
      verify(base({ version: 'v5', config, expect: 'failed', reportDir: path.join(reports, 'readyz-internal-only') })),
    );
    const gate = report.events.find((e) => e.kind.startsWith('gate-'));
    expect(gate?.kind, JSON.stringify(report.events)).toBe('gate-failed');
    expect(gate!.detail).toMatch(/while still waiting for Traefik to report every canary server UP/);
    expect(report.events.some((e) => e.kind === 'promoted')).toBe(false);
    expect(report.deployment.status).toBe('failed');
    expect(report.requests.notOk, JSON.stringify(report.requests.byStatus)).toBe(0);
    expect(exitCode).toBe(0);
  });
});
