/**
 * cdktf app of the Hetzner stack: `npm run hetzner -- up|down` runs it through `cdktf --app "npx
 * tsx hetzner/app.ts"` (the same command synthesizes it by hand). Reads ZERODROP_HETZNER_CONFIG
 * (default hetzner.yaml), ZERODROP_HETZNER_EXPIRES (ISO time for the expiry label; default now +
 * the config's ttl) and ZERODROP_HETZNER_STATE (local state file; default next to the synth output).
 */
import { readFileSync } from 'node:fs';
import { App } from 'cdktf';
import { ConfigError } from '../config/errors.ts';
import { parseHetznerConfig } from './config.ts';
import { HetznerStack } from './stack.ts';

/** What `cdktf --app` runs: the command line of the Hetzner stack's synth. */
export const HETZNER_APP = 'npx tsx hetzner/app.ts';

/** Synthesizes the Hetzner stack from the environment's settings into CDKTF_OUTDIR (default cdktf.out). */
export function synthHetznerApp(env: NodeJS.ProcessEnv = process.env): void {
  const file = env.ZERODROP_HETZNER_CONFIG || 'hetzner.yaml';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '(file)', value: file, rule: `cannot be read (${(err as NodeJS.ErrnoException).code}) — copy examples/hetzner.yaml and set ZERODROP_HETZNER_CONFIG` }]);
  }
  const config = parseHetznerConfig(text, file);
  const expires = env.ZERODROP_HETZNER_EXPIRES;
  const expiresAt = expires ? new Date(expires) : new Date(Date.now() + config.ttlMs);
  if (Number.isNaN(expiresAt.getTime())) throw new ConfigError([{ path: 'ZERODROP_HETZNER_EXPIRES', value: expires, rule: 'must be an ISO time such as 2026-04-01T12:00:00Z' }]);
  const app = new App({ outdir: env.CDKTF_OUTDIR || 'cdktf.out', stackTraces: false });
  new HetznerStack(app, 'hetzner', { config, expiresAt, ...(env.ZERODROP_HETZNER_STATE ? { stateFile: env.ZERODROP_HETZNER_STATE } : {}) });
  app.synth();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    synthHetznerApp();
  } catch (err) {
    if (err instanceof ConfigError || (err instanceof Error && err.name === 'ReleasePinError')) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
