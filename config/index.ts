export { ConfigError, formatIssue, type ConfigIssue } from './errors.ts';
export { formatDuration, parseDurationMs, toNanos } from './duration.ts';
export { loadConfig, resolveConfig, type ResolveOptions } from './load.ts';
export { DEFAULTS, zerodropSchema, type ServiceConfig, type TraefikConfig, type ZerodropConfig, type ZerodropProps } from './schema.ts';
