/**
 * The one shape of a bad-input error in zerodrop (config files, verifier options, request mixes):
 * every problem found, each naming where it is, the value given, and what is wrong + how to fix
 * it; reported at once so a user fixes them in one pass. The message is the list itself, meant
 * to be printed as-is, without a stack trace.
 */

/** One violated rule: where (`services[0].drainGrace`), what was given, and what is wrong + how to fix it. */
export interface InputIssue {
  readonly path: string;
  readonly value: unknown;
  readonly rule: string;
}

export class InputError extends Error {
  override readonly name: string = 'InputError';
  readonly issues: readonly InputIssue[];

  /** `what`: the thing that was checked, as the head line says it ("in the zerodrop config"). */
  constructor(issues: readonly InputIssue[], what: string, source?: string) {
    const head = `${source ? `${source}: ` : ''}${issues.length} problem${issues.length === 1 ? '' : 's'} ${what}`;
    super([head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n'));
    this.issues = issues;
  }
}

export function formatIssue(issue: InputIssue): string {
  return `${issue.path}: ${formatValue(issue.value)} — ${issue.rule}`;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (typeof value === 'string') return JSON.stringify(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
