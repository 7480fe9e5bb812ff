import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The direction of every import in the repo, checked from the source text: entry points →
 * rooms → kit core → lib, never back; no import cycle between files or between folders, type-only
 * imports included; a room is entered from outside only through its index.ts. A new top-level
 * folder fails here until it is given a layer.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

type Layer = 'lib' | 'core' | 'room' | 'entry';
const RANK: Record<Layer, number> = { lib: 0, core: 1, room: 2, entry: 3 };

/** Top-level folder (or root file) → layer. */
const LAYERS: Record<string, Layer> = {
  'lib': 'lib',
  'config': 'core', 'timing': 'core', 'jobs': 'core', 'traefik': 'core', 'agents': 'core', 'pins': 'core', 'stacks': 'core', 'app': 'core', '.gen': 'core',
  'toolchain': 'room', 'cluster': 'room', 'hetzner': 'room', 'deploy': 'room', 'verify': 'room', 'gate': 'room', 'experiments': 'room',
  'scripts': 'entry', 'main.ts': 'entry',
};
/** Not part of the program: tests and tool configs may import anything. */
const OUTSIDE = new Set(['test', 'node_modules', 'cdktf.out', 'docs', 'examples', '.git', '.zerodrop', 'reports', 'vitest.config.ts']);

export interface Edge { readonly from: string; readonly to: string }

/** Relative import specifiers of a module's source: import/export … from, side-effect imports, import(). */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]!);
  return found.filter((s) => s.startsWith('.'));
}

const top = (file: string) => file.split('/')[0]!;
const layerOf = (file: string): Layer | undefined => LAYERS[top(file)];

/** Every rule the edges break, one line each. */
export function violations(files: readonly string[], edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const f of files) if (!layerOf(f)) out.push(`${f}: top-level '${top(f)}' has no layer — add it to LAYERS`);
  for (const { from, to } of edges) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === 'entry' && b === 'entry') out.push(`${from} → ${to}: an entry point imports another entry point (move the shared part into a room)`);
    if (!a || !b || a === 'entry' || top(from) === top(to)) continue;
    if (RANK[b] > RANK[a]) out.push(`${from} → ${to}: ${a} imports ${b} (the direction is entry → room → core → lib)`);
    else if (a === 'lib' && b === 'lib') continue;
    else if (b === 'room' && path.basename(to) !== 'index.ts') out.push(`${from} → ${to}: enter the room ${top(to)}/ through its index.ts`);
  }
  for (const cycle of cycles(edges.map((e) => [e.from, e.to]))) out.push(`file cycle: ${cycle.join(' → ')}`);
  const folderEdges = edges.filter((e) => top(e.from) !== top(e.to)).map((e) => [top(e.from), top(e.to)] as [string, string]);
  for (const cycle of cycles(folderEdges)) out.push(`folder cycle: ${cycle.join(' → ')}`);
  return out;
}

/** One cycle per strongly connected component of more than one node (or a self-loop), as a path. */
export function cycles(pairs: readonly (readonly [string, string])[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const [a, b] of pairs) {
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...next.keys()].sort()) if (!state.has(n)) visit(n);
  return found;
}

function sourceFiles(dir = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (!dir && (OUTSIDE.has(e.name) || (e.isFile() && !e.name.endsWith('.ts')))) continue;
    if (rel === '.gen') continue; // generated binding: imports only cdktf/constructs
    if (e.isDirectory()) out.push(...sourceFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function repoGraph(): { files: string[]; edges: Edge[] } {
  const files = sourceFiles();
  const edges: Edge[] = [];
  for (const from of files) {
    for (const spec of importsOf(readFileSync(path.join(ROOT, from), 'utf8'))) {
      edges.push({ from, to: path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)) });
    }
  }
  return { files, edges };
}

describe('import direction', () => {
  it('the repo: entry → room → core → lib, rooms through index.ts, no cycle of files or folders', () => {
    const { files, edges } = repoGraph();
    expect(files.length).toBeGreaterThan(60);
    expect(edges.length).toBeGreaterThan(150);
    expect(violations(files, edges)).toEqual([]);
  });

  it('reads every import form, type-only and multi-line included, and not the ones in comments', () => {
    const src = [
      "import type { A } from './a.ts';",
      'import {',
      '  b,',
      '  type C,',
      "} from '../b/index.ts';",
      "export { d } from './d.ts';",
      "export * from './e.ts';",
      "import './side-effect.ts';",
      "const f = await import('./f.ts');",
      "import { z } from 'zod';",
      " * the scripts import from '../nowhere.ts' (a comment)",
    ].join('\n');
    expect(importsOf(src)).toEqual(['./a.ts', '../b/index.ts', './d.ts', './e.ts', './side-effect.ts', './f.ts']);
  });

  it('catches a core module importing a room, a room entered past its index, and an entry importing an entry', () => {
    const files = ['config/load.ts', 'deploy/index.ts', 'deploy/deploy.ts', 'verify/run.ts', 'scripts/a.ts', 'scripts/b.ts'];
    expect(violations(files, [{ from: 'config/load.ts', to: 'deploy/index.ts' }])).toEqual([
      'config/load.ts → deploy/index.ts: core imports room (the direction is entry → room → core → lib)',
    ]);
    expect(violations(files, [{ from: 'verify/run.ts', to: 'deploy/deploy.ts' }])).toEqual(['verify/run.ts → deploy/deploy.ts: enter the room deploy/ through its index.ts']);
    expect(violations(files, [{ from: 'scripts/a.ts', to: 'scripts/b.ts' }])).toEqual(['scripts/a.ts → scripts/b.ts: an entry point imports another entry point (move the shared part into a room)']);
    expect(violations(files, [{ from: 'scripts/a.ts', to: 'main.ts' }])).toEqual(['scripts/a.ts → main.ts: an entry point imports another entry point (move the shared part into a room)']);
    expect(violations(['newroom/x.ts'], [])).toEqual(["newroom/x.ts: top-level 'newroom' has no layer — add it to LAYERS"]);
  });

  it('catches a cycle of files (a type-only import is an edge like any other) and of rooms', () => {
    const files = ['verify/report.ts', 'verify/timeline.ts', 'deploy/index.ts', 'verify/index.ts'];
    expect(violations(files, [
      { from: 'verify/report.ts', to: 'verify/timeline.ts' },
      { from: 'verify/timeline.ts', to: 'verify/report.ts' },
    ])).toEqual(['file cycle: verify/report.ts → verify/timeline.ts → verify/report.ts']);
    expect(violations(files, [
      { from: 'verify/report.ts', to: 'deploy/index.ts' },
      { from: 'deploy/index.ts', to: 'verify/index.ts' },
    ])).toEqual(['folder cycle: deploy → verify → deploy']);
  });
});
