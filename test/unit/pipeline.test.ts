import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { judgeRollout, rolloutOutcome, type Deployment } from '../../deploy/rollout-outcome.ts';

const d = (Status: string, StatusDescription: string): Deployment => ({ ID: '0123456789abcdef', JobVersion: 3, Status, StatusDescription });

describe('judgeRollout(): the pipeline fails unless the config version is rolled out', () => {
  test.each([
    ['successful, running the version asked for', d('successful', 'Deployment completed successfully'), 'v2', true, /successful.*runs v2$/],
    ['failed', d('failed', 'Failed due to unhealthy allocations'), 'v2', false, /FAILED$/],
    ['failed and rolled back', d('failed', 'Failed due to unhealthy allocations - rolling back to job version 2'), 'v1', false, /FAILED$/],
    ["the revert's own deployment, successful, but the old version runs", d('successful', 'Deployment completed successfully'), 'v1', false, /runs v1, not v2 — REVERTED/],
    ['cancelled', d('cancelled', 'Cancelled because job is stopped'), 'v2', false, /FAILED$/],
    ['still running', d('running', 'Deployment is running'), 'v2', false, /still running/],
  ])('%s', (_name, deployment, running, ok, line) => {
    const outcome = judgeRollout('web', 'v2', deployment, running);
    expect(outcome.ok).toBe(ok);
    expect(outcome.line).toMatch(line);
  });

  test('no deployment at all: only the running version counts', () => {
    expect(judgeRollout('web', 'v2', null, 'v2').ok).toBe(true);
    expect(judgeRollout('web', 'v2', null, undefined)).toMatchObject({ ok: false, line: 'job web runs (no zerodrop.version), no deployment — expected v2' });
  });
});

describe('rolloutOutcome(): waits for the latest deployment on Nomad, bounded', () => {
  /** A Nomad answering /v1/job/web/deployment with `statuses` in turn (the last one repeats), and the job's meta. */
  async function fakeNomad(statuses: (string | 404)[], version = 'v2'): Promise<{ address: string; calls: () => number; close: () => void }> {
    let calls = 0;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/v1/job/web/deployment') {
        const s = statuses[Math.min(calls++, statuses.length - 1)]!;
        if (s === 404) return void res.writeHead(404).end('job not found');
        res.setHeader('x-nomad-index', String(calls));
        return void res.end(JSON.stringify({ ID: 'abcdef0123', JobVersion: 3, Status: s, StatusDescription: `Deployment ${s}` }));
      }
      if (url.pathname === '/v1/job/web') return void res.end(JSON.stringify({ Meta: { 'zerodrop.version': version } }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls, close: () => server.close() };
  }

  test('polls while the deployment runs, then judges the one that ended', async () => {
    const nomad = await fakeNomad(['running', 'running', 'successful']);
    try {
      const out = await rolloutOutcome({ address: nomad.address }, 'web', 'v2', 10_000);
      expect(out.ok).toBe(true);
      expect(nomad.calls()).toBe(3);
    } finally {
      nomad.close();
    }
  });

  test('gives up at the timeout with the deployment still running', async () => {
    const nomad = await fakeNomad(['running']);
    try {
      const started = Date.now();
      const out = await rolloutOutcome({ address: nomad.address }, 'web', 'v2', 500);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(out).toMatchObject({ ok: false, line: expect.stringContaining('still running when the watch gave up') });
    } finally {
      nomad.close();
    }
  });

  test('a job Nomad does not know is a failure that names the address', async () => {
    const nomad = await fakeNomad([404]);
    try {
      expect(await rolloutOutcome({ address: nomad.address }, 'web', 'v2', 10_000)).toEqual({ job: 'web', ok: false, line: `job web not found at ${nomad.address}` });
    } finally {
      nomad.close();
    }
  });
});
