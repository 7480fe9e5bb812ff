import { realpathSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { abortOnInterrupt } from '../../lib/interrupt.ts';
import { liveProcs, pidAlive, procProgram, procStat } from '../../lib/proc.ts';
import { tail } from '../../lib/tail.ts';
import { waitUntil } from '../../lib/wait.ts';

describe('waitUntil', () => {
  it('returns true as soon as the condition holds, checking again after each pause', async () => {
    let checks = 0;
    const started = Date.now();
    expect(await waitUntil(() => ++checks === 3, { timeoutMs: 5_000, intervalMs: 20 })).toBe(true);
    expect(checks).toBe(3);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives up with false at the timeout, not before and not long after', async () => {
    const started = Date.now();
    expect(await waitUntil(async () => false, { timeoutMs: 300, intervalMs: 50 })).toBe(false);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(600);
  });

  it('stops with false when the signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    expect(await waitUntil(() => false, { timeoutMs: 10_000, intervalMs: 5_000, signal: ac.signal })).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('tail', () => {
  it('the last n lines of a file, and nothing for a file that is not there', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zd-tail-'));
    const file = path.join(dir, 'log');
    await writeFile(file, 'one\ntwo\nthree\nfour\n');
    expect(await tail(file, 2)).toBe('three\nfour');
    expect(await tail(file, 10)).toBe('one\ntwo\nthree\nfour');
    expect(await tail(path.join(dir, 'missing'), 5)).toBe('');
  });
});

describe('/proc', () => {
  it('reads a process whose name holds spaces and parentheses: its parent, group and start time', async () => {
    // the kernel's comm, the name in parentheses in /proc/<pid>/stat, is the script's file name
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zd-proc-'));
    const script = path.join(dir, 'a (b) c');
    await writeFile(script, '#!/bin/sh\nsleep 5\n', { mode: 0o755 });
    const child = spawn(script, [], { detached: true, stdio: 'ignore' });
    try {
      await waitUntil(() => procStat(child.pid!)?.state !== undefined, { timeoutMs: 2_000, intervalMs: 20 });
      const stat = procStat(child.pid!)!;
      expect(stat).toMatchObject({ pid: child.pid, ppid: process.pid, pgid: child.pid });
      expect(stat.start).toBeGreaterThan(procStat(process.pid)!.start - 1);
      expect(pidAlive(child.pid!)).toBe(true);
      expect(liveProcs()!.some((p) => p.pid === child.pid && p.start === stat.start)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    // reaped by node: gone; until then a zombie, which is not alive either
    expect(await waitUntil(() => !pidAlive(child.pid!), { timeoutMs: 2_000, intervalMs: 20 })).toBe(true);
  });

  it('names the program a process runs by its executable, not its comm (Node 24 names its main thread, and so the comm, MainThread)', () => {
    expect(procProgram(process.pid)).toBe(path.basename(realpathSync(process.execPath)));
  });

  it('answers nothing for a pid that does not exist', () => {
    expect(procStat(2 ** 22 + 1)).toBeUndefined();
    expect(pidAlive(2 ** 22 + 1)).toBe(false);
    expect(procProgram(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('abortOnInterrupt()', () => {
  // process.emit calls the listeners as a SIGINT would, without signalling the test runner
  it('the first Ctrl-C aborts; a second one only says the stop goes on; off() removes the handler', () => {
    const before = process.listenerCount('SIGINT');
    const ac = new AbortController();
    const lines: string[] = [];
    const off = abortOnInterrupt(ac, { first: 'interrupted', log: (l) => lines.push(l) });
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(ac.signal.aborted).toBe(true);
    process.emit('SIGINT', 'SIGINT');
    expect(lines).toEqual(['interrupted', expect.stringMatching(/^\[zerodrop\] still stopping/)]);
    off();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
