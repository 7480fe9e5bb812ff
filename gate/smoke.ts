import type { ServiceConfig } from '../config/schema.ts';

/** One smoke request as the config states it (services[].gate.smoke[]). */
export type SmokeSpec = NonNullable<ServiceConfig['gate']>['smoke'][number];

/** What came back: a response, or a transport error in words. */
export type SmokeAnswer =
  | { readonly status: number; readonly headers: Readonly<Record<string, string | string[] | undefined>>; readonly body: string }
  | { readonly error: string };

export interface SmokeResult {
  readonly request: string;
  readonly pass: boolean;
  /** Every expectation the answer broke; empty on a pass. */
  readonly problems: readonly string[];
}

/** Checks one answer against its expectations (status, body text, header text). Pure. */
export function evaluateSmoke(spec: SmokeSpec, answer: SmokeAnswer): SmokeResult {
  const request = `${spec.method} ${spec.path}`;
  if ('error' in answer) return { request, pass: false, problems: [`no answer: ${answer.error}`] };
  const problems: string[] = [];
  if (answer.status !== spec.expectStatus) problems.push(`status ${answer.status}, expected ${spec.expectStatus}`);
  if (spec.expectBody !== undefined && !answer.body.includes(spec.expectBody)) {
    problems.push(`body does not contain ${JSON.stringify(spec.expectBody)} (got ${JSON.stringify(answer.body.slice(0, 120))})`);
  }
  for (const [name, want] of Object.entries(spec.expectHeader ?? {})) {
    const got = answer.headers[name.toLowerCase()];
    const value = Array.isArray(got) ? got.join(', ') : got;
    if (value === undefined) problems.push(`header ${name} missing`);
    else if (!value.includes(want)) problems.push(`header ${name}: ${JSON.stringify(value)} does not contain ${JSON.stringify(want)}`);
  }
  return { request, pass: problems.length === 0, problems };
}

/** The smoke requests the analysis replays for traffic: only those safe to repeat (GET, HEAD). */
export function replayable(specs: readonly SmokeSpec[]): SmokeSpec[] {
  return specs.filter((s) => s.method === 'GET' || s.method === 'HEAD');
}
