/**
 * The verifier's `--deploy-cmd`: `bash -c CMD` in a process group of its own (lib/process-tree.ts),
 * so that stopping it (Ctrl-C, or the run's deadline) reaches everything it started, terraform
 * first with SIGINT, and the run waits until all of it is gone.
 */
import { runProcessTree, type TreeRun } from '../lib/process-tree.ts';

/** How the deploy command ended: its exit code or signal, and whether the verifier stopped it. */
export type DeployCmdResult = Omit<TreeRun, 'output'>;

/** One line for the report's `deploy-cmd-exit` event. */
export function deployCmdExitDetail(r: DeployCmdResult): string {
  const how = r.exitCode !== null ? `exit ${r.exitCode}` : `killed by ${r.signal}`;
  const why = r.stopped === 'aborted' ? ' (stopped: interrupted)' : r.stopped === 'timeout' ? ' (stopped: the run hit --max-duration)' : '';
  return `${how}${why}${r.leftover?.length ? `; still alive after SIGKILL: ${r.leftover.join(', ')}` : ''}`;
}

/** Runs `bash -c cmd` in its own process group; on `signal` or after `timeoutMs` stops its group and every descendant. */
export async function runDeployCmd(cmd: string, o: { cwd: string; timeoutMs: number; signal?: AbortSignal; graceMs?: number; env?: NodeJS.ProcessEnv }): Promise<DeployCmdResult> {
  const { output: _none, ...r } = await runProcessTree('bash', ['-c', cmd], { ...o, output: 'ignore' });
  return r;
}
