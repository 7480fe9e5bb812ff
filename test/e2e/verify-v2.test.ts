/**
 * The verifier's second version on a real local cluster: a request mix with non-idempotent
 * POSTs through a canary rollout, checked against the reference app's ledger (every POST
 * answered 201 executed exactly once, none twice), with capacity polled from Consul.
 * Needs `npm run tools`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { clusterDown, clusterEnv, clusterUp, readToken } from '../../scripts/cluster.ts';
import { deploy } from '../../scripts/deploy.ts';
import { toolPaths } from '../../scripts/tools.ts';
import { verify } from '../../scripts/verify.ts';
import { mixFromFlags } from '../../scripts/verify/mix.ts';
import { phase } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-verify-v2'), portBase: 21700 };
// Its own entry point, so this file never shares a port with another cluster's Traefik.
const entry = { port: 18480, admin: 18482 };
const tools = toolPaths();
const reports = path.join(process.cwd(), 'reports', 'e2e', 'verify-v2');
const configDir = path.join(cluster.stateDir, 'configs');
const ledgerFile = path.join(cluster.stateDir, 'ledger', 'orders.jsonl');

/** examples/local.yaml with this file's ports and the ledger, written where its relative paths still resolve. */
async function config(): Promise<string> {
  const c = parse(await readFile('examples/local.yaml', 'utf8'));
  c.traefik.entryPoint.port = entry.port;
  c.traefik.adminPort = entry.admin;
  const svc = c.services[0];
  svc.driver.args = svc.driver.args.map((a: string) => (a.startsWith('../') ? path.resolve('examples', a) : a));
  svc.env = { ...svc.env, LEDGER_FILE: ledgerFile };
  const file = path.join(configDir, 'local.yaml');
  await writeFile(file, stringify(c));
  return file;
}

describe('verifier v2 through a real rollout', () => {
  let configFile = '';
  beforeAll(async () => {
    const missing = [tools.consul, tools.nomad, tools.traefik, tools.engine.bin].filter((f) => !existsSync(f));
    expect(missing, 'not built — run `npm run tools`').toEqual([]);
    await rm(cluster.stateDir, { recursive: true, force: true });
    await mkdir(configDir, { recursive: true });
    await phase('cluster up', () => clusterUp({ ...cluster, log: () => undefined }));
    configFile = await config();
    await phase('deploy edge + app v1', () => deploy({ cluster, quiet: true, version: 'v1', config: configFile }));
  });

  afterAll(async () => {
    await phase('cluster down', () => clusterDown({ ...cluster, log: () => undefined }));
  });

  test('the POST mix through a rollout: none lost, none doubled, capacity recorded', async () => {
    const e = clusterEnv(cluster);
    const token = await readToken(e);
    const { report, exitCode } = await phase('verify v2 with a POST mix', () => verify({
      url: `http://127.0.0.1:${entry.port}/`,
      host: 'web.localhost',
      rate: 100,
      baselineS: 10,
      tailS: 10,
      maxDurationS: 240,
      threshold: 1,
      expect: 'successful',
      reportDir: reports,
      nomadAddr: e.nomadAddr,
      job: 'web',
      version: 'v2',
      config: configFile,
      deployOptions: { cluster, quiet: true },
      mix: mixFromFlags(['8 GET /', '2 POST /orders 201']),
      ledgerFile,
      consul: { address: e.consulAddr, service: 'web', ...(token ? { token } : {}) },
      log: () => undefined,
    }));
    const l = report.ledger!;
    console.log(`[e2e] verify-v2: ${report.successPercent} of ${report.requests.total}; ledger checked ${l.checked}, once ${l.exactlyOnce}, lost ${l.lost}, doubled ${l.doubled}, unknown ${l.unknown.total}; routable min ${report.capacity?.routable.min} max ${report.capacity?.routable.max}; answering max ${report.capacity?.answering.max}`);
    expect(report.verdict.reasons.join('\n')).toBeTruthy();
    expect(l.checked).toBeGreaterThan(100);
    expect(l.lost).toBe(0);
    expect(l.doubled).toBe(0);
    expect(report.mix.map((m) => m.name)).toEqual(['GET /', 'POST /orders']);
    expect(report.capacity?.routable.polls).toBeGreaterThan(20);
    expect(report.capacity?.routable.min).toBeGreaterThanOrEqual(1);
    expect(report.capacity?.answering.max).toBeGreaterThanOrEqual(2);
    expect(report.deployments).toHaveLength(1);
    expect(report.deployment.jobVersion).toBeGreaterThanOrEqual(1);
    expect(report.verdict.pass, report.verdict.reasons.join('\n')).toBe(true);
    expect(exitCode).toBe(0);
  });
});
