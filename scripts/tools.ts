#!/usr/bin/env tsx
/**
 * `npm run tools [-- --only consul,nomad] [--force]`: builds every pin of tool-versions.ts from Go
 * modules into `${XDG_CACHE_HOME:-~/.cache}/zerodrop/tools/<name>-<version>/`, lays out an offline
 * provider mirror and a Terraform CLI config that points at it. Idempotent: a tool whose binary
 * answers its version check and whose stamp matches the pin is not rebuilt.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants as FS, existsSync, openSync, readFileSync } from 'node:fs';
import type { StdioOptions } from 'node:child_process';
import { access, appendFile, copyFile, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { $, type ProcessPromise } from 'zx';
import { Command } from 'commander';
import extractZip from 'extract-zip';
import { findOnPath } from '../config/load.ts';
import { GO_ENV, PINS, type ProviderInfo, type ToolPin } from './tool-versions.ts';

// ---------------------------------------------------------------------------------------------
// Defaults (env overrides)

export const DEFAULTS = {
  /** root of every cache: binaries, Go module + build caches, wrapper modules */
  cacheDir:        path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'zerodrop'),
  /** lines of the build log shown when a step fails */
  failTailLines:   30,
  /** a version command that hangs is a broken binary */
  versionCheckMs:  20_000,
  /** one module zip download (moduleZip pins) */
  zipDownloadMs:   120_000,
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
  /** the IaC engine cdktf should drive: `terraform` from PATH, else the pinned OpenTofu build */
  engine: { kind: 'terraform' | 'tofu'; bin: string };
  /** Terraform CLI config (use as TF_CLI_CONFIG_FILE) that installs providers from `mirror` only */
  terraformrc: string;
  /** filesystem mirror root */
  mirror: string;
  /** by provider type (`nomad`, `consul`): the build Terraform gets from the mirror */
  providers: Record<string, ProviderChoice>;
}

/** The provider build Terraform uses for one type. */
export interface ProviderChoice {
  readonly info: ProviderInfo;
  readonly bin: string;
  /** false: nothing is built for this type (`info` is then the binding's own, blocked pin) */
  readonly built: boolean;
}

export type ToolStatus = 'cached' | 'adopted' | 'built' | 'blocked' | 'skipped';
export interface ToolResult {
  name: string;
  version: string;
  status: ToolStatus;
  elapsedMs: number;
  log: string;
  note?: string;
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

/** `linux_amd64` style platform, as Terraform names it. */
export function terraformPlatform(platform = process.platform, arch = process.arch): string {
  const a = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
  return `${platform}_${a}`;
}

/** First executable `name` on PATH, or undefined. */

function pin(name: string): ToolPin {
  const p = PINS.find((x) => x.name === name);
  if (!p) throw new Error(`tool-versions.ts: no pin named '${name}'`);
  return p;
}

export function toolPaths(opts: Pick<ToolsOptions, 'cacheDir'> = {}): ToolPaths {
  const cacheDir = opts.cacheDir ?? DEFAULTS.cacheDir;
  const toolsDir = path.join(cacheDir, 'tools');
  const terraform = findOnPath('terraform', process.env.PATH ?? '');
  // The binding's own version when it is built, else the first built stand-in, else the (unbuilt) binding's pin.
  const providers: Record<string, ProviderChoice> = {};
  for (const p of PINS) {
    if (!p.provider) continue;
    const bin = toolBin(p, cacheDir);
    const built = existsSync(bin);
    const have = providers[p.provider.type];
    if (!have || (!have.built && built)) providers[p.provider.type] = { info: p.provider, bin, built };
  }
  return {
    cacheDir,
    toolsDir,
    goModCache: path.join(cacheDir, 'go', 'mod'),
    goBuildCache: path.join(cacheDir, 'go', 'build'),
    consul: toolBin(pin('consul'), cacheDir),
    nomad: toolBin(pin('nomad'), cacheDir),
    traefik: toolBin(pin('traefik'), cacheDir),
    engine: terraform ? { kind: 'terraform', bin: terraform } : { kind: 'tofu', bin: toolBin(pin('tofu'), cacheDir) },
    terraformrc: path.join(toolsDir, 'terraformrc'),
    mirror: path.join(toolsDir, 'mirror'),
    providers,
  };
}

/** Mirror path of a provider binary: `<mirror>/<registry>/<ns>/<type>/<ver>/<platform>/terraform-provider-<type>_v<ver>`. */
export function mirrorBinPath(mirror: string, registry: string, p: NonNullable<ToolPin['provider']>, platform = terraformPlatform()): string {
  return path.join(mirror, registry, p.namespace, p.type, p.version, platform, `terraform-provider-${p.type}_v${p.version}`);
}

/** The CLI config: pinned providers come from the mirror only, and nothing else is fetched for them. */
export function terraformrcText(mirror: string, pins: readonly ToolPin[] = PINS): string {
  const sources = [...new Set(pins.flatMap((p) => (p.provider ? DEFAULTS.registries.map((r) => `${r}/${p.provider!.namespace}/${p.provider!.type}`) : [])))];
  const list = sources.map((s) => `      ${JSON.stringify(s)},`).join('\n');
  return [
    '# written by `npm run tools`: providers pinned in scripts/tool-versions.ts, from the local mirror only',
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
  const { name, version, pkg, get, directives, goSum, moduleZip, cgo, ldflags } = p;
  return JSON.stringify({ name, version, pkg, get, directives, goSum: goSum ?? [], ...(moduleZip ? { moduleZip } : {}), cgo, ldflags: ldflags ?? [], go: goVersion }, null, 2) + '\n';
}

/** Module path as the proxy protocol spells it: every upper-case letter becomes `!` + lower case. */
export function escapeModulePath(module: string): string {
  return module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** The first HTTP(S) proxy of a GOPROXY list (`direct` and `off` are not proxies; `file://` ones are not fetched). */
export function firstProxy(goproxy: string): string | undefined {
  return goproxy.split(/[,|]/).map((s) => s.trim()).find((s) => /^https?:\/\//.test(s));
}

// ---------------------------------------------------------------------------------------------
// Building

let running: ProcessPromise | undefined;

function goEnv(paths: ToolPaths, p: ToolPin): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...GO_ENV,
    GOMODCACHE: paths.goModCache,
    GOCACHE: paths.goBuildCache,
    CGO_ENABLED: p.cgo ? '1' : '0',
  };
}

async function tail(file: string, n: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-n).join('\n');
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

/** Downloads a moduleZip pin from the proxy, checks its sha256 and unpacks it; returns the module's directory. */
async function fetchModuleZip(p: ToolPin, work: string, env: NodeJS.ProcessEnv, logFile: string): Promise<string> {
  const z = p.moduleZip!;
  const fail = async (why: string) => {
    await appendFile(logFile, `\n### fetch module zip: ${why}\n`);
    return new ToolBuildError(p.name, 'fetch module zip', logFile, why);
  };
  const goproxy = (await $({ quiet: true, env })`go env GOPROXY`).stdout.trim();
  const proxy = firstProxy(goproxy);
  if (!proxy) throw await fail(`GOPROXY=${goproxy} names no proxy to fetch ${z.module}@${z.version} from — set GOPROXY=https://proxy.golang.org`);
  const url = `${proxy.replace(/\/$/, '')}/${escapeModulePath(z.module)}/@v/${z.version}.zip`;
  await appendFile(logFile, `\n### fetch module zip ${url} (${new Date().toISOString()})\n`);
  let bytes: Buffer;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(DEFAULTS.zipDownloadMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${(await res.text()).slice(0, 200).trim()}`);
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw await fail(`GET ${url}: ${(err as Error).message}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== z.sha256) throw await fail(`${url}: sha256 ${sha256}, pinned ${z.sha256} — the proxy serves other bytes than were checked; do not build it`);
  const zipFile = path.join(work, `${p.name}-${z.version}.zip`);
  const src = path.join(work, 'src');
  await writeFile(zipFile, bytes);
  await rm(src, { recursive: true, force: true });
  await extractZip(zipFile, { dir: src });
  await appendFile(logFile, `sha256 ${sha256} ok, unpacked to ${src}\n`);
  // Module zips hold one top directory, `<module>@<version>/`.
  return path.join(src, `${z.module}@${z.version}`);
}

async function goVersion(): Promise<string> {
  return (await $({ quiet: true, env: { ...process.env, ...GO_ENV } })`go env GOVERSION`).stdout.trim();
}

/** Build one pin unless an up-to-date binary is already there. */
export async function buildTool(p: ToolPin, paths: ToolPaths, opts: { force?: boolean; go: string }): Promise<ToolResult> {
  const started = Date.now();
  const dir = toolDir(p, paths.cacheDir);
  const bin = toolBin(p, paths.cacheDir);
  const logFile = path.join(dir, 'build.log');
  const stampFile = path.join(dir, 'stamp.json');
  const stamp = stampOf(p, opts.go);
  const result = (status: ToolStatus, note?: string): ToolResult => ({
    name: p.name,
    version: p.version,
    status,
    elapsedMs: Date.now() - started,
    log: logFile,
    ...(note ? { note } : {}),
  });

  if (p.blocked) return result('blocked', p.blocked);
  await mkdir(dir, { recursive: true });

  if (!opts.force && existsSync(bin)) {
    const have = existsSync(stampFile) ? readFileSync(stampFile, 'utf8') : undefined;
    if (have === undefined || have === stamp) {
      const check = await checkTool(p, bin);
      if (check.ok && have === stamp) return result('cached');
      // A binary from before stamps existed (same layout, e.g. a hand-run prototype): keep it when it
      // reports the pinned version, rather than spend minutes rebuilding identical bytes.
      if (check.ok) {
        await writeFile(stampFile, stamp);
        if (!existsSync(logFile)) await writeFile(logFile, `# ${p.name} ${p.version}: adopted a binary built outside npm run tools\n${check.output}\n`);
        return result('adopted', 'binary present without stamp; version check passed');
      }
    }
  }

  const work = path.join(paths.cacheDir, 'work', `${p.name}-${p.version}`);
  await mkdir(work, { recursive: true });
  await writeFile(logFile, `# ${p.name} ${p.version} — ${p.why}\n# work module ${work}\n`);
  const env = goEnv(paths, p);
  const sh = (stdio: StdioOptions) => $({ cwd: work, env, quiet: true, stdio });

  await rm(path.join(work, 'go.mod'), { force: true });
  await rm(path.join(work, 'go.sum'), { force: true });
  await step(p, logFile, 'go mod init', (io) => sh(io)`go mod init ${'local/' + p.name}`);
  const directives = [...p.directives];
  if (p.moduleZip) directives.push(`replace ${p.moduleZip.module} => ${await fetchModuleZip(p, work, env, logFile)}`);
  if (directives.length) await appendFile(path.join(work, 'go.mod'), '\n' + directives.join('\n') + '\n');
  if (p.goSum?.length) await writeFile(path.join(work, 'go.sum'), p.goSum.join('\n') + '\n');
  await step(p, logFile, 'go get -tool', (io) => sh(io)`go get -tool ${p.get}`);
  const ldflags = p.ldflags?.length ? ['-ldflags', p.ldflags.join(' ')] : [];
  const tmp = `${bin}.tmp`;
  await step(p, logFile, 'go build', (io) => sh(io)`go build -trimpath ${ldflags} -o ${tmp} ${p.pkg}`);
  // Rename only a finished binary, so an interrupted build never looks like a cached one.
  await rm(bin, { force: true });
  await link(tmp, bin).catch(() => copyFile(tmp, bin));
  await rm(tmp, { force: true });

  const check = await checkTool(p, bin);
  await appendFile(logFile, `\n### version check\n${check.output}\n`);
  if (!check.ok) {
    throw new ToolBuildError(p.name, `version check (expected '${p.versionMatch}')`, logFile, await tail(logFile, DEFAULTS.failTailLines));
  }
  await writeFile(stampFile, stamp);
  return result('built');
}

/** Hard-link (or copy) every built provider into the mirror for both registries; write terraformrc. */
export async function layoutMirror(paths: ToolPaths): Promise<string[]> {
  const placed: string[] = [];
  for (const p of PINS) {
    if (!p.provider) continue;
    const bin = toolBin(p, paths.cacheDir);
    if (!(await isExecutable(bin))) continue;
    for (const registry of DEFAULTS.registries) {
      const dest = mirrorBinPath(paths.mirror, registry, p.provider);
      await mkdir(path.dirname(dest), { recursive: true });
      await rm(dest, { force: true });
      await link(bin, dest).catch(() => copyFile(bin, dest));
      placed.push(dest);
    }
  }
  await mkdir(paths.toolsDir, { recursive: true });
  await writeFile(paths.terraformrc, terraformrcText(paths.mirror));
  return placed;
}

/** Pins this machine needs: OpenTofu only when no terraform is on PATH. */
export function selectPins(paths: ToolPaths, only?: readonly string[]): ToolPin[] {
  const unknown = (only ?? []).filter((n) => !PINS.some((p) => p.name === n));
  if (unknown.length) {
    throw new Error(`--only: ${unknown.join(', ')} — not a pin — use one of ${PINS.map((p) => p.name).join(', ')}`);
  }
  return PINS.filter((p) => {
    if (only?.length) return only.includes(p.name);
    return p.kind !== 'engine' || paths.engine.kind === 'tofu';
  });
}

/**
 * Build whatever is missing or stale and lay out the provider mirror. Throws ToolBuildError on the
 * first failing build (the rest are not attempted: they share the two cores).
 */
export async function ensureTools(opts: ToolsOptions = {}): Promise<ToolPaths & { results: ToolResult[] }> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const paths = toolPaths(opts);
  const pins = selectPins(paths, opts.only);
  const go = await goVersion();
  const results: ToolResult[] = [];
  for (const p of pins) {
    log(`[tools] ${p.name} ${p.version} … (log ${path.join(toolDir(p, paths.cacheDir), 'build.log')})`);
    const r = await buildTool(p, paths, { force: opts.force ?? false, go });
    results.push(r);
    log(`[tools] ${p.name} ${p.version} ${r.status} in ${(r.elapsedMs / 1000).toFixed(1)}s${r.note ? ` — ${r.note}` : ''}`);
  }
  await layoutMirror(paths);
  // Looked up again: which providers are built has changed if one was just built.
  const after = toolPaths(opts);
  // machine-readable record of the last run, for CI logs and other scripts
  await writeFile(path.join(after.toolsDir, 'tools.json'), JSON.stringify({ ...after, results }, null, 2) + '\n');
  return { ...after, results };
}

// ---------------------------------------------------------------------------------------------
// CLI

export async function main(argv = process.argv): Promise<number> {
  const opts = new Command('tools')
    .option('--only <names>', 'comma-separated pin names (consul,nomad,traefik,terraform-provider-nomad,…)')
    .option('--force', 'rebuild even when up to date', false)
    .option('--print-paths', 'print the tool paths as JSON and exit (builds nothing)', false)
    .parse(argv)
    .opts<{ only?: string; force: boolean; printPaths: boolean }>();
  if (opts.printPaths) {
    console.log(JSON.stringify(toolPaths(), null, 2));
    return 0;
  }
  const onSigint = () => {
    // zx kills the whole process tree of the running `go` (compile/link children included).
    console.error('\n[tools] interrupted: stopping the running go command');
    void (running?.kill('SIGKILL') ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const started = Date.now();
  try {
    const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
    const res = await ensureTools({ ...(only ? { only } : {}), force: opts.force });
    const w = Math.max(...res.results.map((r) => `${r.name} ${r.version}`.length));
    console.log('\n' + res.results.map((r) => `  ${`${r.name} ${r.version}`.padEnd(w)}  ${r.status.padEnd(7)} ${(r.elapsedMs / 1000).toFixed(1).padStart(7)}s  ${r.status === 'blocked' ? r.note : r.log}`).join('\n'));
    console.log(`\n[tools] done in ${((Date.now() - started) / 1000).toFixed(1)}s; engine ${res.engine.kind} (${res.engine.bin})`);
    console.log(`[tools] export TF_CLI_CONFIG_FILE=${res.terraformrc}`);
    const blocked = res.results.filter((r) => r.status === 'blocked');
    if (blocked.length) console.warn(`[tools] WARNING: not built (see tool-versions.ts): ${blocked.map((r) => `${r.name} ${r.version}`).join(', ')}`);
    for (const [type, p] of Object.entries(res.providers)) {
      if (p.built && p.info.standInFor) console.warn(`[tools] hashicorp/${type}: using stand-in ${p.info.version} for ${p.info.standInFor} (it has no ${p.info.lacks?.join(', ') || '—'})`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ToolBuildError) {
      console.error(`[tools] FAILED ${err.tool} at step '${err.step}' (full log ${err.log}); last ${DEFAULTS.failTailLines} lines:\n${err.tail}`);
      return 1;
    }
    console.error(`[tools] ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
