import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference, defaultLeaves, docFiles, docStates, generatedTables, openLicence, renderTables } from '../../scripts/docs-tables.ts';
import { TIMING_RULES } from '../../timing/model.ts';

/**
 * The docs against the code and against themselves: README.md is the short front door that links
 * every page, the tables that restate code are the code's (scripts/docs-tables.ts), and every
 * setting, flag, rule and committed run the code or the results hold is documented somewhere.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const README = read('README.md');
const DOCS = docFiles(ROOT).filter((f) => f !== 'README.md');
const ALL_TEXT = docFiles(ROOT).map(read).join('\n');

/** GitHub's heading anchor: lowercase, punctuation dropped (not `-` or `_`), spaces as `-`. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

/** Relative links `[text](target)` outside code blocks, without http(s) and mailto ones. */
function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^(https?:|mailto:)/.test(t));
}

/** Top-level source files that are the program (tests and the committed runs excluded). */
function programFiles(dir = ''): string[] {
  const skip = new Set(['node_modules', 'test', 'docs', '.git', 'cdktf.out', '.zerodrop', 'reports', '.gen']);
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (!dir && skip.has(e.name)) continue;
    if (e.isDirectory()) out.push(...programFiles(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

describe('README.md, the front door', () => {
  it('is at most 250 lines, none over 120 characters', () => {
    const lines = README.split('\n');
    expect(lines.length, 'README.md: move detail to a page under docs/').toBeLessThanOrEqual(250);
    const long = lines.map((l, i) => ({ line: i + 1, length: [...l].length })).filter((l) => l.length > 120);
    expect(long, 'README.md lines over 120 characters (wrap the prose, shorten the cell)').toEqual([]);
  });

  it('links every page under docs/', () => {
    const linked = new Set(relativeLinks(README).map((t) => t.split('#')[0]));
    expect(DOCS.filter((f) => !linked.has(f)), 'docs pages the README does not link').toEqual([]);
  });

  it('names every top-level folder in its layout', () => {
    // what .gitignore keeps out of the repo is not part of the layout
    const ignored = new Set(['node_modules', '.git', 'cdktf.out', 'reports', '.zerodrop', '.terraform']);
    const folders = readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory() && !ignored.has(e.name)).map((e) => e.name);
    const layout = README.slice(README.indexOf('## Layout'), README.indexOf('\n## ', README.indexOf('## Layout') + 1));
    expect(folders.filter((f) => !layout.includes(`\`${f}/`)), 'folders missing from README.md "Layout" (one line each)').toEqual([]);
  });
});

describe('links', () => {
  it('every relative link of README.md and docs/*.md points at a file, and at a heading that exists', () => {
    const broken: string[] = [];
    for (const file of docFiles(ROOT)) {
      for (const target of relativeLinks(read(file))) {
        const [rel, anchor] = target.split('#') as [string, string | undefined];
        const resolved = rel ? path.posix.normalize(path.posix.join(path.posix.dirname(file), rel)) : file;
        if (!existsSync(path.join(ROOT, resolved))) {
          broken.push(`${file}: ${target} — no such file`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchors(read(resolved)).has(anchor)) broken.push(`${file}: ${target} — no heading with that anchor in ${resolved}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('reads GitHub anchors the way GitHub makes them', () => {
    // a wrong anchor function would let every anchor check pass or fail together
    const cases: [string, string][] = [
      ['Why the wait is `shutdown_delay` and not the app\'s drain', 'why-the-wait-is-shutdown_delay-and-not-the-apps-drain'],
      ['Building (`npm run tools`)', 'building-npm-run-tools'],
      ['The engine: OpenTofu', 'the-engine-opentofu'],
      ['Secrets, token, cost', 'secrets-token-cost'],
    ];
    for (const [heading, anchor] of cases) expect(anchorOf(heading)).toBe(anchor);
  });
});

describe('generated tables', () => {
  it('every table between generated markers is what npm run docs:tables makes from the code', () => {
    const drifted = docStates(ROOT).filter((s) => s.current !== s.expected).map((s) => s.file);
    expect(drifted, 'these files hold a generated table that differs from the code — run `npm run docs:tables` and commit the result').toEqual([]);
  });

  it('every table the script can make is used in some page', () => {
    const used = new Set(docStates(ROOT).flatMap((s) => s.names));
    expect(Object.keys(generatedTables(ROOT)).filter((n) => !used.has(n))).toEqual([]);
  });

  it('notices a table edited by hand', () => {
    // GIVEN the committed providers page with one pinned sha256 changed by hand
    const text = read('docs/providers.md');
    const edited = text.replace(/`([0-9a-f]{64})`/, '`' + '0'.repeat(64) + '`');
    expect(edited).not.toBe(text);
    // WHEN the tables are rendered again THEN the pin's sum is back
    expect(renderTables(edited, generatedTables(ROOT)).text).toBe(text);
  });

  it('refuses a marker that names no table', () => {
    expect(() => renderTables('<!-- generated:nope -->\nx\n<!-- /generated:nope -->', generatedTables(ROOT))).toThrow(/generated:nope — no such table/);
  });

  it('the config reference shows every default of config/schema.ts DEFAULTS', () => {
    const { used } = configReference();
    expect(defaultLeaves().filter((leaf) => !used.has(leaf)), 'DEFAULTS without a row in scripts/docs-tables.ts configReference()').toEqual([]);
  });
});

describe('openLicence()', () => {
  // The npm licence table refuses a dependency under anything else: these rows say what passes.
  const cases: [string, boolean][] = [
    ['MIT', true],
    ['(MIT OR GPL-3.0-or-later)', true],
    ['(MIT AND Zlib)', true],
    ['(BSD-2-Clause OR MIT OR Apache-2.0)', true],
    ['Public Domain', true],
    ['BUSL-1.1', false],
    ['SSPL-1.0', false],
    ['UNKNOWN', false],
    ['(MIT AND BUSL-1.1)', false],
  ];
  for (const [expression, open] of cases) it(`${expression} → ${open ? 'open' : 'refused'}`, () => expect(openLicence(expression)).toBe(open));
});

describe('documented somewhere', () => {
  it('every timing rule of timing/model.ts is in docs/timing.md', () => {
    const traefikRules = [...read('timing/model.ts').matchAll(/\[(traefik-[a-z-]+)\]/g)].map((m) => m[1]!);
    const ids = [...TIMING_RULES.map((r) => r.id), ...new Set(traefikRules)];
    expect(traefikRules.length).toBeGreaterThan(0);
    const timing = read('docs/timing.md');
    expect(ids.filter((id) => !timing.includes(`\`${id}\``))).toEqual([]);
  });

  it('every flag and env name of scripts/verify.ts is in docs/verifier.md', () => {
    const source = read('scripts/verify.ts');
    const flags = [...source.matchAll(/new Option\('(--[a-z-]+)/g)].map((m) => m[1]!);
    const envs = [...source.matchAll(/\.env\('([A-Z_]+)'\)/g)].map((m) => m[1]!);
    expect(flags.length).toBeGreaterThan(10);
    const verifier = read('docs/verifier.md');
    expect([...flags, ...envs].filter((name) => !verifier.includes(`\`${name}`) && !verifier.includes(`(\`${name}\`)`))).toEqual([]);
  });

  it('every ZERODROP_* setting the code reads is in the README or a docs page', () => {
    const names = new Set(programFiles().flatMap((f) => [...read(f).matchAll(/\bZERODROP_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0])));
    expect(names.size).toBeGreaterThan(20);
    expect([...names].filter((n) => !ALL_TEXT.includes(n)).sort()).toEqual([]);
  });

  it('every committed run under docs/results/ is in the index of docs/results.md', () => {
    const runs = readdirSync(path.join(ROOT, 'docs', 'results')).filter((d) => statSync(path.join(ROOT, 'docs', 'results', d)).isDirectory());
    const results = read('docs/results.md');
    expect(runs.filter((d) => !results.includes(`\`${d}/\``)), 'add a row to "Every run" in docs/results.md').toEqual([]);
  });
});
