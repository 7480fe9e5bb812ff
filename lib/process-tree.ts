/**
 * A command run in a process group of its own, so that stopping it (Ctrl-C, a deadline) reaches
 * everything it started (npm → tsx → cdktf → terraform → providers), not only the first process.
 * cdktf runs terraform on a pseudo-terminal, in a session (and group) of its own, so the group
 * alone is not enough: every descendant counts too. In its own group the command also does not get
 * a terminal's Ctrl-C directly: the caller decides the order in which its parts are stopped.
 *
 * Stopping: SIGINT to every descendant that leads a group of its own, innermost first (terraform,
 * then the cdktf that runs it where that has a group of its own), what a terminal's Ctrl-C sends,
 * and up to `graceMs` for each level to go — terraform writes its state at once and stops its
 * providers. A leader still there after that gets SIGKILL, not SIGTERM: terraform takes a second
 * signal as "exit immediately" and was seen to leave an empty state file that way. Only then
 * SIGTERM to the group and every other descendant, up to `graceMs` again, then SIGKILL to whatever
 * is left: were cdktf stopped while terraform still ran, the pseudo-terminal's hang-up would end
 * terraform at once, maybe mid-write. The run waits until they are gone,
 * so nothing it started outlives it.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { liveProcs, type ProcStat } from './proc.ts';
import { sleep, waitUntil } from './wait.ts';

/** Nested groups stopped one level at a time (terraform, then cdktf, then …), at most this many levels. */
const MAX_LEADER_ROUNDS = 4;

/** How long each stopping step waits for the processes to go (SIGINT to group leaders, then SIGTERM, then SIGKILL). */
export const STOP_GRACE_MS = 3000;

/** A process as /proc shows it: pid, and start time to tell it from a later one with the same pid. */
export interface ProcId {
  readonly pid: number;
  readonly start: number;
}

/**
 * Live (not zombie) processes in process group `pgid`, from /proc. Orphans of the group are
 * reparented and may never be reaped where pid 1 does not reap; those zombies do not count.
 */
export function liveGroupMembers(pgid: number): number[] {
  const procs = liveProcs();
  if (!procs) return groupSignalable(pgid) ? [pgid] : [];
  return procs.filter((p) => p.pgid === pgid).map((p) => p.pid);
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

export interface TreeRun {
  /** The command's exit code; null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it was stopped, when it was. */
  readonly stopped?: 'aborted' | 'timeout';
  /** Its processes still alive after SIGKILL (none expected). */
  readonly leftover?: number[];
  /** stdout and stderr as they came, the last `captureBytes` of them (output: 'capture' only). */
  readonly output: string;
}

export interface TreeRunOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly graceMs?: number;
  /** 'inherit': this process's stdout and stderr (stdin is never given: a background group must not read the terminal). @default 'ignore' */
  readonly output?: 'ignore' | 'inherit' | 'capture';
  /** @default 256 KiB */
  readonly captureBytes?: number;
}

/** Runs `file args` in a process group of its own; on `signal` or after `timeoutMs` stops its group and every descendant. */
export async function runProcessTree(file: string, args: readonly string[], o: TreeRunOptions): Promise<TreeRun> {
  const output = o.output ?? 'ignore';
  const stdio: StdioOptions = output === 'capture' ? ['ignore', 'pipe', 'pipe'] : output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : 'ignore';
  const child: ChildProcess = spawn(file, args, { cwd: o.cwd, env: o.env ?? process.env, detached: true, stdio });
  const limit = o.captureBytes ?? 256 * 1024;
  let captured = '';
  const keep = (chunk: Buffer) => {
    captured += chunk.toString('utf8');
    if (captured.length > 2 * limit) captured = captured.slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ exitCode: 127, signal: null }));
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  // Output still in the pipes when it exits; a descendant that kept them open must not hold the run.
  const drained = () => (child.stdout ? Promise.race([new Promise<void>((r) => child.once('close', () => r())), sleep(2000)]) : Promise.resolve());
  const out = () => (output === 'capture' ? captured.slice(-limit) : '');
  const pgid = child.pid;
  if (pgid === undefined) return { ...(await exited), output: out() };

  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort('timeout'), o.timeoutMs);
  const onAbort = () => stop.abort('aborted');
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const stopping = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    const ended = await Promise.race([exited.then((r) => ({ r })), stopping.then(() => undefined)]);
    if (ended) {
      await drained();
      return { ...ended.r, output: out() };
    }
    const stopped = stop.signal.reason as 'aborted' | 'timeout';
    const leftover = await stopProcessTree(pgid, o.graceMs ?? STOP_GRACE_MS);
    // The group was signalled: its leader has gone by now (a process SIGKILL cannot end is stuck in the kernel; do not wait on it forever).
    const r = await Promise.race([exited, sleep(1000).then(() => ({ exitCode: null, signal: 'SIGKILL' as const }))]);
    await drained();
    return { ...r, stopped, ...(leftover.length ? { leftover } : {}), output: out() };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Why a run did not succeed, in words (`failed (exit 1)`, `stopped (interrupted)`, `stopped at its deadline (600 s)`); undefined when it exited 0. */
export function treeRunFailure(r: Omit<TreeRun, 'output'>, timeoutMs: number): string | undefined {
  const left = r.leftover?.length ? `; still alive after SIGKILL: ${r.leftover.join(', ')}` : '';
  if (r.stopped === 'aborted') return `stopped (interrupted)${left}`;
  if (r.stopped === 'timeout') return `stopped at its deadline (${Math.round(timeoutMs / 1000)} s)${left}`;
  return r.exitCode === 0 ? undefined : `failed (exit ${r.exitCode ?? r.signal})`;
}

/**
 * Stops process group `pgid` (its leader started detached) and every descendant, in the order the
 * module's comment gives; returns the pids still alive after SIGKILL (none expected).
 */
export async function stopProcessTree(pgid: number, graceMs = STOP_GRACE_MS): Promise<number[]> {
  // What it started, taken before the first signal (the leader's death reparents its children) and
  // again at every check: its group, and the descendants in any group (terraform on cdktf's pseudo-terminal).
  const known = new Map<number, number>(); // pid → start time, of every process seen that it started
  /** Its live processes: its group's, and every process seen so far with their live descendants (in any group). */
  const left = (): ProcStat[] => {
    const procs = liveProcs();
    if (!procs) return groupSignalable(pgid) ? [{ pid: pgid, state: 'S', ppid: 0, pgid, start: 0 }] : [];
    const seen = procs.filter((p) => p.pgid === pgid || known.get(p.pid) === p.start);
    const live = [...new Map([...seen, ...descendants(seen, procs)].map((p) => [p.pid, p])).values()];
    for (const p of live) known.set(p.pid, p.start);
    return live;
  };
  const waitGone = (which: () => readonly unknown[], ms: number) => waitUntil(() => which().length === 0, { timeoutMs: ms, intervalMs: 100 });
  // 1. Leaders of groups of their own first, innermost first, each level alone and waited for, with
  //    SIGINT: terraform before the cdktf that runs it (itself in a group of its own when `npm run
  //    deploy` runs it). Terraform writes its state at once on SIGINT, then waits for the provider
  //    call under way (a nomad_job apply waits for its deployment).
  const leaders = () => left().filter((p) => p.pgid !== pgid && p.pgid === p.pid);
  const innermost = () => {
    const all = leaders();
    const procs = liveProcs() ?? [];
    return all.filter((l) => !descendants([l], procs).some((d) => all.some((o) => o.pid === d.pid)));
  };
  const interrupted: ProcStat[] = [];
  for (let round = 0; round < MAX_LEADER_ROUNDS; round++) {
    // a leader that outlived its SIGINT keeps its parents from being innermost: step 2 follows
    const now = innermost().filter((p) => !interrupted.some((i) => i.pid === p.pid));
    if (!now.length) break;
    interrupted.push(...now);
    for (const p of now) signalGroup(p.pid, 'SIGINT');
    await waitGone(() => stillAlive(now), graceMs);
  }
  // 2. Leaders that outlived their SIGINT: SIGKILL to their group, never SIGTERM. Terraform takes a
  //    second signal as "exit immediately" and was seen to leave its state file empty on the way
  //    out; killed, it leaves the state it wrote on SIGINT. Only then may cdktf go: its end hangs up
  //    the pseudo-terminal, whose SIGHUP would end a terraform still writing.
  const stuck = stillAlive(interrupted);
  if (stuck.length) {
    for (const p of stuck) signalGroup(p.pid, 'SIGKILL');
    await waitGone(() => stillAlive(stuck), 1000);
  }
  // 3. Then its own group and whatever else is left: SIGTERM, and SIGKILL after the grace.
  const signalAll = (sig: NodeJS.Signals) => {
    const procs = left();
    signalGroup(pgid, sig);
    for (const p of procs) signalPid(p.pid, sig);
  };
  signalAll('SIGTERM');
  await waitGone(left, graceMs);
  let leftover: number[] = [];
  if (left().length) {
    signalAll('SIGKILL');
    await waitUntil(() => (leftover = left().map((p) => p.pid)).length === 0, { timeoutMs: 1000, intervalMs: 50 });
  }
  return leftover;
}

/** Every live descendant of `roots` (live processes themselves). */
function descendants(roots: readonly ProcStat[], procs: readonly ProcStat[]): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: ProcStat[] = [];
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
