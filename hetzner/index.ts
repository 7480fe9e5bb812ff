/**
 * Disposable Hetzner Cloud clusters, in one room: the config (config.ts), the release pins a node
 * installs (releases.ts), the cloud-init that writes the agents' configs (cloud-init.ts), the cdktf
 * stack (stack.ts) and its app (app.ts), the lifecycle `npm run hetzner` drives — `cdktf deploy` /
 * `destroy` with per-run secrets, `npm run verify` against the run (lifecycle.ts) — and the sweep
 * of everything labelled with the run id (sweep.ts).
 */
export { DEFAULTS, envLines, HetznerError, hetznerDown, hetznerUp, hetznerVerify, newSecrets, requireToken, runPaths, sweepRun, TOKEN_MISSING, type RunPaths } from './lifecycle.ts';
export { HETZNER_DEFAULTS, LOAD_BALANCER_CHECK, parseHetznerConfig, type HetznerConfig } from './config.ts';
export { HETZNER_APP, synthHetznerApp } from './app.ts';
export { HetznerStack, type HetznerStackProps } from './stack.ts';
