/**
 * Where the verifier looks: the Nomad whose deployments it follows and the Consul it polls for
 * routable instances, each with the reason it was chosen.
 */
import path from 'node:path';
import { parseDurationMs } from '../config/duration.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { mixFromFile, mixFromFlags } from './mix.ts';
import { clusterEnv, clusterState, readToken } from '../cluster/index.ts';
import { deployTarget } from '../deploy/index.ts';
import { DEFAULTS, type VerifyOptions } from './run.ts';
import type { VerifyExpect } from './report-shape.ts';

/**
 * The Nomad to watch, and why: --nomad-addr; else, when the kit deploys, the cluster it deploys to
 * (deploy/target.ts, so the watch and the deploy never disagree); else (--deploy-cmd)
 * NOMAD_ADDR or the running local cluster.
 */
export async function nomadTarget(f: { nomadAddr?: string; config?: string; deployCmd?: string }, env: NodeJS.ProcessEnv): Promise<{ nomadAddr: string; nomadToken?: string; why: string }> {
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

/** The Consul to poll for capacity: --consul-addr, CONSUL_HTTP_ADDR, or the running local cluster (with its token file). */
export async function consulTarget(addr: string | undefined, service: string, env: NodeJS.ProcessEnv): Promise<VerifyOptions['consul']> {
  const token = env.CONSUL_HTTP_TOKEN ? { token: env.CONSUL_HTTP_TOKEN } : {};
  const address = addr ?? env.CONSUL_HTTP_ADDR;
  if (address) return { address: /^https?:\/\//.test(address) ? address : `http://${address}`, service, ...token };
  if (!clusterState().consulPid) return undefined;
  const e = clusterEnv();
  const t = env.CONSUL_HTTP_TOKEN ?? (await readToken(e));
  return { address: e.consulAddr, service, ...(t ? { token: t } : {}) };
}

/** What is wrong with the CLI's numbers, one line each (empty: nothing). */
export function flagProblems(f: { timeout: string; mix?: string; request?: string[]; rate: number; threshold: number; baseline: number; tail: number; maxDuration: number }, timeoutMs: number | undefined): string[] {
  return [
    !(timeoutMs !== undefined && timeoutMs >= 1 && timeoutMs <= 600_000) && `--timeout: ${JSON.stringify(f.timeout)} — must be a duration with a unit between 1ms and 10m, e.g. "2s" or "500ms"`,
    f.mix && f.request?.length && '--mix and --request: give one or the other',
    !(f.rate > 0 && f.rate <= 2000) && `--rate: ${f.rate} — must be between 1 and 2000 requests per second`,
    !(f.threshold >= 0 && f.threshold <= 1) && `--threshold: ${f.threshold} — must be a ratio between 0 and 1 (1 = every request OK)`,
    !(f.baseline >= 0 && f.tail >= 0) && `--baseline/--tail: must be ≥ 0 seconds`,
    !(f.maxDuration > f.baseline + f.tail) && `--max-duration: ${f.maxDuration} — must exceed --baseline + --tail (${f.baseline + f.tail} s)`,
  ].filter((p): p is string => typeof p === 'string');
}

/** The flags of `npm run verify`, as commander parses them. */
export type VerifyFlags = { url?: string[]; timeout: string; mix?: string; request?: string[]; ledger?: string; consulAddr?: string; consulService?: string; host: string; rate: number; baseline: number; tail: number; maxDuration: number; threshold: number; expect: VerifyExpect; reportDir?: string; nomadAddr?: string; job: string; version: string; config?: string; deployCmd?: string };

/** The run the flags ask for: mix, targets (each logged with why it was chosen), report dir. */
export async function optionsFromFlags(f: VerifyFlags, env: NodeJS.ProcessEnv, signal: AbortSignal, log: (line: string) => void): Promise<VerifyOptions> {
  const urls = f.url?.length ? f.url : [DEFAULTS.url];
  const timeoutMs = parseDurationMs(f.timeout);
    const mix = f.mix ? await mixFromFile(f.mix) : f.request?.length ? mixFromFlags(f.request) : undefined;
  const { why, ...target } = await nomadTarget(f, env);
  log(`[verify] watching Nomad ${target.nomadAddr} (${why})`);
  const consul = await consulTarget(f.consulAddr, f.consulService ?? f.job, env);
  log(consul ? `[verify] capacity: polling Consul ${consul.address} for service "${consul.service}"` : '[verify] capacity: no Consul (no --consul-addr, CONSUL_HTTP_ADDR or local cluster): answering instances only');
  return {
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
    signal,
  };
}
