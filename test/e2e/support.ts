import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { clusterDown, clusterUp, type FrontOptions } from '../../cluster/index.ts';
import { deploy } from '../../deploy/index.ts';
import { toolPaths } from '../../toolchain/index.ts';
import type { VerifyOptions } from '../../verify/index.ts';

/** Shared by the end-to-end tests: field-by-field comparison with what Nomad holds, and phase timing. */

/** Paths where `intended` has a value that `actual` lacks or differs from (extra fields in `actual` are Nomad's defaults). */
export function droppedFields(intended: unknown, actual: unknown, at = 'Job'): string[] {
  if (Array.isArray(intended)) {
    if (!Array.isArray(actual) || actual.length !== intended.length) return [`${at}: ${JSON.stringify(intended)} became ${JSON.stringify(actual)}`];
    return intended.flatMap((v, i) => droppedFields(v, actual[i], `${at}[${i}]`));
  }
  if (intended && typeof intended === 'object') {
    if (!actual || typeof actual !== 'object') return [`${at}: missing`];
    return Object.entries(intended).flatMap(([k, v]) => (k in (actual as object) ? droppedFields(v, (actual as Record<string, unknown>)[k], `${at}.${k}`) : [`${at}.${k}: dropped`]));
  }
  return intended === actual ? [] : [`${at}: ${JSON.stringify(intended)} became ${JSON.stringify(actual)}`];
}

/** Prints how long a phase of an end-to-end test took, pass or fail. */
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`[e2e] ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** A local cluster of one e2e file: where its state lives and the base of its port block. */
export interface E2eCluster {
  readonly stateDir: string;
  readonly portBase: number;
}

/** Traefik's public and admin ports for one e2e file, so files never share a listener. */
export interface E2eEntry {
  readonly port: number;
  readonly admin: number;
}

/** Servers the e2e tests need, missing from the tool cache: a test fails on them (never skips). */
export function missingTools(): string[] {
  const tools = toolPaths();
  return [tools.consul, tools.nomad, tools.traefik, tools.engine.bin].filter((f) => !existsSync(f));
}

/**
 * examples/<example>.yaml (default local) with Traefik on `entry`'s ports and `change` applied, written to
 * `<dir>/<name>.yaml` with the app's relative paths made absolute (the file lives elsewhere).
 */
export async function localConfigWith(dir: string, name: string, entry: E2eEntry, change: (c: any) => void = () => undefined, example = 'local'): Promise<string> {
  const c = parse(await readFile(`examples/${example}.yaml`, 'utf8'));
  c.traefik.entryPoint.port = entry.port;
  c.traefik.adminPort = entry.admin;
  const svc = c.services[0];
  svc.driver.args = svc.driver.args.map((a: string) => (a.startsWith('../') ? path.resolve('examples', a) : a));
  change(c);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, stringify(c));
  return file;
}

/** The verifier's options for a 100 req/s rollout of `web` on an e2e cluster, with `over` applied. */
export function verifyOn(cluster: E2eCluster, entry: E2eEntry, over: Partial<VerifyOptions>): VerifyOptions {
  return {
    url: `http://127.0.0.1:${entry.port}/`,
    host: 'web.localhost',
    rate: 100,
    // 5 s each side of the deploy phase (which lasts until every old instance has stopped): enough
    // to see the service serve before and after; 10 s each cost CI about 4 min over its ~20 runs.
    baselineS: 5,
    tailS: 5,
    maxDurationS: 240,
    threshold: 1,
    expect: 'successful',
    reportDir: path.join(process.cwd(), 'reports', 'e2e'),
    nomadAddr: `http://127.0.0.1:${cluster.portBase + 10}`,
    job: 'web',
    version: 'v2',
    deployOptions: { cluster, quiet: true },
    log: () => undefined,
    ...over,
  };
}

/**
 * The load covered the whole cut-over: old instances were seen stopping, and every one of them
 * stopped while the load still ran (the tail then measured the new version alone).
 */
export function expectCutOverMeasured(report: { events: readonly { kind: string; detail?: string }[] }): void {
  const alloc = (e: { detail?: string }) => e.detail?.split(' ')[1];
  const stopping = report.events.filter((e) => e.kind === 'old-stopping').map(alloc);
  const stopped = new Set(report.events.filter((e) => e.kind === 'old-stopped').map(alloc));
  expect(stopping.length, 'old instances seen stopping').toBeGreaterThan(0);
  expect(stopping.filter((id) => !stopped.has(id)), 'old instances never seen stopped during the load').toEqual([]);
}

/**
 * Registers the hooks of an e2e file that owns a local cluster: fail (never skip) when the servers
 * are not built; cluster up (`shape`: nodes and front, default one node) and both stacks deployed
 * at v1 with examples/<shape.example, default local>.yaml on `entry`'s ports (plus `v1Change`)
 * before the tests; cluster down after them. Returns the file's config writer.
 */
export function useLocalCluster(cluster: E2eCluster, entry: E2eEntry, v1Change: (c: any) => void = () => undefined, shape: { nodes?: number; front?: Partial<FrontOptions>; example?: string } = {}) {
  const configDir = path.join(cluster.stateDir, 'configs');
  const configWith = (name: string, change: (c: any) => void = () => undefined) => localConfigWith(configDir, name, entry, change, shape.example);
  beforeAll(async () => {
    const missing = missingTools();
    if (missing.length) throw new Error(`not built: ${missing.join(', ')} — run \`npm run tools\` first`);
    await rm(cluster.stateDir, { recursive: true, force: true });
    await phase(shape.nodes ? `cluster up --nodes ${shape.nodes}` : 'cluster up', () => clusterUp({ ...cluster, ...shape, log: () => undefined }));
    const v1 = await configWith('v1', v1Change);
    await phase('deploy edge + app v1', () => deploy({ cluster, quiet: true, version: 'v1', config: v1 }));
  });
  afterEach(async (ctx) => {
    // A failed rollout is explained by what Traefik saw: print its warnings (health checks, config errors).
    if (ctx.task.result?.state === 'fail') console.log(`[e2e] Traefik warnings and errors (the last 40):\n${(await traefikProblems(cluster)).slice(-40).join('\n') || '(none)'}`);
  });
  afterAll(async () => {
    await keepTraefikProblems(cluster);
    await phase('cluster down', () => clusterDown({ ...cluster, log: () => undefined }));
  });
  return { configWith, v1Config: path.join(configDir, 'v1.yaml') };
}

/** Every allocation's log files of the cluster, by allocation id, on every node (cluster down removes them). */
async function allocLogDirs(cluster: E2eCluster): Promise<string[]> {
  const nodes = (await readdir(cluster.stateDir).catch(() => [] as string[])).filter((d) => d.startsWith('node-'));
  const dirs: string[] = [];
  for (const data of [path.join(cluster.stateDir, 'nomad-data'), ...nodes.map((n) => path.join(cluster.stateDir, n, 'nomad-data'))]) {
    const allocs = path.join(data, 'alloc');
    const ids = await readdir(allocs).catch(() => [] as string[]);
    dirs.push(...ids.map((id) => path.join(allocs, id, 'alloc', 'logs')).filter((dir) => existsSync(dir)));
  }
  return dirs;
}

/** Writes Traefik's warnings and errors to reports/e2e/<cluster>/traefik-problems.log before the cluster goes down (which removes the logs). */
async function keepTraefikProblems(cluster: E2eCluster): Promise<void> {
  const dir = path.join(process.cwd(), 'reports', 'e2e', path.basename(cluster.stateDir));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'traefik-problems.log'), (await traefikProblems(cluster)).join('\n') + '\n');
}

/** Traefik's log lines at warn level or above, from every Traefik allocation of the cluster (rotated files included). */
export async function traefikProblems(cluster: E2eCluster): Promise<string[]> {
  const lines: string[] = [];
  for (const dir of await allocLogDirs(cluster)) {
    for (const file of (await readdir(dir)).filter((f) => f.startsWith('traefik.stdout') || f.startsWith('traefik.stderr'))) {
      const text = await readFile(path.join(dir, file), 'utf8').catch(() => '');
      lines.push(...text.split('\n').filter((l) => /"level":"(warn|error|fatal)"/.test(l)));
    }
  }
  return lines;
}
