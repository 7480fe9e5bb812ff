import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { liveDescendants, liveGroupMembers, stillAlive } from '../../lib/process-tree.ts';
import { deployCmdExitDetail, runDeployCmd } from '../../verify/deploy-cmd.ts';

/** The deploy command's process group, from the pid file its shell writes ($$ is the group leader); rejects while there is none in it yet. */
const groupOf = async (file: string) => {
  const pgid = Number((await readFile(file, 'utf8')).trim());
  if (!Number.isInteger(pgid) || pgid <= 0) throw new Error(`${file}: no pid in it yet`);
  return pgid;
};

describe('runDeployCmd()', () => {
  test('a command that ends on its own: its exit code, nothing stopped', async () => {
    const r = await runDeployCmd('exit 3', { cwd: tmpdir(), timeoutMs: 10_000 });
    expect(r).toEqual({ exitCode: 3, signal: null });
    expect(deployCmdExitDetail(r)).toBe('exit 3');
  });

  test('aborted: SIGTERM reaches the whole group (children and background jobs), and the run waits until it is gone', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-deploy-cmd-'));
    const pidFile = path.join(dir, 'pgid');
    const ac = new AbortController();
    const running = runDeployCmd(`echo $$ > ${pidFile}; sleep 60 & bash -c 'sleep 60'`, { cwd: dir, timeoutMs: 60_000, signal: ac.signal });
    // (none while the pid file is not written yet: not group 0, whose members are the kernel's threads)
    await expect.poll(async () => (await groupOf(pidFile).then(liveGroupMembers, () => [])).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    const pgid = await groupOf(pidFile);
    const t = Date.now();
    ac.abort();
    const r = await running;
    expect(Date.now() - t).toBeLessThan(2_000);
    expect(r.stopped).toBe('aborted');
    expect(r.leftover).toBeUndefined();
    expect(liveGroupMembers(pgid)).toEqual([]);
    expect(deployCmdExitDetail(r)).toMatch(/^killed by SIGTERM \(stopped: interrupted\)$/);
  });

  test('aborted: a descendant in a session and group of its own (as cdktf runs terraform on a pseudo-terminal) is stopped too', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-deploy-cmd-'));
    const pidFile = path.join(dir, 'pgid');
    const ac = new AbortController();
    // (a background job ignores SIGINT, so this one waits out the first step's grace and goes on SIGTERM)
    const running = runDeployCmd(`echo $$ > ${pidFile}; setsid sleep 61 & wait`, { cwd: dir, timeoutMs: 60_000, signal: ac.signal, graceMs: 500 });
    // GIVEN the shell and a child that left its group (polled for as that: the shell's fork is a
    // descendant in its group until it has run setsid)
    const outside = (pgid: number) => liveDescendants(pgid).filter((p) => !liveGroupMembers(pgid).includes(p.pid));
    await expect.poll(async () => (await groupOf(pidFile).then(outside, () => [])).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    const pgid = await groupOf(pidFile);
    const started = liveDescendants(pgid);
    expect(outside(pgid), 'a descendant outside the group').not.toEqual([]);
    // WHEN aborted
    ac.abort();
    const r = await running;
    // THEN it is gone too, not only the group
    expect(r.leftover).toBeUndefined();
    expect(stillAlive(started)).toEqual([]);
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  test('a member that ignores SIGTERM gets SIGKILL after the grace', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zd-deploy-cmd-'));
    const pidFile = path.join(dir, 'pgid');
    const running = runDeployCmd(`echo $$ > ${pidFile}; trap '' TERM; sleep 60 & wait`, { cwd: dir, timeoutMs: 500, graceMs: 300 });
    const r = await running;
    expect(r.stopped).toBe('timeout');
    expect(liveGroupMembers(await groupOf(pidFile))).toEqual([]);
    expect(deployCmdExitDetail(r)).toMatch(/\(stopped: the run hit --max-duration\)/);
  });
});
