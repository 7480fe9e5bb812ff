/**
 * A change to the edge stack (Traefik's own config) under load on a real local cluster with ONE
 * Traefik: the Traefik system job rolls (one node at a time, /ping-gated), the old Traefik keeps
 * accepting for `traefik.acceptGrace` with /ping answering 503, then stops; the new one starts on
 * the same reserved ports. With a single Traefik and no front load balancer nothing covers the gap
 * between the old one closing its listener and the new one opening it: this test measures that
 * gap honestly (connections refused while no Traefik listens, then 404 from the new Traefik until
 * its first catalog load), asserts nothing else drops, and that the rollout completes.
 * Needs `npm run tools`.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { verify } from '../../verify/index.ts';
import { phase, useLocalCluster, verifyOn } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-edge-change'), portBase: 21300 };
const entry = { port: 18380, admin: 18382 };
const reports = path.join(process.cwd(), 'reports', 'e2e', 'edge-change');

describe('an edge change under load (one Traefik)', () => {
  const { configWith } = useLocalCluster(cluster, entry);

  test('Traefik rolls to a new config and the deployment succeeds; the only drops are the restart gap', async () => {
    const changed = await configWith('edge-refresh-1s', (c) => (c.traefik.discovery.refreshInterval = '1s'));
    const { report } = await phase('verify edge change', () =>
      verify(
        verifyOn(cluster, entry, {
          reportDir: path.join(reports, 'refresh-2s-to-1s'),
          job: 'traefik',
          version: 'v1',
          config: changed,
          deployOptions: { cluster, quiet: true, stacks: ['edge'] },
        }),
      ),
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
