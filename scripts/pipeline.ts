#!/usr/bin/env tsx
/**
 * `npm run pipeline -- plan|apply [-c FILE] [-s edge,app]`: the steps a GitOps pipeline runs
 * (deploy/pipeline.ts), so a CI file only calls this (examples/gitops/). plan: synth + `cdktf diff`
 * per stack; apply: `cdktf deploy --auto-approve`, then the deployment watch; exit 1 on a failure.
 */
import { Argument, Command } from 'commander';
import { DEFAULTS as DEPLOY, deployTarget, pipelineApply, pipelineLog, pipelinePlan } from '../deploy/index.ts';
import { abortOnInterrupt } from '../lib/interrupt.ts';

export async function main(argv = process.argv): Promise<number> {
  const cmd = new Command('pipeline')
    .addArgument(new Argument('<step>', 'plan (merge requests) or apply (main)').choices(['plan', 'apply']))
    .option('-c, --config <file>', 'the cluster config (env ZERODROP_CONFIG); default: the running local cluster with examples/local.yaml')
    .option('-s, --stacks <list>', 'stacks, comma-separated', DEPLOY.stacks.join(','))
    .parse(argv);
  const step = cmd.args[0] as 'plan' | 'apply';
  const o = cmd.opts<{ config?: string; stacks: string }>();
  const ac = new AbortController();
  abortOnInterrupt(ac);
  try {
    // Resolved here once, with the same -c as the deploy: plan and apply show the same target.
    const target = await deployTarget({ ...(o.config ? { config: o.config } : {}) });
    pipelineLog(`${step}: ${target.description}`);
    const stacks = o.stacks.split(',').filter(Boolean);
    return step === 'plan' ? await pipelinePlan(target, stacks, ac.signal) : await pipelineApply(target, stacks, ac.signal);
  } catch (err) {
    console.error(`[pipeline] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
