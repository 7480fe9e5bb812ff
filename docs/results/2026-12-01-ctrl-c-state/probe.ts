/**
 * What terraform (1.11, local backend) does with the app stack's state when it is interrupted mid-apply
 * (a nomad_job waiting for its deployment, detach = false): a one-node local cluster, v1 deployed, then
 * `npm run deploy` of v2; 1 s into the Nomad deployment SIGINT goes to terraform's process group, and
 *   int-only: nothing more (terraform stays until the deployment ends, then writes its state);
 *   term3:    SIGTERM to terraform 3 s later (a second signal: terraform "exits immediately");
 *   term-all: SIGTERM to terraform and its parent (cdktf) 3 s later;
 *   kill3:    SIGKILL to terraform's group 3 s later.
 * Prints the state file's size as it changes and whether it parses once terraform has gone.
 * `npx tsx docs/results/2026-12-01-ctrl-c-state/probe.ts MODE` from the repository root, after `npm run tools`.
 */
import { spawn } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterUp, clusterDown, clusterEnv } from '../../../cluster/index.ts';
import { deploy } from '../../../deploy/index.ts';
import { liveProcs } from '../../../lib/proc.ts';
import { nomadGet, type NomadDeployment, deploymentEnded } from '../../../lib/nomad.ts';
import { waitUntil } from '../../../lib/wait.ts';
import { localConfigWith } from '../../../test/e2e/support.ts';

const work = path.join(tmpdir(), 'zerodrop-ctrl-c-probe');
const cluster = { stateDir: path.join(work, 'cluster'), portBase: 24500 };
const entry = { port: 19180, admin: 19182 };
const e = clusterEnv(cluster);
const mode = process.argv[2] ?? 'int-only';
await rm(work, { recursive: true, force: true });
await clusterUp({ ...cluster, log: () => undefined });
try {
  const v1 = await localConfigWith(path.join(work, 'configs'), 'v1', entry, () => undefined);
  await deploy({ cluster, quiet: true, version: 'v1', config: v1 });
  const v2 = await localConfigWith(path.join(work, 'configs'), 'v2', entry, () => undefined);
  const state = path.join(cluster.stateDir, 'terraform', 'terraform.app.tfstate');
  const t0 = Date.now();
  const child = spawn('npx', ['tsx', 'scripts/deploy.ts', '-c', v2, '-s', 'app', '-v', 'v2'], { env: { ...process.env, ZERODROP_STATE_DIR: cluster.stateDir, ZERODROP_PORT_BASE: String(cluster.portBase) }, detached: true, stdio: ['ignore', 'ignore', 'ignore'] });
  await waitUntil(async () => { const d = (await nomadGet<NomadDeployment>({ address: e.nomadAddr }, '/v1/job/web/deployment')).body; return !!d && d.JobVersion > 0 && !deploymentEnded(d); }, { timeoutMs: 120_000, intervalMs: 200 });
  await new Promise((r) => setTimeout(r, 1000));
  const tf = liveProcs()!.filter((p) => readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'terraform');
  console.log(`t=${Date.now() - t0} terraform pids ${tf.map((p) => `${p.pid}/pg${p.pgid}`)}`);
  for (const p of tf) process.kill(-p.pgid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 20));
  try { console.log('state after SIGINT parses:', !!JSON.parse(readFileSync(state, 'utf8'))); } catch (e) { console.log('state after SIGINT: ' + (e as Error).message); }
  const tint = Date.now();
  let last = -2;
  for (let i = 0; i < 600; i++) {
    let size = -1; try { size = statSync(state).size; } catch {}
    const alive = tf.some((p) => { try { process.kill(p.pid, 0); return true; } catch { return false; } });
    if (size !== last) { console.log(`+${Date.now() - tint} ms: state ${size} bytes; terraform ${alive ? 'alive' : 'gone'}`); last = size; }
    if (mode === 'term3' && !(globalThis as any).termed && Date.now() - tint > 3000 && alive) { (globalThis as any).termed = true; for (const p of tf) { try { process.kill(p.pid, 'SIGTERM'); } catch {} } console.log(`+${Date.now() - tint} ms: SIGTERM`); }
    if (mode === 'term-all' && !(globalThis as any).termed && Date.now() - tint > 3000 && alive) { (globalThis as any).termed = true; for (const p of tf) { try { process.kill(p.pid, 'SIGTERM'); process.kill(p.ppid, 'SIGTERM'); } catch {} } console.log(`+${Date.now() - tint} ms: SIGTERM terraform and its parent ${tf.map((p) => readFileSync(`/proc/${p.ppid}/comm`, 'utf8').trim())}`); }
    if (mode === 'kill3' && !(globalThis as any).termed && Date.now() - tint > 3000 && alive) { (globalThis as any).termed = true; for (const p of tf) { try { process.kill(-p.pgid, 'SIGKILL'); } catch {} } console.log(`+${Date.now() - tint} ms: SIGKILL terraform's group`); }
    if (!alive) { await new Promise((r) => setTimeout(r, 500)); let ok = 'parses'; try { JSON.parse(readFileSync(state, 'utf8')); } catch (e) { ok = (e as Error).message; } console.log(`+${Date.now() - tint} ms: terraform gone; state ${statSync(state).size} bytes, ${ok}`); break; }
    await new Promise((r) => setTimeout(r, 50));
  }
  try { process.kill(-child.pid!, 'SIGKILL'); } catch {}
} finally {
  await clusterDown({ ...cluster, log: () => undefined });
}
