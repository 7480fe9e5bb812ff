#!/usr/bin/env tsx
/**
 * `npm run gate -- --job web [--config FILE] [--record FILE]`: the promotion gate for one gated
 * service's running deployment (gate/run.ts), for pipelines that apply the stacks themselves.
 * `npm run deploy` runs it on its own while `cdktf deploy` waits. Exit 0 when it promoted (or had
 * nothing to gate), 1 when it failed the deployment, 2 on bad arguments.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { runGate, traefikUrls, type GateRecord } from '../gate/run.ts';
import { timingPlans } from '../timing/model.ts';
import { deployTarget } from './deploy-target.ts';

export interface GateRunOptions {
  readonly job: string;
  readonly config: string;
  readonly nomadAddr: string;
  readonly env: NodeJS.ProcessEnv;
  readonly afterJobVersion?: number;
  readonly record?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/** Loads the config, finds the service, runs its gate and writes the record (JSON) when asked. */
export async function gateJob(o: GateRunOptions): Promise<GateRecord> {
  const config = loadConfig(o.config, { env: o.env });
  const service = config.services.find((s) => s.name === o.job);
  if (!service) throw new Error(`no service "${o.job}" in ${o.config} (services: ${config.services.map((s) => s.name).join(', ')})`);
  const plan = timingPlans(config).get(service.name)!;
  const urls = traefikUrls(config.traefik, o.env);
  const record = await runGate({
    config,
    service,
    plan,
    nomad: { address: o.nomadAddr, ...(o.env.NOMAD_TOKEN ? { token: o.env.NOMAD_TOKEN } : {}) },
    traefikUrl: urls.url,
    traefikAdminUrl: urls.adminUrl,
    ...(o.afterJobVersion !== undefined ? { afterJobVersion: o.afterJobVersion } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  if (o.record) {
    await mkdir(path.dirname(o.record), { recursive: true });
    await writeFile(o.record, `${JSON.stringify(record, null, 2)}\n`);
  }
  return record;
}

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
