/**
 * Durations in zerodrop configs are Go-style strings ("500ms", "6s", "1m30s"), the
 * form Nomad and Traefik users already write. Internally every duration is a whole
 * number of milliseconds and its name ends in `Ms`.
 *
 * A strict parser instead of `ms`/`parse-duration`: those accept a bare number as
 * milliseconds, and "15" silently meaning 15 ms is exactly the unit slip this kit
 * exists to prevent.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses "1m30s" → 90000; returns undefined when the text is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** Formats milliseconds the way a person writes them: 6000 → "6s", 1500 → "1.5s", 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  // Not a duration a config can produce (the schema caps them), but never recurse on one.
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${trimZeros(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  const rest = ms - minutes * 60_000;
  if (minutes < 60) return rest === 0 ? `${minutes}m` : `${minutes}m${formatDuration(rest)}`;
  const hours = Math.floor(minutes / 60);
  const restMs = ms - hours * 3_600_000;
  return restMs === 0 ? `${hours}h` : `${hours}h${formatDuration(restMs)}`;
}

function trimZeros(n: number): string {
  return Number(n.toFixed(3)).toString();
}

/** Milliseconds → the nanoseconds Nomad's API JSON wants. */
export function toNanos(ms: number): number {
  return ms * 1_000_000;
}
