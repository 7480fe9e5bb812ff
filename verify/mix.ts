/**
 * The verifier's request mix: a weighted list of {method, path, body, expected status}.
 * From repeated `--request "WEIGHT METHOD PATH [STATUS] [BODY]"` flags or a YAML/JSON file
 * (`--mix FILE`), validated with zod; requests are assigned to entries by smooth weighted
 * round robin, so the proportions are exact over every cycle of sum(weights) requests.
 */
import { InputError, type InputIssue } from '../lib/input-error.ts';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];

/** Methods whose requests carry a request id and are checked against the app's ledger. */
export const NON_IDEMPOTENT: ReadonlySet<Method> = new Set(['POST', 'PATCH']);

export interface MixEntry {
  /** Shown in reports: `METHOD path`. */
  name: string;
  method: Method;
  /** Absolute path with query; undefined = the target URL's own path. */
  path?: string;
  body?: string;
  expectStatus: number;
  weight: number;
}

export const DEFAULT_MIX: readonly MixEntry[] = [{ name: 'GET (url path)', method: 'GET', expectStatus: 200, weight: 1 }];

const entrySchema = z.strictObject({
  weight: z.number({ error: 'must be a number' }).positive({ error: 'must be > 0' }).max(1_000_000, { error: 'must be ≤ 1000000' }),
  method: z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }),
  path: z.string({ error: 'must be a string' }).regex(/^\/[^\s]*$/, { error: 'must start with "/" and contain no spaces, e.g. "/slow?ms=3000"' }),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())], { error: 'must be a string or a JSON object/array' }).optional(),
  expect: z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).min(100, { error: 'must be an HTTP status 100..599' }).max(599, { error: 'must be an HTTP status 100..599' }).default(200),
});

const fileSchema = z.strictObject({ requests: z.array(entrySchema, { error: 'must be a list of {weight, method, path, body?, expect?}' }).min(1, { error: 'must list at least one request' }) });

/** A request mix that cannot be used, one `path: value — rule` line per problem (the kit's one input-error shape). */
export class MixError extends InputError {
  override readonly name = 'MixError';
  constructor(issues: readonly InputIssue[], source: string) {
    super(issues, 'in the request mix', source);
  }
}

/** The value at a zod issue's path in the data that was checked. */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), data);
}

function toEntry(e: z.output<typeof entrySchema>): MixEntry {
  const body = e.body === undefined ? undefined : typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  return { name: `${e.method} ${e.path}`, method: e.method, path: e.path, ...(body !== undefined ? { body } : {}), expectStatus: e.expect, weight: e.weight };
}

/** Validates parsed YAML/JSON; every problem is one `field: value — rule` line under `where`. */
export function mixFromData(data: unknown, where = 'mix'): MixEntry[] {
  const r = fileSchema.safeParse(data);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({
      path: i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`)).join('') || '(top level)',
      value: valueAt(data, i.path),
      rule: i.message,
    }));
    throw new MixError(issues, where);
  }
  return r.data.requests.map(toEntry);
}

export async function mixFromFile(file: string): Promise<MixEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MixError([{ path: '--mix', value: file, rule: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }], file);
  }
  let data: unknown;
  try {
    data = parseYaml(text); // YAML 1.2 is a superset of JSON
  } catch (err) {
    throw new MixError([{ path: '--mix', value: file, rule: `is not YAML or JSON: ${(err as Error).message.split('\n')[0]}` }], file);
  }
  return mixFromData(data, file);
}

/** `--request "80 GET /"`, `"10 POST /orders 201 {\"item\":1}"`: WEIGHT METHOD PATH [STATUS] [BODY]. */
export function mixFromFlags(specs: readonly string[]): MixEntry[] {
  const requests = specs.map((spec) => {
    const m = /^\s*(\S+)\s+(\S+)\s+(\S+)(?:\s+(\d{3}))?(?:\s+(.+?))?\s*$/.exec(spec);
    if (!m) return { weight: spec, method: undefined, path: undefined };
    const [, weight, method, path, status, body] = m;
    return { weight: Number(weight), method: method!.toUpperCase(), path, ...(status ? { expect: Number(status) } : {}), ...(body !== undefined ? { body } : {}) };
  });
  return mixFromData({ requests }, '--request');
}

/**
 * Smooth weighted round robin (as in nginx): deterministic, interleaved, and each entry
 * gets exactly weight/sum of every sum(weights) consecutive picks (integer weights).
 */
export function mixPicker(mix: readonly MixEntry[]): () => number {
  const total = mix.reduce((a, e) => a + e.weight, 0);
  const current = mix.map(() => 0);
  return () => {
    let best = 0;
    for (let i = 0; i < mix.length; i++) {
      current[i]! += mix[i]!.weight;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    return best;
  };
}
