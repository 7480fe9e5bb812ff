/**
 * The toolchain (`npm run tools`, scripts/tools.ts): builds every pin of pins/index.ts with Go
 * into `${XDG_CACHE_HOME:-~/.cache}/zerodrop/tools/<name>-<version>/`, lays out an offline
 * provider mirror and a Terraform CLI config that points at it. Idempotent: a tool whose binary
 * answers its version check and whose stamp matches the pin is not rebuilt.
 *
 * Providers are built from source archives in the directory ZERODROP_PROVIDER_SOURCES names
 * (toolchain/provider-sources.ts). Without it they are reported as not built, with how to get them,
 * and the exit code stays 0: Terraform installs them itself where the registry is reachable.
 * With it, an archive that is missing or does not match its pin makes the exit code 1.
 */
import { closeSync, constants as FS, existsSync, openSync, readFileSync } from 'node:fs';
import type { StdioOptions } from 'node:child_process';
import { access, appendFile, copyFile, link, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { $, type ProcessPromise } from 'zx';
import { findOnPath } from '../lib/find-on-path.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { tail } from '../lib/tail.ts';
import { missingSetting, providerHelp, providerSourcesDir, readSourceArchive } from './provider-sources.ts';
import { GO_ENV, PINS, type ModulePin, type ProviderInfo, type ProviderPin, type ToolPin } from '../pins/index.ts';
import { checkLicences, formatLicenceReport, LicenceError } from './licences.ts';

// ---------------------------------------------------------------------------------------------
// Defaults (env overrides)

export const DEFAULTS = {
  /** root of every cache: binaries, Go module + build caches, wrapper modules */
  cacheDir:        path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'zerodrop'),
  /** lines of the build log shown when a step fails */
  failTailLines:   30,
  /** a version command that hangs is a broken binary */
  versionCheckMs:  20_000,
  /** registries the provider mirror answers for (Terraform, then OpenTofu) */
  registries:      ['registry.terraform.io', 'registry.opentofu.org'] as const,
} as const;

export interface ToolsOptions {
  /** @default DEFAULTS.cacheDir (`$XDG_CACHE_HOME/zerodrop` or `~/.cache/zerodrop`) */
  cacheDir?: string;
  /** build only these pin names (`consul`, `terraform-provider-nomad`, …) @default - every pin */
  only?: readonly string[];
  /** rebuild even when the stamp matches @default false */
  force?: boolean;
  /**
   * Directory of provider source archives. @default - $ZERODROP_PROVIDER_SOURCES; unset: providers
   * without a build are reported, not built
   */
  providerSources?: string;
  /** print progress lines @default true */
  log?: (line: string) => void;
}

export interface ToolPaths {
  cacheDir: string;
  toolsDir: string;
  goModCache: string;
  goBuildCache: string;
  consul: string;
  nomad: string;
  traefik: string;
  /** servers named by the user (ZERODROP_NOMAD_BIN …) instead of the pinned builds: `npm run tools` neither builds nor fetches these */
  userServers: readonly ServerName[];
  /**
   * The IaC engine cdktf drives: the pinned OpenTofu build; an OpenTofu of the user's when
   * ZERODROP_TOFU_BIN names it; the user's own Terraform when ZERODROP_TERRAFORM_BIN names it (never
   * a `terraform` merely found on PATH: it is the user's binary under its own licence, not
   * something the kit picks).
   */
  engine: { kind: 'terraform' | 'tofu'; bin: string };
  /** Terraform CLI config (use as TF_CLI_CONFIG_FILE) that installs providers from `mirror` only */
  terraformrc: string;
  /** filesystem mirror root */
  mirror: string;
  /** by provider type (`nomad`, `consul`, `hcloud`): the pinned build and whether it is in the mirror */
  providers: Record<string, ProviderBuild>;
}

/** A pinned provider's build. */
export interface ProviderBuild {
  readonly info: ProviderInfo;
  readonly bin: string;
  /** false: not built, so Terraform installs it from the registry instead */
  readonly built: boolean;
}

/**
 * `not-built`: a provider with no source archive directory set (not an error: Terraform installs
 * it where the registry is reachable). `source-error`: the directory is set but the archive is
 * missing or does not match its pin.
 */
export type ToolStatus = 'cached' | 'adopted' | 'built' | 'not-built' | 'source-error';
export interface ToolResult {
  name: string;
  version: string;
  status: ToolStatus;
  elapsedMs: number;
  log: string;
  /** `licences: N modules, all open source` (every tool with a binary, cached ones included) */
  licences?: string;
  note?: string;
  /** for a provider that is not built: why, and how to get it (lines for the console) */
  help?: string[];
}

/** A step of one tool's build failed; `tail` is the end of its log. */
export class ToolBuildError extends Error {
  constructor(
    readonly tool: string,
    readonly step: string,
    readonly log: string,
    readonly tail: string,
  ) {
    super(`${tool}: step '${step}' failed — full log ${log}\n${tail}`);
    this.name = 'ToolBuildError';
  }
}

// ---------------------------------------------------------------------------------------------
// Paths (pure: nothing is built or checked)

export function toolDir(pin: ToolPin, cacheDir = DEFAULTS.cacheDir): string {
  return path.join(cacheDir, 'tools', `${pin.name}-${pin.version}`);
}

export function toolBin(pin: ToolPin, cacheDir = DEFAULTS.cacheDir): string {
  return path.join(toolDir(pin, cacheDir), pin.name);
}

/** The cdktf CLI of the project's npm install, run directly (not through npx) so a stop reaches it. */
export const CDKTF_CLI = path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');

/** `linux_amd64` style platform, as Terraform names it. */
export function terraformPlatform(platform = process.platform, arch = process.arch): string {
  const a = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
  return `${platform}_${a}`;
}

function pin(name: string): ToolPin {
  const p = PINS.find((x) => x.name === name);
  if (!p) throw new Error(`pins/index.ts: no pin named '${name}'`);
  return p;
}

/** The servers a user may run from their own install instead of the pinned builds. */
export type ServerName = 'consul' | 'nomad' | 'traefik';

/** Env vars naming the user's own binaries; the kit runs them as they are and never downloads or builds them. */
export const USER_BIN_ENV = {
  consul:    'ZERODROP_CONSUL_BIN',
  nomad:     'ZERODROP_NOMAD_BIN',
  traefik:   'ZERODROP_TRAEFIK_BIN',
  /** an OpenTofu the user installed (e.g. a CI runner's setup-opentofu) instead of the pinned build */
  tofu:      'ZERODROP_TOFU_BIN',
  /** the user's own Terraform, under its own licence: only ever used when named here */
  terraform: 'ZERODROP_TERRAFORM_BIN',
} as const;

/** A setting that names a program: an absolute or relative path, or a bare name looked up on PATH. */
function userBin(variable: string, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[variable]?.trim();
  if (!value) return undefined;
  const found = value.includes('/') ? path.resolve(value) : findOnPath(value, env.PATH ?? '');
  if (!found) throw new Error(`${variable}=${value} — not found on PATH — give the binary's path, or unset ${variable} to use the pinned build`);
  return found;
}

export function toolPaths(opts: Pick<ToolsOptions, 'cacheDir'> = {}, env: NodeJS.ProcessEnv = process.env): ToolPaths {
  const cacheDir = opts.cacheDir ?? DEFAULTS.cacheDir;
  const toolsDir = path.join(cacheDir, 'tools');
  const terraform = userBin(USER_BIN_ENV.terraform, env);
  const tofu = userBin(USER_BIN_ENV.tofu, env);
  if (terraform && tofu) throw new Error(`${USER_BIN_ENV.terraform} and ${USER_BIN_ENV.tofu} are both set — name one engine: unset one of them`);
  const servers = {} as Record<ServerName, string>;
  const userServers: ServerName[] = [];
  for (const name of ['consul', 'nomad', 'traefik'] as const) {
    const mine = userBin(USER_BIN_ENV[name], env);
    if (mine) userServers.push(name);
    servers[name] = mine ?? toolBin(pin(name), cacheDir);
  }
  const providers: Record<string, ProviderBuild> = {};
  for (const p of providerPins()) {
    const bin = toolBin(p, cacheDir);
    providers[p.provider.type] = { info: p.provider, bin, built: existsSync(bin) };
  }
  return {
    cacheDir,
    toolsDir,
    goModCache: path.join(cacheDir, 'go', 'mod'),
    goBuildCache: path.join(cacheDir, 'go', 'build'),
    ...servers,
    userServers,
    engine: terraform ? { kind: 'terraform', bin: terraform } : { kind: 'tofu', bin: tofu ?? toolBin(pin('tofu'), cacheDir) },
    terraformrc: path.join(toolsDir, 'terraformrc'),
    mirror: path.join(toolsDir, 'mirror'),
    providers,
  };
}

/** Why the engine cannot run, and the fix: the pinned OpenTofu is not built, or the user's Terraform is gone. */
export function engineMissing(engine: ToolPaths['engine'], env: NodeJS.ProcessEnv = process.env): string {
  if (engine.kind === 'terraform') return `${USER_BIN_ENV.terraform}: ${engine.bin} does not exist — fix the path, or unset ${USER_BIN_ENV.terraform} to use the pinned OpenTofu`;
  if (env[USER_BIN_ENV.tofu]) return `${USER_BIN_ENV.tofu}: ${engine.bin} does not exist — fix the path, or unset ${USER_BIN_ENV.tofu} to use the pinned OpenTofu`;
  return `OpenTofu is not built at ${engine.bin} — run \`npm run tools\` (it builds OpenTofu with the servers)`;
}

export function providerPins(pins: readonly ToolPin[] = PINS): ProviderPin[] {
  return pins.filter((p): p is ProviderPin => p.kind === 'provider');
}

/** Mirror path of a provider binary: `<mirror>/<registry>/<ns>/<type>/<ver>/<platform>/terraform-provider-<type>_v<ver>`. */
export function mirrorBinPath(mirror: string, registry: string, p: ProviderInfo, platform = terraformPlatform()): string {
  return path.join(mirror, registry, p.namespace, p.type, p.version, platform, `terraform-provider-${p.type}_v${p.version}`);
}

/**
 * The CLI config: the built providers come from the mirror only (nothing is fetched for them);
 * any other provider, a pinned one that is not built included, Terraform installs from its registry.
 */
export function terraformrcText(mirror: string, built: readonly ProviderInfo[]): string {
  const header = '# written by `npm run tools`: the providers built from pins/index.ts come from the local mirror only';
  if (!built.length) return [header, '# (none is built: every provider comes from its registry)', 'provider_installation {', '  direct {}', '}', ''].join('\n');
  const sources = [...new Set(built.flatMap((p) => DEFAULTS.registries.map((r) => `${r}/${p.namespace}/${p.type}`)))];
  const list = sources.map((s) => `      ${JSON.stringify(s)},`).join('\n');
  return [
    header,
    'provider_installation {',
    '  filesystem_mirror {',
    `    path    = ${JSON.stringify(mirror)}`,
    '    include = [',
    list,
    '    ]',
    '  }',
    '  direct {',
    '    exclude = [',
    list,
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** What the stamp records: every input of the build, so changing a pin rebuilds it. */
export function stampOf(p: ToolPin, goVersion: string): string {
  if (p.kind === 'provider') {
    const { name, version, source, cgo, ldflags } = p;
    return JSON.stringify({ name, version, source: { file: source.file, sha256: source.sha256 }, cgo, ldflags: ldflags ?? [], go: goVersion }, null, 2) + '\n';
  }
  const { name, version, pkg, get, directives, goSum, cgo, ldflags } = p;
  return JSON.stringify({ name, version, pkg, get, directives, goSum: goSum ?? [], cgo, ldflags: ldflags ?? [], go: goVersion }, null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------
// Building

let running: ProcessPromise | undefined;

/** Kills the `go` command running now, if any, with its whole process tree (compile/link children included). */
export function stopRunningBuild(): Promise<void> {
  return running ? running.kill('SIGKILL') : Promise.resolve();
}

function goEnv(paths: ToolPaths, p: ToolPin): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...GO_ENV,
    GOMODCACHE: paths.goModCache,
    GOCACHE: paths.goBuildCache,
    CGO_ENABLED: p.cgo ? '1' : '0',
  };
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, FS.X_OK).then(
    () => true,
    () => false,
  );
}

/** Does the binary run and report the pinned version? (providers: exists and is executable) */
export async function checkTool(p: ToolPin, bin: string): Promise<{ ok: boolean; output: string }> {
  if (!(await isExecutable(bin))) return { ok: false, output: `${bin} missing or not executable` };
  if (!p.versionArgs) return { ok: true, output: '' };
  const out = await $({ quiet: true, nothrow: true, timeout: DEFAULTS.versionCheckMs })`${bin} ${p.versionArgs}`;
  const output = out.stdout + out.stderr;
  return { ok: out.exitCode === 0 && (!p.versionMatch || output.includes(p.versionMatch)), output };
}

async function step(p: ToolPin, logFile: string, name: string, run: (stdio: StdioOptions) => ProcessPromise): Promise<void> {
  await appendFile(logFile, `\n### ${name} (${new Date().toISOString()})\n`);
  // The child writes straight into the log, so `tail -f` shows a long build as it goes.
  const fd = openSync(logFile, 'a');
  const proc = run(['ignore', fd, fd]);
  running = proc;
  try {
    await proc;
  } catch (err) {
    const code = (err as { exitCode?: number | null }).exitCode;
    await appendFile(logFile, `\n### ${name}: exit code ${code ?? '?'} ${code === undefined ? (err as Error).message : ''}\n`);
    throw new ToolBuildError(p.name, name, logFile, await tail(logFile, DEFAULTS.failTailLines));
  } finally {
    running = undefined;
    closeSync(fd);
  }
}

async function goVersion(): Promise<string> {
  return (await $({ quiet: true, env: { ...process.env, ...GO_ENV } })`go env GOVERSION`).stdout.trim();
}

export interface BuildOptions {
  readonly force?: boolean;
  /** `go env GOVERSION`, part of every stamp */
  readonly go: string;
  /** directory of provider source archives @default - none: providers without a build are not built */
  readonly providerSources?: string;
}

/** Build one pin unless an up-to-date binary is already there. */
export async function buildTool(p: ToolPin, paths: ToolPaths, opts: BuildOptions): Promise<ToolResult> {
  const started = Date.now();
  const dir = toolDir(p, paths.cacheDir);
  const bin = toolBin(p, paths.cacheDir);
  const logFile = path.join(dir, 'build.log');
  const stampFile = path.join(dir, 'stamp.json');
  const stamp = stampOf(p, opts.go);
  const result = (status: ToolStatus, extra: Pick<ToolResult, 'note' | 'help'> = {}): ToolResult => ({
    name: p.name,
    version: p.version,
    status,
    elapsedMs: Date.now() - started,
    log: logFile,
    ...extra,
  });

  await mkdir(dir, { recursive: true });
  if (!opts.force && existsSync(bin)) {
    const have = existsSync(stampFile) ? readFileSync(stampFile, 'utf8') : undefined;
    // Providers have no version command: only a stamped build of the pinned archive counts.
    if (have === undefined ? p.kind !== 'provider' : have === stamp) {
      const check = await checkTool(p, bin);
      if (check.ok && have === stamp) return result('cached');
      // A binary from before stamps existed (same layout, e.g. built by hand with the same recipe): keep it when it
      // reports the pinned version, rather than spend minutes rebuilding identical bytes.
      if (check.ok) {
        await writeFile(stampFile, stamp);
        if (!existsSync(logFile)) await writeFile(logFile, `# ${p.name} ${p.version}: adopted a binary built outside npm run tools\n${check.output}\n`);
        return result('adopted', { note: 'binary present without stamp; version check passed' });
      }
    }
  }

  const work = path.join(paths.cacheDir, 'work', `${p.name}-${p.version}`);
  if (p.kind === 'provider') {
    if (!opts.providerSources) return result('not-built', { note: missingSetting(), help: providerHelp(p, missingSetting()) });
    const archive = await readSourceArchive(p, opts.providerSources);
    if (!archive.ok) return result('source-error', { note: archive.problem, help: providerHelp(p, archive.problem) });
    await mkdir(work, { recursive: true });
    await writeFile(logFile, `# ${p.name} ${p.version} — ${p.why}\n# source ${archive.file} (sha256 ${p.source.sha256} ok)\n# work dir ${work}\n`);
    await buildProvider(p, paths, work, archive.bytes, bin, logFile);
  } else {
    await mkdir(work, { recursive: true });
    await writeFile(logFile, `# ${p.name} ${p.version} — ${p.why}\n# work module ${work}\n`);
    await buildModule(p, paths, work, bin, logFile);
  }

  const check = await checkTool(p, bin);
  await appendFile(logFile, `\n### version check\n${check.output}\n`);
  if (!check.ok) {
    throw new ToolBuildError(p.name, `version check (expected '${p.versionMatch}')`, logFile, await tail(logFile, DEFAULTS.failTailLines));
  }
  await writeFile(stampFile, stamp);
  return result('built');
}

/** Rename only a finished binary, so an interrupted build never looks like a cached one. */
async function install(tmp: string, bin: string): Promise<void> {
  await rm(bin, { force: true });
  await link(tmp, bin).catch(() => copyFile(tmp, bin));
  await rm(tmp, { force: true });
}

/** Servers and OpenTofu: a wrapper module that requires the program, then `go build` of its package. */
async function buildModule(p: ModulePin, paths: ToolPaths, work: string, bin: string, logFile: string): Promise<void> {
  const sh = (stdio: StdioOptions) => $({ cwd: work, env: goEnv(paths, p), quiet: true, stdio });
  await rm(path.join(work, 'go.mod'), { force: true });
  await rm(path.join(work, 'go.sum'), { force: true });
  await step(p, logFile, 'go mod init', (io) => sh(io)`go mod init ${'local/' + p.name}`);
  if (p.directives.length) await appendFile(path.join(work, 'go.mod'), '\n' + p.directives.join('\n') + '\n');
  if (p.goSum?.length) await writeFile(path.join(work, 'go.sum'), p.goSum.join('\n') + '\n');
  await step(p, logFile, 'go get -tool', (io) => sh(io)`go get -tool ${p.get}`);
  const ldflags = p.ldflags?.length ? ['-ldflags', p.ldflags.join(' ')] : [];
  await step(p, logFile, 'go build', (io) => sh(io)`go build -trimpath ${ldflags} -o ${bin + '.tmp'} ${p.pkg}`);
  await install(`${bin}.tmp`, bin);
}

/**
 * Providers: unpack the checked archive bytes into the work dir, download the dependencies its
 * go.sum pins from the module proxy, and build the provider's main package.
 */
async function buildProvider(p: ProviderPin, paths: ToolPaths, work: string, archive: Buffer, bin: string, logFile: string): Promise<void> {
  const tarball = path.join(work, p.source.file);
  const src = path.join(work, 'src');
  await rm(src, { recursive: true, force: true });
  await mkdir(src, { recursive: true });
  await writeFile(tarball, archive);
  await step(p, logFile, 'unpack', (io) => $({ cwd: work, quiet: true, stdio: io })`tar -xzf ${tarball} -C ${src} --no-same-owner`);
  const tree = path.join(src, p.source.prefix);
  if (!existsSync(path.join(tree, 'go.mod'))) {
    throw new ToolBuildError(p.name, 'unpack', logFile, `${p.source.file} has no ${p.source.prefix}/go.mod — not a \`git archive --prefix=${p.source.prefix}/\` of the provider`);
  }
  // No VCS metadata in an archive: -buildvcs=false, or go build stops asking for it.
  const env = { ...goEnv(paths, p), GOFLAGS: `${GO_ENV.GOFLAGS} -buildvcs=false` };
  const sh = (stdio: StdioOptions) => $({ cwd: tree, env, quiet: true, stdio });
  await step(p, logFile, 'go mod download', (io) => sh(io)`go mod download`);
  const ldflags = p.ldflags?.length ? ['-ldflags', p.ldflags.join(' ')] : [];
  await step(p, logFile, 'go build', (io) => sh(io)`go build -trimpath ${ldflags} -o ${bin + '.tmp'} .`);
  await install(`${bin}.tmp`, bin);
}

/**
 * Hard-link (or copy) every built provider into a fresh mirror for both registries, and write the
 * terraformrc that takes exactly those from it.
 */
export async function layoutMirror(paths: ToolPaths): Promise<string[]> {
  const placed: string[] = [];
  const built: ProviderInfo[] = [];
  // Rebuilt from scratch: a provider no longer pinned must not linger where Terraform looks.
  await rm(paths.mirror, { recursive: true, force: true });
  for (const p of providerPins()) {
    const bin = toolBin(p, paths.cacheDir);
    if (!(await isExecutable(bin))) continue;
    built.push(p.provider);
    for (const registry of DEFAULTS.registries) {
      const dest = mirrorBinPath(paths.mirror, registry, p.provider);
      await mkdir(path.dirname(dest), { recursive: true });
      await link(bin, dest).catch(() => copyFile(bin, dest));
      placed.push(dest);
    }
  }
  await mkdir(paths.toolsDir, { recursive: true });
  await writeFile(paths.terraformrc, terraformrcText(paths.mirror, built));
  return placed;
}

/**
 * Pins to build: all of them (OpenTofu included, whatever engine is chosen, so switching back
 * needs no build), except servers the user runs from their own install.
 */
export function selectPins(paths: ToolPaths, only?: readonly string[]): ToolPin[] {
  const unknown = (only ?? []).filter((n) => !PINS.some((p) => p.name === n));
  if (unknown.length) {
    throw new Error(`--only: ${unknown.join(', ')} — not a pin — use one of ${PINS.map((p) => p.name).join(', ')}`);
  }
  return PINS.filter((p) => {
    if ((paths.userServers as readonly string[]).includes(p.name)) return false;
    // an OpenTofu of the user's (ZERODROP_TOFU_BIN) replaces the pinned one
    if (p.kind === 'engine' && paths.engine.kind === 'tofu' && paths.engine.bin !== toolBin(p, paths.cacheDir)) return false;
    return only?.length ? only.includes(p.name) : true;
  });
}

/**
 * Every module compiled into the tool must be open source (toolchain/licences.ts). A refused tool
 * loses its binary, so nothing runs it, and the run fails naming each module, version and licence.
 */
async function licenceCheck(p: ToolPin, paths: ToolPaths): Promise<string> {
  const bin = toolBin(p, paths.cacheDir);
  // a provider's own module is its unpacked source tree, not a module in the cache
  const tree = p.kind === 'provider' ? path.join(paths.cacheDir, 'work', `${p.name}-${p.version}`, 'src', p.source.prefix) : undefined;
  const report = await checkLicences({ bin, goModCache: paths.goModCache, ...(tree && existsSync(tree) ? { mainModuleDir: tree } : {}) });
  if (report.refused.length) {
    await rm(bin, { force: true });
    await rm(path.join(toolDir(p, paths.cacheDir), 'stamp.json'), { force: true });
    throw new LicenceError(`${p.name} ${p.version}`, report);
  }
  return formatLicenceReport(report);
}

/**
 * Build whatever is missing or stale and lay out the provider mirror. Throws ToolBuildError on the
 * first failing build (the rest are not attempted: they share the two cores). A provider without
 * a usable source archive is a result (`not-built` / `source-error`), not an exception.
 */
export async function ensureTools(opts: ToolsOptions = {}): Promise<ToolPaths & { results: ToolResult[] }> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const paths = toolPaths(opts);
  const pins = selectPins(paths, opts.only);
  const go = await goVersion();
  const providerSources = opts.providerSources ?? providerSourcesDir();
  const results: ToolResult[] = [];
  for (const name of paths.userServers) log(`[tools] ${name}: your own binary ${paths[name]} (${USER_BIN_ENV[name]}) — not built, not downloaded`);
  if (paths.engine.kind === 'terraform') log(`[tools] engine: your own Terraform ${paths.engine.bin} (${USER_BIN_ENV.terraform}), under its own licence; OpenTofu is built all the same`);
  for (const p of pins) {
    log(`[tools] ${p.name} ${p.version} … (log ${path.join(toolDir(p, paths.cacheDir), 'build.log')})`);
    const r = await buildTool(p, paths, { force: opts.force ?? false, go, ...(providerSources ? { providerSources } : {}) });
    log(`[tools] ${p.name} ${p.version} ${r.status} in ${(r.elapsedMs / 1000).toFixed(1)}s${r.note ? ` — ${r.note}` : ''}`);
    const licences = r.status === 'not-built' || r.status === 'source-error' ? undefined : await licenceCheck(p, paths);
    if (licences) log(`[tools] ${p.name} ${p.version} ${licences}`);
    results.push({ ...r, ...(licences ? { licences } : {}) });
  }
  await layoutMirror(paths);
  // Looked up again: which providers are built has changed if one was just built.
  const after = toolPaths(opts);
  // machine-readable record of the last run, for CI logs and other scripts
  await writeFile(path.join(after.toolsDir, 'tools.json'), JSON.stringify({ ...after, results }, null, 2) + '\n');
  return { ...after, results };
}
