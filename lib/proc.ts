/**
 * Processes as Linux's /proc shows them: one parser of /proc/<pid>/stat for the cluster supervisor
 * (is the agent we started still alive?) and the verifier's deploy command (which processes did it
 * start, in which group?), and the program a process runs. Where there is no /proc every read
 * answers "nothing".
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

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

/**
 * The file name of the program a process runs, from its executable (/proc/<pid>/exe: `node`,
 * `bash`, `tofu`, symlinks resolved); its comm where that cannot be read (a zombie, a kernel
 * thread, another user's process); undefined when it is gone. Not comm first: comm is the name of
 * the main thread, which a program may set (Node 24 names its main thread `MainThread`, so a node
 * process's comm is no longer `node`), is cut to 15 characters, and for a script is the script's
 * file name, not its interpreter's.
 */
export function procProgram(pid: number): string | undefined {
  try {
    // a binary replaced or removed since it started reads as "<path> (deleted)"
    return path.basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ''));
  } catch {
    return readProcFile(pid, 'comm')?.trim() || undefined;
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
