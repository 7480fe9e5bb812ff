#!/usr/bin/env tsx
/**
 * `npm run deploy [-- --stacks edge,app] [-c FILE] [--version V]`: `cdktf deploy` of the stacks to
 * the cluster deploy/target.ts picks (the running local cluster unless -c names a config), with the
 * promotion gate of every gated service (deploy/). Exit 0 when deployed, 1 otherwise.
 */
import { Command } from 'commander';
import { DEFAULTS, deploy } from '../deploy/index.ts';
import { abortOnInterrupt } from '../lib/interrupt.ts';

export async function main(argv = process.argv): Promise<number> {
  const o = new Command('deploy')
    .option('-s, --stacks <list>', 'stacks to deploy, in order', DEFAULTS.stacks.join(','))
    .option('-c, --config <file>', 'deploy to the cluster this config names (env ZERODROP_CONFIG); default: the running local cluster with examples/local.yaml')
    .option('-v, --version <version>', 'release to deploy for every service (env ZERODROP_VERSION)')
    .parse(argv)
    .opts<{ stacks: string; config?: string; version?: string }>();
  const ac = new AbortController();
  abortOnInterrupt(ac);
  try {
    await deploy({ stacks: o.stacks.split(',').filter(Boolean), ...(o.config ? { config: o.config } : {}), ...(o.version ? { version: o.version } : {}), signal: ac.signal });
    return 0;
  } catch (err) {
    console.error(`[deploy] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
