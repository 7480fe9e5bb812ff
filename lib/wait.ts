/**
 * Resolves after `ms`, or at once when the signal aborts (never rejects). The abort listener is
 * removed when the timer fires, so a long-lived signal used in a loop does not collect listeners.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between two checks. */
  readonly intervalMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Checks `done` until it holds (true) or `timeoutMs` has passed or the signal aborted (false),
 * pausing `intervalMs` between checks: the bounded polling loop, written once.
 */
export async function waitUntil(done: () => boolean | Promise<boolean>, o: WaitOptions): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline || o.signal?.aborted) return false;
    await sleep(Math.min(o.intervalMs, Math.max(0, deadline - Date.now())), o.signal);
  }
}
