/**
 * Compares what the client saw of its non-idempotent requests (those with a request id)
 * with the app's ledger (app/ledger.ts: how often each id was executed).
 *
 *   answered OK   → must have run exactly once: 0 = lost, ≥ 2 = doubled
 *   failed/unknown on the client → may have run at most once: ≥ 2 = doubled;
 *                  0 or 1 is "unknown" to the client, and the ledger says which
 */
import type { RequestRecord } from './types.ts';

export interface LedgerComparison {
  /** Requests that carried a request id. */
  checked: number;
  /** Answered OK and executed exactly once. */
  exactlyOnce: number;
  /** Answered OK but never executed. */
  lost: number;
  /** Executed twice or more (whatever the client saw). */
  doubled: number;
  /** Failed on the client: the client cannot know whether they ran; split by what the ledger says. */
  unknown: { total: number; executed: number; notExecuted: number };
  /** Lines in the ledger that could not be parsed. */
  unreadableLines: number;
  /** Up to 20 of each, for the report. */
  lostIds: string[];
  doubledIds: string[];
}

const SAMPLE = 20;

export function compareLedger(records: readonly RequestRecord[], executed: ReadonlyMap<string, number>, unreadableLines = 0): LedgerComparison {
  const c: LedgerComparison = { checked: 0, exactlyOnce: 0, lost: 0, doubled: 0, unknown: { total: 0, executed: 0, notExecuted: 0 }, unreadableLines, lostIds: [], doubledIds: [] };
  for (const r of records) {
    if (r.requestId === undefined) continue;
    c.checked++;
    const n = executed.get(r.requestId) ?? 0;
    if (n >= 2) {
      c.doubled++;
      if (c.doubledIds.length < SAMPLE) c.doubledIds.push(r.requestId);
    }
    if (r.ok) {
      if (n === 0) {
        c.lost++;
        if (c.lostIds.length < SAMPLE) c.lostIds.push(r.requestId);
      } else if (n === 1) c.exactlyOnce++;
    } else {
      c.unknown.total++;
      if (n === 0) c.unknown.notExecuted++;
      else if (n === 1) c.unknown.executed++;
    }
  }
  return c;
}
