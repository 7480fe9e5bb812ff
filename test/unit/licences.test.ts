import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  assertOpenSource,
  checkLicences,
  checkModules,
  classifyLicence,
  compiledFiles,
  compiledModules,
  formatLicenceReport,
  isLicenceFileName,
  licenceOf,
  LicenceError,
  moduleDir,
  type LicenceAllowance,
} from '../../toolchain/licences.ts';

/**
 * An excerpt of `go version -m` of the Nomad build (tabs as Go writes them; a replaced dep has no
 * sum, its `=>` line has). Built through a wrapper module, the main module is still the program's.
 */
const NOMAD_BUILD_INFO = [
  '/cache/tools/nomad-v1.6.3/nomad: go1.26.8',
  '\tpath\tgithub.com/hashicorp/nomad',
  '\tmod\tgithub.com/hashicorp/nomad\tv1.6.3\th1:M22raG/TH11N5XNRd/uQn64R/oeqQkwvQ/fvpoCvRCQ=',
  '\tdep\tgithub.com/armon/go-metrics\tv0.4.1',
  '\t=>\tgithub.com/armon/go-metrics\tv0.0.0-20230509193637-d9ca9af9f1f9\th1:51N4T44k8crLrlHy1zgBKGdYKjzjquaXw/RPbq/bH+o=',
  '\tdep\tgithub.com/hashicorp/hcl\tv1.0.1-vault-3',
  '\t=>\tgithub.com/hashicorp/hcl\tv1.0.1-0.20201016140508-a07e7d50bbee\th1:8B4HqvMUtYSjsGkYjiQGStc9pXffY2J+Z2SPQAj+wMY=',
  '\tdep\tgithub.com/hashicorp/nomad/api\tv0.0.0-20231030125810-e0497bff1437\th1:Q8BvGHtbdcY6qwvUetuRtGVPi77psJARI0cFboSHV4s=',
  '\tdep\tgolang.org/x/sys\tv0.13.0\th1:Af8nKPmuFypiUBjVoU9V20FiaFXOcuZI21p0ycVYYGE=',
  '\tbuild\t-buildmode=exe',
  '\tbuild\t-trimpath=true',
  '\tbuild\tCGO_ENABLED=1',
  '',
].join('\n');

/** A package of the wrapper module itself built: the main module is `local/<name>`, ours. */
const WRAPPER_BUILD_INFO = ['/cache/tools/x/x: go1.26.8', '\tpath\tlocal/x', '\tmod\tlocal/x\t(devel)\t', '\tdep\tgolang.org/x/sys\tv0.13.0\th1:Af8nKPmuFypiUBjVoU9V20FiaFXOcuZI21p0ycVYYGE=', ''].join('\n');

/** A provider built from its unpacked tree: the main module is the provider itself, `(devel)`. */
const PROVIDER_BUILD_INFO = [
  '/cache/tools/terraform-provider-consul-2.22.1/terraform-provider-consul: go1.26.8',
  '\tpath\tgithub.com/hashicorp/terraform-provider-consul',
  '\tmod\tgithub.com/hashicorp/terraform-provider-consul\t(devel)\t',
  '\tdep\tgithub.com/hashicorp/go-cty\tv1.5.0\th1:EkQ/v+dDNUqnuVpmS5fPqyY71NXVgT5gf32+57xY8g0=',
  '\tdep\tgithub.com/example/vendored\tv1.0.0',
  '\t=>\t./vendored\t\t',
  '',
].join('\n');

// Short but real passages of each licence: the phrases the classifier keys on, with the line
// wraps and punctuation of the originals.
const TEXTS = {
  MIT: `MIT License\n\nCopyright (c) 2016 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the "Software"), to deal\nin the Software without restriction ... The above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.`,
  ISC: `ISC License\n\nCopyright (c) 2012-2016 Dave Collins <dave@davec.name>\n\nPermission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is hereby granted, provided that the above\ncopyright notice and this permission notice appear in all copies.\n\nTHE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES`,
  '0BSD': `Copyright (C) 2006 by Rob Landley\n\nPermission to use, copy, modify, and/or distribute this software for any purpose\nwith or without fee is hereby granted.\n\nTHE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES`,
  'BSD-2-Clause': `Copyright (c) 2015, Dave Cheney\nAll rights reserved.\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n\n* Redistributions of source code must retain the above copyright notice, this\n  list of conditions and the following disclaimer.\n\n* Redistributions in binary form must reproduce the above copyright notice,\n  this list of conditions and the following disclaimer in the documentation\n  and/or other materials provided with the distribution.`,
  'BSD-3-Clause': `Copyright 2009 The Go Authors.\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are\nmet:\n ...\n   * Neither the name of Google LLC nor the names of its\ncontributors may be used to endorse or promote products derived from\nthis software without specific prior written permission.`,
  'Apache-2.0': `\n                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION`,
  'MPL-2.0': `Mozilla Public License, version 2.0\n\n1. Definitions\n\n1.1. "Contributor"`,
  Unlicense: `This is free and unencumbered software released into the public domain.\n\nAnyone is free to copy, modify, publish, use, compile, sell, or\ndistribute this software`,
  'CC0-1.0': `Creative Commons Legal Code\n\nCC0 1.0 Universal\n\n    CREATIVE COMMONS CORPORATION IS NOT A LAW FIRM`,
  Zlib: `This software is provided 'as-is', without any express or implied\nwarranty. ...\n1. The origin of this software must not be misrepresented; you must not\n   claim that you wrote the original software.\n2. Altered source versions must be plainly marked as such, and must not be\n   misrepresented as being the original software.`,
  'LGPL-3.0': `                   GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n  This version of the GNU Lesser General Public License incorporates\nthe terms and conditions of version 3 of the GNU General Public\nLicense, supplemented by the additional permissions listed below.`,
  'LGPL-2.1': `                  GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 2.1, February 1999`,
  'GPL-2.0': `                    GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991\n ... consider it more useful to permit linking proprietary applications with the\nlibrary.  If this is what you want to do, use the GNU Library General\nPublic License instead of this License.`,
  'GPL-3.0': `                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n ... use the GNU Lesser General Public License instead of this License.`,
  'EPL-2.0': `Eclipse Public License - v 2.0\n\n    THE ACCOMPANYING PROGRAM IS PROVIDED UNDER THE TERMS OF THIS ECLIPSE\n    PUBLIC LICENSE ("AGREEMENT").`,
  'EPL-1.0': `Eclipse Public License - v 1.0\n\nTHE ACCOMPANYING PROGRAM IS PROVIDED UNDER THE TERMS OF THIS ECLIPSE PUBLIC LICENSE`,
} as const;

const BUSL = `License text copyright (c) 2020 MariaDB Corporation Ab, All Rights Reserved.\n"Business Source License" is a trademark of MariaDB Corporation Ab.\n\nParameters\n\nLicensor:             HashiCorp, Inc.\nLicensed Work:        Nomad Version 1.7.0 or later. The Licensed Work is (c) 2024\n                      HashiCorp, Inc.\n\nChange Date:          Four years from the date the Licensed Work is published.\nChange License:       MPL 2.0\n\nBusiness Source License 1.1\n\nTerms\n\nThe Licensor hereby grants you the right to copy, modify, create derivative\nworks, redistribute, and make non-production use of the Licensed Work.`;

const ids = (text: string) => classifyLicence(text).map((m) => m.id);

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** Writes files (path relative to root → content) and returns root. */
async function layout(root: string, files: Record<string, string>): Promise<string> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  return root;
}

describe('compiledModules()', () => {
  test('lists the main module and every dependency with its version, ignoring path and build lines', () => {
    const mods = compiledModules(NOMAD_BUILD_INFO);
    expect(mods.map((m) => [m.path, m.version, m.main])).toEqual([
      ['github.com/hashicorp/nomad', 'v1.6.3', true],
      ['github.com/armon/go-metrics', 'v0.4.1', false],
      ['github.com/hashicorp/hcl', 'v1.0.1-vault-3', false],
      ['github.com/hashicorp/nomad/api', 'v0.0.0-20231030125810-e0497bff1437', false],
      ['golang.org/x/sys', 'v0.13.0', false],
    ]);
  });

  test('a replaced dependency carries its replacement, the code that was compiled', () => {
    const hcl = compiledModules(NOMAD_BUILD_INFO).find((m) => m.path === 'github.com/hashicorp/hcl');
    expect(hcl?.replace).toEqual({ path: 'github.com/hashicorp/hcl', version: 'v1.0.1-0.20201016140508-a07e7d50bbee' });
  });

  test('a replacement by a directory has an empty version', () => {
    expect(compiledModules(PROVIDER_BUILD_INFO).at(-1)?.replace).toEqual({ path: './vendored', version: '' });
  });

  test('refuses text with no main module, and a replacement line that follows no dependency', () => {
    expect(() => compiledModules('not a Go binary\n')).toThrow(/lists no main module/);
    expect(() => compiledModules('\tmod\tlocal/x\t(devel)\t\n\t=>\tgithub.com/a/b\tv1.0.0\n')).toThrow(/does not follow a dep line/);
  });
});

describe('moduleDir()', () => {
  test('case-encodes upper-case letters of the path and the version as the module cache does', () => {
    expect(moduleDir('/gomod', 'github.com/Microsoft/go-winio', 'v0.6.1')).toBe('/gomod/github.com/!microsoft/go-winio@v0.6.1');
    expect(moduleDir('/gomod', 'github.com/BurntSushi/toml', 'v1.0.0-RC1')).toBe('/gomod/github.com/!burnt!sushi/toml@v1.0.0-!r!c1');
  });
});

describe('classifyLicence()', () => {
  test.each(Object.entries(TEXTS))('%s is recognised, as open source', (id, text) => {
    const found = classifyLicence(text);
    expect(found.map((m) => m.id)).toEqual([id]);
    expect(found[0]?.openSource).toBe(true);
  });

  test('short notices that apply Apache-2.0 and MPL-2.0 count as those licences', () => {
    expect(ids('Copyright 2019 Acme\n\nLicensed under the Apache License, Version 2.0 (the "License");\nyou may not use this file except in compliance with the License.')).toEqual(['Apache-2.0']);
    expect(ids('This Source Code Form is subject to the terms of the Mozilla Public\nLicense, v. 2.0. If a copy of the MPL was not distributed with this\nfile, You can obtain one at http://mozilla.org/MPL/2.0/.')).toEqual(['MPL-2.0']);
  });

  test('a file holding several licences yields each of them', () => {
    expect(ids(`${TEXTS.MIT}\n\n---\n\n${TEXTS['BSD-3-Clause']}`)).toEqual(['MIT', 'BSD-3-Clause']);
  });

  test('refuses the Business Source License, although its text names an open-source change licence', () => {
    const found = classifyLicence(BUSL);
    expect(found.filter((m) => !m.openSource)).toEqual([{ id: 'BUSL-1.1', name: 'Business Source License 1.1', openSource: false, sourceAvailable: true }]);
    expect(ids('Business Source License 1.0\n\nLicensor: Acme')).toContain('BUSL-1.0');
    expect(ids('Acme Business Source License\n\nLicensor: Acme')).toEqual(['BUSL']);
  });

  test('refuses SSPL, the Elastic License and a Commons Clause rider on an open licence', () => {
    expect(ids('Server Side Public License\nVERSION 1, OCTOBER 16, 2018')).toEqual(['SSPL-1.0']);
    expect(ids('Elastic License 2.0\n\nURL: https://www.elastic.co/licensing/elastic-license')).toEqual(['Elastic-2.0']);
    const rider = classifyLicence(`"Commons Clause" License Condition v1.0\n\nThe Software is provided to you by the Licensor under the License...\n\n${TEXTS['Apache-2.0']}`);
    expect(rider.find((m) => !m.openSource)).toMatchObject({ id: 'Commons-Clause', sourceAvailable: true });
  });

  test('refuses a copyright notice that grants nothing, and text it does not recognise', () => {
    expect(classifyLicence('Copyright (c) 2020 Acme Corp. All rights reserved.')).toEqual([{ id: 'all-rights-reserved', name: 'all rights reserved, no licence granted', openSource: false }]);
    expect(classifyLicence('You may use this software on Tuesdays.')).toEqual([{ id: 'unknown', name: 'unrecognised licence text', openSource: false }]);
  });

  test('a BSD grant that names the work before "with or without modification" is still BSD', () => {
    expect(ids('Redistribution and use in source and binary forms of libcap/psx, with\nor without modification, are permitted provided that ... The name of any author may not be used to endorse or promote\n   products derived from this software')).toEqual(['BSD-3-Clause']);
  });

  test('refuses the four-clause BSD licence: its advertising clause is not OSI-approved', () => {
    const bsd4 = `${TEXTS['BSD-3-Clause']}\n3. All advertising materials mentioning features or use of this software\n   must display the following acknowledgement`;
    expect(classifyLicence(bsd4)).toEqual([{ id: 'BSD-4-Clause', name: 'BSD 4-Clause (advertising clause)', openSource: false }]);
  });
});

describe('licenceOf()', () => {
  test('reads every licence file at the module root: a LICENSE-MIT and LICENSE-APACHE pair is open source', async () => {
    const dir = await layout(await tempDir('zd-lic-'), { 'LICENSE-MIT': TEXTS.MIT, 'LICENSE-APACHE': TEXTS['Apache-2.0'], 'main.go': 'package main' });
    const lic = await licenceOf(dir);
    expect(lic.files).toEqual(['LICENSE-APACHE', 'LICENSE-MIT']);
    expect(lic.findings.map((f) => [f.file, f.id])).toEqual([['LICENSE-APACHE', 'Apache-2.0'], ['LICENSE-MIT', 'MIT']]);
    expect(lic.openSource).toBe(true);
  });

  test('passes over source files named like a licence and a licence for the documentation only', () => {
    expect(['LICENSE', 'LICENCE', 'License.md', 'LICENSE.txt', 'COPYING', 'COPYING.LESSER', 'UNLICENSE', 'LICENSE.libyaml', 'LICENSE_WINDOWS'].filter(isLicenceFileName)).toHaveLength(9);
    expect(['license.go', 'license_test.go', 'LICENSE.docs', 'licensing', 'NOTICE', 'README.md'].filter(isLicenceFileName)).toEqual([]);
  });

  test('refuses a module whose second licence file is not recognised, naming that file', async () => {
    const dir = await layout(await tempDir('zd-lic-'), { LICENSE: TEXTS.MIT, 'LICENSE.extra': 'Only for use by Acme customers.' });
    const lic = await licenceOf(dir);
    expect(lic.openSource).toBe(false);
    expect(lic.findings.find((f) => !f.openSource)).toMatchObject({ file: 'LICENSE.extra', id: 'unknown' });
  });

  test('refuses a module without any licence file', async () => {
    const dir = await layout(await tempDir('zd-lic-'), { 'go.mod': 'module example.com/x\n' });
    expect(await licenceOf(dir)).toMatchObject({ files: [], findings: [], openSource: false });
  });
});

describe('checkModules()', () => {
  /** A temp dir laid out like GOMODCACHE, with the given modules' files. */
  async function modCache(mods: Record<string, Record<string, string>>): Promise<string> {
    const root = await tempDir('zd-gomod-');
    for (const [at, files] of Object.entries(mods)) {
      const [p, v] = at.split('@') as [string, string];
      await layout(moduleDir(root, p, v), files);
    }
    return root;
  }
  const mod = (p: string, version: string) => ({ path: p, version, main: false });

  test('negative control: refuses a BUSL module, naming the module, its version, the licence and the file', async () => {
    const goModCache = await modCache({ 'github.com/hashicorp/nomad@v1.11.3': { LICENSE: BUSL } });
    // As a wrapper build records it: the program's module is the main module, at its version.
    const report = await checkModules([{ path: 'github.com/hashicorp/nomad', version: 'v1.11.3', main: true }], { goModCache });
    expect(report.refused).toEqual([{ module: 'github.com/hashicorp/nomad', version: 'v1.11.3', licence: 'Business Source License 1.1', file: 'LICENSE' }]);
    expect(formatLicenceReport(report)).toBe('licences: 1 of 1 modules not open source:\n  github.com/hashicorp/nomad v1.11.3: Business Source License 1.1 (LICENSE)');
    expect(() => assertOpenSource('nomad', report)).toThrow(LicenceError);
    expect(() => assertOpenSource('nomad', report)).toThrow('nomad: licences: 1 of 1 modules not open source:\n  github.com/hashicorp/nomad v1.11.3: Business Source License 1.1 (LICENSE)');
  });

  test('refuses a BUSL module even when an allow-list entry names it', async () => {
    const goModCache = await modCache({ 'github.com/hashicorp/nomad@v1.11.3': { LICENSE: BUSL } });
    const allow: LicenceAllowance[] = [{ module: 'github.com/hashicorp/nomad', licence: 'MPL-2.0', why: 'wishful' }];
    const report = await checkModules([mod('github.com/hashicorp/nomad', 'v1.11.3')], { goModCache, allow });
    expect(report.refused.map((r) => r.licence)).toEqual(['Business Source License 1.1']);
  });

  test('refuses a module without a licence file, and one missing from the module cache', async () => {
    const goModCache = await modCache({ 'cloud.google.com/go/compute/metadata@v0.2.3': { 'metadata.go': 'package metadata' } });
    const report = await checkModules([mod('cloud.google.com/go/compute/metadata', 'v0.2.3'), mod('example.com/gone', 'v1.0.0')], { goModCache });
    expect(report.refused.map((r) => [r.module, r.version, r.licence])).toEqual([
      ['cloud.google.com/go/compute/metadata', 'v0.2.3', 'no licence file'],
      ['example.com/gone', 'v1.0.0', 'licence not read'],
    ]);
    expect(report.refused[1]?.reason).toMatch(/^not in the module cache \(.*example\.com\/gone@v1\.0\.0\)$/);
  });

  test('an allow-list entry passes a module without a licence file, and the line says so', async () => {
    const goModCache = await modCache({ 'cloud.google.com/go/compute/metadata@v0.2.3': { 'metadata.go': 'package metadata' } });
    const allow: LicenceAllowance[] = [{ module: 'cloud.google.com/go/compute/metadata', version: 'v0.2.3', licence: 'Apache-2.0', why: 'the parent module cloud.google.com/go holds its LICENSE' }];
    const report = await checkModules([mod('cloud.google.com/go/compute/metadata', 'v0.2.3')], { goModCache, allow });
    expect(report.refused).toEqual([]);
    expect(report.allowed).toEqual([{ module: 'cloud.google.com/go/compute/metadata', version: 'v0.2.3', licence: 'Apache-2.0', why: allow[0]!.why }]);
    expect(formatLicenceReport(report)).toBe('licences: 1 modules, all open source (cloud.google.com/go/compute/metadata v0.2.3 allowed as Apache-2.0)');
    // Another version is not covered: its licence has to be looked at again.
    const other = await checkModules([mod('cloud.google.com/go/compute/metadata', 'v0.3.0')], { goModCache, allow });
    expect(other.refused).toHaveLength(1);
  });

  test('an allow-list entry passes a licence file that also lists licences of things not compiled in', async () => {
    const notices = `${TEXTS['Apache-2.0']}\n\n== appliance OS packages ==\n${TEXTS['BSD-3-Clause']}\n3. All advertising materials mentioning features or use of this software\n   must display`;
    const goModCache = await modCache({ 'github.com/hashicorp/vic@v1.5.1': { LICENSE: notices } });
    expect((await checkModules([mod('github.com/hashicorp/vic', 'v1.5.1')], { goModCache })).refused).toEqual([
      { module: 'github.com/hashicorp/vic', version: 'v1.5.1', licence: 'BSD 4-Clause (advertising clause)', file: 'LICENSE' },
    ]);
    const allow: LicenceAllowance[] = [{ module: 'github.com/hashicorp/vic', version: 'v1.5.1', licence: 'Apache-2.0', why: 'the BSD-4 texts are for appliance packages' }];
    expect(await checkModules([mod('github.com/hashicorp/vic', 'v1.5.1')], { goModCache, allow })).toMatchObject({ refused: [], byLicence: { 'Apache-2.0': 1 } });
  });

  test('reads a replaced module’s licence from its replacement, and the main module’s from the module cache', async () => {
    const goModCache = await modCache({
      'github.com/hashicorp/nomad@v1.6.3': { LICENSE: TEXTS['MPL-2.0'] },
      'github.com/armon/go-metrics@v0.0.0-20230509193637-d9ca9af9f1f9': { LICENSE: TEXTS.MIT },
      'github.com/hashicorp/hcl@v1.0.1-0.20201016140508-a07e7d50bbee': { LICENSE: TEXTS['MPL-2.0'] },
      'github.com/hashicorp/nomad/api@v0.0.0-20231030125810-e0497bff1437': { LICENSE: TEXTS['MPL-2.0'] },
      'golang.org/x/sys@v0.13.0': { LICENSE: TEXTS['BSD-3-Clause'] },
    });
    const report = await checkModules(compiledModules(NOMAD_BUILD_INFO), { goModCache });
    expect(report).toMatchObject({ modules: 5, refused: [], skipped: [] });
    expect(report.byLicence).toEqual({ 'MPL-2.0': 3, MIT: 1, 'BSD-3-Clause': 1 });
    expect(formatLicenceReport(report)).toBe('licences: 5 modules, all open source');
  });

  test('skips the wrapper module `local/<name>`, which is ours and has no licence file', async () => {
    const goModCache = await modCache({ 'golang.org/x/sys@v0.13.0': { LICENSE: TEXTS['BSD-3-Clause'] } });
    const report = await checkModules(compiledModules(WRAPPER_BUILD_INFO), { goModCache });
    expect(report).toMatchObject({ modules: 1, refused: [], skipped: [{ module: 'local/x', version: '(devel)', reason: 'the build’s own wrapper module' }] });
  });

  test('refuses a replacement without a licence under the name of the module it replaces', async () => {
    const goModCache = await modCache({ 'github.com/armon/go-metrics@v0.0.0-20230509193637-d9ca9af9f1f9': { 'metrics.go': 'package metrics' } });
    const [metrics] = compiledModules(NOMAD_BUILD_INFO).filter((m) => m.replace);
    const report = await checkModules([metrics!], { goModCache });
    expect(formatLicenceReport(report)).toMatch(
      /^ {2}github\.com\/armon\/go-metrics v0\.4\.1 => github\.com\/armon\/go-metrics v0\.0\.0-20230509193637-d9ca9af9f1f9: no licence file — none at the module root /m,
    );
  });

  test('checks a provider’s own module in the source tree it was built from, and a directory replacement beside it', async () => {
    const goModCache = await modCache({ 'github.com/hashicorp/go-cty@v1.5.0': { LICENSE: TEXTS.MIT } });
    const tree = await layout(await tempDir('zd-src-'), { LICENSE: TEXTS['MPL-2.0'], 'vendored/LICENSE': TEXTS.ISC });
    const mods = compiledModules(PROVIDER_BUILD_INFO);
    expect(await checkModules(mods, { goModCache, mainModuleDir: tree })).toMatchObject({ modules: 3, refused: [], skipped: [], byLicence: { 'MPL-2.0': 1, MIT: 1, ISC: 1 } });
    // Without the tree the provider is skipped with the reason, and its directory replacement cannot be found.
    const without = await checkModules(mods, { goModCache });
    expect(without.skipped).toEqual([{ module: 'github.com/hashicorp/terraform-provider-consul', version: '(devel)', reason: expect.stringMatching(/source tree that was not given/) }]);
    expect(without.refused.map((r) => r.module)).toEqual(['github.com/example/vendored']);
  });
});

describe('compiledFiles()', () => {
  test('reads the files of one module from the file names a binary holds, with -trimpath and without', () => {
    const binary = Buffer.concat([
      Buffer.from('\0\x7fELF junk\0github.com/hashicorp/nomad@v1.11.0/jobspec2/parse.go\0github.com/hashicorp/nomad@v1.11.0/jobspec2/addrs/parse_ref.go\0'),
      Buffer.from('github.com/hashicorp/nomad/api@v0.0.0-1/jobs.go\0mygithub.com/hashicorp/nomad@v1.11.0/other.go\0'),
      Buffer.from('/home/u/go/pkg/mod/github.com/!microsoft/go-winio@v0.6.1/file.go\0github.com/hashicorp/nomad@v1.11.0/jobspec2/parse.go\0'),
    ]);
    expect(compiledFiles(binary, 'github.com/hashicorp/nomad', 'v1.11.0')).toEqual(['jobspec2/addrs/parse_ref.go', 'jobspec2/parse.go']);
    expect(compiledFiles(binary, 'github.com/Microsoft/go-winio', 'v0.6.1')).toEqual(['file.go']);
    expect(compiledFiles(binary, 'github.com/absent/module', 'v1.0.0')).toEqual([]);
  });
});

describe('checkModules() with the binary', () => {
  const MPL_HEADER = '// Copyright (c) HashiCorp, Inc.\n// SPDX-License-Identifier: MPL-2.0\n\npackage jobspec2\n';
  const nomad = { path: 'github.com/hashicorp/nomad', version: 'v1.11.0', main: false };

  async function setup(files: Record<string, string>, compiled: string[]) {
    const goModCache = await tempDir('zd-gomod-');
    await layout(moduleDir(goModCache, nomad.path, nomad.version), { LICENSE: BUSL, ...files });
    const binary = path.join(await tempDir('zd-bin-'), 'provider');
    await writeFile(binary, compiled.map((f) => `github.com/hashicorp/nomad@v1.11.0/${f}\0`).join(''));
    return { goModCache, binary };
  }

  test('passes a BUSL module when every file compiled is under an open licence of its own package', async () => {
    const opts = await setup({ 'jobspec2/LICENSE': TEXTS['MPL-2.0'], 'jobspec2/parse.go': MPL_HEADER, 'jobspec2/addrs/ref.go': MPL_HEADER }, ['jobspec2/parse.go', 'jobspec2/addrs/ref.go']);
    const report = await checkModules([nomad], opts);
    expect(report.refused).toEqual([]);
    expect(report.nested).toEqual([
      { module: nomad.path, version: 'v1.11.0', root: 'Business Source License 1.1', packages: ['jobspec2', 'jobspec2/addrs'], licences: ['jobspec2/LICENSE (MPL-2.0)'], ids: ['MPL-2.0'] },
    ]);
    expect(formatLicenceReport(report)).toBe(
      "licences: 1 modules, all open source (github.com/hashicorp/nomad v1.11.0: only jobspec2, jobspec2/addrs compiled, under jobspec2/LICENSE (MPL-2.0), not the root's Business Source License 1.1)",
    );
  });

  test('refuses it when one file compiled is outside such a package, or names BUSL in its header', async () => {
    const outside = await setup({ 'jobspec2/LICENSE': TEXTS['MPL-2.0'], 'jobspec2/parse.go': MPL_HEADER, 'nomad/structs/structs.go': 'package structs' }, ['jobspec2/parse.go', 'nomad/structs/structs.go']);
    expect((await checkModules([nomad], outside)).refused.map((r) => r.licence)).toEqual(['Business Source License 1.1']);
    const header = await setup({ 'jobspec2/LICENSE': TEXTS['MPL-2.0'], 'jobspec2/parse.go': '// SPDX-License-Identifier: BUSL-1.1\npackage jobspec2' }, ['jobspec2/parse.go']);
    expect((await checkModules([nomad], header)).refused.map((r) => r.licence)).toEqual(['Business Source License 1.1']);
  });
});

describe('checkLicences()', () => {
  /** A stand-in for `go` that prints recorded build info, or hangs. */
  async function fakeGo(script: string): Promise<string> {
    const dir = await tempDir('zd-go-');
    const go = path.join(dir, 'go');
    await writeFile(go, `#!/bin/sh\n${script}\n`);
    await chmod(go, 0o755);
    return go;
  }

  test('runs go version -m on the binary and checks what it lists', async () => {
    const dir = await tempDir('zd-bin-');
    await writeFile(path.join(dir, 'info.txt'), NOMAD_BUILD_INFO);
    const go = await fakeGo(`[ "$1 $2" = "version -m" ] && cat ${JSON.stringify(path.join(dir, 'info.txt'))}`);
    const goModCache = await tempDir('zd-gomod-');
    const report = await checkLicences({ bin: path.join(dir, 'nomad'), go, goModCache });
    // An empty module cache: every module is refused, each by name.
    expect(report.modules).toBe(5);
    expect(report.refused.map((r) => r.module)).toEqual(['github.com/hashicorp/nomad', 'github.com/armon/go-metrics', 'github.com/hashicorp/hcl', 'github.com/hashicorp/nomad/api', 'golang.org/x/sys']);
  });

  test('refuses a go version -m that does not answer within the timeout, naming the binary', async () => {
    const go = await fakeGo('exec sleep 10');
    await expect(checkLicences({ bin: '/x/nomad', go, goModCache: '/nonexistent', timeoutMs: 300 })).rejects.toThrow(`${go} version -m /x/nomad: no answer within 300 ms`);
  });
});
