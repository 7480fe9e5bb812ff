/**
 * The run of `npm run experiments` (scripts/experiments.ts): for each experiment a fresh local
 * cluster, v1 of the experiment's config deployed through the kit (edge + app), then `runs`
 * rollouts v1→v2→… each measured by the verifier at a constant rate; the cluster goes down at the
 * end (and on Ctrl-C). Every run's report stays in `<out>/<experiment>/run-<n>/`, and the table is
 * rendered from every report present, so experiments measured by separate invocations (one per
 * lock, see docs/experiments.md) land in one table.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { request } from 'undici';
import { clusterDown, clusterUp } from '../cluster/index.ts';
import { deploy } from '../deploy/index.ts';
import { parseDurationMs } from '../config/duration.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { sleep, waitUntil } from '../lib/wait.ts';
import { toolPaths } from '../toolchain/index.ts';
import { verify } from '../verify/index.ts';
import { experimentRows, formatRuns, formatTable, formatVariants, runSummary, type ReportLike, type RunSummary } from './table.ts';
import { EXPERIMENT_IDS, experimentConfig, experimentEnv, type Experiment, type ExperimentId, type ExperimentPorts } from './variants.ts';

export const DEFAULTS = {
  runs:        3,
  /** the research log's rate */
  rate:        80,
  /** a port block of its own, away from the e2e tests' clusters */
  portBase:    23300,
  ports:       { entry: 18880, admin: 18882 } as ExperimentPorts,
  stateDir:    path.join(REPO_ROOT, '.zerodrop', 'experiments', 'cluster'),
  baselineS:   10,
  /** longer than the slowest routing window of the variants (15 s refresh + 2 s throttle), so every stale route is measured */
  tailS:       20,
  /** one run's hard bound */
  maxDurationS: 300,
  /** v1 deploy (edge + app), cdktf included */
  deployTimeoutMs: 10 * 60_000,
  /** after a deploy: until Traefik answers 200 for the host (a 15 s refresh needs up to ~17 s) */
  routableTimeoutMs: 90_000,
} as const;

export interface ExperimentsOptions {
  readonly experiments: readonly Experiment[];
  readonly runs: number;
  readonly rate: number;
  readonly outDir: string;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** Notes written by hand after reading the runs: `<out>/notes.json`, experiment id → sentence. */
export const NOTES_FILE = 'notes.json';

export function defaultOutDir(now = new Date()): string {
  return path.join(REPO_ROOT, 'docs', 'results', `${now.toISOString().slice(0, 10)}-experiments`);
}

const load1 = () => loadavg()[0] ?? 0;

/** GET / for the service's host through Traefik until it answers 200 three times in a row. */
async function waitRoutable(ports: ExperimentPorts, signal: AbortSignal): Promise<void> {
  let inARow = 0;
  let last = 'no answer yet';
  const routed = await waitUntil(async () => {
    try {
      const res = await request(`http://127.0.0.1:${ports.entry}/`, { headers: { host: 'web.localhost' }, signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
      await res.body.dump();
      last = `HTTP ${res.statusCode}`;
      inARow = res.statusCode === 200 ? inARow + 1 : 0;
    } catch (err) {
      last = (err as Error).message;
      inARow = 0;
    }
    return inARow >= 3;
  }, { timeoutMs: DEFAULTS.routableTimeoutMs, intervalMs: 500, signal });
  if (!routed && !signal.aborted) throw new Error(`Traefik on 127.0.0.1:${ports.entry} did not route web.localhost within ${DEFAULTS.routableTimeoutMs / 1000} s (last: ${last})`);
}

/** Writes the experiment's config file (app paths made absolute) and returns its path. */
async function writeExperimentConfig(experiment: Experiment, dir: string): Promise<string> {
  const base = parse(await readFile(path.join(REPO_ROOT, 'examples', 'local.yaml'), 'utf8'));
  const c = experimentConfig(base, experiment, DEFAULTS.ports);
  const svc = c.services[0];
  svc.driver.args = svc.driver.args.map((a: string) => (a.startsWith('../') ? path.resolve(REPO_ROOT, 'examples', a) : a));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${experiment.id}.yaml`);
  await writeFile(file, stringify(c));
  return file;
}

/** One experiment: fresh cluster, v1, `runs` measured rollouts, cluster down. */
async function runExperiment(experiment: Experiment, o: ExperimentsOptions): Promise<void> {
  const cluster = { stateDir: DEFAULTS.stateDir, portBase: DEFAULTS.portBase };
  const quietCluster = { ...cluster, log: () => undefined };
  const env = { ...process.env, ...experimentEnv(experiment) };
  const expDir = path.join(o.outDir, experiment.id);
  o.log(`[experiments] ${experiment.id}: ${experiment.title}`);
  await clusterDown(quietCluster);
  await rm(cluster.stateDir, { recursive: true, force: true });
  try {
    await clusterUp({ ...quietCluster, signal: o.signal });
    const config = await writeExperimentConfig(experiment, path.join(cluster.stateDir, 'configs'));
    const started = Date.now();
    await deploy({ cluster, quiet: true, version: 'v1', config, env, timeoutMs: DEFAULTS.deployTimeoutMs, signal: o.signal });
    o.log(`[experiments] ${experiment.id}: v1 deployed in ${Math.round((Date.now() - started) / 1000)} s`);
    await waitRoutable(DEFAULTS.ports, o.signal);
    // Runs measured before (a re-run of this experiment) are replaced, never mixed with these.
    await rm(expDir, { recursive: true, force: true });
    for (let run = 1; run <= o.runs && !o.signal.aborted; run++) {
      const version = `v${run + 1}`;
      const runDir = path.join(expDir, `run-${run}`);
      // Traefik polls its catalog on a fixed beat from its start, and each run takes about the same
      // time: back to back, every run would meet the poll at about the same phase (five 15 s polls
      // fit a 75 s run), so three runs would be one sample three times. A random pause of up to one
      // refresh interval makes each run meet the poll at its own phase.
      const pauseMs = Math.round(Math.random() * (parseDurationMs(experiment.knobs.refreshInterval) ?? 0));
      await sleep(pauseMs, o.signal);
      if (o.signal.aborted) break;
      const before = load1();
      const lines: string[] = [];
      const { report } = await verify({
        url: `http://127.0.0.1:${DEFAULTS.ports.entry}/`,
        host: 'web.localhost',
        rate: o.rate,
        baselineS: DEFAULTS.baselineS,
        tailS: DEFAULTS.tailS,
        maxDurationS: DEFAULTS.maxDurationS,
        // The experiments measure; they do not pass or fail.
        threshold: 0,
        expect: 'successful',
        reportDir: runDir,
        nomadAddr: `http://127.0.0.1:${cluster.portBase + 10}`,
        job: 'web',
        version,
        config,
        deployOptions: { cluster, quiet: true, env },
        signal: o.signal,
        log: (line) => lines.push(line),
      });
      await writeFile(path.join(runDir, 'verify.log'), `${lines.join('\n')}\n`);
      if (o.signal.aborted) {
        // An interrupted run measured part of a rollout: not a run of the table.
        await rm(runDir, { recursive: true, force: true });
        break;
      }
      const after = load1();
      await writeFile(path.join(runDir, 'meta.json'), `${JSON.stringify({ experiment: experiment.id, run, version, rate: o.rate, pauseBeforeMs: pauseMs, loadavg: { before, after } }, null, 2)}\n`);
      o.log(
        `[experiments] ${experiment.id} run ${run}/${o.runs} (${version}): ${report.requests.ok}/${report.requests.total} OK = ${report.successPercent}, ` +
          `by status ${JSON.stringify(report.requests.byStatus)}, deployment ${report.deployment.status}, paused ${(pauseMs / 1000).toFixed(1)} s before, load ${before.toFixed(2)} → ${after.toFixed(2)}`,
      );
      if (run < o.runs) await waitRoutable(DEFAULTS.ports, o.signal);
    }
  } finally {
    await clusterDown(quietCluster).catch((err: unknown) => o.log(`[experiments] cluster down failed: ${(err as Error).message}`));
  }
}

/** Runs the experiments one after another, then renders the table from every run in `outDir`. */
export async function runExperiments(o: ExperimentsOptions): Promise<string> {
  const tools = toolPaths();
  const missing = [tools.consul, tools.nomad, tools.traefik, tools.engine.bin].filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`not built: ${missing.join(', ')} — run \`npm run tools\` first`);
  await mkdir(o.outDir, { recursive: true });
  for (const experiment of o.experiments) {
    if (o.signal.aborted) break;
    await runExperiment(experiment, o);
  }
  return renderResults(o.outDir);
}

/** Every run under `outDir` (`<experiment>/run-<n>/report.json`, with its meta.json when present). */
export async function collectRuns(outDir: string): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  for (const id of EXPERIMENT_IDS) {
    const dir = path.join(outDir, id);
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries) {
      const m = /^run-(\d+)$/.exec(entry);
      const file = path.join(dir, entry, 'report.json');
      if (!m || !existsSync(file)) continue;
      const report = JSON.parse(await readFile(file, 'utf8')) as ReportLike;
      const meta = JSON.parse(await readFile(path.join(dir, entry, 'meta.json'), 'utf8').catch(() => '{}')) as { loadavg?: RunSummary['loadavg']; pauseBeforeMs?: number };
      runs.push(runSummary(id as ExperimentId, Number(m[1]), path.relative(outDir, file), report, meta.loadavg, meta.pauseBeforeMs));
    }
  }
  return runs;
}

/** experiments.json + table.md from every run present in `outDir`; returns the table. */
export async function renderResults(outDir: string): Promise<string> {
  const runs = await collectRuns(outDir);
  const notesFile = path.join(outDir, NOTES_FILE);
  const notes = existsSync(notesFile) ? (JSON.parse(await readFile(notesFile, 'utf8')) as Record<string, string>) : {};
  const rows = experimentRows(runs, notes);
  const table = formatTable(rows);
  await writeFile(path.join(outDir, 'experiments.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), rows, runs }, null, 2)}\n`);
  const md = [
    '# Experiments: the research log beside this kit',
    '',
    'Generated by `npm run experiments` from every run in this folder (`<exp>/run-<n>/report.json`). Percent = requests answered 200; counts are sums over the runs.',
    '',
    table,
    '',
    '## Variants',
    '',
    formatVariants(),
    '',
    '## Runs',
    '',
    formatRuns(runs),
    '',
  ].join('\n');
  await writeFile(path.join(outDir, 'table.md'), md);
  return table;
}
