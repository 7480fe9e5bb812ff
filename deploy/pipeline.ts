/**
 * The GitOps pipeline's two steps (`npm run pipeline`, scripts/pipeline.ts): the steps a GitOps pipeline runs, in
 * one place, so a CI file only calls this (examples/gitops/) and the e2e runs the very same steps.
 *
 *   plan  (merge requests): synth, then `cdktf diff <stack>` for each stack; exit 0 unless a diff fails.
 *   apply (main):           `cdktf deploy <stacks> --auto-approve` (deploy/deploy.ts), then the
 *                           deployment watch (deploy/rollout-outcome.ts): exit 1 when the
 *                           deploy failed, or a service's deployment failed or was reverted.
 *
 * Target, tokens and state as for `npm run deploy` (deploy/target.ts): with -c (or
 * ZERODROP_CONFIG) the cluster the config names, NOMAD_TOKEN and CONSUL_HTTP_TOKEN from the env
 * (the CI secret store), state wherever `cluster.state` says (Consul KV for a pipeline).
 */
import { REPO_ROOT } from '../lib/repo-root.ts';
import { runProcessTree, treeRunFailure } from '../lib/process-tree.ts';
import { CDKTF_CLI } from '../toolchain/index.ts';
import { loadConfig } from '../config/load.ts';
import { deploy, servicePlans, synthStacks } from './deploy.ts';
import type { DeployTarget } from './target.ts';
import { rolloutOutcome } from './rollout-outcome.ts';

export const pipelineLog = (line: string) => console.log(`[pipeline] ${line}`);
const log = pipelineLog;

/** Plain output for CI logs: no colours, no interactive UI. */
/** The longest one `cdktf diff` may take. */
const PLAN_TIMEOUT_MS = 10 * 60_000;

const ciEnv = (t: DeployTarget): NodeJS.ProcessEnv => ({ ...t.env, CI: '1', TF_CLI_ARGS_init: '-no-color', TF_CLI_ARGS_plan: '-no-color', TF_CLI_ARGS_apply: '-no-color' });

export async function pipelinePlan(target: DeployTarget, stacks: readonly string[], signal: AbortSignal): Promise<number> {
  for (const warning of await synthStacks(target, signal)) log(warning);
  let failed = 0;
  for (const stack of stacks) {
    const args = ['diff', stack, '--skip-synth', '--output', target.outdir, '--skip-provider-lock'];
    // In a group of its own, as for the apply: a cancelled pipeline stops terraform first (SIGINT), which
    // gives it the chance to release the state lock before cdktf goes (lib/process-tree.ts).
    const out = await runProcessTree(CDKTF_CLI, args, { cwd: REPO_ROOT, env: ciEnv(target), timeoutMs: PLAN_TIMEOUT_MS, signal, output: 'capture', captureBytes: 4 * 1024 * 1024 });
    process.stdout.write(out.output);
    const failure = treeRunFailure(out, PLAN_TIMEOUT_MS);
    log(`plan ${stack}: ${failure ? failure.replace(/^\w+/, (w) => w.toUpperCase()) : /No changes\./.test(out.output) ? 'no changes' : 'changes (see the plan above)'}`);
    if (failure) failed++;
  }
  return failed ? 1 : 0;
}

export async function pipelineApply(target: DeployTarget, stacks: readonly string[], signal: AbortSignal): Promise<number> {
  let deployed = true;
  try {
    await deploy({ config: target.config, stacks, signal, ...(target.env.ZERODROP_VERSION ? { version: target.env.ZERODROP_VERSION } : {}) });
  } catch (err) {
    deployed = false;
    console.error(`[pipeline] deploy failed: ${(err as Error).message}`);
  }
  if (!stacks.includes('app')) return deployed ? 0 : 1;
  const config = loadConfig(target.config, { env: target.env });
  const nomad = { address: target.nomadAddr, region: config.cluster.nomad.region, ...(target.env.NOMAD_TOKEN ? { token: target.env.NOMAD_TOKEN } : {}) };
  // `cdktf deploy` already waited for each rollout (detach = false); a rollout that outlived it
  // ends within its own apply timeout at the latest.
  const plans = servicePlans(target);
  let failed = 0;
  for (const service of config.services) {
    const outcome = await rolloutOutcome(nomad, service.name, service.version, plans.get(service.name)!.applyTimeoutMs, signal);
    log(`watch ${outcome.line}`);
    if (!outcome.ok) failed++;
  }
  if (!deployed || failed) {
    log(`FAILED: ${[!deployed && 'the deploy failed', failed && `${failed} service(s) not rolled out`].filter(Boolean).join('; ')}`);
    return 1;
  }
  log('applied, every rollout successful');
  return 0;
}
