import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { allocTaskPids } from '../../cluster/index.ts';
import { waitUntil } from '../../lib/wait.ts';

/** allocTaskPids() finds a task process by NOMAD_ALLOC_ID in its env and a word of its argv, from /proc (a real child, no fakes). */
describe('allocTaskPids()', () => {
  const children: number[] = [];
  afterEach(() => {
    for (const pid of children.splice(0)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });

  /** A `sleep 30` with the allocation's id in its env, once it has exec'd (before that /proc shows node's argv and env). */
  const task = async (allocId: string) => {
    const child = spawn('sleep', ['30'], { env: { ...process.env, NOMAD_ALLOC_ID: allocId }, stdio: 'ignore' });
    children.push(child.pid!);
    await waitUntil(() => allocTaskPids(allocId, 'sleep').length > 0, { timeoutMs: 5_000, intervalMs: 20 });
    return child.pid!;
  };

  test('finds the process by its full alloc id or an 8-character prefix, and only with the command in its argv', async () => {
    const id = randomUUID();
    const pid = await task(id);
    expect(allocTaskPids(id, 'sleep')).toEqual([pid]);
    expect(allocTaskPids(id.slice(0, 8), 'sleep')).toEqual([pid]);
    expect(allocTaskPids(id, 'app/server.ts')).toEqual([]);
  });

  test('negative control: another allocation id finds nothing', async () => {
    await task(randomUUID());
    expect(allocTaskPids(randomUUID(), 'sleep')).toEqual([]);
  });
});
