import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { archiveCommand, providerHelp, providerPreflight, providerSourcesDir, readSourceArchive } from '../../toolchain/provider-sources.ts';
import { buildTool, stampOf, terraformrcText, toolPaths } from '../../toolchain/tools.ts';
import { PROVIDER_CONSUL, PROVIDER_HCLOUD, PROVIDER_NOMAD, type ProviderPin } from '../../pins/index.ts';

describe('provider pins', () => {
  test('each is the tagged source archive of the version its binding was generated from', () => {
    expect([PROVIDER_NOMAD, PROVIDER_CONSUL, PROVIDER_HCLOUD].map((p) => [p.provider, p.source.file, p.source.tag])).toEqual([
      [{ namespace: 'hashicorp', type: 'nomad', version: '2.5.2' }, 'terraform-provider-nomad-2.5.2.tar.gz', 'v2.5.2'],
      [{ namespace: 'hashicorp', type: 'consul', version: '2.22.1' }, 'terraform-provider-consul-2.22.1.tar.gz', 'v2.22.1'],
      [{ namespace: 'hetznercloud', type: 'hcloud', version: '1.68.0' }, 'terraform-provider-hcloud-1.68.0.tar.gz', 'v1.68.0'],
    ]);
  });

  test('the stamp holds the archive’s sha256, so another archive pin rebuilds', () => {
    const other: ProviderPin = { ...PROVIDER_NOMAD, source: { ...PROVIDER_NOMAD.source, sha256: '0'.repeat(64) } };
    expect(stampOf(PROVIDER_NOMAD, 'go1.26.8')).toContain(PROVIDER_NOMAD.source.sha256);
    expect(stampOf(other, 'go1.26.8')).not.toBe(stampOf(PROVIDER_NOMAD, 'go1.26.8'));
  });

  test('the archive command reproduces the pinned layout from the upstream tag', () => {
    expect(archiveCommand(PROVIDER_CONSUL)).toBe(
      'git clone --branch v2.22.1 https://github.com/hashicorp/terraform-provider-consul && git -C terraform-provider-consul archive --format=tar.gz --prefix=terraform-provider-consul-2.22.1/ -o "$PWD/terraform-provider-consul-2.22.1.tar.gz" v2.22.1',
    );
  });
});

describe('readSourceArchive()', () => {
  test('a missing archive, and one whose sha256 differs from the pin, are refused before unpacking, naming the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-src-'));
    expect(await readSourceArchive(PROVIDER_NOMAD, dir)).toMatchObject({ ok: false, problem: expect.stringMatching(/terraform-provider-nomad-2\.5\.2\.tar\.gz cannot be read \(ENOENT\)$/) });
    await writeFile(path.join(dir, PROVIDER_NOMAD.source.file), 'not the archive');
    const bad = await readSourceArchive(PROVIDER_NOMAD, dir);
    expect(bad).toMatchObject({ ok: false, problem: expect.stringContaining(`pinned ${PROVIDER_NOMAD.source.sha256} — not the archive pins/index.ts pins, so it is not unpacked`) });
  });

  test('an archive with the pinned sha256 comes back as the bytes that were checked', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-src-'));
    const bytes = Buffer.from('pretend tarball');
    const real: ProviderPin = { ...PROVIDER_NOMAD, source: { ...PROVIDER_NOMAD.source, sha256: createHash('sha256').update(bytes).digest('hex') } };
    await writeFile(path.join(dir, real.source.file), bytes);
    const ok = await readSourceArchive(real, dir);
    expect(ok.ok && ok.bytes.equals(bytes)).toBe(true);
  });
});

describe('without ZERODROP_PROVIDER_SOURCES', () => {
  test('the setting is read from the env, relative to the working directory', () => {
    expect(providerSourcesDir({}, '/repo')).toBeUndefined();
    expect(providerSourcesDir({ ZERODROP_PROVIDER_SOURCES: ' ' }, '/repo')).toBeUndefined();
    expect(providerSourcesDir({ ZERODROP_PROVIDER_SOURCES: '../src' }, '/repo/x')).toBe('/repo/src');
  });

  test('a provider is reported as not built, with both ways to get it', async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), 'zd-cache-'));
    const r = await buildTool(PROVIDER_CONSUL, toolPaths({ cacheDir }), { go: 'go1.26.8' });
    expect(r.status).toBe('not-built');
    expect(r.help).toEqual(providerHelp(PROVIDER_CONSUL, 'ZERODROP_PROVIDER_SOURCES is not set (a directory of provider source archives)'));
    expect(r.help!.join('\n')).toMatch(/`terraform init` \(run by `cdktf deploy`\) installs hashicorp\/consul 2\.22\.1 itself[\s\S]*ZERODROP_PROVIDER_SOURCES=<dir> npm run tools/);
  });

  test('a source dir without the archive is a source error, not a build', async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), 'zd-cache-'));
    const r = await buildTool(PROVIDER_CONSUL, toolPaths({ cacheDir }), { go: 'go1.26.8', providerSources: cacheDir });
    expect(r).toMatchObject({ status: 'source-error', note: expect.stringContaining('terraform-provider-consul-2.22.1.tar.gz cannot be read') });
  });
});

describe('terraformrcText()', () => {
  test('built providers come from the mirror only, for both registries', () => {
    const rc = terraformrcText('/m', [PROVIDER_NOMAD.provider, PROVIDER_HCLOUD.provider]);
    expect(rc).toContain('path    = "/m"');
    for (const s of ['registry.terraform.io/hashicorp/nomad', 'registry.opentofu.org/hetznercloud/hcloud']) {
      expect(rc.split(JSON.stringify(s)).length - 1).toBe(2); // once in include, once in direct.exclude
    }
    expect(rc).not.toContain('consul');
  });

  test('with nothing built every provider comes from its registry', () => {
    const rc = terraformrcText('/m', []);
    expect(rc).not.toContain('filesystem_mirror');
    expect(rc).toContain('direct {}');
  });
});

// A machine that reaches neither a registry nor a mirror used to build the servers for 20 minutes
// before `init` failed; the preflight says so before any build.
describe('providerPreflight()', () => {
  const closed = 'http://127.0.0.1:9/.well-known/terraform.json'; // discard port: nothing listens
  const base = { needed: [PROVIDER_NOMAD, PROVIDER_CONSUL], engine: 'tofu' as const, env: {}, registryUrl: closed, timeoutMs: 2_000 };

  test('passes without asking anything when the providers are built', async () => {
    expect(await providerPreflight({ ...base, built: new Set(['nomad', 'consul']) })).toBe('providers: built');
  });

  test('refuses before the builds when nothing is built, no archives are named and the registry does not answer', async () => {
    await expect(providerPreflight({ ...base, built: new Set(['nomad']) })).rejects.toThrow(
      /^hashicorp\/consul 2\.22\.1 not built, ZERODROP_PROVIDER_SOURCES not set, and the registry does not answer \(http:\/\/127\.0\.0\.1:9\/\.well-known\/terraform\.json: .*\) — `init` would fail after the server builds/,
    );
  });

  test('passes when the registry answers', async () => {
    const server = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/terraform.json`;
    try {
      expect(await providerPreflight({ ...base, built: new Set(), registryUrl: url })).toBe(`providers: from ${new URL(url).host}`);
    } finally {
      server.close();
    }
  });

  test('refuses a named archive directory that lacks an archive, naming the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-pre-'));
    await expect(providerPreflight({ ...base, built: new Set(), env: { ZERODROP_PROVIDER_SOURCES: dir } })).rejects.toThrow(`ZERODROP_PROVIDER_SOURCES=${dir}: ${dir}/terraform-provider-nomad-2.5.2.tar.gz cannot be read (ENOENT)`);
  });
});
