/**
 * Disposable Hetzner Cloud clusters: `cdktf deploy`/`destroy` of the hetzner stack with per-run
 * secrets, `npm run verify` against the run, and the sweep of everything labelled with the run id.
 * The pure parts (config, releases, cloud-init, sweep URLs) are in hetzner/.
 */
export { DEFAULTS, envLines, HetznerError, hetznerDown, hetznerUp, hetznerVerify, newSecrets, requireToken, runPaths, sweepRun, TOKEN_MISSING, type RunPaths } from './hetzner.ts';
