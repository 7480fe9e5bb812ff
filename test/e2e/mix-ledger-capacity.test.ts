/**
 * The verifier on a real local cluster with a request mix with non-idempotent
 * POSTs through a canary rollout, checked against the reference app's ledger (every POST
 * answered 201 executed exactly once, none twice), with capacity polled from Consul: with the
 * default canary = count, routable instances never fall below count; the negative control
 * (canary 1 of 2) shows the dip to one instance after promotion, so the capacity check can fail.
 * Needs `npm run tools`.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { clusterEnv, readToken } from '../../cluster/index.ts';
import { verify } from '../../verify/index.ts';
import { mixFromFlags } from '../../verify/index.ts';
import { phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-mix-ledger'), portBase: 21700 };
// Its own entry point, so this file never shares a port with another cluster's Traefik.
const entry = { port: 18480, admin: 18482 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'mix-ledger-capacity');
const ledgerFile = path.join(cluster.stateDir, 'ledger', 'orders.jsonl');

describe('a request mix with POSTs through a real rollout: ledger and capacity', () => {
  // every allocation of the app appends the POSTs it executed to one ledger file
  const { v1Config, configWith } = useLocalCluster(cluster, entry, (c) => (c.services[0].env = { ...c.services[0].env, LEDGER_FILE: ledgerFile }));

  test('the POST mix through a rollout: none lost, none doubled, capacity recorded', async () => {
    const e = clusterEnv(cluster);
    const token = await readToken(e);
    const { report, exitCode } = await phase('verify with a POST mix', () => verify(
        verifyOn(cluster, entry, {
          reportDir: reports,
          nomadAddr: e.nomadAddr,
          config: v1Config,
          mix: mixFromFlags(['8 GET /', '2 POST /orders 201']),
          ledgerFile,
          consul: { address: e.consulAddr, service: 'web', ...(token ? { token } : {}) },
        }),
      ),
    );
    const l = report.ledger!;
    console.log(`[e2e] mix-ledger-capacity: ${report.successPercent} of ${report.requests.total}; ledger checked ${l.checked}, once ${l.exactlyOnce}, lost ${l.lost}, doubled ${l.doubled}, unknown ${l.unknown.total}; routable min ${report.capacity?.routable.min} max ${report.capacity?.routable.max}; answering max ${report.capacity?.answering.max}`);
    expect(report.verdict.reasons.join('\n')).toBeTruthy();
    expect(l.checked).toBeGreaterThan(100);
    expect(l.lost).toBe(0);
    expect(l.doubled).toBe(0);
    expect(report.mix.map((m) => m.name)).toEqual(['GET /', 'POST /orders']);
    expect(report.capacity?.routable.polls).toBeGreaterThan(20);
    // capacity kept (canary = count = 2): never fewer than count routable, in any second
    expect(report.capacity?.routable.min).toBeGreaterThanOrEqual(2);
    expect(report.capacity?.answering.max).toBeGreaterThanOrEqual(2);
    expect(report.deployments).toHaveLength(1);
    expect(report.deployment.jobVersion).toBeGreaterThanOrEqual(1);
    expect(report.verdict.pass, report.verdict.reasons.join('\n')).toBe(true);
    expect(exitCode).toBe(0);
  });

  test('negative control: canary 1 of count 2 lets routable instances fall to 1 after promotion', async () => {
    const e = clusterEnv(cluster);
    const token = await readToken(e);
    const config = await configWith('v3-canary-1', (c) => {
      c.services[0].canary = 1;
      c.services[0].env = { ...c.services[0].env, LEDGER_FILE: ledgerFile };
    });
    const { report } = await phase('verify canary 1 of 2', () =>
      verify(verifyOn(cluster, entry, { version: 'v3', reportDir: path.join(reports, 'canary-1'), nomadAddr: e.nomadAddr, config, consul: { address: e.consulAddr, service: 'web', ...(token ? { token } : {}) } })),
    );
    console.log(`[e2e] canary 1 of 2: routable min ${report.capacity?.routable.min} max ${report.capacity?.routable.max}; ${report.successPercent} of ${report.requests.total}`);
    expect(report.deployment.status).toBe('successful');
    expect(report.capacity?.routable.polls).toBeGreaterThan(20);
    expect(report.capacity?.routable.min).toBe(1);
  });
});
