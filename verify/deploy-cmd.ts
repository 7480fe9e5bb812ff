/**
 * The verifier's `--deploy-cmd`: `bash -c CMD` in a process group of its own, so that stopping it
 * (Ctrl-C, or the run's deadline) reaches everything it started (npm → tsx → cdktf → terraform →
 * providers), not only the shell. Stopping: SIGTERM to the group, up to `graceMs` for it to go,
 * then SIGKILL to whatever is left. The run waits until the group is gone, so nothing it started
 * outlives it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../lib/wait.ts';

/** After SIGTERM, how long the deploy command's group may take to go before SIGKILL. */
export const STOP_GRACE_MS = 3000;

export interface DeployCmdResult {
  /** The shell's exit code; null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why the verifier stopped it, when it did. */
  readonly stopped?: 'aborted' | 'timeout';
  /** Members of its group still alive after SIGKILL (none expected). */
  readonly leftover?: number[];
}

/** One line for the report's `deploy-cmd-exit` event. */
export function deployCmdExitDetail(r: DeployCmdResult): string {
  const how = r.exitCode !== null ? `exit ${r.exitCode}` : `killed by ${r.signal}`;
  const why = r.stopped === 'aborted' ? ' (stopped: interrupted)' : r.stopped === 'timeout' ? ' (stopped: the run hit --max-duration)' : '';
  return `${how}${why}${r.leftover?.length ? `; still alive after SIGKILL: ${r.leftover.join(', ')}` : ''}`;
}

/**
 * Live (not zombie) processes in process group `pgid`, from /proc. Orphans of the group are
 * reparented and may never be reaped where pid 1 does not reap; those zombies do not count.
 */
export function liveGroupMembers(pgid: number): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return groupSignalable(pgid) ? [pgid] : [];
  }
  const out: number[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') out.push(pid);
  }
  return out;
}

function groupSignalable(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Runs `bash -c cmd` in its own process group; stops the whole group on `signal` or after `timeoutMs`. */
export async function runDeployCmd(cmd: string, o: { cwd: string; timeoutMs: number; signal?: AbortSignal; graceMs?: number; env?: NodeJS.ProcessEnv }): Promise<DeployCmdResult> {
  const child = spawn('bash', ['-c', cmd], { cwd: o.cwd, env: o.env ?? process.env, detached: true, stdio: 'ignore' });
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ exitCode: 127, signal: null }));
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  const pgid = child.pid;
  if (pgid === undefined) return { ...(await exited) };

  let stopped: DeployCmdResult['stopped'];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort('timeout'), o.timeoutMs);
  const onAbort = () => stop.abort('aborted');
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const stopping = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));

  try {
    const first = await Promise.race([exited.then((r) => ({ r })), stopping.then(() => undefined)]);
    if (first) return first.r;
    stopped = stop.signal.reason as 'aborted' | 'timeout';
    signalGroup(pgid, 'SIGTERM');
    const graceEnd = Date.now() + (o.graceMs ?? STOP_GRACE_MS);
    while (liveGroupMembers(pgid).length && Date.now() < graceEnd) await sleep(100);
    let leftover: number[] = [];
    if (liveGroupMembers(pgid).length) {
      signalGroup(pgid, 'SIGKILL');
      const killEnd = Date.now() + 1000;
      while ((leftover = liveGroupMembers(pgid)).length && Date.now() < killEnd) await sleep(50);
    }
    // The shell is in the group: it has gone by now (a process SIGKILL cannot end is stuck in the kernel; do not wait on it forever).
    const r = await Promise.race([exited, sleep(1000).then(() => ({ exitCode: null, signal: 'SIGKILL' as const }))]);
    return { ...r, stopped, ...(leftover.length ? { leftover } : {}) };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}
