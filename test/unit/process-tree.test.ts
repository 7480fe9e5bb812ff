import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { liveGroupMembers, runProcessTree, treeRunFailure } from '../../lib/process-tree.ts';

/**
 * A "cdktf": node in a session and group of its own (started with setsid), which runs inner.sh (a
 * "terraform") in one of its own and notes in `order` each signal it gets, and whether the inner
 * one was still there then.
 */
const MIDDLE = `import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
const inner = spawn('setsid', ['bash', 'inner.sh'], { stdio: 'ignore' });
// from /proc, as the kernel sees it at the signal (node's 'exit' event for it may come later): gone or a zombie
const innerGone = () => { try { const st = readFileSync('/proc/' + inner.pid + '/stat', 'utf8'); return 'ZX'.includes(st.slice(st.lastIndexOf(')') + 2)[0]); } catch { return true; } };
const note = (sig) => () => { appendFileSync('order', innerGone() ? sig + '\\n' : sig + ' while inner ran\\n'); process.exit(0); };
process.on('SIGINT', note('middle-INT'));
process.on('SIGTERM', note('middle-TERM'));
setInterval(() => {}, 1000);
`;

describe('runProcessTree()', () => {
  test('captures stdout and stderr and returns the exit code', async () => {
    const r = await runProcessTree('bash', ['-c', 'echo out; echo err >&2; exit 4'], { cwd: tmpdir(), timeoutMs: 10_000, output: 'capture' });
    expect(r.exitCode).toBe(4);
    expect(r.stopped).toBeUndefined();
    expect(r.output).toContain('out\n');
    expect(r.output).toContain('err\n');
  });

  test('keeps the last captureBytes of the output', async () => {
    const r = await runProcessTree('bash', ['-c', 'for i in $(seq 1 2000); do echo "line $i"; done'], { cwd: tmpdir(), timeoutMs: 10_000, output: 'capture', captureBytes: 100 });
    expect(r.output.length).toBeLessThanOrEqual(100);
    expect(r.output.endsWith('line 2000\n')).toBe(true);
  });

  test('nested groups are stopped innermost first (terraform before the cdktf that runs it), each with SIGINT, before any SIGTERM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-tree-'));
    const log = path.join(dir, 'order');
    // The outer shell runs a "cdktf" (node) in a session and group of its own, which runs a
    // "terraform" (bash) in one of its own. The inner one takes half a second to go on SIGINT; the
    // middle one notes whether the inner one was still there when its own SIGINT came.
    await writeFile(path.join(dir, 'inner.sh'), `trap 'sleep 0.5; echo inner-INT >> order; exit 0' INT; trap 'echo inner-TERM >> order; exit 0' TERM; : > ready; sleep 60 & wait\n`);
    await writeFile(path.join(dir, 'middle.mjs'), MIDDLE);
    const ac = new AbortController();
    const running = runProcessTree('bash', ['-c', `setsid ${process.execPath} middle.mjs; true`], { cwd: dir, timeoutMs: 60_000, signal: ac.signal, graceMs: 2_000 });
    // GIVEN the outer shell, the middle node and the inner shell run, the inner one with its traps set
    await innerReady(dir);
    const t = Date.now();
    ac.abort();
    const r = await running;
    // THEN the innermost went first, then its parent, each on SIGINT, within the graces, nothing left
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['inner-INT', 'middle-INT']);
    expect(r.stopped).toBe('aborted');
    expect(r.leftover).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(3 * 2_000);
  });

  test('a leader that outlives its SIGINT gets SIGKILL, never SIGTERM (terraform: "exit immediately", state file left empty), and its parent a signal only once it has gone', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-tree-'));
    // the inner one stays on SIGINT (terraform waiting on its provider) and notes a SIGTERM if it gets one
    await writeFile(path.join(dir, 'inner.sh'), `trap 'echo inner-INT >> order' INT; trap 'echo inner-TERM >> order; exit 0' TERM; : > ready; while true; do sleep 0.1; done\n`);
    await writeFile(path.join(dir, 'middle.mjs'), MIDDLE);
    const ac = new AbortController();
    const running = runProcessTree('bash', ['-c', `setsid ${process.execPath} middle.mjs; true`], { cwd: dir, timeoutMs: 60_000, signal: ac.signal, graceMs: 1_000 });
    await innerReady(dir);
    ac.abort();
    const r = await running;
    expect((await readFile(path.join(dir, 'order'), 'utf8')).trim().split('\n')).toEqual(['inner-INT', 'middle-TERM']);
    expect(r.leftover).toBeUndefined();
  });

  test('stopped at the deadline: stopped says timeout, the group is gone', async () => {
    const r = await runProcessTree('bash', ['-c', 'echo $$; sleep 60'], { cwd: tmpdir(), timeoutMs: 300, graceMs: 300, output: 'capture' });
    expect(r.stopped).toBe('timeout');
    expect(liveGroupMembers(Number(r.output.trim()))).toEqual([]);
  });
});

/**
 * Until the inner shell has set its traps: it writes `ready` in `dir` then; the middle node that
 * started it and the outer shell that runs that one go only on a signal, so all three run. Not a
 * count of the bash and node processes in `dir` by their comm, as before: Node 24 names its main
 * thread, and so a node process's comm, `MainThread`. Nor by their executable: three could be
 * counted before the inner shell had set its traps (node's fork for it, not yet exec'd, is a node in
 * `dir` too), and a SIGINT then ended it unnoted: seen under load on Node 20, the order held
 * 'middle-INT' alone.
 */
async function innerReady(dir: string): Promise<void> {
  await expect.poll(() => existsSync(path.join(dir, 'ready')), { timeout: 5_000 }).toBe(true);
}

describe('treeRunFailure()', () => {
  test('names why a run did not succeed: its exit, an interruption, the deadline, what outlived SIGKILL', () => {
    expect(treeRunFailure({ exitCode: 0, signal: null }, 60_000)).toBeUndefined();
    expect(treeRunFailure({ exitCode: 1, signal: null }, 60_000)).toBe('failed (exit 1)');
    expect(treeRunFailure({ exitCode: null, signal: 'SIGKILL' }, 60_000)).toBe('failed (exit SIGKILL)');
    expect(treeRunFailure({ exitCode: 0, signal: null, stopped: 'aborted' }, 60_000)).toBe('stopped (interrupted)');
    expect(treeRunFailure({ exitCode: null, signal: 'SIGTERM', stopped: 'timeout', leftover: [42] }, 600_000)).toBe('stopped at its deadline (600 s); still alive after SIGKILL: 42');
  });
});
