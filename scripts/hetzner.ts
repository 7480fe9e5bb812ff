#!/usr/bin/env tsx
/**
 * `npm run hetzner -- up|verify|down [-c FILE] [--ssh-key FILE] [-- verify flags]`: a disposable
 * Hetzner Cloud cluster (cloud/): up = `cdktf deploy` of the hetzner stack, verify = `npm run
 * verify` against its load balancer, down = destroy + a sweep by label. Needs HCLOUD_TOKEN.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULTS, HetznerError, hetznerDown, hetznerUp, hetznerVerify, parseHetznerConfig } from '../hetzner/index.ts';
import { ConfigError } from '../config/errors.ts';
import { abortOnInterrupt } from '../lib/interrupt.ts';

export async function main(argv = process.argv): Promise<number> {
  const program = new Command('hetzner')
    .argument('<command>', 'up | verify | down')
    .argument('[verifyArgs...]', 'after --: passed to npm run verify')
    .option('-c, --config <file>', 'file with the hetzner section (env ZERODROP_HETZNER_CONFIG)', DEFAULTS.config)
    .option('--ssh-key <file>', 'public key for root on the nodes (default ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub)')
    .parse(argv);
  const [cmd, ...rest] = program.args;
  const o = program.opts<{ config: string; sshKey?: string }>();
  // Ctrl-C: cdktf runs in a group of its own, so only this script gets it and stops terraform first
  const ac = new AbortController();
  abortOnInterrupt(ac);
  try {
    const config = parseHetznerConfig(readFileSync(o.config, 'utf8'), o.config);
    if (cmd === 'up') return await hetznerUp(config, o.config, o.sshKey, ac.signal).then(() => 0);
    if (cmd === 'verify') return await hetznerVerify(config, rest);
    if (cmd === 'down') return await hetznerDown(config, o.config, ac.signal).then(() => 0);
    console.error(`command: '${cmd}' — unknown — use up, verify or down`);
    return 2;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof HetznerError) console.error(err.message);
    else console.error(`[hetzner] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
