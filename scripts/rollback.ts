#!/usr/bin/env tsx
/**
 * `npm run rollback -- --job web [--to VERSION] [-c FILE]`: reverts the service's Nomad job to an
 * earlier stable job version, waits for the deployment the revert starts, and prints how to bring
 * the config in line (deploy/rollback.ts). Target as for `npm run deploy` (-c, NOMAD_ADDR,
 * NOMAD_TOKEN). Exit 0 rolled back (deployment successful), 1 failed or refused by the cluster's
 * state, 2 bad usage (a flag, the config, or a job or version that is not there).
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { rollback, RollbackRefused } from '../deploy/index.ts';

export async function main(argv = process.argv): Promise<number> {
  const cmd = new Command('rollback')
    .requiredOption('-j, --job <id>', 'the service to roll back (its Nomad job)')
    .option('-t, --to <version>', 'app version to go back to (the job meta zerodrop.version); default: the newest stable job version with another app version than the running one')
    .option('-c, --config <file>', 'config naming the service and its cluster (env ZERODROP_CONFIG); default: examples/local.yaml on the running local cluster')
    .exitOverride();
  let f: { job: string; to?: string; config?: string };
  try {
    f = cmd.parse(argv).opts();
  } catch (err) {
    // commander printed the problem already; --help exits 0
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    const result = await rollback({ job: f.job, ...(f.to ? { to: f.to } : {}), ...(f.config ? { config: f.config } : {}), signal: ac.signal });
    return result.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof ConfigError) console.error(err.message);
    else if (err instanceof RollbackRefused) console.error(`[rollback] REFUSED, nothing changed: ${err.message}`);
    else console.error(`[rollback] ${(err as Error).message}`);
    return err instanceof ConfigError || (err instanceof RollbackRefused && err.kind === 'usage') ? 2 : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
