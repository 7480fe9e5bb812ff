export { appEnv, canaryJob, VERSION_META, type CanaryJobProps } from './canary-job.ts';
export type { NomadJob } from './nomad-api.ts';
export { traefikJob, traefikVariablePath } from './traefik-job.ts';
