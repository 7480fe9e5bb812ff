import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testing } from 'cdktf';
import { ConfigError } from '../../config/errors.ts';
import type { ZerodropProps } from '../../config/schema.ts';

/** The smallest valid config: one docker service, everything else defaulted. */
export function minimalProps(overrides: Partial<ZerodropProps['services'][number]> = {}): ZerodropProps {
  return {
    cluster: { nomad: { address: 'http://127.0.0.1:4646' }, consul: { address: 'http://127.0.0.1:8500' } },
    services: [{ name: 'api', version: 'v1', driver: { type: 'docker', image: 'ghcr.io/example/api' }, host: 'api.example.com', warmup: '12s', readiness: { servedOnRoutedPort: true }, ...overrides }],
  };
}

/** No env leaks into tests: addresses and versions come only from the props. */
export const NO_ENV = { PATH: process.env.PATH } as const;

/** The issues of the ConfigError `fn` throws; fails when it throws anything else, or nothing. */
export function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (err) {
    // Only a ConfigError may escape for a config problem: anything else fails the test.
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError, the config was accepted');
}

/**
 * A cdktf test app with one fixed outdir: `Testing.app()` makes a new temp dir per call and never
 * removes it (thousands per run). `Testing.synth` renders in memory, so nothing is written there.
 */
export function testApp() {
  return Testing.app({ outdir: path.join(tmpdir(), 'zerodrop-unit-cdktf') });
}
