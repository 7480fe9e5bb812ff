import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { zerodropSchema, type ZerodropConfig, type ZerodropProps } from './schema.ts';

export interface ResolveOptions {
  /** Environment for address defaults and overrides. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory `./relative` raw_exec paths are resolved against. @default process.cwd() */
  readonly baseDir?: string;
  /** Name of the source shown in errors. @default - none */
  readonly source?: string;
}

/**
 * Validates props into a resolved config, or throws one ConfigError listing every problem.
 * Env applied here (and only here):
 * - cluster addresses left out fall back to NOMAD_ADDR / CONSUL_HTTP_ADDR, like the CLIs do;
 * - ZERODROP_TF_STATE_DIR moves local Terraform state (a disposable cluster keeps it with the cluster);
 * - ZERODROP_VERSION sets every service's version, ZERODROP_VERSION_<NAME> one service's
 *   (name upper-cased, "-" as "_"), so a pipeline deploys a new release without editing YAML.
 */
export function resolveConfig(props: ZerodropProps | unknown, opts: ResolveOptions = {}): ZerodropConfig {
  const env = opts.env ?? process.env;
  const withVersions = applyVersionOverrides(props, env);
  const parsed = zerodropSchema.safeParse(withVersions, { reportInput: true });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.flatMap(toConfigIssues), opts.source);
  const { cluster, traefik, services, ...rest } = parsed.data;
  const baseDir = opts.baseDir ?? process.cwd();
  const pathIssues: ConfigIssue[] = [];
  const local = (path: string, command: string) => resolveLocalPath(path, command, baseDir, env, pathIssues);
  const consulAddress = cluster.consul.address ?? (env.CONSUL_HTTP_ADDR || 'http://127.0.0.1:8500');
  const config: ZerodropConfig = {
    ...rest,
    cluster: {
      ...cluster,
      nomad: { ...cluster.nomad, address: cluster.nomad.address ?? (env.NOMAD_ADDR || 'http://127.0.0.1:4646') },
      consul: { ...cluster.consul, address: consulAddress },
      // A disposable cluster keeps its Terraform state with the cluster (see scripts/deploy.ts).
      state: cluster.state.backend === 'local' && env.ZERODROP_TF_STATE_DIR ? { ...cluster.state, dir: env.ZERODROP_TF_STATE_DIR } : cluster.state,
    },
    traefik: {
      ...traefik,
      consulAddress: traefik.consulAddress ?? consulAddress,
      driver: traefik.driver.type === 'raw_exec' ? { ...traefik.driver, command: local('traefik.driver.command', traefik.driver.command) } : traefik.driver,
    },
    services: services.map((service, i) =>
      service.driver.type === 'raw_exec'
        ? {
            ...service,
            driver: {
              ...service.driver,
              command: local(`services[${i}].driver.command`, service.driver.command),
              args: service.driver.args.map((a) => (isRelative(a) ? resolve(baseDir, a) : a)),
            },
          }
        : service,
    ),
  };
  if (pathIssues.length > 0) throw new ConfigError(pathIssues, opts.source);
  return config;
}

/** Reads a YAML config file; YAML syntax errors and schema errors both come back as ConfigError. */
export function loadConfig(file: string, opts: Omit<ResolveOptions, 'baseDir' | 'source'> = {}): ZerodropConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '(file)', value: file, rule: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}) — pass an existing file with --config or ZERODROP_CONFIG` }]);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: `(yaml line ${e.linePos?.[0]?.line ?? '?'})`, value: undefined, rule: e.message.split('\n')[0] ?? e.message })),
      file,
    );
  }
  return resolveConfig(doc.toJS(), { ...opts, baseDir: dirname(resolve(file)), source: file });
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: path ? `${path}.${key}` : key,
      value: (issue.input as Record<string, unknown> | undefined)?.[key],
      rule: `unknown key — remove it or check its spelling (allowed keys are listed in README "Config reference")`,
    }));
  }
  return [{ path: path || '(root)', value: issue.input, rule: ruleText(issue) }];
}

function ruleText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`;
  // Zod's stock range messages ("Too small: expected number to be >=1") read worse than ours;
  // a message written in the schema is kept as is.
  if (issue.code === 'too_small' && issue.origin !== 'array' && issue.message.startsWith('Too small')) return `must be ≥ ${String(issue.minimum)}`;
  if (issue.code === 'too_big' && issue.origin !== 'array' && issue.message.startsWith('Too big')) return `must be ≤ ${String(issue.maximum)}`;
  return issue.message.replace(/^Invalid input: /, '');
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function isRelative(p: string): boolean {
  return p.startsWith('./') || p.startsWith('../');
}

/** The first executable file called `name` in the directories of `envPath` (like `which`). */
export function findOnPath(name: string, envPath: string): string | undefined {
  for (const dir of envPath.split(':').filter(Boolean)) {
    const candidate = resolve(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not in this dir */
    }
  }
  return undefined;
}

/** Records an issue (and returns the command unchanged) when a bare name is not on PATH, so every miss is reported at once. */
function resolveLocalPath(path: string, command: string, baseDir: string, env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[]): string {
  if (isAbsolute(command)) return command;
  if (isRelative(command)) return resolve(baseDir, command);
  // A bare name: raw_exec needs an absolute path, so look it up now on this machine's PATH.
  const found = findOnPath(command, env.PATH ?? '');
  if (found) return found;
  issues.push({ path, value: command, rule: 'is not an executable on PATH — give an absolute path or ./path relative to the config file (raw_exec needs an absolute path)' });
  return command;
}

function applyVersionOverrides(props: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  if (!isRecord(props) || !Array.isArray(props.services)) return props;
  const all = env.ZERODROP_VERSION;
  return {
    ...props,
    services: props.services.map((s: unknown) => {
      if (!isRecord(s) || typeof s.name !== 'string') return s;
      const one = env[`ZERODROP_VERSION_${s.name.toUpperCase().replaceAll('-', '_')}`];
      const version = one || all;
      return version ? { ...s, version } : s;
    }),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
