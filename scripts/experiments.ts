#!/usr/bin/env tsx
/**
 * `npm run experiments -- [--runs N] [--only E4b,E7] [--rate 80] [--out DIR] [--table-only]`:
 * the research log's experiments on a local cluster (experiments/), each rollout measured by the
 * verifier; writes table.md and experiments.json in DIR from every run there. Not a CI step (about
 * five minutes per experiment). Exit 0 when the table was written, 1 on a failure, 2 on bad flags,
 * 130 when interrupted (the cluster it started is stopped).
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULTS, defaultOutDir, renderResults, runExperiments, selectExperiments } from '../experiments/index.ts';
import { abortOnInterrupt } from '../lib/interrupt.ts';

export async function main(argv = process.argv): Promise<number> {
  const c = new Command('experiments')
    .addOption(new Option('--runs <n>', 'measured rollouts per experiment').default(DEFAULTS.runs).argParser(Number))
    .addOption(new Option('--only <ids>', 'comma-separated experiments, e.g. E4b,E7 (default: all)'))
    .addOption(new Option('--rate <n>', 'requests per second').default(DEFAULTS.rate).argParser(Number))
    .addOption(new Option('--out <dir>', 'results folder (runs already in it stay and join the table)').default(defaultOutDir(), 'docs/results/<UTC date>-experiments'))
    .addOption(new Option('--table-only', 'render table.md and experiments.json from the runs in --out, run nothing'))
    .parse(argv);
  const f = c.opts<{ runs: number; only?: string; rate: number; out: string; tableOnly?: boolean }>();
  const problems = [
    ...(Number.isInteger(f.runs) && f.runs >= 1 && f.runs <= 20 ? [] : [`--runs: ${JSON.stringify(String(f.runs))} — must be an integer from 1 to 20`]),
    ...(Number.isFinite(f.rate) && f.rate > 0 && f.rate <= 1000 ? [] : [`--rate: ${JSON.stringify(String(f.rate))} — must be a number of requests per second above 0, at most 1000`]),
  ];
  let experiments;
  try {
    experiments = selectExperiments(f.only);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length || !experiments) {
    console.error(problems.join('\n'));
    return 2;
  }
  const outDir = path.resolve(f.out);
  try {
    if (f.tableOnly) {
      console.log(await renderResults(outDir));
      return 0;
    }
    const ac = new AbortController();
    const offSigint = abortOnInterrupt(ac, { first: '[experiments] interrupted: stopping the run and the cluster it started' });
    try {
      const table = await runExperiments({ experiments, runs: f.runs, rate: f.rate, outDir, signal: ac.signal, log: (l) => console.log(l) });
      console.log(`\n${table}\n\n[experiments] ${path.relative(process.cwd(), path.join(outDir, 'table.md'))}`);
      return ac.signal.aborted ? 130 : 0;
    } finally {
      offSigint();
    }
  } catch (err) {
    console.error(`[experiments] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
