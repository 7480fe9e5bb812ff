import { describe, expect, test } from 'vitest';
import { judgeRollout, type Deployment } from '../../deploy/rollout-outcome.ts';

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

// rolloutOutcome() itself talks to Nomad: test/e2e/gitops.test.ts runs it against a real one
// (a successful rollout, a failed one, a reverted one).
