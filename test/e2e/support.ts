/** Shared by the end-to-end tests: field-by-field comparison with what Nomad holds, and phase timing. */

/** Paths where `intended` has a value that `actual` lacks or differs from (extra fields in `actual` are Nomad's defaults). */
export function droppedFields(intended: unknown, actual: unknown, at = 'Job'): string[] {
  if (Array.isArray(intended)) {
    if (!Array.isArray(actual) || actual.length !== intended.length) return [`${at}: ${JSON.stringify(intended)} became ${JSON.stringify(actual)}`];
    return intended.flatMap((v, i) => droppedFields(v, actual[i], `${at}[${i}]`));
  }
  if (intended && typeof intended === 'object') {
    if (!actual || typeof actual !== 'object') return [`${at}: missing`];
    return Object.entries(intended).flatMap(([k, v]) => (k in (actual as object) ? droppedFields(v, (actual as Record<string, unknown>)[k], `${at}.${k}`) : [`${at}.${k}: dropped`]));
  }
  return intended === actual ? [] : [`${at}: ${JSON.stringify(intended)} became ${JSON.stringify(actual)}`];
}

/** Prints how long a phase of an end-to-end test took, pass or fail. */
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`[e2e] ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
