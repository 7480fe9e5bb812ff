/**
 * The gate of one gated service, from a config file: what `npm run gate` and `npm run deploy` run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load.ts';
import { timingPlans } from '../timing/model.ts';
import { runGate, traefikUrls, type GateRecord } from './run.ts';

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
    nomad: { address: o.nomadAddr, region: config.cluster.nomad.region, ...(o.env.NOMAD_TOKEN ? { token: o.env.NOMAD_TOKEN } : {}) },
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
