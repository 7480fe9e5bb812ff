/**
 * The promotion gate: decision table (decision.ts), smoke evaluation (smoke.ts), Prometheus parsing
 * (prometheus.ts) and canary-vs-stable analysis (analysis.ts), all pure; the runner that follows a
 * deployment and promotes or fails it (run.ts); and `gateJob`, the gate of one service of a config file.
 */
export { gateJob, type GateRunOptions } from './job.ts';
export { runGate, traefikUrls, type GateRecord } from './run.ts';
