/**
 * The verifier's `--deploy-cmd`: `bash -c CMD` in a process group of its own, so that stopping it
 * (Ctrl-C, or the run's deadline) reaches everything it started (npm → tsx → cdktf → terraform →
 * providers), not only the shell. cdktf runs terraform on a pseudo-terminal, in a session (and
 * group) of its own, so the group alone is not enough: every descendant of the shell counts too.
 * Stopping: SIGINT to every descendant that leads a group of its own (terraform) and up to `graceMs`
 * for those to go; then SIGTERM to the group and every descendant, up to `graceMs` again, then
 * SIGKILL to whatever is left. The run waits until they are gone, so nothing it started outlives it.
 */
import { spawn } from 'node:child_process';
import { liveProcs, type ProcStat } from '../lib/proc.ts';
import { sleep, waitUntil } from '../lib/wait.ts';

/** How long each stopping step waits for the deploy command's processes to go (SIGINT to terraform and the like, then SIGTERM, then SIGKILL). */
export const STOP_GRACE_MS = 3000;

export interface DeployCmdResult {
  /** The shell's exit code; null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why the verifier stopped it, when it did. */
  readonly stopped?: 'aborted' | 'timeout';
  /** Its processes still alive after SIGKILL (none expected). */
  readonly leftover?: number[];
}

/** One line for the report's `deploy-cmd-exit` event. */
export function deployCmdExitDetail(r: DeployCmdResult): string {
  const how = r.exitCode !== null ? `exit ${r.exitCode}` : `killed by ${r.signal}`;
  const why = r.stopped === 'aborted' ? ' (stopped: interrupted)' : r.stopped === 'timeout' ? ' (stopped: the run hit --max-duration)' : '';
  return `${how}${why}${r.leftover?.length ? `; still alive after SIGKILL: ${r.leftover.join(', ')}` : ''}`;
}

type Proc = ProcStat;

/**
 * Live (not zombie) processes in process group `pgid`, from /proc. Orphans of the group are
 * reparented and may never be reaped where pid 1 does not reap; those zombies do not count.
 */
export function liveGroupMembers(pgid: number): number[] {
  const procs = liveProcs();
  if (!procs) return groupSignalable(pgid) ? [pgid] : [];
  return procs.filter((p) => p.pgid === pgid).map((p) => p.pid);
}

/** A process as /proc shows it: pid, and start time to tell it from a later one with the same pid. */
export interface ProcId {
  readonly pid: number;
  readonly start: number;
}

/** Live descendants of `pid` (children, their children, …; in any group or session), from /proc. */
export function liveDescendants(pid: number): ProcId[] {
  const procs = liveProcs() ?? [];
  const root = procs.find((p) => p.pid === pid);
  return root ? descendants([root], procs).map(({ pid: id, start }) => ({ pid: id, start })) : [];
}

/** Those of `list` still alive (same pid, same start time, not a zombie). */
export function stillAlive(list: readonly ProcId[]): ProcId[] {
  const procs = liveProcs() ?? [];
  return list.filter((x) => procs.some((p) => p.pid === x.pid && p.start === x.start));
}

/** Every live descendant of `roots` (live processes themselves). */
function descendants(roots: readonly Proc[], procs: readonly Proc[]): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: Proc[] = [];
  const todo = roots.flatMap((r) => children.get(r.pid) ?? []);
  while (todo.length) {
    const p = todo.pop()!;
    found.push(p);
    todo.push(...(children.get(p.pid) ?? []));
  }
  return found;
}

function groupSignalable(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Runs `bash -c cmd` in its own process group; on `signal` or after `timeoutMs` stops its group and every descendant. */
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
    const ended = await Promise.race([exited.then((r) => ({ r })), stopping.then(() => undefined)]);
    if (ended) return ended.r;
    stopped = stop.signal.reason as 'aborted' | 'timeout';
    // What it started, taken before the first signal (the shell's death reparents its children) and
    // again at every check: its group, and the descendants in any group (terraform on cdktf's pseudo-terminal).
    const known = new Map<number, number>(); // pid → start time, of every process seen that it started
    /** Its live processes: its group's, and every process seen so far with their live descendants (in any group). */
    const left = (): Proc[] => {
      const procs = liveProcs();
      if (!procs) return groupSignalable(pgid) ? [{ pid: pgid, state: 'S', ppid: 0, pgid, start: 0 }] : [];
      const seen = procs.filter((p) => p.pgid === pgid || known.get(p.pid) === p.start);
      const live = [...new Map([...seen, ...descendants(seen, procs)].map((p) => [p.pid, p])).values()];
      for (const p of live) known.set(p.pid, p.start);
      return live;
    };
    const waitGone = (which: () => Proc[], ms: number) => waitUntil(() => which().length === 0, { timeoutMs: ms, intervalMs: 100 });
    const grace = o.graceMs ?? STOP_GRACE_MS;
    // 1. Leaders of groups of their own first (terraform on cdktf's pseudo-terminal), with SIGINT to their
    //    group, what a terminal's Ctrl-C sends: terraform stops its providers and writes its state. Were
    //    cdktf stopped first, the pseudo-terminal's hang-up would end terraform at once, maybe mid-write
    //    (a local state file left empty was seen that way).
    const leaders = () => left().filter((p) => p.pgid !== pgid && p.pgid === p.pid);
    const first = leaders();
    if (first.length) {
      for (const p of first) signalGroup(p.pid, 'SIGINT');
      await waitGone(leaders, grace);
    }
    // 2. Then its own group and whatever else is left: SIGTERM, and SIGKILL after the grace.
    const signalAll = (sig: NodeJS.Signals) => {
      const procs = left();
      signalGroup(pgid, sig);
      for (const p of procs) signalPid(p.pid, sig);
    };
    signalAll('SIGTERM');
    await waitGone(left, grace);
    let leftover: number[] = [];
    if (left().length) {
      signalAll('SIGKILL');
      await waitUntil(() => (leftover = left().map((p) => p.pid)).length === 0, { timeoutMs: 1000, intervalMs: 50 });
    }
    // The shell was signalled: it has gone by now (a process SIGKILL cannot end is stuck in the kernel; do not wait on it forever).
    const r = await Promise.race([exited, sleep(1000).then(() => ({ exitCode: null, signal: 'SIGKILL' as const }))]);
    return { ...r, stopped, ...(leftover.length ? { leftover } : {}) };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}
