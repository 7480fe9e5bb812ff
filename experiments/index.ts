/**
 * `npm run experiments`: the research log's experiments (variants.ts) run on a local cluster
 * through the kit's deploy and the verifier (run.ts), and the table beside the log's figures (table.ts).
 */
export { collectRuns, defaultOutDir, DEFAULTS, NOTES_FILE, renderResults, runExperiments, type ExperimentsOptions } from './run.ts';
export { experimentRows, formatRuns, formatTable, formatVariants, runSummary, type ExperimentRow, type ReportLike, type RunSummary } from './table.ts';
export { EXPERIMENT_IDS, EXPERIMENTS, experimentById, experimentConfig, experimentEnv, knobsText, selectExperiments, WARMUP_MS, type Experiment, type ExperimentId, type ExperimentKnobs } from './variants.ts';
