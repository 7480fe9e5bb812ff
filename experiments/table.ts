/**
 * The results table of `npm run experiments`: per experiment the research log's figure beside
 * ours (mean and range of the runs), the 502/503 split and a sentence where they differ. Pure:
 * built from the verifier's reports, whatever runs are present.
 */
import { EXPERIMENTS, knobsText, type Experiment, type ExperimentId } from './variants.ts';

/** What the table reads of one verifier report.json (verify/report.ts). */
export interface ReportLike {
  readonly requests: { readonly total: number; readonly ok: number; readonly notOk: number; readonly byStatus: Readonly<Record<string, number>> };
  readonly latencyMs: { readonly p99: number | null };
  readonly deployment: { readonly status: string };
  readonly measurement: { readonly valid: boolean; readonly invalidReason?: string };
  readonly rate: { readonly target: number };
  readonly startedAt?: string;
}

/** One run of one experiment, as the table and experiments.json keep it. */
export interface RunSummary {
  readonly experiment: ExperimentId;
  readonly run: number;
  /** report.json of the run, relative to the output dir */
  readonly report: string;
  readonly startedAt?: string;
  readonly total: number;
  readonly ok: number;
  readonly successPercent: number;
  readonly status502: number;
  readonly status503: number;
  /** every other failure: other statuses and transport errors */
  readonly other: number;
  /**
   * Failed requests ÷ rate: seconds of a full outage that would fail as many. Unlike the percentage
   * it does not depend on how long the baseline and tail around the rollout were.
   */
  readonly lostSeconds: number;
  readonly p99Ms: number | null;
  readonly deployment: string;
  readonly valid: boolean;
  /** 1-minute load average before and after the run, when recorded */
  readonly loadavg?: { readonly before: number; readonly after: number };
  /** the random pause before the run (up to one Traefik refresh interval), when there was one */
  readonly pauseBeforeMs?: number;
}

export function runSummary(experiment: ExperimentId, run: number, reportPath: string, r: ReportLike, loadavg?: RunSummary['loadavg'], pauseBeforeMs?: number): RunSummary {
  const s502 = r.requests.byStatus['502'] ?? 0;
  const s503 = r.requests.byStatus['503'] ?? 0;
  return {
    experiment,
    run,
    report: reportPath,
    ...(r.startedAt ? { startedAt: r.startedAt } : {}),
    total: r.requests.total,
    ok: r.requests.ok,
    successPercent: r.requests.total > 0 ? (100 * r.requests.ok) / r.requests.total : 0,
    status502: s502,
    status503: s503,
    other: r.requests.notOk - s502 - s503,
    lostSeconds: r.rate.target > 0 ? r.requests.notOk / r.rate.target : 0,
    p99Ms: r.latencyMs.p99,
    deployment: r.deployment.status,
    valid: r.measurement.valid,
    ...(loadavg ? { loadavg } : {}),
    ...(pauseBeforeMs !== undefined ? { pauseBeforeMs } : {}),
  };
}

export interface ExperimentRow {
  readonly id: ExperimentId;
  readonly title: string;
  readonly knobs: string;
  readonly unsafe: boolean;
  readonly logPercent: number;
  readonly logText: string;
  readonly runs: number;
  /** runs whose measurement the verifier marked invalid, or whose deployment did not succeed */
  readonly flaggedRuns: number;
  readonly meanPercent: number | null;
  readonly minPercent: number | null;
  readonly maxPercent: number | null;
  /** sums over the runs */
  readonly total: number;
  readonly status502: number;
  readonly status503: number;
  readonly other: number;
  /** mean of the runs' `lostSeconds` */
  readonly lostSecondsMean: number | null;
  /** mean of the runs' p99 of OK responses */
  readonly p99MeanMs: number | null;
  /** percentage points, ours minus the log's */
  readonly deltaPoints: number | null;
  /** Where ours and the log's differ and why: written after reading the runs (notes.json). */
  readonly note: string;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** One row per experiment that has runs (all of them when `all`), in the log's order. */
export function experimentRows(runs: readonly RunSummary[], notes: Readonly<Record<string, string>> = {}, experiments: readonly Experiment[] = EXPERIMENTS): ExperimentRow[] {
  return experiments
    .map((e) => {
      const mine = runs.filter((r) => r.experiment === e.id).sort((a, b) => a.run - b.run);
      const pct = mine.map((r) => r.successPercent);
      const m = mean(pct);
      const p99s = mine.map((r) => r.p99Ms).filter((x): x is number => x !== null);
      return {
        id: e.id,
        title: e.title,
        knobs: knobsText(e.knobs),
        unsafe: e.unsafe,
        logPercent: e.logPercent,
        logText: e.logText,
        runs: mine.length,
        flaggedRuns: mine.filter((r) => !r.valid || r.deployment !== 'successful').length,
        meanPercent: m,
        minPercent: pct.length ? Math.min(...pct) : null,
        maxPercent: pct.length ? Math.max(...pct) : null,
        total: mine.reduce((a, r) => a + r.total, 0),
        status502: mine.reduce((a, r) => a + r.status502, 0),
        status503: mine.reduce((a, r) => a + r.status503, 0),
        other: mine.reduce((a, r) => a + r.other, 0),
        lostSecondsMean: mean(mine.map((r) => r.lostSeconds)),
        p99MeanMs: mean(p99s),
        deltaPoints: m === null ? null : m - e.logPercent,
        note: notes[e.id] ?? '',
      };
    })
    .filter((row) => row.runs > 0);
}

const pct = (x: number | null) => (x === null ? '–' : x.toFixed(2));
const int = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
/** `|` inside a cell would end it. */
const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The markdown table: the log's figure beside ours, the 502/503 split, the note. */
export function formatTable(rows: readonly ExperimentRow[]): string {
  const head = ['exp', 'variant', "research log's figure", 'ours: mean % (min–max)', 'runs', 'requests', '502', '503', 'other', 'lost s / run', 'ours − log (pp)', 'where they differ and why'];
  const lines = [`| ${head.join(' | ')} |`, `|${['---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---'].join('|')}|`];
  for (const r of rows) {
    const runs = r.flaggedRuns ? `${r.runs} (${r.flaggedRuns} flagged)` : String(r.runs);
    const delta = r.deltaPoints === null ? '–' : `${r.deltaPoints >= 0 ? '+' : '−'}${Math.abs(r.deltaPoints).toFixed(2)}`;
    lines.push(
      `| ${[
        r.id,
        cell(r.title),
        cell(r.logText),
        `**${pct(r.meanPercent)}** (${pct(r.minPercent)}–${pct(r.maxPercent)})`,
        runs,
        int(r.total),
        int(r.status502),
        int(r.status503),
        int(r.other),
        r.lostSecondsMean === null ? '–' : r.lostSecondsMean.toFixed(1),
        delta,
        cell(r.note || '(not yet written)'),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** The variants as run: each knob, and whether the deploy needed the unsafe switch. */
export function formatVariants(experiments: readonly Experiment[] = EXPERIMENTS): string {
  const lines = ['| exp | knobs | deploys with |', '|---|---|---|'];
  for (const e of experiments) {
    const env = [e.unsafe ? 'ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1' : 'nothing (the kit accepts it)', ...(e.knobs.discovery === 'nomad' ? ['ZERODROP_UNSAFE_NOMAD_DISCOVERY=1'] : [])].join(' + ');
    lines.push(`| ${e.id} | ${cell(knobsText(e.knobs))} | ${env} |`);
  }
  return lines.join('\n');
}

/** Each run on one line: the raw numbers behind the table. */
export function formatRuns(runs: readonly RunSummary[]): string {
  const lines = ['| exp | run | requests | OK % | 502 | 503 | other | lost s | p99 ms | deployment | valid | pause before | load avg before/after |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|'];
  for (const r of [...runs].sort((a, b) => EXPERIMENTS.findIndex((e) => e.id === a.experiment) - EXPERIMENTS.findIndex((e) => e.id === b.experiment) || a.run - b.run)) {
    lines.push(
      `| ${r.experiment} | ${r.run} | ${int(r.total)} | ${r.successPercent.toFixed(2)} | ${r.status502} | ${r.status503} | ${r.other} | ${r.lostSeconds.toFixed(1)} | ${r.p99Ms === null ? '–' : r.p99Ms.toFixed(1)} | ${r.deployment} | ${r.valid ? 'yes' : 'no'} | ${r.pauseBeforeMs === undefined ? '–' : `${(r.pauseBeforeMs / 1000).toFixed(1)} s`} | ${r.loadavg ? `${r.loadavg.before.toFixed(2)} / ${r.loadavg.after.toFixed(2)}` : '–'} |`,
    );
  }
  return lines.join('\n');
}
