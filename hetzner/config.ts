/**
 * The `hetzner` section: where and how big a disposable cluster is. It lives in its own file
 * (default `hetzner.yaml`, env ZERODROP_HETZNER_CONFIG; example `examples/hetzner.yaml`), never in
 * the required part of zerodrop.yaml. Pure: text or data in, a typed config or a ConfigError out.
 */
import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatDuration, parseDurationMs } from '../config/duration.ts';
import { ConfigError, type ConfigIssue } from '../config/errors.ts';
import type { Arch } from './releases.ts';

export const HETZNER_DEFAULTS = {
  location: 'fsn1',
  serverType: 'cx22',
  image: 'ubuntu-24.04',
  nodes: 1,
  ttl: '4h',
  loadBalancerType: 'lb11',
  /** Traefik's entry point and admin (/ping, /ready) ports: the kit's defaults (config/schema.ts) */
  entryPort: 80,
  adminPort: 8082,
  networkCidr: '10.0.0.0/16',
  subnetCidr: '10.0.1.0/24',
} as const;

/**
 * The load balancer's check of each node's Traefik /ready (seconds, as the hcloud API takes them): a
 * node is out after `retries` failed checks, so a draining Traefik must keep accepting
 * (traefik.acceptGrace) longer than interval × retries + timeout. A deploy config for these nodes
 * declares it as traefik.frontCheck (examples/hetzner-deploy.yaml) so the kit holds the grace to it.
 */
export const LOAD_BALANCER_CHECK = { intervalS: 5, timeoutS: 3, retries: 2 } as const;

/** The longest a disposable cluster may be labelled to live. */
export const MAX_TTL_MS = 7 * 24 * 3_600_000;
/** Hetzner label values: ≤ 63 chars, alphanumerics with - _ . inside. The run id also names resources. */
const RUN_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Hetzner network zone of each location. */
export const NETWORK_ZONES: Readonly<Record<string, string>> = {
  fsn1: 'eu-central',
  nbg1: 'eu-central',
  hel1: 'eu-central',
  ash: 'us-east',
  hil: 'us-west',
  sin: 'ap-southeast',
};

function cidrProblem(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return 'must be a CIDR such as "203.0.113.7/32"';
  const v = isIP(m[1]!);
  const bits = Number(m[2]);
  if (v === 0) return 'must be a CIDR such as "203.0.113.7/32" (the address part is not an IP address)';
  if (bits > (v === 4 ? 32 : 128)) return `prefix /${bits} is too long for IPv${v}`;
  if (bits < (v === 4 ? 8 : 32)) return `prefix /${bits} opens the Nomad and Consul APIs to far more than the operator — use your address, e.g. "<your ip>/32"`;
  return undefined;
}

const port = z.number().int().min(1).max(65535);

export const hetznerSchema = z
  .object({
    location: z.string().refine((l) => l in NETWORK_ZONES, { error: `must be a Hetzner location: ${Object.keys(NETWORK_ZONES).join(', ')}` }).prefault(HETZNER_DEFAULTS.location),
    serverType: z.string().regex(/^[a-z]+\d+[a-z0-9-]*$/, { error: 'must be a Hetzner server type such as "cx22" or "cax11"' }).prefault(HETZNER_DEFAULTS.serverType),
    image: z.string().regex(/^ubuntu-\d\d\.\d\d$/, { error: 'must be an Ubuntu image such as "ubuntu-24.04" (cloud-init installs with apt and systemd)' }).prefault(HETZNER_DEFAULTS.image),
    nodes: z.number().int().min(1, { error: 'must be at least 1 (1 = one all-in-one node)' }).max(10, { error: 'must be at most 10: a disposable test cluster' }).prefault(HETZNER_DEFAULTS.nodes),
    operatorCidr: z.string({ error: 'is required: the address the Nomad (4646), Consul (8500) and SSH ports are reachable from, e.g. "203.0.113.7/32"' }).superRefine((v, ctx) => {
      const p = cidrProblem(v);
      if (p) ctx.addIssue({ code: 'custom', message: p, input: v });
    }),
    runId: z.string({ error: 'is required: a short name for this run (labels every resource, e.g. "rollout-test-1")' }).regex(RUN_ID, { error: 'must be 1-32 characters: lowercase letters, digits and inner dashes' }),
    ttl: z
      .string()
      .superRefine((v, ctx) => {
        const ms = parseDurationMs(v);
        if (ms === undefined) ctx.addIssue({ code: 'custom', message: 'must be a duration such as "4h" or "90m"', input: v });
        else if (ms < 600_000 || ms > MAX_TTL_MS) ctx.addIssue({ code: 'custom', message: `must be between 10m and ${formatDuration(MAX_TTL_MS)}`, input: v });
      })
      .prefault(HETZNER_DEFAULTS.ttl),
    loadBalancerType: z.string().regex(/^lb\d+$/, { error: 'must be a Hetzner load balancer type such as "lb11"' }).prefault(HETZNER_DEFAULTS.loadBalancerType),
    entryPort: port.prefault(HETZNER_DEFAULTS.entryPort),
    adminPort: port.prefault(HETZNER_DEFAULTS.adminPort),
    traefikSha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex digits (the linux line of the release checksums file)' }).optional(),
    endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of a Hetzner Cloud API' }).optional(),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.entryPort === h.adminPort) ctx.addIssue({ code: 'custom', path: ['adminPort'], input: h.adminPort, message: 'must differ from entryPort: the load balancer health-checks /ping on the admin port' });
  });

export type HetznerConfig = z.output<typeof hetznerSchema> & { readonly arch: Arch; readonly networkZone: string; readonly ttlMs: number };

const fileSchema = z.object({ hetzner: z.unknown() }).strict();

function toIssues(error: z.ZodError, prefix: string): ConfigIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'),
    value: 'input' in i ? i.input : undefined,
    rule: i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')} — allowed: ${Object.keys(hetznerSchema.shape ?? {}).join(', ')}` : i.message,
  }));
}

/** Data (the file's `hetzner:` section) → typed config, or a ConfigError listing every problem. */
export function resolveHetznerConfig(section: unknown, source?: string): HetznerConfig {
  const parsed = hetznerSchema.safeParse(section ?? {}, { reportInput: true });
  if (!parsed.success) throw new ConfigError(toIssues(parsed.error, 'hetzner'), source);
  const h = parsed.data;
  return { ...h, arch: /^cax/.test(h.serverType) ? 'arm64' : 'amd64', networkZone: NETWORK_ZONES[h.location]!, ttlMs: parseDurationMs(h.ttl)! };
}

/** A whole file's text (`hetzner:` at the top) → typed config. */
export function parseHetznerConfig(text: string, source?: string): HetznerConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(doc.errors.map((e) => ({ path: '(yaml)', value: undefined, rule: e.message.split('\n')[0] ?? e.message })), source);
  const top = fileSchema.safeParse(doc.toJS({ maxAliasCount: 100 }) ?? {}, { reportInput: true });
  if (!top.success) throw new ConfigError([{ path: '(file)', value: undefined, rule: 'must hold one top-level key, `hetzner:`' }], source);
  return resolveHetznerConfig(top.data.hetzner, source);
}

/** Label value of an expiry: `2026-04-01T12-00-00Z` (Hetzner label values allow no colons). */
export function expiryLabel(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/** The expiry back from its label value (for a sweep of expired runs). */
export function parseExpiryLabel(text: string): Date | undefined {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)Z$/.exec(text);
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The labels every resource of a run carries. */
export function runLabels(runId: string, expiresAt: Date): Record<string, string> {
  return { 'zerodrop-run': runId, 'zerodrop-expires': expiryLabel(expiresAt) };
}
