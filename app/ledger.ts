/**
 * The idempotency ledger: one JSON line per executed non-idempotent request,
 * `{"id":…,"version":…,"instance":…,"at":…}`, appended to one file shared by every
 * instance on a host (LEDGER_FILE). Each line is a single O_APPEND write far below the
 * size at which concurrent appends on a local file system could interleave, so instances
 * of several versions running at once (canary and old) can share the file.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LedgerLine {
  id: string;
  version: string;
  instance?: string;
  /** ISO time of execution; added by appendLedger. */
  at?: string;
}

/** Synchronous: the line is written before the request is answered. */
export function appendLedger(file: string, line: Omit<LedgerLine, 'at'>): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`, { flag: 'a' });
}

/** How many times each id was executed; a missing file is an empty ledger, a torn line is skipped and counted. */
export async function readLedger(file: string): Promise<{ counts: Map<string, number>; unreadable: number }> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const counts = new Map<string, number>();
  let unreadable = 0;
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try {
      const { id } = JSON.parse(l) as LedgerLine;
      if (typeof id !== 'string') throw new Error('no id');
      counts.set(id, (counts.get(id) ?? 0) + 1);
    } catch {
      unreadable++;
    }
  }
  return { counts, unreadable };
}
