/**
 * The verifier: open-model load (load.ts, mix.ts), the Nomad deployment watch (nomad-watch.ts),
 * Consul capacity (capacity.ts), the idempotency ledger (ledger.ts), the report and timeline
 * (report.ts, breakdown.ts, timeline.ts), the run that ties them to a rollout (run.ts, targets.ts;
 * --deploy-cmd in its own process group: deploy-cmd.ts), and the verifier's own limit (bench.ts).
 */
export { benchTable, runBench } from './bench.ts';
export { deployCmdExitDetail, runDeployCmd, type DeployCmdResult } from './deploy-cmd.ts';
export { DEFAULT_MIX, mixFromFile, mixFromFlags, type MixEntry } from './mix.ts';
export { DEFAULTS, verify, type VerifyOptions, type VerifyResult } from './run.ts';
export { consulTarget, flagProblems, nomadTarget, optionsFromFlags, type VerifyFlags } from './targets.ts';
export { VERIFY_EXPECTS, type VerifyExpect } from './report-shape.ts';
