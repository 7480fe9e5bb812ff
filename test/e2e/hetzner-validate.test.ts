import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { $ } from 'zx';
import { toolPaths } from '../../toolchain/index.ts';

// Offline: synth of the Hetzner stack, then `terraform init` + `terraform validate` with the real
// hetznercloud/hcloud 1.68.0 from the local mirror. Nothing talks to the Hetzner API.
const dir = mkdtempSync(path.join(os.tmpdir(), 'zerodrop-hetzner-e2e-'));
const tools = toolPaths();
const hcloud = tools.providers.hcloud!;

describe('hetzner stack with the real hcloud provider', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('synthesizes, and terraform init + validate accept it', async () => {
    // Fails rather than skips: a green run must mean the real provider checked the stack.
    if (!hcloud.built) throw new Error(`hetznercloud/hcloud ${hcloud.info.version} is not built (${hcloud.bin}) — run \`ZERODROP_PROVIDER_SOURCES=<dir with terraform-provider-hcloud-1.68.0.tar.gz> npm run tools -- --only terraform-provider-hcloud\``);
    const configFile = path.join(dir, 'hetzner.yaml');
    writeFileSync(configFile, `hetzner:\n  runId: e2e-validate\n  operatorCidr: 203.0.113.7/32\n  nodes: 3\n  traefikSha256: "${'ab'.repeat(32)}"\n`);
    const outdir = path.join(dir, 'cdktf.out');
    await $({ cwd: path.resolve(import.meta.dirname, '../..'), quiet: true, env: { ...process.env, ZERODROP_HETZNER_CONFIG: configFile, ZERODROP_HETZNER_EXPIRES: '2026-04-01T12:00:00Z', CDKTF_OUTDIR: outdir } })`npx tsx hetzner/app.ts`;
    const stackDir = path.join(outdir, 'stacks', 'hetzner');
    const env = { ...process.env, TF_CLI_CONFIG_FILE: tools.terraformrc, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', HCLOUD_TOKEN: '' };
    const init = await $({ cwd: stackDir, env, quiet: true, nothrow: true })`${tools.engine.bin} init -input=false -no-color`;
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain('hetznercloud/hcloud v1.68.0');
    const validate = await $({ cwd: stackDir, env, quiet: true, nothrow: true })`${tools.engine.bin} validate -json -no-color`;
    const result = JSON.parse(validate.stdout) as { valid: boolean; error_count: number; warning_count: number; diagnostics: unknown[] };
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
  }, 300_000);
});
