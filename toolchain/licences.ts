/**
 * Licence check of a Go build: the kit is open source only, so every module compiled into a tool
 * it builds must be under an open-source licence. `go version -m BINARY` lists those modules (the
 * build info Go writes into every binary); each one's licence file(s) are read at its root in the
 * module cache and classified. A Business Source License, SSPL, Elastic License, Commons Clause,
 * an "all rights reserved" notice alone, an unrecognised text and a missing file are all refused.
 * A module whose root licence does not pass may still pass when every file of it compiled into the
 * binary sits under an open licence file of its own package (nomad's jobspec2 under a BUSL root),
 * or by an entry of LICENCE_ALLOW that says where its licence can be read.
 *
 * Classification is a table of distinctive phrases, not a library: the npm licence checkers read
 * package.json, or take a word such as "MIT" or "BSD" in a text for the licence (no BSD-2 vs
 * BSD-3, no MPL-2.0 notice, no BUSL), and the classifiers of full texts (Go's licensecheck,
 * askalono) are not npm packages. A phrase per licence is enough because the verdict is only
 * "open source or not", and whatever the table does not know is refused.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Build info

/** A module compiled into a binary, as `go version -m` lists it. */
export interface GoModule {
  readonly path: string;
  /** `(devel)` for a main module built from a source tree; empty for a directory replacement */
  readonly version: string;
  /** the `mod` line: the module whose package was built */
  readonly main: boolean;
  /** a `=>` line: the module whose code was compiled in its place */
  readonly replace?: { readonly path: string; readonly version: string };
}

/**
 * The modules of a `go version -m` listing: the `mod` line (main module), every `dep` line, and
 * the `=>` line that follows a replaced dep (the code compiled is the replacement's, so that is
 * the licence to read).
 */
export function compiledModules(buildInfoText: string): GoModule[] {
  const modules: GoModule[] = [];
  let previous: string | undefined;
  for (const line of buildInfoText.split('\n')) {
    const [word, modPath, version = ''] = line.trim().split(/\s+/);
    if (word === 'mod' || word === 'dep') {
      if (!modPath) throw new Error(`build info: '${line.trim()}' names no module`);
      modules.push({ path: modPath, version, main: word === 'mod' });
    } else if (word === '=>') {
      const last = modules.at(-1);
      if (previous !== 'dep' || !last || !modPath) throw new Error(`build info: '${line.trim()}' does not follow a dep line`);
      modules[modules.length - 1] = { ...last, replace: { path: modPath, version } };
    }
    previous = word;
  }
  if (!modules.some((m) => m.main)) throw new Error('build info lists no main module (`mod` line): not a Go binary built in module mode');
  return modules;
}

/** The module whose source was compiled: the replacement of a replaced module, else the module itself. */
export function compiledSource(m: GoModule): { path: string; version: string } {
  return m.replace ?? { path: m.path, version: m.version };
}

// ---------------------------------------------------------------------------------------------
// Module cache

/** Go's case-encoding of module paths and versions in the cache: each upper-case letter becomes `!` + lower case. */
export function escapeModulePath(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** Root of a module in the module cache: `<GOMODCACHE>/<escaped path>@<escaped version>`. */
export function moduleDir(goModCache: string, modPath: string, version: string): string {
  return path.join(goModCache, `${escapeModulePath(modPath)}@${escapeModulePath(version)}`);
}

// ---------------------------------------------------------------------------------------------
// Classification

/** One licence found in a text. `id` is the SPDX id where there is one. */
export interface LicenceMatch {
  readonly id: string;
  /** as it is named in messages: `Business Source License 1.1` */
  readonly name: string;
  readonly openSource: boolean;
  /** a source-available licence (BUSL, SSPL …): no allow-list entry can pass it */
  readonly sourceAvailable?: boolean;
}

interface Rule extends LicenceMatch {
  /** all must match the normalised text (lower case, every run of other characters one space) */
  readonly all: readonly RegExp[];
  /** none may match */
  readonly unless?: readonly RegExp[];
}

const open = (id: string, name: string, all: RegExp[], unless?: RegExp[]): Rule => ({ id, name, openSource: true, all, ...(unless ? { unless } : {}) });
const notOpen = (id: string, name: string, all: RegExp[], unless?: RegExp[]): Rule => ({ id, name, openSource: false, all, ...(unless ? { unless } : {}) });
const sourceAvailable = (id: string, name: string, all: RegExp[], unless?: RegExp[]): Rule => ({ ...notOpen(id, name, all, unless), sourceAvailable: true });

// "forms of libcap/psx, with or without": some name the work in the grant.
const BSD_REDISTRIBUTION = /redistribution and use in source and binary forms(?: [a-z0-9]+){0,4} with or without modification are permitted/;
const BSD_ENDORSE = /endorse or promote products derived from this software/;
const BSD_ADVERTISING = /all advertising materials mentioning features or use of this software must display/;
const ISC_GRANT = 'permission to use copy modify and(?: or)? distribute this software for any purpose with or without fee is hereby granted';
const BUSL_VERSIONED = /business source license (?:version |v )?1 [01]\b/;

/**
 * Each licence by a phrase of its own text (or of the notice that applies it, for Apache-2.0 and
 * MPL-2.0, whose files are often the short notice). Titles carry version and date where a text
 * names another licence: GPL-3.0 mentions the Lesser GPL and LGPL-3.0 is written as additions
 * to the GPL, so only the title line tells them apart.
 */
const RULES: readonly Rule[] = [
  open('MIT', 'MIT', [/permission is hereby granted free of charge to any person obtaining a copy/]),
  open('ISC', 'ISC', [new RegExp(`${ISC_GRANT} provided that the above copyright notice and this permission notice appear in all copies`)]),
  // 0BSD is the ISC grant with the condition cut: the warranty disclaimer follows the grant at once.
  open('0BSD', 'Zero-Clause BSD', [new RegExp(`${ISC_GRANT} the software is provided as is`)]),
  open('BSD-3-Clause', 'BSD 3-Clause', [BSD_REDISTRIBUTION, BSD_ENDORSE], [BSD_ADVERTISING]),
  open('BSD-2-Clause', 'BSD 2-Clause', [BSD_REDISTRIBUTION], [BSD_ENDORSE, BSD_ADVERTISING]),
  open('Apache-2.0', 'Apache License 2.0', [/apache license version 2 0/]),
  open('MPL-2.0', 'Mozilla Public License 2.0', [/mozilla public license (?:version |v )?2 0/]),
  open('MPL-1.1', 'Mozilla Public License 1.1', [/mozilla public license (?:version |v )?1 1/]),
  open('Unlicense', 'The Unlicense', [/this is free and unencumbered software released into the public domain/]),
  open('CC0-1.0', 'CC0 1.0 Universal', [/cc0 1 0 universal/]),
  open('Zlib', 'zlib', [/the origin of this software must not be misrepresented/, /altered source versions must be plainly marked as such/]),
  open('BSL-1.0', 'Boost Software License 1.0', [/boost software license version 1 0/]),
  open('GPL-2.0', 'GNU General Public License 2.0', [/gnu general public license version 2 june 1991/]),
  open('GPL-3.0', 'GNU General Public License 3.0', [/gnu general public license version 3 29 june 2007/]),
  open('LGPL-2.0', 'GNU Library General Public License 2.0', [/gnu library general public license version 2 june 1991/]),
  open('LGPL-2.1', 'GNU Lesser General Public License 2.1', [/gnu lesser general public license version 2 1 february 1999/]),
  open('LGPL-3.0', 'GNU Lesser General Public License 3.0', [/gnu lesser general public license version 3 29 june 2007/]),
  open('AGPL-3.0', 'GNU Affero General Public License 3.0', [/gnu affero general public license version 3 19 november 2007/]),
  open('EPL-1.0', 'Eclipse Public License 1.0', [/eclipse public license (?:v |version )?1 0/]),
  open('EPL-2.0', 'Eclipse Public License 2.0', [/eclipse public license (?:v |version )?2 0/]),
  // Generated Unicode tables (text segmentation, width) carry Unicode's data licence beside the code's.
  open('Unicode-DFS-2016', 'Unicode License Agreement - Data Files and Software', [/unicode inc license agreement data files and software/]),
  open('Unicode-3.0', 'Unicode License v3', [/unicode license v3/]),

  // Source-available, not open source. These win over every open licence in the same text: a BUSL
  // file names its open "Change License", and a Commons Clause is a rider on an open licence.
  sourceAvailable('BUSL-1.1', 'Business Source License 1.1', [/business source license (?:version |v )?1 1\b/]),
  sourceAvailable('BUSL-1.0', 'Business Source License 1.0', [/business source license (?:version |v )?1 0\b/]),
  sourceAvailable('BUSL', 'Business Source License', [/business source license/], [BUSL_VERSIONED]),
  sourceAvailable('SSPL-1.0', 'Server Side Public License', [/server side public license/]),
  sourceAvailable('Elastic-2.0', 'Elastic License 2.0', [/elastic license (?:version |v )?2 0/]),
  sourceAvailable('Elastic-License', 'Elastic License', [/elastic license/], [/elastic license (?:version |v )?2 0/]),
  sourceAvailable('Commons-Clause', 'Commons Clause', [/commons clause/]),
  sourceAvailable('FSL', 'Functional Source License', [/functional source license/]),
  sourceAvailable('PolyForm', 'PolyForm licence', [/polyform/]),
  // The advertising clause: free software to the FSF, but not approved by the OSI.
  notOpen('BSD-4-Clause', 'BSD 4-Clause (advertising clause)', [BSD_REDISTRIBUTION, BSD_ADVERTISING]),
];

/** A copyright line with no grant is no licence: every right stays with the author. */
export const ALL_RIGHTS_RESERVED: LicenceMatch = { id: 'all-rights-reserved', name: 'all rights reserved, no licence granted', openSource: false };
export const UNRECOGNISED: LicenceMatch = { id: 'unknown', name: 'unrecognised licence text', openSource: false };
export const NO_LICENCE_FILE: LicenceMatch = { id: 'none', name: 'no licence file', openSource: false };

/** Lower case, and every run of anything but letters and digits one space: line wraps, markup and punctuation do not matter. */
export function normaliseLicenceText(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
}

/**
 * Every licence a text holds (a file may carry several: MIT followed by the BSD of code it
 * copied). Never empty: an unrecognised text is UNRECOGNISED, a bare copyright ALL_RIGHTS_RESERVED.
 */
export function classifyLicence(text: string): LicenceMatch[] {
  const t = normaliseLicenceText(text);
  const found: LicenceMatch[] = RULES.filter((r) => r.all.every((re) => re.test(t)) && !r.unless?.some((re) => re.test(t))).map(({ all: _all, unless: _unless, ...match }) => match);
  if (found.length) return found;
  return [/all rights reserved/.test(t) ? ALL_RIGHTS_RESERVED : UNRECOGNISED];
}

// ---------------------------------------------------------------------------------------------
// A module's licence files

/** LICENSE, LICENCE, LICENSE.md, LICENSE-MIT, LICENSE_WINDOWS, LICENSES, COPYING, COPYING.LESSER, UNLICENSE … */
const LICENCE_FILE = /^(?:(?:un)?licen[cs]es?|copying)(?:[-._][\w.-]*)?$/i;
/** …but not source files that happen to be named so (license.go, license_test.go). */
const SOURCE_FILE = /\.(?:go|s|c|h|sh|py|js|ts|json|ya?ml|toml|html?|tmpl|tpl|proto|mod|sum)$/i;
/** A licence for the documentation only (LICENSE.docs: CC-BY-SA in some repositories): docs are not compiled in. */
const DOCS_LICENCE = /[-._]docs?(?:\.(?:md|txt))?$/i;
/** REUSE-style folder of licence texts at the module root. */
const LICENCES_DIR = /^licen[cs]es$/i;

/** A licence file read at a module root, with what it holds. */
export interface LicenceFinding extends LicenceMatch {
  /** relative to the module root */
  readonly file: string;
}

export interface ModuleLicence {
  readonly dir: string;
  /** licence files read, relative to the module root; empty: none there */
  readonly files: readonly string[];
  /** each licence of each file; a file nothing is recognised in is there as UNRECOGNISED */
  readonly findings: readonly LicenceFinding[];
  /** some licence file is there, and everything in every one of them is open source */
  readonly openSource: boolean;
}

export function isLicenceFileName(name: string): boolean {
  return LICENCE_FILE.test(name) && !SOURCE_FILE.test(name) && !DOCS_LICENCE.test(name);
}

/**
 * Reads and classifies every licence file at a module's root. A module passes only when there is
 * one and all of them are open source: with LICENSE-MIT and LICENSE-APACHE either may apply, with
 * LICENSE and LICENSE.libyaml both do, and a file cannot say which, so every one must pass.
 * A missing directory throws (the caller names the module).
 */
export async function licenceOf(moduleDir: string): Promise<ModuleLicence> {
  const entries = await readdir(moduleDir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    if (e.isFile() && isLicenceFileName(e.name)) files.push(e.name);
    else if (e.isDirectory() && LICENCES_DIR.test(e.name)) {
      for (const inner of await readdir(path.join(moduleDir, e.name), { withFileTypes: true })) {
        if (inner.isFile()) files.push(`${e.name}/${inner.name}`);
      }
    }
  }
  files.sort();
  const findings: LicenceFinding[] = [];
  for (const file of files) {
    const text = await readFile(path.join(moduleDir, file), 'utf8');
    for (const m of classifyLicence(text)) findings.push({ file, ...m });
  }
  return { dir: moduleDir, files, findings, openSource: files.length > 0 && findings.every((f) => f.openSource) };
}

// ---------------------------------------------------------------------------------------------
// Packages under a licence of their own

const PATH_BYTE = /[A-Za-z0-9._~+!@/-]/;
const SLASH = '/'.charCodeAt(0);

/**
 * Source files of a module that were compiled into a binary, relative to the module root. Go
 * keeps the name of every compiled file in the binary's line table: `path@version/dir/file.go`
 * under -trimpath, the module cache path (case-encoded) without it. Empty for a binary without
 * that table or a module it does not name.
 */
export function compiledFiles(binary: Buffer, modPath: string, version: string): string[] {
  const found = new Set<string>();
  const isPathByte = (b: number | undefined) => b !== undefined && PATH_BYTE.test(String.fromCharCode(b));
  for (const marker of new Set([`${modPath}@${version}/`, `${escapeModulePath(modPath)}@${escapeModulePath(version)}/`])) {
    const needle = Buffer.from(marker);
    for (let at = binary.indexOf(needle); at !== -1; at = binary.indexOf(needle, at + needle.length)) {
      // Preceded by a name character: the tail of another module path (mygithub.com/…), not this one.
      if (at > 0 && binary[at - 1] !== SLASH && isPathByte(binary[at - 1])) continue;
      let end = at + needle.length;
      while (end < binary.length && isPathByte(binary[end])) end++;
      const rel = binary.toString('latin1', at + needle.length, end);
      if (/\.(?:go|s)$/.test(rel)) found.add(rel);
    }
  }
  return [...found].sort();
}

/** The licence that covers some compiled packages of a module in place of the one at its root. */
export interface NestedLicence {
  readonly module: string;
  readonly version: string;
  /** what the module root holds: `Business Source License 1.1`, `no licence file` */
  readonly root: string;
  /** directories of the files compiled, relative to the module root */
  readonly packages: readonly string[];
  /** the licence files that cover them: `jobspec2/LICENSE (MPL-2.0)` */
  readonly licences: readonly string[];
  readonly ids: readonly string[];
}

const NOT_OPEN_IDS = new Set(RULES.filter((r) => !r.openSource).map((r) => r.id));

/**
 * Whether every compiled file of a module is covered by an open-source licence file in its own
 * directory or a parent below the module root (the nearest one applies: HashiCorp keeps nomad's
 * api and jobspec2 packages under MPL-2.0 with a LICENSE of their own beside a BUSL root), and no
 * compiled file names a licence that is not open source in its SPDX-License-Identifier header.
 */
async function nestedLicence(modDir: string, files: readonly string[]): Promise<{ packages: string[]; licences: string[]; ids: string[] } | undefined> {
  const packages = [...new Set(files.map((f) => path.posix.dirname(f)))].sort();
  const licences = new Set<string>();
  const ids = new Set<string>();
  for (const pkg of packages) {
    let covered = false;
    for (let dir = pkg; dir !== '.' && !covered; dir = path.posix.dirname(dir)) {
      const lic = await licenceOf(path.join(modDir, dir)).catch(() => undefined);
      if (!lic?.files.length) continue;
      if (!lic.openSource) return undefined;
      for (const f of lic.findings) {
        licences.add(`${dir}/${f.file} (${f.id})`);
        ids.add(f.id);
      }
      covered = true;
    }
    if (!covered) return undefined;
  }
  for (const file of files) {
    const head = (await readFile(path.join(modDir, file), 'utf8').catch(() => undefined))?.slice(0, 4096);
    if (head === undefined) return undefined;
    const spdx = /SPDX-License-Identifier:\s*([^\n*]+)/.exec(head)?.[1] ?? '';
    if (spdx.split(/[\s()]+/).some((token) => NOT_OPEN_IDS.has(token))) return undefined;
  }
  return { packages, licences: [...licences], ids: [...ids] };
}

// ---------------------------------------------------------------------------------------------
// Allow-list

/**
 * A module whose licence files do not show it is open source, and why it is all the same (no
 * licence file at its root, or one that also lists licences of things not compiled in). An entry
 * never passes a source-available licence: a BUSL stays refused whatever an entry says.
 */
export interface LicenceAllowance {
  /** module path of the code compiled (the replacement's, for a replaced module) */
  readonly module: string;
  /** only this version @default - every version */
  readonly version?: string;
  /** SPDX id(s) of the licence that does apply */
  readonly licence: string;
  /** where that can be checked */
  readonly why: string;
}

/**
 * Each entry was needed by a real build of a pin and says where its licence can be read; each is
 * pinned to the version checked, so another version is looked at again.
 */
export const LICENCE_ALLOW: readonly LicenceAllowance[] = [
  // Consul and Nomad (through go-discover's vSphere provider). LICENSE opens with vic's own licence,
  // Apache-2.0; the BSD-4-Clause texts further down are in its notices for the operating system
  // packages of the vSphere appliance (OpenSSL, iputils: "PART 2. VIRTUAL APPLIANCE: OPERATING
  // SYSTEM LAYER"), not Go code. What is compiled is pkg/vsphere/tags, Apache-2.0 in every header.
  {
    module: 'github.com/hashicorp/vic',
    version: 'v1.5.1-0.20190403131502-bbfe86ec9443',
    licence: 'Apache-2.0',
    why: 'LICENSE: vic itself is Apache-2.0; its BSD-4-Clause texts are for the appliance OS packages, not the Go packages compiled (pkg/vsphere/tags, Apache-2.0 headers)',
  },
  // Nomad. The module has no licence file; its Readme.md ends "# License MIT". One file, spin.go.
  {
    module: 'github.com/tj/go-spin',
    version: 'v1.1.0',
    licence: 'MIT',
    why: 'no licence file; Readme.md states the licence: MIT',
  },
  // Traefik (lego's Oracle Cloud DNS provider). Sub-modules of a fork of oracle/oci-go-sdk whose
  // LICENSE.txt is at the repository root, in no module; every .go file's header says
  // "dual-licensed to you under the Universal Permissive License (UPL) 1.0 … or Apache License 2.0".
  {
    module: 'github.com/nrdcg/oci-go-sdk/common/v1065',
    version: 'v1065.108.2',
    licence: 'UPL-1.0 OR Apache-2.0',
    why: 'no licence file in the module; each source file’s header: UPL-1.0 or Apache-2.0',
  },
  {
    module: 'github.com/nrdcg/oci-go-sdk/dns/v1065',
    version: 'v1065.108.2',
    licence: 'UPL-1.0 OR Apache-2.0',
    why: 'no licence file in the module; each source file’s header: UPL-1.0 or Apache-2.0',
  },
];

// ---------------------------------------------------------------------------------------------
// Checking a binary

export interface LicenceRefusal {
  readonly module: string;
  readonly version: string;
  /** `path version` of the code compiled instead, for a replaced module */
  readonly replacedBy?: string;
  /** the licence's name, or what is wrong: `Business Source License 1.1`, `no licence file` */
  readonly licence: string;
  /** the licence file it was read in */
  readonly file?: string;
  readonly reason?: string;
}

export interface LicenceReport {
  /** modules checked (all but the skipped ones) */
  readonly modules: number;
  readonly refused: readonly LicenceRefusal[];
  /** passed by an allow-list entry */
  readonly allowed: readonly { readonly module: string; readonly version: string; readonly licence: string; readonly why: string }[];
  /** passed because the packages compiled have an open-source licence of their own, not the module root's */
  readonly nested: readonly NestedLicence[];
  /** not checked, and why: the build's own wrapper module, a main module whose source tree was not given */
  readonly skipped: readonly { readonly module: string; readonly version: string; readonly reason: string }[];
  /** modules per licence found (a module with several licences counts under each) */
  readonly byLicence: Readonly<Record<string, number>>;
}

export interface CheckModulesOptions {
  readonly goModCache: string;
  /** source tree of the main module, when it is not in the module cache (a provider built from its archive) */
  readonly mainModuleDir?: string;
  /** @default LICENCE_ALLOW */
  readonly allow?: readonly LicenceAllowance[];
  /**
   * The binary the modules are compiled into: when a module's root licence does not pass, the
   * files of it that were compiled are read from here, to look for licences of their own.
   * @default - none: a module's root licence decides
   */
  readonly binary?: string;
}

/**
 * The throw-away wrapper module `npm run tools` builds the servers and OpenTofu through: ours, with
 * no licence file. It is the main module only when a package of its own is built; building the
 * program's package records the program's module (`github.com/hashicorp/nomad v1.6.3`) instead.
 */
const WRAPPER_MODULE = /^local\//;

/** Where a module's source is: the module cache, the main module's tree, or a directory replacement beside it. */
function sourceDir(m: GoModule, opts: CheckModulesOptions): { dir: string } | { skip: string } | { missing: string } {
  if (m.main && WRAPPER_MODULE.test(m.path)) return { skip: 'the build’s own wrapper module' };
  if (m.main && opts.mainModuleDir) return { dir: opts.mainModuleDir };
  if (m.main && m.version === '(devel)') return { skip: 'main module built from a source tree that was not given (mainModuleDir)' };
  const src = compiledSource(m);
  // A replacement by a directory (`=> ../x`) has no version and lives beside the main module.
  if (m.replace && (src.path.startsWith('.') || path.isAbsolute(src.path))) {
    if (path.isAbsolute(src.path)) return { dir: src.path };
    return opts.mainModuleDir ? { dir: path.resolve(opts.mainModuleDir, src.path) } : { missing: `replaced by the directory ${src.path}, relative to a main module tree that was not given` };
  }
  return { dir: moduleDir(opts.goModCache, src.path, src.version) };
}

/** The licence of a module whose source is not there to read. */
const NOT_READ = 'licence not read';

/** Checks the licence of every module of a parsed build info. */
export async function checkModules(modules: readonly GoModule[], opts: CheckModulesOptions): Promise<LicenceReport> {
  const allow = opts.allow ?? LICENCE_ALLOW;
  const refused: LicenceRefusal[] = [];
  const allowed: LicenceReport['allowed'][number][] = [];
  const skipped: LicenceReport['skipped'][number][] = [];
  const nested: NestedLicence[] = [];
  const byLicence: Record<string, number> = {};
  const count = (ids: Iterable<string>) => {
    for (const spdx of new Set(ids)) byLicence[spdx] = (byLicence[spdx] ?? 0) + 1;
  };
  // Read once, and only if some module's root licence does not pass (a binary is 30-250 MB).
  let binary: Promise<Buffer> | undefined;
  let checked = 0;
  for (const m of modules) {
    const where = sourceDir(m, opts);
    if ('skip' in where) {
      skipped.push({ module: m.path, version: m.version, reason: where.skip });
      continue;
    }
    checked++;
    const id = { module: m.path, version: m.version, ...(m.replace ? { replacedBy: [m.replace.path, m.replace.version].filter(Boolean).join(' ') } : {}) };
    if ('missing' in where) {
      refused.push({ ...id, licence: NOT_READ, reason: where.missing });
      continue;
    }
    const lic = await licenceOf(where.dir).catch((err: NodeJS.ErrnoException) => err);
    if (lic instanceof Error) {
      refused.push({ ...id, licence: NOT_READ, reason: lic.code === 'ENOENT' ? `not in the module cache (${where.dir})` : `${where.dir}: ${lic.message}` });
      continue;
    }
    if (lic.openSource) {
      count(lic.findings.map((f) => f.id));
      continue;
    }
    // A source-available licence is named first; else the first finding that is not open source; none at all: no file.
    const bad = lic.findings.find((f) => f.sourceAvailable) ?? lic.findings.find((f) => !f.openSource);
    const src = compiledSource(m);
    if (opts.binary && !m.main && src.version) {
      binary ??= readFile(opts.binary);
      const files = compiledFiles(await binary, src.path, src.version);
      const own = files.length ? await nestedLicence(where.dir, files) : undefined;
      if (own) {
        nested.push({ module: m.path, version: m.version, root: bad?.name ?? NO_LICENCE_FILE.name, ...own });
        count(own.ids);
        continue;
      }
    }
    const entry = allow.find((a) => a.module === src.path && (a.version === undefined || a.version === src.version));
    if (entry && !bad?.sourceAvailable) {
      allowed.push({ module: m.path, version: m.version, licence: entry.licence, why: entry.why });
      count([entry.licence]);
      continue;
    }
    refused.push(bad ? { ...id, licence: bad.name, file: bad.file } : { ...id, licence: NO_LICENCE_FILE.name, reason: `none at the module root ${lic.dir}` });
  }
  return { modules: checked, refused, allowed, nested, skipped, byLicence };
}

export interface CheckLicencesOptions extends CheckModulesOptions {
  /** the Go binary to check */
  readonly bin: string;
  /** @default 'go' (on PATH) */
  readonly go?: string;
  /** for `go version -m` @default 30_000 */
  readonly timeoutMs?: number;
}

/** `go version -m BIN`: the build info, or an error naming the binary. */
export function readBuildInfo(bin: string, go = 'go', timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    // GOTOOLCHAIN=local: reading build info never needs another Go, whatever go.mod is around.
    const env = { ...process.env, GOTOOLCHAIN: 'local' };
    execFile(go, ['version', '-m', bin], { timeout: timeoutMs, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const why = err.killed ? `no answer within ${timeoutMs} ms` : (stderr.trim() || err.message);
      reject(new Error(`${go} version -m ${bin}: ${why}`));
    });
  });
}

/** Lists the modules compiled into a Go binary and checks each one's licence. */
export async function checkLicences(opts: CheckLicencesOptions): Promise<LicenceReport> {
  const text = await readBuildInfo(opts.bin, opts.go, opts.timeoutMs);
  return checkModules(compiledModules(text), { binary: opts.bin, ...opts });
}

/** One refused module: `github.com/hashicorp/nomad v1.11.3: Business Source License 1.1 (LICENSE)`. */
export function refusalLine(r: LicenceRefusal): string {
  const what = [r.module, r.version, ...(r.replacedBy ? ['=>', r.replacedBy] : [])].filter(Boolean).join(' ');
  return `${what}: ${r.licence}${r.file ? ` (${r.file})` : ''}${r.reason ? ` — ${r.reason}` : ''}`;
}

/**
 * What the check prints: `licences: N modules, all open source`, with the allow-listed and
 * skipped modules named; or one line per refused module under a heading.
 */
export function formatLicenceReport(report: LicenceReport): string {
  if (report.refused.length) {
    return [`licences: ${report.refused.length} of ${report.modules} modules not open source:`, ...report.refused.map((r) => `  ${refusalLine(r)}`)].join('\n');
  }
  const notes = [
    ...report.nested.map((n) => `${n.module} ${n.version}: only ${n.packages.join(', ')} compiled, under ${n.licences.join(', ')}, not the root's ${n.root}`),
    ...report.allowed.map((a) => `${a.module} ${a.version} allowed as ${a.licence}`),
    ...report.skipped.map((s) => `${s.module} ${s.version} skipped: ${s.reason}`),
  ];
  return `licences: ${report.modules} modules, all open source${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** A binary has modules that are not open source; the message lists each with its version and licence. */
export class LicenceError extends Error {
  constructor(
    readonly tool: string,
    readonly report: LicenceReport,
  ) {
    super(`${tool}: ${formatLicenceReport(report)}`);
    this.name = 'LicenceError';
  }
}

/** Throws LicenceError when some module is refused. */
export function assertOpenSource(tool: string, report: LicenceReport): void {
  if (report.refused.length) throw new LicenceError(tool, report);
}
