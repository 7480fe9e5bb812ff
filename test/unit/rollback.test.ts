import { describe, expect, test } from 'vitest';
import { chooseRollback, configInstruction, describeVersions, RollbackRefused, versionSeen, type JobVersionSeen } from '../../deploy/rollback.ts';
import { main } from '../../scripts/rollback.ts';
import { rollbackWaitMs } from '../../timing/model.ts';

const v = (jobVersion: number, appVersion: string | undefined, stable = true): JobVersionSeen => ({ jobVersion, appVersion, stable });

/** What Nomad keeps after v1, v2, v3 deployed (v3 the bad one) and a failed v4 that Nomad reverted to v3. */
const history = [v(0, 'v1'), v(1, 'v2'), v(2, 'v3'), v(3, 'v4', false), v(4, 'v3')];

const refusal = (fn: () => unknown): RollbackRefused => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RollbackRefused) return err;
    throw err;
  }
  throw new Error('not refused');
};

describe('chooseRollback(): which job version the revert goes to', () => {
  test('without --to: the newest stable job version with another app version than the running one', () => {
    expect(chooseRollback('web', [v(0, 'v1'), v(1, 'v2'), v(2, 'v3')])).toEqual({ from: v(2, 'v3'), to: v(1, 'v2') });
  });

  test('skips versions that were never stable and earlier versions of the running app version (a revert of a failed rollout)', () => {
    expect(chooseRollback('web', history)).toEqual({ from: v(4, 'v3'), to: v(1, 'v2') });
  });

  test('the order Nomad lists them in does not matter', () => {
    expect(chooseRollback('web', [...history].reverse()).to).toEqual(v(1, 'v2'));
  });

  test('--to picks that app version, the newest stable job version holding it', () => {
    expect(chooseRollback('web', [...history, v(5, 'v1'), v(6, 'v5')], 'v1')).toEqual({ from: v(6, 'v5'), to: v(5, 'v1') });
    expect(chooseRollback('web', history, 'v1').to).toEqual(v(0, 'v1'));
  });

  test('--to a version Nomad does not hold: refused as usage, naming every version seen and what to pick', () => {
    const r = refusal(() => chooseRollback('web', history, 'v9'));
    expect(r.kind).toBe('usage');
    expect(r.message).toBe(
      '--to v9: no job version of "web" holds app version v9 — job versions Nomad keeps (newest first; it keeps the last 6 by default): ' +
        '4 (v3, stable, running), 3 (v4), 2 (v3, stable), 1 (v2, stable), 0 (v1, stable); pick --to v2 or --to v1, or deploy v9 with `npm run deploy -- -v v9`',
    );
  });

  test('--to a version whose deployment never succeeded: refused, it is no way back', () => {
    const r = refusal(() => chooseRollback('web', history, 'v4'));
    expect(r.kind).toBe('usage');
    expect(r.message).toMatch(/^--to v4: job version\(s\) 3 of "web" hold v4, but none is stable \(no deployment of it succeeded\)/);
  });

  test('--to the running version: refused, nothing to roll back', () => {
    expect(refusal(() => chooseRollback('web', history, 'v3')).message).toMatch(/^job "web" already runs v3 \(job version 4\) — nothing to roll back; job versions Nomad keeps/);
  });

  test('nothing to roll back to: one version only, or only the running app version stable', () => {
    const one = refusal(() => chooseRollback('web', [v(0, 'v1')]));
    expect(one.kind).toBe('state');
    expect(one.message).toMatch(/^nothing to roll back to: job "web" runs v1 \(job version 0\) and no earlier stable job version holds another app version — .*: 0 \(v1, stable, running\)$/);
    expect(refusal(() => chooseRollback('web', [v(0, 'v1'), v(1, 'v2', false), v(2, 'v1')])).message).toMatch(/nothing to roll back to/);
    expect(refusal(() => chooseRollback('web', [])).kind).toBe('state');
  });

  test('versionSeen reads the app version from the job meta zerodrop.version', () => {
    expect(versionSeen({ Version: 3, Stable: true, Meta: { 'zerodrop.version': 'v2' } })).toEqual(v(3, 'v2'));
    expect(versionSeen({ Version: 3, Stable: false, Meta: null })).toEqual(v(3, undefined, false));
    expect(describeVersions([v(1, undefined, false), v(0, 'v1')])).toBe('1 ((no zerodrop.version), running), 0 (v1, stable)');
  });
});

describe('configInstruction(): how to keep the next deploy from undoing the rollback', () => {
  const at = { file: 'zerodrop.yaml', index: 0, target: 'v2' } as const;

  test('the file still says the version rolled back from', () => {
    expect(configInstruction({ ...at, inFile: 'v3' })).toBe(
      'set services[0].version: v2 in zerodrop.yaml (or ZERODROP_VERSION=v2) before the next deploy — the config still says v3 and the next apply would roll v3 out again',
    );
  });

  test('an env override sets the version: name it, and the file when it differs too', () => {
    expect(configInstruction({ ...at, index: 1, inFile: 'v1', override: { name: 'ZERODROP_VERSION_WEB', value: 'v3' } })).toBe(
      'set ZERODROP_VERSION_WEB=v2 and services[1].version: v2 in zerodrop.yaml (it says v1) before the next deploy — ZERODROP_VERSION_WEB still says v3 and the next apply would roll v3 out again',
    );
    expect(configInstruction({ ...at, inFile: 'v2', override: { name: 'ZERODROP_VERSION', value: 'v3' } })).toMatch(/^set ZERODROP_VERSION=v2 before the next deploy — ZERODROP_VERSION still says v3/);
  });

  test('the config already says the target: keep it there', () => {
    expect(configInstruction({ ...at, inFile: 'v2' })).toMatch(/^the config already says v2 \(services\[0\]\.version in zerodrop\.yaml\): keep it at v2/);
    expect(configInstruction({ ...at, inFile: 'v3', override: { name: 'ZERODROP_VERSION', value: 'v2' } })).toMatch(/^the config already says v2 \(ZERODROP_VERSION=v2, over services\[0\]\.version/);
  });
});

test('the rollback waits for its deployment as long as terraform apply waits for a rollout', () => {
  expect(rollbackWaitMs({ applyTimeoutMs: 180_000 })).toBe(180_000);
});

test('the CLI: without --job it is bad usage, exit 2, before anything is read', async () => {
  const write = process.stderr.write;
  process.stderr.write = () => true; // commander prints "required option '-j, --job <id>' not specified"
  try {
    expect(await main(['node', 'rollback'])).toBe(2);
  } finally {
    process.stderr.write = write;
  }
});
