/**
 * cdktf entry of the Hetzner stack (`npm run hetzner -- up|down` runs it; `cdktf synth --app
 * "npx tsx hetzner-main.ts"` by hand). Reads ZERODROP_HETZNER_CONFIG (default hetzner.yaml),
 * ZERODROP_HETZNER_EXPIRES (ISO time for the expiry label; default now + the config's ttl) and
 * ZERODROP_HETZNER_STATE (local state file; default next to the synth output).
 */
import { readFileSync } from 'node:fs';
import { App } from 'cdktf';
import { ConfigError } from './config/errors.ts';
import { parseHetznerConfig } from './hetzner/config.ts';
import { HetznerStack } from './stacks/hetzner-stack.ts';

const file = process.env.ZERODROP_HETZNER_CONFIG || 'hetzner.yaml';
try {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '(file)', value: file, rule: `cannot be read (${(err as NodeJS.ErrnoException).code}) — copy examples/hetzner.yaml and set ZERODROP_HETZNER_CONFIG` }]);
  }
  const config = parseHetznerConfig(text, file);
  const expires = process.env.ZERODROP_HETZNER_EXPIRES;
  const expiresAt = expires ? new Date(expires) : new Date(Date.now() + config.ttlMs);
  if (Number.isNaN(expiresAt.getTime())) throw new ConfigError([{ path: 'ZERODROP_HETZNER_EXPIRES', value: expires, rule: 'must be an ISO time such as 2026-04-01T12:00:00Z' }]);
  const app = new App({ outdir: process.env.CDKTF_OUTDIR || 'cdktf.out', stackTraces: false });
  new HetznerStack(app, 'hetzner', { config, expiresAt, ...(process.env.ZERODROP_HETZNER_STATE ? { stateFile: process.env.ZERODROP_HETZNER_STATE } : {}) });
  app.synth();
} catch (err) {
  if (err instanceof ConfigError || (err instanceof Error && err.name === 'ReleasePinError')) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
