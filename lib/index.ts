/**
 * Helpers that know nothing of the kit: the JSON-over-HTTP client (every error names the URL and
 * status), Nomad API reads, `which`, an abortable sleep and a bounded wait, a log tail, /proc
 * reads, commands in process groups of their own and the Ctrl-C that stops them, and the
 * repository root. Imports nothing else of the repo.
 */
export { findOnPath } from './find-on-path.ts';
export { HttpError, NetworkError, networkReason, requestJson, type JsonRequest } from './http.ts';
export { abortOnInterrupt } from './interrupt.ts';
export { jobVersion, jobVersions, nomadGet, nomadPost, revertJob, type NomadClientOptions, type NomadJobVersion } from './nomad.ts';
export { liveProcs, pidAlive, procPidList, procProgram, procStat, readProcFile, type ProcStat } from './proc.ts';
export { liveDescendants, liveGroupMembers, runProcessTree, stillAlive, stopProcessTree, STOP_GRACE_MS, type ProcId, type TreeRun, type TreeRunOptions } from './process-tree.ts';
export { REPO_ROOT } from './repo-root.ts';
export { lastLines, tail } from './tail.ts';
export { sleep, waitUntil, type WaitOptions } from './wait.ts';
