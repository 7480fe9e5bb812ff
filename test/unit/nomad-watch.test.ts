import { describe, expect, test } from 'vitest';
import { hasSystemDeployments, watchDeployment } from '../../verify/nomad-watch.ts';

// Errors the watch cannot recover from surface when they happen, not as a "timeout" at the end.
// (Against a real Nomad the watch runs in every e2e rollout; here nothing listens at the address.)
describe('watchDeployment(): errors surface', () => {
  test('a Nomad address where nothing listens stops the watch after its failures in a row, naming the URL', async () => {
    const started = Date.now();
    const watch = watchDeployment({ address: 'http://127.0.0.1:1', jobId: 'web', baselineJobVersion: 0, now: () => 0, timeoutMs: 60_000, maxConsecutiveFailures: 3 });
    await expect(watch).rejects.toThrow(/deployment watch of job "web" stopped: .*http:\/\/127\.0\.0\.1:1\/v1\/job\/web\//);
    // three failures 500 ms apart, far inside the 60 s it was given
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

// Which Nomad follows a system job's change with a deployment decides how the verifier follows it.
describe('hasSystemDeployments()', () => {
  test.each([
    ['1.6.3', false],
    ['1.10.5', false],
    ['1.11.0', true],
    ['1.11.3+ent', true],
    ['2.0.0', true],
  ])('Nomad %s: %s', (version, expected) => {
    expect(hasSystemDeployments(version)).toBe(expected);
  });
});
