import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PINS } from '../../pins/index.ts';
import { engineMissing, selectPins, toolPaths } from '../../toolchain/tools.ts';

// A `terraform` on PATH is the user's binary under its own licence (BUSL from 1.6): the kit must
// not pick it up by itself, which it did until the engine became OpenTofu by default.
describe('toolPaths()', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zd-paths-'));
  const fake = (name: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, '#!/bin/sh\nexit 1\n');
    chmodSync(file, 0o755);
    return file;
  };
  const terraform = fake('terraform');
  const cacheDir = path.join(dir, 'cache');

  test('drives the pinned OpenTofu even when a terraform is first on PATH', () => {
    const paths = toolPaths({ cacheDir }, { PATH: `${dir}:/usr/bin` });
    expect(paths.engine).toEqual({ kind: 'tofu', bin: path.join(cacheDir, 'tools', 'tofu-v1.12.6', 'tofu') });
  });

  test('drives the user\'s Terraform only when ZERODROP_TERRAFORM_BIN names it (a path or a name on PATH)', () => {
    expect(toolPaths({ cacheDir }, { ZERODROP_TERRAFORM_BIN: terraform }).engine).toEqual({ kind: 'terraform', bin: terraform });
    expect(toolPaths({ cacheDir }, { PATH: dir, ZERODROP_TERRAFORM_BIN: 'terraform' }).engine).toEqual({ kind: 'terraform', bin: terraform });
  });

  test('drives an OpenTofu of the user\'s when ZERODROP_TOFU_BIN names it', () => {
    const tofu = fake('tofu');
    expect(toolPaths({ cacheDir }, { PATH: dir, ZERODROP_TOFU_BIN: 'tofu' }).engine).toEqual({ kind: 'tofu', bin: tofu });
  });

  test('refuses both engines named at once', () => {
    expect(() => toolPaths({ cacheDir }, { ZERODROP_TOFU_BIN: terraform, ZERODROP_TERRAFORM_BIN: terraform })).toThrow(
      'ZERODROP_TERRAFORM_BIN and ZERODROP_TOFU_BIN are both set — name one engine: unset one of them',
    );
  });

  test('refuses a ZERODROP_TERRAFORM_BIN name that is not on PATH', () => {
    expect(() => toolPaths({ cacheDir }, { PATH: '/nonexistent', ZERODROP_TERRAFORM_BIN: 'terraform' })).toThrow(
      'ZERODROP_TERRAFORM_BIN=terraform — not found on PATH — give the binary\'s path, or unset ZERODROP_TERRAFORM_BIN to use the pinned build',
    );
  });

  test('runs the user\'s own Nomad and Consul when ZERODROP_NOMAD_BIN / ZERODROP_CONSUL_BIN name them', () => {
    const nomad = fake('nomad');
    const paths = toolPaths({ cacheDir }, { ZERODROP_NOMAD_BIN: nomad });
    expect(paths.nomad).toBe(nomad);
    expect(paths.userServers).toEqual(['nomad']);
    expect(paths.consul).toBe(path.join(cacheDir, 'tools', 'consul-v1.16.3', 'consul'));
  });
});

describe('selectPins()', () => {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'zd-pins-'));

  test('builds every pin, OpenTofu included, by default', () => {
    expect(selectPins(toolPaths({ cacheDir }, {})).map((p) => p.name)).toEqual(PINS.map((p) => p.name));
  });

  test('builds no server the user runs from their own install', () => {
    const nomad = path.join(cacheDir, 'my-nomad');
    writeFileSync(nomad, '');
    const names = selectPins(toolPaths({ cacheDir }, { ZERODROP_NOMAD_BIN: nomad })).map((p) => p.name);
    expect(names).not.toContain('nomad');
    expect(names).toContain('consul');
  });

  test('refuses an --only name that is not a pin', () => {
    expect(() => selectPins(toolPaths({ cacheDir }, {}), ['nomda'])).toThrow("--only: nomda — not a pin — use one of consul, nomad, traefik");
  });
});

describe('engineMissing()', () => {
  test('says to run npm run tools when OpenTofu is not built', () => {
    expect(engineMissing({ kind: 'tofu', bin: '/c/tofu' }, {})).toBe('OpenTofu is not built at /c/tofu — run `npm run tools` (it builds OpenTofu with the servers)');
  });
  test('names the setting when the user\'s OpenTofu is gone', () => {
    expect(engineMissing({ kind: 'tofu', bin: '/x/tofu' }, { ZERODROP_TOFU_BIN: '/x/tofu' })).toBe(
      'ZERODROP_TOFU_BIN: /x/tofu does not exist — fix the path, or unset ZERODROP_TOFU_BIN to use the pinned OpenTofu',
    );
  });
  test('names the setting when the user\'s Terraform is gone', () => {
    expect(engineMissing({ kind: 'terraform', bin: '/x/terraform' })).toBe(
      'ZERODROP_TERRAFORM_BIN: /x/terraform does not exist — fix the path, or unset ZERODROP_TERRAFORM_BIN to use the pinned OpenTofu',
    );
  });
});
