import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { findOnPath } from '../lib/find-on-path.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { httpAddressProblem } from './validators.ts';
import { zerodropSchema, type ZerodropConfig, type ZerodropProps } from './schema.ts';

export interface ResolveOptions {
  /** Environment for address defaults and overrides. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory `./relative` raw_exec paths are resolved against. @default process.cwd() */
  readonly baseDir?: string;
  /** Name of the source shown in errors. @default - none */
  readonly source?: string;
  /**
   * Further checks of a schema-valid config (the timing rules, see timing/model.ts
   * `timingConfigIssues`), reported together with every other problem. Also run when the
   * only schema problems are unknown keys, so a typo never hides a timing violation.
   * @default - none
   */
  readonly moreIssues?: (config: ZerodropConfig) => readonly ConfigIssue[];
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
  const withOverrides = applyStateDirOverride(applyVersionOverrides(props, env), env);
  const parsed = zerodropSchema.safeParse(withOverrides, { reportInput: true });
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap(toConfigIssues);
    // Unknown keys alone do not stop the other checks: parse again without them, so the
    // timing rules are reported in the same error ("every problem at once").
    if (opts.moreIssues && parsed.error.issues.every((i) => i.code === 'unrecognized_keys')) {
      const reparsed = zerodropSchema.safeParse(withoutKeys(withOverrides, parsed.error.issues), { reportInput: true });
      if (reparsed.success) {
        const pathIssues: ConfigIssue[] = [];
        const more = safely(() => opts.moreIssues!(complete(reparsed.data, env, opts.baseDir ?? process.cwd(), pathIssues)));
        issues.push(...pathIssues, ...more);
      }
    }
    throw new ConfigError(issues, opts.source);
  }
  const pathIssues: ConfigIssue[] = [];
  const config = complete(parsed.data, env, opts.baseDir ?? process.cwd(), pathIssues);
  const issues = [...pathIssues, ...(opts.moreIssues ? safely(() => opts.moreIssues!(config)) : [])];
  if (issues.length > 0) throw new ConfigError(issues, opts.source);
  return config;
}

/** Runs a check that reports by returning issues or throwing a ConfigError; either way, issues come back. */
function safely(check: () => readonly ConfigIssue[]): ConfigIssue[] {
  try {
    return [...check()];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
}

/** A copy of `input` without the keys zod reported as unknown. */
function withoutKeys(input: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy: unknown = structuredClone(input);
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let target: unknown = copy;
    for (const key of issue.path) target = isRecord(target) || Array.isArray(target) ? (target as Record<PropertyKey, unknown>)[key] : undefined;
    if (isRecord(target)) for (const key of issue.keys) delete target[key];
  }
  return copy;
}

/** Fills what the schema leaves to the environment and resolves local paths; misses go to `pathIssues`. */
function complete(parsed: z.output<typeof zerodropSchema>, env: Readonly<Record<string, string | undefined>>, baseDir: string, pathIssues: ConfigIssue[]): ZerodropConfig {
  const { cluster, traefik, services, ...rest } = parsed;
  const local = (path: string, command: string) => resolveLocalPath(path, command, baseDir, env, pathIssues);
  // The CLIs' own env vars fill addresses the config leaves out; they reach the same Terraform blocks, so they get the same check.
  const fromEnv = (name: 'NOMAD_ADDR' | 'CONSUL_HTTP_ADDR', fallback: string) => {
    const value = env[name];
    if (!value) return fallback;
    const problem = httpAddressProblem(value);
    if (problem) pathIssues.push({ path: `$${name}`, value, rule: `${problem} (the config leaves this address out, so the environment's is used)` });
    return value;
  };
  const consulAddress = cluster.consul.address ?? fromEnv('CONSUL_HTTP_ADDR', 'http://127.0.0.1:8500');
  return {
    ...rest,
    cluster: {
      ...cluster,
      nomad: { ...cluster.nomad, address: cluster.nomad.address ?? fromEnv('NOMAD_ADDR', 'http://127.0.0.1:4646') },
      consul: { ...cluster.consul, address: consulAddress },
      state: cluster.state,
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
}

/**
 * Aliases a config may expand. A real config needs a handful; an alias bomb ("billion laughs")
 * needs thousands, and yaml refuses it at this count instead of exhausting memory.
 */
export const MAX_YAML_ALIASES = 100;

/** Reads a YAML config file; YAML syntax errors and schema errors both come back as ConfigError. */
export function loadConfig(file: string, opts: Omit<ResolveOptions, 'baseDir' | 'source'> = {}): ZerodropConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([
      { path: '(file)', value: file, rule: `cannot be read (${code}) — \`npm run synth\` reads the file named by ZERODROP_CONFIG (default zerodrop.yaml); \`npm run plan\` and \`npm run deploy\` take -c FILE` },
    ]);
  }
  return resolveConfig(parseYamlConfig(text, file), { ...opts, baseDir: dirname(resolve(file)), source: file });
}

/** YAML text → plain data, or a ConfigError naming the line of every syntax error. */
export function parseYamlConfig(text: string, source?: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: `(yaml line ${e.linePos?.[0]?.line ?? '?'}, column ${e.linePos?.[0]?.col ?? '?'})`,
        value: undefined,
        // prettyErrors appends " at line N, column M:" and a source excerpt; the path already says where.
        rule: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
      source,
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // yaml throws a ReferenceError for an alias bomb (and for an alias to an undefined anchor).
    throw new ConfigError([{ path: '(yaml)', value: undefined, rule: `cannot be expanded: ${(err as Error).message} — a config needs at most ${MAX_YAML_ALIASES} alias expansions` }], source);
  }
}

/**
 * Where synth writes (CDKTF_OUTDIR): its parent directory must exist, and the path must not be a file.
 * Returns the problem as config issues, so the entry point reports it like any other.
 */
export function outputDirIssues(outdir: string): ConfigIssue[] {
  const absolute = resolve(outdir);
  const kind = (path: string) => {
    try {
      return statSync(path).isDirectory() ? 'dir' : 'other';
    } catch {
      return 'missing';
    }
  };
  if (kind(absolute) === 'other') return [{ path: '$CDKTF_OUTDIR', value: outdir, rule: 'exists and is not a directory — point CDKTF_OUTDIR at a directory (default cdktf.out)' }];
  if (kind(absolute) === 'missing' && kind(dirname(absolute)) !== 'dir') {
    return [{ path: '$CDKTF_OUTDIR', value: outdir, rule: `its parent directory ${dirname(absolute)} does not exist — create it first, or point CDKTF_OUTDIR elsewhere (default cdktf.out)` }];
  }
  return [];
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_key') {
    const key = issue.path.at(-1);
    return [{ path: path || '(root)', value: key, rule: `key ${JSON.stringify(String(key))} ${issue.issues[0]?.message ?? 'is not allowed here'}` }];
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      value: (issue.input as Record<string, unknown> | undefined)?.[key],
      rule: `unknown key — remove it or check its spelling (allowed keys are listed in docs/config.md)`,
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
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const text = String(key);
    // A key that would not read back as one (empty, dots, spaces) is shown quoted.
    if (!/^[A-Za-z0-9_$-]+$/.test(text)) return `${acc || '(root)'}[${JSON.stringify(text)}]`;
    return acc ? `${acc}.${text}` : text;
  }, '');
}

function isRelative(p: string): boolean {
  return p.startsWith('./') || p.startsWith('../');
}

/** Records an issue (and returns the command unchanged) when a bare name is not on PATH, so every miss is reported at once. */
function resolveLocalPath(path: string, command: string, baseDir: string, env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[]): string {
  if (isAbsolute(command)) return command;
  if (isRelative(command)) return resolve(baseDir, command);
  // A bare name: raw_exec needs an absolute path, so look it up now on the synthesizing host's PATH.
  const found = findOnPath(command, env.PATH ?? '');
  if (found) return found;
  issues.push({ path, value: command, rule: 'is not an executable on PATH — give an absolute path or ./path relative to the config file (raw_exec needs an absolute path)' });
  return command;
}

/** The env variable that sets a service's version over the file's (ZERODROP_VERSION_<NAME>, else ZERODROP_VERSION), if one does. */
export function versionOverride(service: string, env: Readonly<Record<string, string | undefined>>): { readonly name: string; readonly value: string } | undefined {
  const own = `ZERODROP_VERSION_${service.toUpperCase().replaceAll('-', '_')}`;
  if (env[own]) return { name: own, value: env[own] };
  return env.ZERODROP_VERSION ? { name: 'ZERODROP_VERSION', value: env.ZERODROP_VERSION } : undefined;
}

function applyVersionOverrides(props: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  if (!isRecord(props) || !Array.isArray(props.services)) return props;
  return {
    ...props,
    services: props.services.map((s: unknown) => {
      if (!isRecord(s) || typeof s.name !== 'string') return s;
      const version = versionOverride(s.name, env)?.value;
      return version ? { ...s, version } : s;
    }),
  };
}

/**
 * ZERODROP_TF_STATE_DIR moves local Terraform state (a disposable cluster keeps it with the
 * cluster, see deploy/deploy.ts). Applied before validation, so the schema checks it like
 * any `cluster.state.dir`.
 */
function applyStateDirOverride(props: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  const dir = env.ZERODROP_TF_STATE_DIR;
  if (!dir || !isRecord(props)) return props;
  const cluster = isRecord(props.cluster) ? props.cluster : {};
  const state = cluster.state === undefined ? { backend: 'local' } : cluster.state;
  if (!isRecord(state) || state.backend !== 'local') return props;
  return { ...props, cluster: { ...cluster, state: { ...state, dir } } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
