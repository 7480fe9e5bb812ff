/**
 * The shape of a verify report (report.json, schemaVersion 2) and of what it is made from: data
 * only, so report.ts (which builds it) and timeline.ts (which draws it) both read it without
 * importing each other.
 */
import type { MixSummary, TargetSummary } from './breakdown.ts';
import type { CapacitySummary } from './capacity.ts';
import type { LedgerComparison } from './ledger.ts';
import type { MixEntry } from './mix.ts';
import type { FollowedDeployment } from './nomad-watch.ts';
import type { DeployEvent, ErrorKind, RequestRecord } from './types.ts';

export type Phase = 'baseline' | 'deploy' | 'tail';
export const PHASES: readonly Phase[] = ['baseline', 'deploy', 'tail'];

/** Per-second outcome classes, in drawing order (OK first, then the drops). */
export const OUTCOME_CLASSES = ['ok', 'http5xx', 'httpOther', 'refused', 'reset', 'timeout', 'dns', 'other'] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

/**
 * How the deployments the run follows should end: 'successful', 'failed' (a negative control), or
 * 'none' — the deploy command changes no version of the job (a node drain, an agent restart).
 */
export const VERIFY_EXPECTS = ['successful', 'failed', 'none'] as const;
export type VerifyExpect = (typeof VERIFY_EXPECTS)[number];

export interface SummarizeInput {
  records: readonly RequestRecord[];
  events: readonly DeployEvent[];
  rate: { target: number; achieved: number };
  sendLagMs: { p50: number; p99: number; max: number };
  /** False when the load generator could not keep its schedule (or was aborted). */
  valid: boolean;
  invalidReason?: string;
  /** The deployment as the watcher saw it: 'successful', 'failed', 'timeout', ...; kind 'rolling' for a system job on Nomad before 1.11 (no deployment) */
  deployment: { status: string; id?: string; jobVersion?: number; kind?: 'deployment' | 'rolling' };
  /** The Nomad and Consul versions the cluster ran, as its nodes report them. @default - not known */
  servers?: { nomad: string[]; consul: string[] };
  /** Phase boundaries in ms since load start; deployEndMs null when the deploy never ended. */
  phases: { baselineEndMs: number; deployEndMs: number | null };
  /** The deployment outcome this run must see ('failed' for a deliberately broken version). */
  expect: VerifyExpect;
  /** Minimum success ratio, 0..1 (1 = every request OK). */
  threshold: number;
  target: { url: string; host?: string };
  /** Epoch ms of load start. */
  startedAt: number;
  /** All target URLs, round robin (record.target indexes it). @default - [target.url] */
  urls?: readonly string[];
  /** The request mix (record.mix indexes it). @default - GET the URL, expecting 200 */
  mix?: readonly MixEntry[];
  /** Every deployment the watcher followed, in creation order. */
  deployments?: readonly FollowedDeployment[];
  /** The idempotency check; absent when no ledger was read. Doubled or lost ones fail the verdict. */
  ledger?: LedgerComparison & { file: string };
  /** Capacity per second; absent when not measured. */
  capacity?: CapacitySummary;
}

export interface LatencyStats {
  /** OK responses the numbers are computed from. */
  count: number;
  /** Milliseconds, µs precision; null when there was no OK response. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface PhaseSummary {
  fromMs: number;
  /** null for an open end (a deploy that never ended). */
  toMs: number | null;
  total: number;
  ok: number;
  notOk: number;
}

export interface Drop {
  seq: number;
  scheduledMs: number;
  sentMs: number;
  status: number | null;
  errorKind: ErrorKind | null;
  errorCode?: string;
  latencyMs: number;
  version: string | null;
}

export interface VerdictCheck {
  name: 'measurement' | 'success-ratio' | 'deployment' | 'ledger';
  pass: boolean;
  detail: string;
}

export interface Report {
  schemaVersion: 2;
  /** ISO 8601 time of load start. */
  startedAt: string;
  startedAtEpochMs: number;
  target: { url: string; host?: string };
  /** Schedule length the records cover: last scheduledMs + one interval. */
  durationMs: number;
  requests: {
    total: number;
    ok: number;
    notOk: number;
    /** Non-OK responses by HTTP status (keys sorted numerically). */
    byStatus: Record<string, number>;
    /** Transport errors by kind; every kind is present. */
    byErrorKind: Record<ErrorKind, number>;
  };
  /** ok / total, 0 when nothing was recorded. */
  successRatio: number;
  /** successRatio in percent to 3 decimals, rounded down so a single drop never shows 100.000 %. */
  successPercent: string;
  threshold: number;
  /** Latency of OK responses (drops carry their own latency in `drops`), overall and per phase. */
  latencyMs: LatencyStats & Record<Phase, LatencyStats>;
  rate: { target: number; achieved: number };
  sendLagMs: { p50: number; p99: number; max: number };
  measurement: { valid: boolean; invalidReason?: string };
  phases: Record<Phase, PhaseSummary>;
  /** Per-second outcome counts, second = floor(scheduledMs / 1000), dense from 0. */
  outcomes: { bySecond: Array<{ second: number; total: number } & Record<OutcomeClass, number>> };
  /** Per-second counts of the x-app-version header, dense from 0; `names` in first-seen order. */
  versions: { names: string[]; bySecond: Array<{ second: number; counts: Record<string, number> }> };
  events: DeployEvent[];
  /** Every non-OK request, in seq order. */
  drops: Drop[];
  deployment: { status: string; expected: VerifyExpect; id?: string; jobVersion?: number; kind?: 'deployment' | 'rolling' };
  /** The Nomad and Consul versions the run ran on; null when they could not be read. */
  servers: { nomad: string[]; consul: string[] } | null;
  /** Every deployment followed during the run, in creation order. */
  deployments: FollowedDeployment[];
  /** Per request-mix entry. */
  mix: MixSummary[];
  /** Per target URL (round robin). */
  targets: TargetSummary[];
  /** Non-idempotent requests against the app's ledger; null when not checked. */
  ledger: (LedgerComparison & { file: string }) | null;
  /** Routable (Consul passing) and answering instances per second; null when not measured. */
  capacity: CapacitySummary | null;
  verdict: {
    pass: boolean;
    /** On a fail, why (the failed checks); on a pass, what was proven (all checks). */
    reasons: string[];
    checks: VerdictCheck[];
  };
}
