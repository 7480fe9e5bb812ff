#!/usr/bin/env tsx
/**
 * `npm run demo`: the whole story on a local cluster, no arguments.
 * tools (cached) → local cluster up → deploy edge + app v1 → verify a v1→v2 canary rollout
 * under 100 req/s → print the report and the timeline path → cluster down (also on failure
 * or Ctrl-C). Exit code: the verifier's.
 */
import path from 'node:path';
import { clusterDown, clusterUp } from '../cluster/index.ts';
import { deploy } from '../deploy/index.ts';
import { ensureTools, providerPreflight, toolPaths } from '../toolchain/index.ts';
import { PROVIDER_CONSUL, PROVIDER_NOMAD } from '../pins/index.ts';
import { verify, DEFAULTS as VERIFY } from '../verify/index.ts';
import { abortOnInterrupt } from '../lib/interrupt.ts';

export async function main(): Promise<number> {
  const ac = new AbortController();
  const offSigint = abortOnInterrupt(ac);
  const started = Date.now();
  const step = (s: string) => console.log(`\n[demo] ${s} (${Math.round((Date.now() - started) / 1000)} s)`);
  let up = false;
  try {
    step('tools');
    // Before the server builds (minutes on a cold machine): can the two stacks' providers be had?
    const paths = toolPaths();
    console.log(`[demo] ${await providerPreflight({ needed: [PROVIDER_NOMAD, PROVIDER_CONSUL], built: new Set(Object.values(paths.providers).filter((p) => p.built).map((p) => p.info.type)), engine: paths.engine.kind })}`);
    await ensureTools();
    step('local cluster up');
    const env = await clusterUp({ signal: ac.signal });
    up = true;
    const local = { cluster: {} };
    step('deploy edge + app v1');
    await deploy({ ...local, version: 'v1', signal: ac.signal });
    step('verify v1 → v2 under load');
    const { exitCode, files } = await verify({
      url: VERIFY.url, host: VERIFY.host, rate: VERIFY.rate, baselineS: VERIFY.baselineS, tailS: VERIFY.tailS, maxDurationS: VERIFY.maxDurationS,
      threshold: VERIFY.threshold, expect: 'successful', job: VERIFY.job, version: 'v2', nomadAddr: env.nomadAddr,
      reportDir: path.resolve('reports', 'demo'), deployOptions: local, signal: ac.signal,
    });
    console.log(`\n[demo] timeline: ${files.svg}`);
    return exitCode;
  } catch (err) {
    console.error(`[demo] ${(err as Error).message}`);
    return 1;
  } finally {
    if (up) {
      step('cluster down');
      await clusterDown({}).catch((err) => console.error(`[demo] cluster down: ${(err as Error).message}`));
    }
    offSigint();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
