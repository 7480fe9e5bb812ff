import { InputError, type InputIssue } from '../lib/input-error.ts';

export { formatIssue } from '../lib/input-error.ts';

/** One violated rule of the config: where (`services[0].drainGrace`), what was given, and what is wrong + how to fix it. */
export type ConfigIssue = InputIssue;

/** Every problem found in a config, one `path: value — rule` line each (the kit's one input-error shape). */
export class ConfigError extends InputError {
  override readonly name = 'ConfigError';

  constructor(issues: readonly ConfigIssue[], source?: string) {
    super(issues, 'in the zerodrop config', source);
  }
}
