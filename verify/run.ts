/**
 * The verifier's run (`npm run verify`, scripts/verify.ts): constant-rate load through Traefik during a real canary
 * deploy; every request that did not get its normal answer is reported.
 *
 *   baseline (load only) → deploy (the kit's app stack with a new version, or --deploy-cmd)
 *   while the Nomad deployment is followed → tail (load only) → report.
 *
 * Exit 0 only when the success ratio ≥ --threshold, the measurement is valid and the
 * deployment ended as --expect says. Ctrl-C stops everything, writes what it has, exits 130.
 */
import { mkdir } from 'node:fs/promises';
import { readLedger } from '../app/ledger.ts';
import { deploy, type DeployOptions } from '../deploy/index.ts';
import type { GateRecord } from '../gate/index.ts';
import { jobVersion, serverVersions } from '../lib/nomad.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { sleep } from '../lib/wait.ts';
import { capacityBySecond, pollConsulCapacity, type CapacitySample } from './capacity.ts';
import { deployCmdExitDetail, runDeployCmd } from './deploy-cmd.ts';
import { compareLedger } from './ledger.ts';
import { runLoad } from './load.ts';
import { DEFAULT_MIX, type MixEntry } from './mix.ts';
import { watchDeployment, type WatchResult } from './nomad-watch.ts';
import { consoleSummary, summarize, writeReport, type Report } from './report.ts';
import type { DeployEvent } from './types.ts';
import type { VerifyExpect } from './report-shape.ts';


export const DEFAULTS = {
  url:          'http://127.0.0.1:18080/',
  host:         'web.localhost',
  rate:         100,
  baselineS:    10,
  tailS:        10,
  maxDurationS: 300,
  threshold:    1.0,
  expect:       'successful' as VerifyExpect,
  job:          'web',
  version:      'v2',
  timeoutMs:    2000,
} as const;

export interface VerifyOptions {
  url: string;
  /** More targets, round robin with `url` (several Traefik instances). */
  moreUrls?: readonly string[];
  /** Per request. @default 2000 */
  timeoutMs?: number;
  /** Weighted request mix. @default - GET `url`, expecting 200 */
  mix?: readonly MixEntry[];
  /** The app's LEDGER_FILE: checked after the run, every POST/PATCH against it. @default - not checked */
  ledgerFile?: string;
  /** Consul to poll for routable instances once per second. @default - capacity from answering instances only */
  consul?: { address: string; token?: string; service: string };
  host?: string;
  rate: number;
  baselineS: number;
  tailS: number;
  maxDurationS: number;
  threshold: number;
  expect: VerifyExpect;
  reportDir: string;
  nomadAddr: string;
  nomadToken?: string;
  job: string;
  version: string;
  config?: string;
  /** Shell command that deploys; @default - the kit's app stack with `version` */
  deployCmd?: string;
  /** Passed to the kit's deploy: which local cluster, extra env (ZERODROP_UNSAFE_SKIP_TIMING_CHECKS for the negative control), which stacks (@default ['app']). */
  deployOptions?: Partial<DeployOptions>;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * Sees each deployment event as the watch emits it, with a function that puts an event of the
   * caller's own on the report's timeline (same clock), now or later in the run: the fault matrix
   * (test/e2e/faults.test.ts) injects its faults on these events and records them. @default - none
   */
  onEvent?: (e: DeployEvent, addEvent: (kind: string, detail?: string) => void) => void;
}

export interface VerifyResult {
  report: Report;
  files: { json: string; md: string; svg: string };
  exitCode: number;
}

export async function verify(o: VerifyOptions): Promise<VerifyResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const nomad = { address: o.nomadAddr, ...(o.nomadToken ? { token: o.nomadToken } : {}) };
  const baselineVersion = await jobVersion(nomad, o.job, o.signal);
  if (baselineVersion === undefined) throw new Error(`job "${o.job}" not found at ${o.nomadAddr} — deploy v1 first (npm run deploy)`);

  const stopLoad = new AbortController();
  const userAbort = o.signal ?? new AbortController().signal;
  const events: DeployEvent[] = [];
  let deploymentState = 'waiting';
  // Event times share the load's clock: both start here.
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  /** Every event shown live goes through here: on the report's timeline and in the log. */
  const record = (e: DeployEvent) => {
    events.push(e);
    log(`[verify] ${(e.atMs / 1000).toFixed(1).padStart(6)} s  ${e.kind}${e.detail ? `  ${e.detail}` : ''}`);
  };
  const addEvent = (kind: string, detail?: string) => record({ atMs: since(), kind, ...(detail ? { detail } : {}) });
  const capacityStop = new AbortController();
  const capacityPoll: Promise<CapacitySample[]> = o.consul
    ? pollConsulCapacity({ ...o.consul, now: since, signal: AbortSignal.any([capacityStop.signal, userAbort]) })
    : Promise.resolve([]);
  const load = runLoad({
    url: o.url,
    ...(o.moreUrls?.length ? { moreUrls: o.moreUrls } : {}),
    ...(o.mix ? { mix: o.mix } : {}),
    ...(o.host ? { hostHeader: o.host } : {}),
    rate: o.rate,
    durationMs: o.maxDurationS * 1000,
    timeoutMs: o.timeoutMs ?? DEFAULTS.timeoutMs,
    signal: userAbort,
    stopSignal: stopLoad.signal,
    onProgress: (p) => log(`[verify] ${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s  sent ${p.sent}  ok ${p.ok}  drops ${p.notOk}  in-flight ${p.inFlight}  deployment ${deploymentState}`),
  });

  let baselineEndMs = 0;
  let deployEndMs: number | null = null;
  let watch: WatchResult = { status: 'timeout', events: [] };
  const driver = (async () => {
    await sleep(o.baselineS * 1000, userAbort);
    if (userAbort.aborted) return;
    baselineEndMs = since();
    events.push({ atMs: baselineEndMs, kind: 'deploy-cmd-start', detail: o.deployCmd ?? `kit ${(o.deployOptions?.stacks ?? ['app']).join(' + ')} stack, version ${o.version}` });
    deploymentState = 'deploying';
    const remainingMs = Math.max(1000, o.maxDurationS * 1000 - since() - o.tailS * 1000);
    let deployExited: () => void = () => undefined;
    const deployDone = new Promise<void>((resolve) => (deployExited = resolve));
    const watching = watchDeployment({
      deployDone,
      ...nomad,
      jobId: o.job,
      baselineJobVersion: baselineVersion,
      now: since,
      signal: userAbort,
      timeoutMs: remainingMs,
      onEvent: (e) => {
        record(e);
        deploymentState = e.kind;
        o.onEvent?.(e, addEvent);
      },
    });
    // The gate's verdict goes into the report's events, with its reason.
    const recordGates = (gates: readonly GateRecord[]) => {
      for (const g of gates) addEvent(`gate-${g.outcome}`, `${g.job}: ${g.why}`);
    };
    const deploying = (async () => {
      try {
        if (o.deployCmd) {
          // Its own process group: Ctrl-C or the deadline stops everything it started (deploy-cmd.ts).
          const r = await runDeployCmd(o.deployCmd, { cwd: REPO_ROOT, timeoutMs: remainingMs, ...(o.signal ? { signal: o.signal } : {}) });
          events.push({ atMs: since(), kind: 'deploy-cmd-exit', detail: deployCmdExitDetail(r) });
        } else {
          const { gates } = await deploy({ ...o.deployOptions, stacks: o.deployOptions?.stacks ?? ['app'], version: o.version, ...(o.config ? { config: o.config } : {}), quiet: true, env: { ...process.env, ...o.deployOptions?.env }, ...(o.signal ? { signal: o.signal } : {}) });
          recordGates(gates);
          events.push({ atMs: since(), kind: 'deploy-cmd-exit', detail: 'exit 0' });
        }
      } catch (err) {
        recordGates((err as { gates?: GateRecord[] }).gates ?? []);
        // A failed deployment makes the kit's deploy fail too; the watcher says why.
        events.push({ atMs: since(), kind: 'deploy-cmd-exit', detail: (err as Error).message.split('\n')[0] ?? 'failed' });
      } finally {
        deployExited();
      }
    })();
    try {
      watch = await watching;
    } catch (err) {
      // The watch cannot go on (e.g. a 403 for its token): stop the load, let the deploy end, say why.
      log(`[verify] ${(err as Error).message}`);
      stopLoad.abort();
      await deploying;
      throw err;
    }
    // Interrupted, the deploy phase did not end: the report has it open (no tail).
    if (watch.status !== 'aborted') deployEndMs = since();
    deploymentState = watch.status;
    await deploying;
    await sleep(o.tailS * 1000, userAbort);
    stopLoad.abort();
  })();

  // A driver that fails (the watch could not go on) stops the load; its error is the run's.
  let driverError: unknown;
  const driverDone = driver.catch((err: unknown) => {
    driverError = err;
    stopLoad.abort();
  });
  const result = await load;
  stopLoad.abort();
  await driverDone;
  capacityStop.abort();
  if (driverError !== undefined) {
    await capacityPoll.catch(() => undefined);
    throw driverError;
  }
  const samples = await capacityPoll;
  // The job as it ends: after several deployments (or an auto-revert) the last word.
  const finalVersion = await jobVersion(nomad, o.job).catch(() => undefined) ?? watch.jobVersion;
  // which servers the figures were measured on; a report without them is still a report
  const servers = await serverVersions(nomad).catch(() => undefined);
  const seconds = result.records.length ? Math.floor(result.records[result.records.length - 1]!.scheduledMs / 1000) + 1 : 0;
  const capacity = o.consul || result.records.some((r) => r.instance !== undefined)
    ? capacityBySecond(samples, result.records, seconds, o.consul ? `Consul ${o.consul.address} service "${o.consul.service}"` : 'none (answering instances only)')
    : undefined;
  const ledger = o.ledgerFile ? await readLedger(o.ledgerFile) : undefined;
  const report = summarize({
    ...result,
    events: events.sort((a, b) => a.atMs - b.atMs),
    deployment: { status: watch.status, ...(watch.deploymentId ? { id: watch.deploymentId } : {}), ...(finalVersion !== undefined ? { jobVersion: finalVersion } : {}), ...(watch.kind ? { kind: watch.kind } : {}) },
    ...(servers ? { servers } : {}),
    ...(watch.deployments ? { deployments: watch.deployments } : {}),
    urls: [o.url, ...(o.moreUrls ?? [])],
    mix: o.mix ?? DEFAULT_MIX,
    ...(ledger && o.ledgerFile ? { ledger: { file: o.ledgerFile, ...compareLedger(result.records, ledger.counts, ledger.unreadable) } } : {}),
    ...(capacity ? { capacity } : {}),
    phases: { baselineEndMs, deployEndMs },
    expect: o.expect,
    threshold: o.threshold,
    target: { url: o.url, ...(o.host ? { host: o.host } : {}) },
  });
  await mkdir(o.reportDir, { recursive: true });
  const files = await writeReport(o.reportDir, report);
  log(consoleSummary(report));
  log(`[verify] report: ${files.json}\n[verify] timeline: ${files.svg}`);
  return { report, files, exitCode: userAbort.aborted ? 130 : report.verdict.pass ? 0 : 1 };
}
