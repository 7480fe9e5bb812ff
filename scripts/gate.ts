#!/usr/bin/env tsx
/**
 * `npm run gate -- --job web [--config FILE] [--record FILE]`: the promotion gate for one gated
 * service's running deployment (gate/run.ts), for pipelines that apply the stacks themselves.
 * `npm run deploy` runs it on its own while `cdktf deploy` waits. Exit 0 when it promoted (or had
 * nothing to gate), 1 when it failed the deployment, 2 on bad arguments.
 */
import { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { gateJob } from '../gate/index.ts';
import { deployTarget } from '../deploy/index.ts';

export async function main(argv = process.argv): Promise<number> {
  const f = new Command('gate')
    .requiredOption('-j, --job <id>', 'the gated service (its Nomad job)')
    .option('-c, --config <file>', 'config naming the service and its gate (env ZERODROP_CONFIG); default: examples/local.yaml on the running local cluster')
    .option('-r, --record <file>', 'also write the gate record (JSON) here')
    .parse(argv)
    .opts<{ job: string; config?: string; record?: string }>();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    const target = await deployTarget(f.config ? { config: f.config } : {});
    console.log(`[gate] target: ${target.description}`);
    const record = await gateJob({ job: f.job, config: target.config, nomadAddr: target.nomadAddr, env: target.env, ...(f.record ? { record: f.record } : {}), signal: ac.signal, log: (l) => console.log(l) });
    return record.outcome === 'failed' ? 1 : 0;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `[gate] ${(err as Error).message}`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
