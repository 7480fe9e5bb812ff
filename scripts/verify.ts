#!/usr/bin/env tsx
/**
 * `npm run verify -- [flags]`: constant-rate load through Traefik during a real canary
 * deploy; every request that did not get its normal answer is reported.
 *
 *   baseline (load only) → deploy (the kit's app stack with a new version, or --deploy-cmd)
 *   while the Nomad deployment is followed → tail (load only) → report.
 *
 * Exit 0 only when the success ratio ≥ --threshold, the measurement is valid and the
 * deployment ended as --expect says. Ctrl-C stops everything, writes what it has, exits 130.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { Command, Option } from 'commander';
import { $ } from 'zx';
import { parseDurationMs } from '../config/duration.ts';
import { clusterEnv, clusterState, readToken } from '../cluster/index.ts';
import { deploy, type DeployOptions } from '../deploy/index.ts';
import { deployTarget } from '../deploy/index.ts';
import { capacityBySecond, pollConsulCapacity, type CapacitySample } from './verify/capacity.ts';
import { readLedger } from '../app/ledger.ts';
import { compareLedger } from './verify/ledger.ts';
import type { GateRecord } from '../gate/run.ts';
import { runLoad } from './verify/load.ts';
import { DEFAULT_MIX, mixFromFile, mixFromFlags, type MixEntry } from './verify/mix.ts';
import { jobVersion } from '../lib/nomad.ts';
import { watchDeployment, type WatchResult } from './verify/nomad-watch.ts';
import { sleep } from '../lib/sleep.ts';
import { consoleSummary, summarize, writeReport, type Report } from './verify/report.ts';
import type { DeployEvent } from './verify/types.ts';


export const DEFAULTS = {
  url:          'http://127.0.0.1:18080/',
  host:         'web.localhost',
  rate:         100,
  baselineS:    10,
  tailS:        10,
  maxDurationS: 300,
  threshold:    1.0,
  expect:       'successful' as 'successful' | 'failed',
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
  expect: 'successful' | 'failed';
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
        events.push(e);
        deploymentState = e.kind;
        log(`[verify] ${(e.atMs / 1000).toFixed(1).padStart(6)} s  ${e.kind}${e.detail ? `  ${e.detail}` : ''}`);
      },
    });
    // The gate's verdict goes into the report's events, with its reason.
    const recordGates = (gates: readonly GateRecord[]) => {
      for (const g of gates) {
        const e = { atMs: since(), kind: `gate-${g.outcome}`, detail: `${g.job}: ${g.why}` };
        events.push(e);
        log(`[verify] ${(e.atMs / 1000).toFixed(1).padStart(6)} s  ${e.kind}  ${e.detail}`);
      }
    };
    const deploying = (async () => {
      try {
        if (o.deployCmd) {
          const r = await $({ nothrow: true, quiet: true, cwd: REPO_ROOT, timeout: remainingMs, ...(o.signal ? { signal: o.signal } : {}) })`bash -c ${o.deployCmd}`;
          events.push({ atMs: since(), kind: 'deploy-cmd-exit', detail: `exit ${r.exitCode}` });
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
    watch = await watching;
    deployEndMs = since();
    deploymentState = watch.status;
    await deploying;
    await sleep(o.tailS * 1000, userAbort);
    stopLoad.abort();
  })();

  const result = await load;
  stopLoad.abort();
  await driver;
  capacityStop.abort();
  const samples = await capacityPoll;
  // The job as it ends: after several deployments (or an auto-revert) the last word.
  const finalVersion = await jobVersion(nomad, o.job).catch(() => undefined) ?? watch.jobVersion;
  const seconds = result.records.length ? Math.floor(result.records[result.records.length - 1]!.scheduledMs / 1000) + 1 : 0;
  const capacity = o.consul || result.records.some((r) => r.instance !== undefined)
    ? capacityBySecond(samples, result.records, seconds, o.consul ? `Consul ${o.consul.address} service "${o.consul.service}"` : 'none (answering instances only)')
    : undefined;
  const ledger = o.ledgerFile ? await readLedger(o.ledgerFile) : undefined;
  const report = summarize({
    ...result,
    events: events.sort((a, b) => a.atMs - b.atMs),
    deployment: { status: watch.status, ...(watch.deploymentId ? { id: watch.deploymentId } : {}), ...(finalVersion !== undefined ? { jobVersion: finalVersion } : {}) },
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

/**
 * The Nomad to watch, and why: --nomad-addr; else, when the kit deploys, the cluster it deploys to
 * (deploy/target.ts, so the watch and the deploy never disagree); else (--deploy-cmd)
 * NOMAD_ADDR or the running local cluster.
 */
async function nomadTarget(f: { nomadAddr?: string; config?: string; deployCmd?: string }, env: NodeJS.ProcessEnv): Promise<{ nomadAddr: string; nomadToken?: string; why: string }> {
  const token = env.NOMAD_TOKEN ? { nomadToken: env.NOMAD_TOKEN } : {};
  if (f.nomadAddr) return { nomadAddr: f.nomadAddr, ...token, why: '--nomad-addr' };
  if (!f.deployCmd) {
    const t = await deployTarget({ ...(f.config ? { config: f.config } : {}), env });
    return { nomadAddr: t.nomadAddr, ...(t.kind === 'local' ? {} : token), why: `the kit deploys to it: ${t.description}` };
  }
  if (env.NOMAD_ADDR) return { nomadAddr: env.NOMAD_ADDR, ...token, why: 'NOMAD_ADDR (--deploy-cmd deploys)' };
  if (clusterState().nomadPid) return { nomadAddr: clusterEnv().nomadAddr, why: 'the running local cluster (--deploy-cmd deploys; no --nomad-addr or NOMAD_ADDR)' };
  throw new Error('no Nomad to watch: --deploy-cmd deploys, and neither --nomad-addr, NOMAD_ADDR nor a running local cluster names one');
}

/** `--url a --url b,c` → [a, b, c]. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

/** The Consul to poll for capacity: --consul-addr, CONSUL_HTTP_ADDR, or the running local cluster (with its token file). */
async function consulTarget(addr: string | undefined, service: string, env: NodeJS.ProcessEnv): Promise<VerifyOptions['consul']> {
  const token = env.CONSUL_HTTP_TOKEN ? { token: env.CONSUL_HTTP_TOKEN } : {};
  const address = addr ?? env.CONSUL_HTTP_ADDR;
  if (address) return { address: /^https?:\/\//.test(address) ? address : `http://${address}`, service, ...token };
  if (!clusterState().consulPid) return undefined;
  const e = clusterEnv();
  const t = env.CONSUL_HTTP_TOKEN ?? (await readToken(e));
  return { address: e.consulAddr, service, ...(t ? { token: t } : {}) };
}

export async function main(argv = process.argv): Promise<number> {
  const env = process.env;
  const c = new Command('verify')
    .addOption(new Option('--url <url>', 'target URL (through Traefik); repeat or comma-separate for round robin over several').env('ZERODROP_VERIFY_URL').argParser(collect))
    .addOption(new Option('--timeout <duration>', 'per-request timeout, e.g. 2s, 5s, 500ms').env('ZERODROP_VERIFY_TIMEOUT').default('2s'))
    .addOption(new Option('--mix <file>', 'request mix, YAML/JSON: requests: [{weight, method, path, body?, expect?}]').env('ZERODROP_VERIFY_MIX'))
    .addOption(new Option('--request <spec>', 'one mix entry, repeatable: "WEIGHT METHOD PATH [STATUS] [BODY]", e.g. "10 POST /orders 201"').argParser(collect))
    .addOption(new Option('--ledger <file>', "the app's LEDGER_FILE: check every POST/PATCH ran once (none lost, none doubled)").env('ZERODROP_VERIFY_LEDGER'))
    .addOption(new Option('--consul-addr <url>', 'Consul to poll for routable instances (default: CONSUL_HTTP_ADDR, else the running local cluster); token from CONSUL_HTTP_TOKEN'))
    .addOption(new Option('--consul-service <name>', 'Consul service to count (default: --job)').env('ZERODROP_VERIFY_CONSUL_SERVICE'))
    .addOption(new Option('--host <host>', 'Host header').env('ZERODROP_VERIFY_HOST').default(DEFAULTS.host))
    .addOption(new Option('--rate <n>', 'requests per second (constant arrival rate)').env('ZERODROP_VERIFY_RATE').default(DEFAULTS.rate).argParser(Number))
    .addOption(new Option('--baseline <s>', 'seconds of load before the deploy').env('ZERODROP_VERIFY_BASELINE').default(DEFAULTS.baselineS).argParser(Number))
    .addOption(new Option('--tail <s>', 'seconds of load after the deployment ends').env('ZERODROP_VERIFY_TAIL').default(DEFAULTS.tailS).argParser(Number))
    .addOption(new Option('--max-duration <s>', 'hard bound on the whole run').env('ZERODROP_VERIFY_MAX_DURATION').default(DEFAULTS.maxDurationS).argParser(Number))
    .addOption(new Option('--threshold <ratio>', 'minimum success ratio, 0..1').env('ZERODROP_VERIFY_THRESHOLD').default(DEFAULTS.threshold).argParser(Number))
    .addOption(new Option('--expect <status>', 'deployment outcome to expect').choices(['successful', 'failed']).env('ZERODROP_VERIFY_EXPECT').default(DEFAULTS.expect))
    .addOption(new Option('--report-dir <dir>', 'where report.json/.md and timeline.svg go').env('ZERODROP_VERIFY_REPORT_DIR'))
    .addOption(new Option('--nomad-addr <url>', 'Nomad API to watch (default: the cluster the kit deploys to; with --deploy-cmd: NOMAD_ADDR, else the local cluster)'))
    .addOption(new Option('--job <id>', 'Nomad job to follow').env('ZERODROP_VERIFY_JOB').default(DEFAULTS.job))
    .addOption(new Option('--version <v>', 'version the kit deploys').env('ZERODROP_VERIFY_VERSION').default(DEFAULTS.version))
    .addOption(new Option('--config <file>', 'kit config for the default deploy').env('ZERODROP_CONFIG'))
    .addOption(new Option('--deploy-cmd <cmd>', 'deploy with this shell command instead of the kit').env('ZERODROP_VERIFY_DEPLOY_CMD'))
    .parse(argv);
  const f = c.opts<{ url?: string[]; timeout: string; mix?: string; request?: string[]; ledger?: string; consulAddr?: string; consulService?: string; host: string; rate: number; baseline: number; tail: number; maxDuration: number; threshold: number; expect: 'successful' | 'failed'; reportDir?: string; nomadAddr?: string; job: string; version: string; config?: string; deployCmd?: string }>();
  const urls = f.url?.length ? f.url : [DEFAULTS.url];
  const timeoutMs = parseDurationMs(f.timeout);
  const problems = [
    !(timeoutMs !== undefined && timeoutMs >= 1 && timeoutMs <= 600_000) && `--timeout: ${JSON.stringify(f.timeout)} — must be a duration with a unit between 1ms and 10m, e.g. "2s" or "500ms"`,
    f.mix && f.request?.length && '--mix and --request: give one or the other',
    !(f.rate > 0 && f.rate <= 2000) && `--rate: ${f.rate} — must be between 1 and 2000 requests per second`,
    !(f.threshold >= 0 && f.threshold <= 1) && `--threshold: ${f.threshold} — must be a ratio between 0 and 1 (1 = every request OK)`,
    !(f.baseline >= 0 && f.tail >= 0) && `--baseline/--tail: must be ≥ 0 seconds`,
    !(f.maxDuration > f.baseline + f.tail) && `--max-duration: ${f.maxDuration} — must exceed --baseline + --tail (${f.baseline + f.tail} s)`,
  ].filter(Boolean);
  if (problems.length) {
    console.error(problems.join('\n'));
    return 2;
  }
  const ac = new AbortController();
  const onSigint = () => {
    console.error('[verify] interrupted: stopping load and watch, writing what was recorded');
    ac.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const mix = f.mix ? await mixFromFile(f.mix) : f.request?.length ? mixFromFlags(f.request) : undefined;
    const { why, ...target } = await nomadTarget(f, env);
    console.log(`[verify] watching Nomad ${target.nomadAddr} (${why})`);
    const consul = await consulTarget(f.consulAddr, f.consulService ?? f.job, env);
    console.log(consul ? `[verify] capacity: polling Consul ${consul.address} for service "${consul.service}"` : '[verify] capacity: no Consul (no --consul-addr, CONSUL_HTTP_ADDR or local cluster): answering instances only');
    const { exitCode } = await verify({
      url: urls[0]!,
      ...(urls.length > 1 ? { moreUrls: urls.slice(1) } : {}),
      timeoutMs: timeoutMs!,
      ...(mix ? { mix } : {}),
      ...(f.ledger ? { ledgerFile: path.resolve(f.ledger) } : {}),
      ...(consul ? { consul } : {}),
      host: f.host,
      rate: f.rate,
      baselineS: f.baseline,
      tailS: f.tail,
      maxDurationS: f.maxDuration,
      threshold: f.threshold,
      expect: f.expect,
      reportDir: f.reportDir ?? path.join(REPO_ROOT, 'reports', new Date().toISOString().replace(/[:.]/g, '-')),
      ...target,
      job: f.job,
      version: f.version,
      ...(f.config ? { config: f.config } : {}),
      ...(f.deployCmd ? { deployCmd: f.deployCmd } : {}),
      signal: ac.signal,
    });
    return exitCode;
  } catch (err) {
    console.error(`[verify] ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
