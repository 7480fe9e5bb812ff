/**
 * Processes as Linux's /proc shows them: one parser of /proc/<pid>/stat for the cluster supervisor
 * (is the agent we started still alive?) and the verifier's deploy command (which processes did it
 * start, in which group?). Where there is no /proc every read answers "nothing".
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process from /proc/<pid>/stat; `start` (clock ticks after boot) tells it from a later one with the same pid. */
export interface ProcStat {
  readonly pid: number;
  /** R, S, D, … ; Z (zombie) and X (dead) are not alive */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  readonly start: number;
}

/** The text of /proc/<pid>/<file>; undefined when the process is gone or not ours to read. */
export function readProcFile(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Parses /proc/<pid>/stat; undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  const stat = readProcFile(pid, 'stat');
  if (!stat) return undefined;
  // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] state, f[1] ppid, f[2] pgrp, f[19] starttime (fields 3, 4, 5 and 22 of proc(5))
  return { pid, state: f[0] ?? '', ppid: Number(f[1]), pgid: Number(f[2]), start: Number(f[19]) };
}

const alive = (s: ProcStat | undefined): s is ProcStat => s !== undefined && s.state !== 'Z' && s.state !== 'X';

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  return alive(procStat(pid));
}

/** Pids listed in /proc; undefined where there is no /proc. */
export function procPidList(): number[] | undefined {
  try {
    return readdirSync('/proc').map(Number).filter((pid) => Number.isInteger(pid));
  } catch {
    return undefined;
  }
}

/** Every live (not zombie) process; undefined where there is no /proc. */
export function liveProcs(): ProcStat[] | undefined {
  return procPidList()?.map(procStat).filter(alive);
}
