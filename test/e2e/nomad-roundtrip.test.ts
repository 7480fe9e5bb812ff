/**
 * Nomad silently drops JSON keys it does not know, so every job the builders produce is
 * checked by a real Nomad: /v1/validate/job must return no error and no warning, and a job
 * registered and read back must still hold every field the builder set, with its value.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../config/errors.ts';
import { loadConfig, resolveConfig } from '../../config/load.ts';
import { canaryJob, traefikJob, type NomadJob } from '../../jobs/index.ts';
import { clusterDown, clusterUp } from '../../cluster/index.ts';
import { toolPaths } from '../../toolchain/index.ts';
import { timingConfigIssues, timingPlans } from '../../timing/model.ts';
import { configArb } from '../unit/config-arbitraries.ts';
import { droppedFields } from './support.ts';

const cluster = { stateDir: path.join(tmpdir(), 'zerodrop-e2e-roundtrip'), portBase: 19700 };
const nomad = `http://127.0.0.1:${cluster.portBase + 10}`;
const tools = toolPaths();
const missing = [tools.consul, tools.nomad, tools.traefik].filter((f) => !existsSync(f));

async function post(p: string, body: unknown) {
  const res = await fetch(`${nomad}${p}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function jobsOf(file: string): NomadJob[] {
  const config = loadConfig(file, { env: { PATH: `${path.dirname(tools.traefik)}:${process.env.PATH}` } });
  const plans = timingPlans(config);
  return [traefikJob(config), ...config.services.map((service) => canaryJob({ service, plan: plans.get(service.name)!, config }))];
}

describe('droppedFields()', () => {
  test('names a key Nomad dropped and a value it changed', () => {
    expect(droppedFields({ A: 1, B: { C: 'x' } }, { A: 2, B: {} })).toEqual(['Job.A: 1 became 2', 'Job.B.C: dropped']);
  });
});

describe('builders against a real Nomad', () => {
  beforeAll(async () => {
    if (missing.length) throw new Error(`not built: ${missing.join(', ')} — run \`npm run tools\` first`);
    await rm(cluster.stateDir, { recursive: true, force: true });
    await clusterUp({ ...cluster, log: () => undefined });
  });
  afterAll(async () => {
    await clusterDown({ ...cluster, log: () => undefined });
  });

  test.each(['zerodrop.yaml', 'examples/local.yaml'])('every job from %s validates with no error and no warning', async (file) => {
    for (const job of jobsOf(file)) {
      const { status, body } = await post('/v1/validate/job', { Job: job });
      expect(status, JSON.stringify(body)).toBe(200);
      expect({ job: job.ID, error: body.Error, warnings: body.Warnings }).toEqual({ job: job.ID, error: '', warnings: '' });
    }
  });

  test('every job of 40 configs the fuzzer generates and the kit accepts validates with no error and no warning', async () => {
    // A fixed seed: the same configs each run, so a failure can be reproduced.
    const accepted = fc
      .sample(configArb, { numRuns: 400, seed: 20261201 })
      .flatMap((input) => {
        try {
          return [resolveConfig(input, { env: { PATH: process.env.PATH }, moreIssues: timingConfigIssues })];
        } catch (err) {
          if (err instanceof ConfigError) return [];
          throw err;
        }
      })
      .slice(0, 40);
    expect(accepted.length, 'the fuzzer yields enough accepted configs').toBe(40);
    for (const config of accepted) {
      const plans = timingPlans(config);
      for (const job of [traefikJob(config), ...config.services.map((service) => canaryJob({ service, plan: plans.get(service.name)!, config }))]) {
        const { status, body } = await post('/v1/validate/job', { Job: job });
        expect(status, JSON.stringify(body)).toBe(200);
        expect({ job: job.ID, error: body.Error, warnings: body.Warnings }, JSON.stringify(config)).toEqual({ job: job.ID, error: '', warnings: '' });
      }
    }
  });

  test('registered jobs read back with every field the builder set', async () => {
    for (const job of jobsOf('examples/local.yaml')) {
      expect((await post('/v1/jobs', { Job: job })).status).toBe(200);
      const res = await fetch(`${nomad}/v1/job/${job.ID}`, { signal: AbortSignal.timeout(10_000) });
      expect(droppedFields(job, await res.json())).toEqual([]);
    }
  });
});
