/** One violated rule: where (`services[0].drainGrace`), what was given, and what is wrong + how to fix it. */
export interface ConfigIssue {
  readonly path: string;
  readonly value: unknown;
  readonly rule: string;
}

/**
 * Every problem found in a config, reported at once so a user fixes them in one pass.
 * The message is the list itself, one `path: value — rule` line each: it is meant to
 * be printed as-is, without a stack trace.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source?: string) {
    const head = `${source ? `${source}: ` : ''}${issues.length} problem${issues.length === 1 ? '' : 's'} in the zerodrop config`;
    super([head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n'));
    this.issues = issues;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${formatValue(issue.value)} — ${issue.rule}`;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (typeof value === 'string') return JSON.stringify(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
