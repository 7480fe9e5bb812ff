import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { $ } from 'zx';
import { providersFromRegistry, taintedResources, type CdkTfJson } from '../../deploy/index.ts';
import { nomadAddressInFile } from '../../deploy/index.ts';
import type { ToolPaths } from '../../toolchain/index.ts';
import { PROVIDER_CONSUL, PROVIDER_NOMAD } from '../../pins/index.ts';

const edgeStack: CdkTfJson = { terraform: { required_providers: { nomad: { source: 'nomad', version: '2.5.2' }, consul: { source: 'consul', version: '2.22.1' } } } };

describe('providersFromRegistry()', () => {
  test('names the required providers the mirror does not hold, which Terraform then installs from the registry', () => {
    const providers: ToolPaths['providers'] = {
      nomad: { info: PROVIDER_NOMAD.provider, bin: '/c/nomad', built: true },
      consul: { info: PROVIDER_CONSUL.provider, bin: '/c/consul', built: false },
    };
    expect(providersFromRegistry(edgeStack, providers)).toEqual(['hashicorp/consul 2.22.1']);
    expect(providersFromRegistry(edgeStack, { ...providers, consul: { ...providers.consul!, built: true } })).toEqual([]);
  });
});

describe('taintedResources()', () => {
  test('names the resources whose create failed, and nothing else', () => {
    const state = {
      resources: [
        { type: 'nomad_job', name: 'job-web', instances: [{ status: 'tainted' }] },
        { type: 'nomad_job', name: 'job-api', instances: [{}] },
      ],
    };
    expect(taintedResources(state)).toEqual(['nomad_job.job-web']);
    expect(taintedResources({})).toEqual([]);
  });
});

describe('deploy target', () => {
  test('nomadAddressInFile() reads only what the file itself sets', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-target-'));
    await writeFile(path.join(dir, 'a.yaml'), 'cluster:\n  nomad:\n    address: https://nomad.example.internal:4646\n');
    await writeFile(path.join(dir, 'b.yaml'), 'cluster:\n  nomad:\n    datacenters: ["*"]\n');
    expect(nomadAddressInFile(path.join(dir, 'a.yaml'))).toBe('https://nomad.example.internal:4646');
    expect(nomadAddressInFile(path.join(dir, 'b.yaml'))).toBeUndefined();
    expect(nomadAddressInFile(path.join(dir, 'missing.yaml'))).toBeUndefined();
  });

  test('npm run deploy with NOMAD_ADDR exported but no local cluster and no -c stops and says how to pick a target', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'zd-nocluster-'));
    const env = { ...process.env, ZERODROP_STATE_DIR: stateDir, NOMAD_ADDR: 'http://127.0.0.1:1', ZERODROP_CONFIG: '' };
    const out = await $({ env, nothrow: true, quiet: true, timeout: 60_000 })`${process.execPath} --import tsx scripts/deploy.ts`;
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toContain(`[deploy] no target: no local cluster is running in ${path.relative(process.cwd(), stateDir)} and no config is named — start one with \`npm run cluster -- up\`, or name the cluster to deploy to with -c FILE`);
  }, 60_000);
});
