import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, test } from 'vitest';
import { loadConfig, resolveConfig } from '../../config/index.ts';
import { canaryJob, traefikJob } from '../../jobs/index.ts';
import { timingConfigIssues, timingPlans } from '../../timing/model.ts';
import {
  EXPERIMENTS,
  experimentConfig,
  experimentEnv,
  experimentRows,
  formatRuns,
  formatTable,
  runSummary,
  selectExperiments,
  WARMUP_MS,
  type Experiment,
  type ReportLike,
} from '../../experiments/index.ts';
import { issuesOf } from './fixtures.ts';

const NS = 1_000_000_000;
const PORTS = { entry: 18880, admin: 18882 };
const ENV = { PATH: process.env.PATH, NOMAD_ADDR: 'http://127.0.0.1:23310', CONSUL_HTTP_ADDR: 'http://127.0.0.1:23300' };

/** examples/local.yaml turned into the experiment's config, with absolute commands (no PATH lookup in a unit test). */
function props(e: Experiment) {
  const c = experimentConfig(parse(readFileSync('examples/local.yaml', 'utf8')), e, PORTS);
  c.traefik.driver.command = '/opt/traefik/traefik';
  c.services[0].driver.command = process.execPath;
  return c;
}

/** What the experiment deploys: the app job and Traefik's static config, built as main.ts builds them under the experiment's env. */
function built(e: Experiment) {
  const config = resolveConfig(props(e), { env: ENV });
  const plan = timingPlans(config, { unsafeSkipChecks: e.unsafe }).get('web')!;
  const discovery = e.knobs.discovery;
  const job = canaryJob({ service: config.services[0]!, plan, config, discovery });
  const edge = traefikJob(config, { discovery });
  const group = job.TaskGroups[0]!;
  return { group, task: group.Tasks[0]!, service: group.Services![0]!, traefik: parse(edge.TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl) as any };
}

const byId = (id: string) => EXPERIMENTS.find((e) => e.id === id)!;

describe('experiment variants build the knobs the research log names', () => {
  test.each(EXPERIMENTS.map((e) => [e.id, e] as const))('%s', (_, e) => {
    const { group, task, service, traefik } = built(e);
    const k = e.knobs;
    // one instance, one canary, the log's synthetic warm-up
    expect(group.Count).toBe(1);
    expect(group.Update!.Canary).toBe(1);
    expect(task.Env!.WARMUP_MS).toBe(String(WARMUP_MS));
    // discovery: where the service registers and where Traefik reads it
    expect(service.Provider).toBe(k.discovery);
    const provider = k.discovery === 'nomad' ? traefik.providers.nomad : traefik.providers.consulCatalog;
    expect(provider).toMatchObject({ refreshInterval: k.refreshInterval });
    expect(Object.keys(traefik.providers).filter((p) => p !== 'providersThrottleDuration')).toEqual([k.discovery === 'nomad' ? 'nomad' : 'consulCatalog']);
    if (k.discovery === 'nomad') expect(traefik.providers.nomad.endpoint).toEqual({ address: ENV.NOMAD_ADDR });
    // Traefik's health-check and retry, from the service's tags
    expect((service.Tags ?? []).some((t) => /\.loadbalancer\.healthcheck\.path=\/readyz$/.test(t))).toBe(k.healthCheck);
    expect((service.Tags ?? []).some((t) => /\.retry\.attempts=4$/.test(t))).toBe(k.retryAttempts === 4);
    // the pinned shutdown durations
    expect(task.ShutdownDelay).toBe(parseInt(k.shutdownDelay) * NS);
    expect(task.Env!.DRAIN_GRACE_MS).toBe(String(parseInt(k.drainGrace) * 1000));
    if (k.killTimeout) expect(task.KillTimeout).toBe(parseInt(k.killTimeout) * NS);
  });

  test('E1 and E2 differ only in the health-check; E4 to E4d each change one knob of E4', () => {
    const diff = (a: string, b: string) => Object.entries(byId(b).knobs).filter(([key, v]) => (byId(a).knobs as any)[key] !== v).map(([key]) => key);
    expect(diff('E1', 'E2')).toEqual(['healthCheck']);
    expect(diff('E4', 'E4b')).toEqual(['shutdownDelay']);
    expect(diff('E4', 'E4c')).toEqual(['healthCheck']);
    expect(diff('E4', 'E4d')).toEqual(['drainGrace']);
    expect(diff('E1', 'E4')).toEqual(['discovery']);
  });
});

describe('the unsafe switch', () => {
  test.each(EXPERIMENTS.filter((e) => e.unsafe).map((e) => [e.id, e] as const))('%s is refused by a normal load and plan, and deploys only with ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1', (_, e) => {
    const issues = issuesOf(() => resolveConfig(props(e), { env: ENV, moreIssues: timingConfigIssues }));
    expect(issues.map((i) => i.rule).join('\n')).toMatch(/\[servable-window-covers-routing-window\]/);
    const config = resolveConfig(props(e), { env: ENV });
    expect(issuesOf(() => timingPlans(config)).length).toBeGreaterThan(0);
    expect(experimentEnv(e)).toMatchObject({ ZERODROP_UNSAFE_SKIP_TIMING_CHECKS: '1' });
  });

  test('E7 (the log’s zero-drop row) is a config the kit accepts as it is: no unsafe switch', () => {
    const e = byId('E7');
    expect(e.unsafe).toBe(false);
    expect(() => resolveConfig(props(e), { env: ENV, moreIssues: timingConfigIssues })).not.toThrow();
    expect(experimentEnv(e)).toEqual({});
  });

  test('Nomad service discovery needs its own switch, and only E1/E2 set it', () => {
    expect(EXPERIMENTS.filter((e) => experimentEnv(e).ZERODROP_UNSAFE_NOMAD_DISCOVERY === '1').map((e) => e.id)).toEqual(['E1', 'E2']);
  });

  test('a normal load of the kit still refuses examples/unsafe.yaml', () => {
    const issues = issuesOf(() => loadConfig('examples/unsafe.yaml', { env: ENV, moreIssues: timingConfigIssues }));
    expect(issues.map((i) => i.rule).join('\n')).toMatch(/\[servable-window-covers-routing-window\]/);
  });
});

describe('main.ts and ZERODROP_UNSAFE_NOMAD_DISCOVERY', () => {
  /** `npm run synth`'s program for real, on experiment E1's config. */
  function synth(env: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), 'zd-exp-synth-'));
    writeFileSync(join(dir, 'zerodrop.yaml'), stringify(props(byId('E1'))));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, CDKTF_OUTDIR: join(dir, 'out'), ZERODROP_CONFIG: join(dir, 'zerodrop.yaml'), NOMAD_ADDR: ENV.NOMAD_ADDR, CONSUL_HTTP_ADDR: ENV.CONSUL_HTTP_ADDR, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { ...run, outdir: join(dir, 'out') };
  }

  test('is refused without ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1, naming the variable and the fix', () => {
    const run = synth({ ZERODROP_UNSAFE_NOMAD_DISCOVERY: '1' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('$ZERODROP_UNSAFE_NOMAD_DISCOVERY');
    expect(run.stderr).toContain('set ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1 too');
  });

  test('with both switches, the app job registers with Nomad and Traefik reads Nomad', () => {
    const run = synth({ ZERODROP_UNSAFE_NOMAD_DISCOVERY: '1', ZERODROP_UNSAFE_SKIP_TIMING_CHECKS: '1' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('WARNING Nomad service discovery');
    const app = JSON.parse(readFileSync(join(run.outdir, 'stacks', 'app', 'cdk.tf.json'), 'utf8'));
    const jobspec = JSON.parse(Object.values<any>(app.resource.nomad_job)[0].jobspec);
    expect(jobspec.Job.TaskGroups[0].Services[0].Provider).toBe('nomad');
    const edge = JSON.parse(readFileSync(join(run.outdir, 'stacks', 'edge', 'cdk.tf.json'), 'utf8'));
    const traefik = JSON.parse(Object.values<any>(edge.resource.nomad_job)[0].jobspec);
    const staticYaml: string = traefik.Job.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl;
    expect(staticYaml).toMatch(/^ {2}nomad:$/m);
    expect(staticYaml).not.toContain('consulCatalog');
  });
});

describe('--only', () => {
  test('selects in the log’s order, case-insensitive, each once', () => {
    expect(selectExperiments('e7, E4b,E7').map((e) => e.id)).toEqual(['E4b', 'E7']);
    expect(selectExperiments(undefined).map((e) => e.id)).toEqual(['E1', 'E2', 'E4', 'E4b', 'E4c', 'E4d', 'E7']);
  });

  test('an unknown name is an error naming it and the accepted ones', () => {
    expect(() => selectExperiments('E4,E5')).toThrow('--only: unknown experiment "E5" — use one or more of E1, E2, E4, E4b, E4c, E4d, E7, comma-separated');
  });
});

describe('the table', () => {
  const report = (total: number, byStatus: Record<string, number>, p99 = 3): ReportLike => {
    const notOk = Object.values(byStatus).reduce((a, b) => a + b, 0);
    return { requests: { total, ok: total - notOk, notOk, byStatus }, latencyMs: { p99 }, deployment: { status: 'successful' }, measurement: { valid: true }, rate: { target: 80 } };
  };
  const runs = [
    runSummary('E4', 1, 'E4/run-1/report.json', report(4000, { '502': 100 })),
    runSummary('E4', 2, 'E4/run-2/report.json', report(4000, { '502': 60, '404': 2 })),
    runSummary('E1', 1, 'E1/run-1/report.json', report(4000, { '502': 500, '503': 500 })),
  ];

  test('mean and range of the runs, sums of 502/503/other, in the log’s order', () => {
    const rows = experimentRows(runs, { E4: 'same mechanism' });
    expect(rows.map((r) => r.id)).toEqual(['E1', 'E4']);
    expect(rows[1]).toMatchObject({ runs: 2, total: 8000, status502: 160, status503: 0, other: 2, minPercent: 97.5, maxPercent: 98.45, lostSecondsMean: 1.0125, note: 'same mechanism' });
    expect(rows[1]!.meanPercent).toBeCloseTo(97.975, 6);
    expect(rows[1]!.deltaPoints).toBeCloseTo(0.275, 6);
  });

  test('formats one line per experiment, the log’s figure beside ours', () => {
    expect(formatTable(experimentRows(runs, { E4: 'same mechanism' })).split('\n')).toEqual([
      "| exp | variant | research log's figure | ours: mean % (min–max) | runs | requests | 502 | 503 | other | lost s / run | ours − log (pp) | where they differ and why |",
      '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      '| E1 | Nomad service discovery, no Traefik health-check | ~77 % (503 to the warming canary, 502 after the old one stops) | **75.00** (75.00–75.00) | 1 | 4 000 | 500 | 500 | 0 | 12.5 | −2.00 | (not yet written) |',
      '| E4 | Consul service discovery (health-gated catalog) | 97.7 % (0 × 503; 502 from deregister lag) | **97.97** (97.50–98.45) | 2 | 8 000 | 160 | 0 | 2 | 1.0 | +0.27 | same mechanism |',
    ]);
  });

  test('the runs table shows each run with its pause and load average, in the log’s order', () => {
    const withPause = [runSummary('E4', 1, 'E4/run-1/report.json', report(4000, { '502': 100 }), { before: 0.5, after: 1.25 }, 7400), runs[2]!];
    expect(formatRuns(withPause).split('\n').slice(2)).toEqual([
      '| E1 | 1 | 4 000 | 75.00 | 500 | 500 | 0 | 12.5 | 3.0 | successful | yes | – | – |',
      '| E4 | 1 | 4 000 | 97.50 | 100 | 0 | 0 | 1.3 | 3.0 | successful | yes | 7.4 s | 0.50 / 1.25 |',
    ]);
  });
});
