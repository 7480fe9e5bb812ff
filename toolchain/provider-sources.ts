/**
 * Where `npm run tools` finds the Terraform providers' source archives, how it checks them, and
 * what it tells the user when one is not there. Nothing here builds anything.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProviderPin } from '../pins/index.ts';

/** The setting: a directory holding `terraform-provider-<type>-<version>.tar.gz` files. */
export const PROVIDER_SOURCES_ENV = 'ZERODROP_PROVIDER_SOURCES';

/** The directory the setting names, absolute, or undefined when it is unset or blank. */
export function providerSourcesDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const dir = env[PROVIDER_SOURCES_ENV]?.trim();
  return dir ? path.resolve(cwd, dir) : undefined;
}

export type ArchiveCheck = { readonly ok: true; readonly file: string; readonly bytes: Buffer } | { readonly ok: false; readonly file: string; readonly problem: string };

/**
 * Reads a provider's archive from `dir` and checks its sha256 against the pin. The bytes come back
 * so the caller unpacks exactly what was checked (not the file again, which could have changed).
 */
export async function readSourceArchive(pin: ProviderPin, dir: string): Promise<ArchiveCheck> {
  const file = path.join(dir, pin.source.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { ok: false, file, problem: `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== pin.source.sha256) {
    return { ok: false, file, problem: `${file} has sha256 ${sha256}, pinned ${pin.source.sha256} — not the archive pins/index.ts pins, so it is not unpacked` };
  }
  return { ok: true, file, bytes };
}

/** The command that makes a provider's archive from a clone of its upstream repository. */
export function archiveCommand(pin: ProviderPin): string {
  const s = pin.source;
  return `git clone --branch ${s.tag} ${s.repo} && git -C ${pin.name} archive --format=tar.gz --prefix=${s.prefix}/ -o "$PWD/${s.file}" ${s.tag}`;
}

/**
 * Why a provider is not built and the two ways to get it, in lines for the console:
 * Terraform installs it itself where the registry is reachable; offline, it is built from its archive.
 */
export function providerHelp(pin: ProviderPin, problem: string): string[] {
  const p = pin.provider;
  const s = pin.source;
  return [
    `${p.namespace}/${p.type} ${p.version} not built: ${problem}`,
    `    with registry.terraform.io reachable nothing needs building: \`terraform init\` (run by \`cdktf deploy\`) installs ${p.namespace}/${p.type} ${p.version} itself`,
    `    to build it offline: ${s.file} (sha256 ${s.sha256}, tag ${s.tag} = commit ${s.commit}) in a directory, then ${PROVIDER_SOURCES_ENV}=<dir> npm run tools`,
    `    make the archive with: ${archiveCommand(pin)}`,
  ];
}

/** The problem to report for a provider that has no build, given the setting. */
export function missingSetting(): string {
  return `${PROVIDER_SOURCES_ENV} is not set (a directory of provider source archives)`;
}

/** Where each engine installs providers from, when they are not in the mirror. */
export const REGISTRY_PROBE = {
  tofu:      'https://registry.opentofu.org/.well-known/terraform.json',
  terraform: 'https://registry.terraform.io/.well-known/terraform.json',
} as const;

export interface ProviderPreflight {
  /** providers the command needs (pins' provider types, e.g. nomad, consul) */
  readonly needed: readonly ProviderPin[];
  /** which of them are built already (in the mirror) */
  readonly built: ReadonlySet<string>;
  readonly engine: keyof typeof REGISTRY_PROBE;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default REGISTRY_PROBE[engine] */
  readonly registryUrl?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/**
 * Before minutes of server builds, checks that the providers a command needs can be had: built
 * already, buildable from a source archive that is there and matches its pin, or installable from a
 * registry that answers. Throws with both ways out when none holds, instead of failing at `init`
 * after the builds. Resolves to how they will be had, for the log.
 */
export async function providerPreflight(p: ProviderPreflight): Promise<string> {
  const missing = p.needed.filter((pin) => !p.built.has(pin.provider.type));
  if (!missing.length) return 'providers: built';
  const dir = providerSourcesDir(p.env);
  if (dir) {
    const bad = (await Promise.all(missing.map((pin) => readSourceArchive(pin, dir)))).filter((a) => !a.ok);
    if (bad.length) throw new Error(`${PROVIDER_SOURCES_ENV}=${dir}: ${bad.map((a) => (a.ok ? '' : a.problem)).join('; ')}`);
    return `providers: built from ${dir}`;
  }
  const url = p.registryUrl ?? REGISTRY_PROBE[p.engine];
  const answer = await fetch(url, { signal: AbortSignal.timeout(p.timeoutMs ?? 5_000) }).then(
    (r) => (r.ok ? undefined : `HTTP ${r.status}`),
    (err: Error) => (err.cause as Error | undefined)?.message ?? err.message,
  );
  if (answer === undefined) return `providers: from ${new URL(url).host}`;
  const names = missing.map((pin) => `${pin.provider.namespace}/${pin.provider.type} ${pin.provider.version}`).join(', ');
  throw new Error(
    `${names} not built, ${PROVIDER_SOURCES_ENV} not set, and the registry does not answer (${url}: ${answer}) — ` +
      `\`init\` would fail after the server builds. Put the providers' source archives in a directory and set ${PROVIDER_SOURCES_ENV} to it (docs/providers.md), or run where ${new URL(url).host} is reachable`,
  );
}
