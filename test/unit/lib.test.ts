import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
