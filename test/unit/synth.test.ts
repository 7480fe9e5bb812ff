import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

/** Runs `npm run synth`'s program for real (the same entry point `cdktf synth` runs). */
function synth(configYaml: string | null, extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'zd-synth-'));
  const env: Record<string, string> = { PATH: process.env.PATH!, HOME: process.env.HOME!, CDKTF_OUTDIR: join(dir, 'out'), ...extraEnv };
  if (configYaml !== null) {
    writeFileSync(join(dir, 'zerodrop.yaml'), configYaml);
    env.ZERODROP_CONFIG = join(dir, 'zerodrop.yaml');
  }
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], { env, encoding: 'utf8', timeout: 60_000 });
  return { ...run, outdir: join(dir, 'out') };
}

const SERVICE = `services:
  - name: api
    version: v1
    driver: { type: docker, image: ghcr.io/example/api }
    host: api.example.com
    warmup: 10s
    readiness: { servedOnRoutedPort: true }
`;

describe('npm run synth', () => {
  test('writes the edge and app stacks from zerodrop.yaml, identical on a second run', () => {
    // GIVEN the committed zerodrop.yaml
    const first = synth(null);
    const second = synth(null);
    // THEN both stacks exist and the bytes match: a GitOps diff shows only real changes
    expect(first.status, first.stderr).toBe(0);
    for (const stack of ['edge', 'app']) {
      const a = readFileSync(join(first.outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8');
      const b = readFileSync(join(second.outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8');
      expect(a).toBe(b);
    }
  });

  test('refuses drain grace 1s, no shutdown delay and refresh 15s, naming the fields', () => {
    const run = synth(`traefik:\n  discovery:\n    refreshInterval: 15s\n${SERVICE}    drainGrace: 1s\n    shutdownDelay: 0s\n`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('services[0].drainGrace 1s + services[0].shutdownDelay 0s = 1s < Traefik routing window 17s (traefik.discovery.refreshInterval 15s');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('refuses an unknown key by its path', () => {
    const run = synth(`${SERVICE}    drainGrase: 5s\n`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('services[0].drainGrase: "5s" — unknown key');
  });

  test('a YAML alias bomb, a missing config file and a CDKTF_OUTDIR without parent end in a config error, never a stack trace', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
    const runs = [
      synth(bomb),
      synth(null, { ZERODROP_CONFIG: '/nonexistent/zerodrop.yaml' }),
      synth(null, { CDKTF_OUTDIR: '/nonexistent/parent/out' }),
    ];
    expect(runs.map((r) => r.status)).toEqual([1, 1, 1]);
    expect(runs[0]!.stderr).toContain('(yaml): (missing) — cannot be expanded');
    expect(runs[1]!.stderr).toContain('ZERODROP_CONFIG');
    expect(runs[2]!.stderr).toContain('$CDKTF_OUTDIR: "/nonexistent/parent/out" — its parent directory /nonexistent/parent does not exist');
    for (const run of runs) expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('an unknown key and a timing violation are reported in one error', () => {
    const run = synth(`traefik:\n  discovery:\n    refreshInterval: 15s\n${SERVICE}    drainGrace: 1s\n    shutdownDelay: 0s\n    drainGrase: 5s\n`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('services[0].drainGrase: "5s" — unknown key');
    expect(run.stderr).toContain('[servable-window-covers-routing-window]');
  });

  test('writes nothing when the config is refused', () => {
    const run = synth(`${SERVICE}    count: 0\n`);
    expect(run.status).toBe(1);
    expect(() => readFileSync(join(run.outdir, 'manifest.json'))).toThrow();
  });

  test('never writes a token from the environment into the output', () => {
    const run = synth(null, { NOMAD_TOKEN: 'nomad-secret-canary-0b9e', CONSUL_HTTP_TOKEN: 'consul-secret-canary-77a1' });
    expect(run.status, run.stderr).toBe(0);
    for (const stack of ['edge', 'app']) {
      const out = readFileSync(join(run.outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8');
      expect(out).not.toContain('secret-canary');
    }
  });
});
