import { describe, expect, test } from 'vitest';
import { standInEnv, stackEngine, taintedResources } from '../../scripts/deploy.ts';
import type { CdkTfJson } from '../../scripts/nomad-api-deploy.ts';
import type { ToolPaths } from '../../scripts/tools.ts';
import { escapeModulePath, firstProxy } from '../../scripts/tools.ts';
import { PROVIDER_CONSUL, PROVIDER_NOMAD, PROVIDER_NOMAD_STANDIN } from '../../scripts/tool-versions.ts';

const appStack: CdkTfJson = { terraform: { required_providers: { nomad: { version: '1.4.20' } } }, resource: { nomad_job: {} } };
const edgeStack: CdkTfJson = {
  terraform: { required_providers: { nomad: { version: '1.4.20' }, consul: { version: '2.22.1' } } },
  resource: { consul_acl_policy: {}, nomad_variable: {}, nomad_job: {} },
};

/** What this machine has: the nomad stand-in built, the consul provider not. */
const here: ToolPaths['providers'] = {
  nomad: { info: PROVIDER_NOMAD_STANDIN.provider!, bin: '/c/nomad', built: true },
  consul: { info: PROVIDER_CONSUL.provider!, bin: '/c/consul', built: false },
};

describe('stackEngine()', () => {
  test('cdktf when every provider is built at the required version, naming the stand-in', () => {
    expect(stackEngine('app', appStack, here)).toEqual({ stack: 'app', engine: 'cdktf', why: 'hashicorp/nomad 1.4.20 (stand-in for 2.5.2)' });
  });

  test('nomad-api when a provider is not built, saying which', () => {
    const only = { nomad: here.nomad!, consul: here.consul! };
    expect(stackEngine('edge', { ...edgeStack, resource: { consul_acl_policy: {} } }, only)).toMatchObject({ engine: 'nomad-api', why: expect.stringContaining('hashicorp/consul 2.22.1 is not built') });
  });

  test('nomad-api when the built provider lacks a resource type the stack uses', () => {
    const consulBuilt = { ...here, consul: { ...here.consul!, built: true } };
    expect(stackEngine('edge', edgeStack, consulBuilt)).toMatchObject({ engine: 'nomad-api', why: 'hashicorp/nomad 1.4.20 has no nomad_variable' });
  });

  test('nomad-api when the stack requires another version than the built one (synth without the stand-in env)', () => {
    const pinned = { terraform: { required_providers: { nomad: { version: '2.5.2' } } }, resource: { nomad_job: {} } };
    expect(stackEngine('app', pinned, here)).toMatchObject({ engine: 'nomad-api', why: 'the stack requires hashicorp/nomad 2.5.2, the built one is 1.4.20' });
  });

  test('the binding’s own build is used as is', () => {
    const own = { nomad: { info: PROVIDER_NOMAD.provider!, bin: '/c/n', built: true } };
    expect(stackEngine('app', { ...appStack, terraform: { required_providers: { nomad: { version: '2.5.2' } } } }, own)).toEqual({ stack: 'app', engine: 'cdktf', why: 'hashicorp/nomad 2.5.2' });
  });
});

describe('standInEnv()', () => {
  test('requires a built stand-in’s version, unless the env already names one', () => {
    expect(standInEnv(here, {})).toEqual({ ZERODROP_PROVIDER_NOMAD_VERSION: '1.4.20' });
    expect(standInEnv(here, { ZERODROP_PROVIDER_NOMAD_VERSION: '1.4.19' })).toEqual({});
  });
});

describe('module proxy helpers', () => {
  test('escapeModulePath() spells upper case the way the proxy protocol does', () => {
    expect(escapeModulePath('github.com/BurntSushi/toml')).toBe('github.com/!burnt!sushi/toml');
  });
  test('firstProxy() skips direct and off', () => {
    expect(firstProxy('https://proxy.golang.org,direct')).toBe('https://proxy.golang.org');
    expect(firstProxy('direct')).toBeUndefined();
    expect(firstProxy('off|https://goproxy.example')).toBe('https://goproxy.example');
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
