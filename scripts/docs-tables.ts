#!/usr/bin/env tsx
/**
 * `npm run docs:tables`: writes the tables of README.md and docs/*.md that restate code (pins and
 * their sha256s, config defaults, derived durations, env settings, licences) from the code, between
 * `<!-- generated:NAME … -->` and `<!-- /generated:NAME -->`. test/unit/docs.test.ts renders them in
 * memory and fails when a committed table differs, so a table cannot drift from the code it restates.
 *
 * The words around the numbers (what a key is for, how a value is derived) live here, next to the
 * code they describe; the values are read from the code each time.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatDuration as d, resolveConfig, DEFAULTS as CONFIG_DEFAULTS, type ZerodropProps } from '../config/index.ts';
import { CONSUL, NOMAD, PINS, TOFU, TRAEFIK, type ProviderPin, type ToolPin } from '../pins/index.ts';
import { CONSUL_RELEASE, NOMAD_RELEASE, TRAEFIK_RELEASE, type ReleasePin } from '../hetzner/releases.ts';
import { HETZNER_DEFAULTS, hetznerSchema, LOAD_BALANCER_CHECK } from '../hetzner/config.ts';
import { LICENCE_ALLOW } from '../toolchain/licences.ts';
import { USER_BIN_ENV } from '../toolchain/index.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import {
  DERIVATIONS,
  deployRunTimeoutMs,
  EDGE_APPLY_NODES,
  rollbackWaitMs,
  timingPlans,
  traefikPlan,
  TRAEFIK_START_ALLOWANCE_MS,
  type TraefikPlan,
} from '../timing/model.ts';

// ---------------------------------------------------------------------------------------------
// Markdown helpers

const cell = (text: string | number) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (text: string | number) => `\`${text}\``;

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], align?: readonly ('l' | 'r')[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${header.map((_, i) => (align?.[i] === 'r' ? '---:' : '---')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** A default as a user writes it in YAML flow style: `{attempts: 4, initialInterval: 100ms}`, `["*"]`. */
export function yamlFlow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlFlow).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k}: ${yamlFlow(v)}`).join(', ')}}`;
  if (typeof value === 'string') return /^[A-Za-z0-9./_-]+$/.test(value) ? value : JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Pins (pins/index.ts)

const KIND_WORDS: Record<ToolPin['kind'], string> = {
  server: 'server, from Go modules',
  engine: 'engine, from Go modules',
  provider: 'Terraform provider, from its source archive',
};

function pinsTable(): string {
  return table(
    ['pin', 'version', 'built as', 'cgo', 'why this version'],
    PINS.map((p) => [code(p.name), p.version, KIND_WORDS[p.kind], p.cgo ? 'yes' : 'no', p.why]),
  );
}

function providerArchivesTable(): string {
  const providers = PINS.filter((p): p is ProviderPin => p.kind === 'provider');
  return table(
    ['archive', 'sha256', 'tag = commit', 'from'],
    providers.map((p) => [code(p.source.file), code(p.source.sha256), `${p.source.tag} = ${p.source.commit}`, p.source.repo]),
  );
}

/** What each setting of toolchain/tools.ts `USER_BIN_ENV` names, and what the kit then does. */
const USER_BIN_WORDS: Record<keyof typeof USER_BIN_ENV, string> = {
  consul: 'your own Consul for `npm run cluster` and the e2e tests; not built or fetched by the kit',
  nomad: 'your own Nomad for `npm run cluster` and the e2e tests; not built or fetched by the kit',
  traefik: 'your own Traefik for `npm run cluster`, the e2e tests and the local configs; not built or fetched by the kit',
  tofu: 'an OpenTofu you installed (e.g. a CI runner\'s setup-opentofu); the pinned OpenTofu is then not built',
  terraform:
    'your own Terraform, under its own licence (BUSL 1.1 from 1.6); cdktf then drives it instead of OpenTofu, which is still built. A `terraform` on PATH is never used unless named here',
};

function userBinEnvTable(): string {
  return table(
    ['variable', 'names'],
    (Object.keys(USER_BIN_ENV) as (keyof typeof USER_BIN_ENV)[]).map((k) => [code(USER_BIN_ENV[k]), USER_BIN_WORDS[k]]),
  );
}

// ---------------------------------------------------------------------------------------------
// Licences

/** The licence of each pinned program itself (its compiled modules are checked by `npm run tools`). */
const PIN_LICENCE: Record<string, { what: string; licence: string }> = {
  [NOMAD.name]: { what: 'Nomad (the last MPL-2.0 release)', licence: 'MPL-2.0' },
  [CONSUL.name]: { what: 'Consul (the last MPL-2.0 release)', licence: 'MPL-2.0' },
  [TRAEFIK.name]: { what: 'Traefik', licence: 'MIT' },
  [TOFU.name]: { what: 'OpenTofu (the engine cdktf drives)', licence: 'MPL-2.0' },
  'terraform-provider-nomad': { what: 'provider hashicorp/nomad', licence: 'MPL-2.0' },
  'terraform-provider-consul': { what: 'provider hashicorp/consul', licence: 'MPL-2.0' },
  'terraform-provider-hcloud': { what: 'provider hetznercloud/hcloud', licence: 'MPL-2.0' },
};

/**
 * Open-source licences (OSI-approved SPDX ids) and public-domain dedications an installed npm package
 * may carry. A package under anything else (none given, a source-available or custom licence) fails
 * the table, and with it the docs test: extend the list only with an open-source licence.
 */
const OPEN_NPM_LICENCES = new Set([
  'MIT', 'MIT-0', 'ISC', 'Apache-2.0', 'MPL-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0', 'Zlib', 'Artistic-2.0', 'Python-2.0',
  'GPL-2.0-only', 'GPL-2.0-or-later', 'GPL-3.0-only', 'GPL-3.0-or-later', 'LGPL-2.1-only', 'LGPL-2.1-or-later', 'LGPL-3.0-only', 'LGPL-3.0-or-later',
  'AGPL-3.0-only', 'AGPL-3.0-or-later', 'EPL-2.0', 'BSL-1.0',
  'CC0-1.0', 'Unlicense', 'Public Domain',
]);

/** Whether an SPDX expression such as `(MIT OR GPL-3.0-or-later)` or `(MIT AND Zlib)` leaves the user an open licence. */
export function openLicence(expression: string): boolean {
  const inner = expression.replace(/^\((.*)\)$/, '$1').trim();
  if (/ OR /.test(inner)) return inner.split(/ OR /).some((part) => openLicence(part.trim()));
  if (/ AND /.test(inner)) return inner.split(/ AND /).every((part) => openLicence(part.trim()));
  return OPEN_NPM_LICENCES.has(inner);
}

interface LockPackage { readonly version?: string; readonly license?: string }
interface Lockfile { readonly packages: Record<string, LockPackage & { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }> }

function lockfile(root: string): Lockfile {
  return JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lockfile;
}

/** Names of the direct npm dependencies, by licence, from package-lock.json. */
function directDeps(root: string): Map<string, string[]> {
  const lock = lockfile(root);
  const top = lock.packages[''] ?? {};
  const names = [...Object.keys(top.dependencies ?? {}), ...Object.keys(top.devDependencies ?? {})].sort();
  const byLicence = new Map<string, string[]>();
  for (const name of names) {
    const pkg = lock.packages[`node_modules/${name}`];
    if (!pkg) throw new Error(`package-lock.json: no entry for ${name} — run npm install`);
    const licence = pkg.license ?? 'UNKNOWN';
    byLicence.set(licence, [...(byLicence.get(licence) ?? []), name]);
  }
  return byLicence;
}

/** Every package `npm ci` installs, by licence; throws naming each package under a licence that is not open. */
function allPackages(root: string): Map<string, string[]> {
  const byLicence = new Map<string, string[]>();
  for (const [key, pkg] of Object.entries(lockfile(root).packages)) {
    if (key === '') continue;
    const licence = pkg.license ?? 'UNKNOWN';
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    byLicence.set(licence, [...(byLicence.get(licence) ?? []), name]);
  }
  const closed = [...byLicence].filter(([licence]) => !openLicence(licence));
  if (closed.length) {
    throw new Error(
      `package-lock.json: ${closed.map(([l, names]) => `${[...new Set(names)].join(', ')} (${l})`).join('; ')} — not an open-source licence ` +
        '(or one scripts/docs-tables.ts OPEN_NPM_LICENCES does not know) — remove the dependency, or add the licence there if it is open source',
    );
  }
  return byLicence;
}

const byCountThenName = (a: [string, string[]], b: [string, string[]]) => b[1].length - a[1].length || a[0].localeCompare(b[0]);

/** The README's table: short rows (the detail is in docs/licences.md). */
function licencesTable(root: string): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const rows: (string | number)[][] = PINS.map((p) => {
    const l = PIN_LICENCE[p.name];
    if (!l) throw new Error(`scripts/docs-tables.ts: no licence for pin '${p.name}' — add it to PIN_LICENCE`);
    return [l.what, p.version, l.licence];
  });
  rows.push(['the Go modules compiled into them', '', 'open source: `npm run tools` checks each']);
  rows.push(['Go (builds the pins)', 'local', 'BSD-3-Clause']);
  rows.push(['Node.js', pkg.engines?.node ?? '', 'MIT']);
  for (const [licence, names] of [...directDeps(root).entries()].sort(byCountThenName)) rows.push([`npm: ${names.join(', ')}`, '', licence]);
  const all = allPackages(root);
  const count = [...all.values()].reduce((n, names) => n + names.length, 0);
  rows.push([`every package \`npm ci\` installs (${count})`, '', `${all.size} licences, all open source`]);
  rows.push(['on Hetzner nodes: the pinned releases; docker.io, curl, unzip', 'Ubuntu\'s', '[open source](docs/licences.md)']);
  rows.push(['Terraform', '', `BUSL 1.1 (from 1.6): not used unless \`${USER_BIN_ENV.terraform}\` names yours`]);
  return table(['what', 'version', 'licence'], rows);
}

function npmLicencesTable(root: string): string {
  return table(
    ['licence', 'packages', 'which'],
    [...allPackages(root).entries()].sort(byCountThenName).map(([licence, names]) => {
      const unique = [...new Set(names)].sort();
      return [licence, names.length, names.length <= 12 ? unique.join(', ') : ''];
    }),
    ['l', 'r', 'l'],
  );
}

function licenceAllowTable(): string {
  return table(['module', 'version', 'licence', 'why'], LICENCE_ALLOW.map((a) => [code(a.module), a.version ?? 'every', a.licence, a.why]));
}

// ---------------------------------------------------------------------------------------------
// Hetzner release pins (hetzner/releases.ts)

function hetznerReleasesTable(): string {
  const sum = (r: ReleasePin, arch: 'amd64' | 'arm64') => (r.sha256[arch] ? code(r.sha256[arch]) : `none pinned: \`hetzner.${r.name}Sha256\``);
  return table(
    ['release', 'version', 'linux_amd64 sha256', 'linux_arm64 sha256', 'published sums'],
    [CONSUL_RELEASE, NOMAD_RELEASE, TRAEFIK_RELEASE].map((r) => [r.name, r.version, sum(r, 'amd64'), sum(r, 'arm64'), r.sumsUrl]),
  );
}

/** What each key of the `hetzner:` section is for (hetzner/config.ts). */
const HETZNER_KEYS: Record<keyof typeof hetznerSchema.shape, string> = {
  runId: 'a short name for this run: labels every resource (`zerodrop-run=<runId>`) and names them; 1–32 lowercase letters, digits, inner dashes',
  operatorCidr: 'the address SSH (22), Nomad (4646) and Consul (8500) are reachable from, e.g. `203.0.113.7/32`; a prefix wider than /8 is refused',
  location: 'Hetzner location (its network zone follows)',
  serverType: 'server type of every node; `cax*` = arm64',
  image: 'an Ubuntu image (cloud-init installs with apt and systemd)',
  nodes: '1 = one all-in-one node; more: node 0 runs the servers, the others are clients (at most 10)',
  ttl: 'how long the run is labelled to live (`zerodrop-expires`), 10m–7d',
  loadBalancerType: 'type of the load balancer in front of the clients',
  entryPort: 'Traefik\'s entry port on the nodes (the load balancer sends there)',
  adminPort: 'Traefik\'s admin port (`/ping`, `/ready`: the load balancer\'s check)',
  traefikSha256: 'the sha256 of the Traefik release archive for the nodes\' architecture (required with client nodes: no published sum is pinned)',
  endpoint: 'the Hetzner Cloud API to call (for tests against a local stand-in)',
};

function hetznerConfigTable(): string {
  const defaults = HETZNER_DEFAULTS as Record<string, unknown>;
  return table(
    ['key', 'default', 'what it is for'],
    (Object.keys(HETZNER_KEYS) as (keyof typeof HETZNER_KEYS)[]).map((k) => [
      code(k),
      k in defaults ? code(yamlFlow(defaults[k])) : k === 'runId' || k === 'operatorCidr' ? 'required' : 'none',
      HETZNER_KEYS[k],
    ]),
  );
}

function hetznerNetworkLine(): string {
  const c = LOAD_BALANCER_CHECK;
  return (
    `Private network \`${HETZNER_DEFAULTS.networkCidr}\` with subnet \`${HETZNER_DEFAULTS.subnetCidr}\`; the load balancer checks ` +
    `each node's \`/ready\` every ${c.intervalS} s with a ${c.timeoutS} s timeout and takes a node out after ${c.retries} failed checks.`
  );
}

// ---------------------------------------------------------------------------------------------
// Config reference (config/schema.ts DEFAULTS)

/** Reads DEFAULTS by dotted path and records that it was shown, so every default has a row. */
function defaultsReader() {
  const used = new Set<string>();
  const get = (dotted: string): unknown => {
    let v: unknown = CONFIG_DEFAULTS;
    for (const k of dotted.split('.')) {
      if (v === null || typeof v !== 'object' || !(k in v)) throw new Error(`config/schema.ts DEFAULTS has no '${dotted}'`);
      v = (v as Record<string, unknown>)[k];
    }
    used.add(dotted);
    return v;
  };
  return { D: (dotted: string) => code(yamlFlow(get(dotted))), used };
}

/** Every leaf of DEFAULTS as a dotted path (arrays are leaves). */
export function defaultLeaves(value: unknown = CONFIG_DEFAULTS, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => defaultLeaves(v, prefix ? `${prefix}.${k}` : k));
}

/** Rows of the config reference and the DEFAULTS paths they show. */
export function configReference(): { markdown: string; used: ReadonlySet<string> } {
  const { D, used } = defaultsReader();
  const covered = (paths: string[]) => paths.forEach((p) => used.add(p));
  // a default shown as a whole object covers its leaves
  const O = (dotted: string) => {
    covered(defaultLeaves(dotted.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], CONFIG_DEFAULTS), dotted));
    return D(dotted);
  };
  const rows: [string, string, string][] = [
    ['`cluster.nomad.address`', '`$NOMAD_ADDR`, else `http://127.0.0.1:4646`', 'Nomad API for the Terraform provider; `http(s)://host[:port]` only (an env value is checked alike)'],
    ['`cluster.nomad.region` / `datacenters`', `${D('nomad.region')} / ${D('nomad.datacenters')}`, 'where jobs run; letters, digits, `_`, `-` (datacenters also `*`)'],
    ['`cluster.nomad.maxKillTimeout`', D('nomad.maxKillTimeout'), 'the clients\' `max_kill_timeout`; `kill_timeout` is checked against it'],
    ['`cluster.consul.address`', '`$CONSUL_HTTP_ADDR`, else `http://127.0.0.1:8500`', 'Consul API for the provider, the state backend, and Traefik\'s default endpoint'],
    ['`cluster.consul.acl`', '`true`', 'create Traefik\'s least-privilege ACL policy + token'],
    [
      '`cluster.state`',
      `\`{backend: local}\`; consul: \`path\` ${D('state.consulPath')}, \`lock\` ${D('state.consulLock')}`,
      '`local`: `terraform.<stack>.tfstate` at the project root, or in `dir` (`$ZERODROP_TF_STATE_DIR` overrides; the local cluster keeps its state with the cluster); `{backend: consul, path, lock}`: state in Consul KV at `<path>/<stack>` with locking, for pipelines ([GitOps](gitops.md))',
    ],
    ['`traefik.jobName`', D('traefik.jobName'), 'Nomad job and Consul service name of Traefik'],
    ['`traefik.driver`', '`{type: docker, image: traefik:v3.6.12}`', 'or `{type: raw_exec, command}` on local clusters'],
    ['`traefik.consulAddress`', '`cluster.consul.address`', 'the Consul agent Traefik reads (usually the local agent on each client)'],
    ['`traefik.entryPoint`', O('traefik.entryPoint'), 'the public entry point (`host`: an IP address, `""` = all interfaces)'],
    ['`traefik.adminPort`', D('traefik.adminPort'), '`/ping`, `/ready` (what a front load balancer should check) and Prometheus `/metrics`; must differ from `entryPoint.port`'],
    [
      '`traefik.hostNetwork`',
      'none (the client\'s default network)',
      'a Nomad client `host_network` to allocate Traefik\'s two ports on: each node\'s Traefik then listens (entry point and admin) on that node\'s address there, and Consul checks `/ping` there. The Hetzner nodes and the multi-node local cluster define `edge` = the node\'s own address (`examples/multinode.yaml`, `examples/hetzner-deploy.yaml`); not together with `entryPoint.host` or `adminHost`',
    ],
    [
      '`traefik.adminHost`',
      'the address Nomad allocated the admin port on (`NOMAD_IP_admin`)',
      'interface of the admin entry point: an IP address, or `""` for all interfaces. Not `127.0.0.1` by default: Traefik\'s Consul check of `/ping` (its update gate) runs against the node\'s address',
    ],
    [
      '`traefik.acceptGrace`',
      D('traefik.acceptGrace'),
      'after SIGTERM Traefik keeps accepting this long while `/ping` and `/ready` answer 503, so a front load balancer stops sending first. Traefik\'s `kill_timeout` = this + graceTimeOut (longest request + margin) + margin must fit `maxKillTimeout`',
    ],
    [
      '`traefik.frontCheck`',
      'none',
      'the front load balancer\'s health check of `/ready` (`interval`, `timeout`, `unhealthyThreshold` = failed checks before it takes a node out). Declared, it is held against `acceptGrace`: rule `traefik-accept-grace-covers-front-check`, acceptGrace ≥ interval × unhealthyThreshold + timeout + margin (the Hetzner load balancer\'s 5 s × 2 + 3 s + 2 s = 15 s in `examples/hetzner-deploy.yaml`; the local front\'s 1 s × 1 + 1 s + 2 s = 4 s in `examples/multinode.yaml`). Not read by any builder',
    ],
    ['`traefik.discovery.refreshInterval`', D('traefik.discovery.refreshInterval'), 'catalog polling; Traefik\'s own default of 15 s outlives any sane drain'],
    ['`traefik.discovery.watch`', D('traefik.discovery.watch'), 'Consul blocking queries instead of polling'],
    ['`traefik.discovery.throttle`', D('traefik.discovery.throttle'), '`providersThrottleDuration`, part of the routing window'],
    ['`traefik.healthCheck`', O('traefik.healthCheck'), 'active readiness check on every server, on the routed port (timeout ≤ interval)'],
    ['`traefik.retry`', O('traefik.retry'), 'retry middleware on each router; `attempts: 1` turns it off; `initialInterval` ≥ 10ms'],
    ['`traefik.resources`', O('traefik.resources'), 'Nomad resources of each Traefik task (`memoryMb` is a hard limit for `raw_exec` only from Nomad 1.7, see [compatibility](compatibility.md))'],
    ['`timing.margin`', D('timing.margin'), 'added to every timing rule; ≥ 1s (checks are observed at 1 s granularity)'],
    ['`services[].name`', 'required', 'Nomad job, Consul service, and the prefix of its Traefik router/service names'],
    ['`services[].version`', 'required', 'docker tag, `APP_VERSION`, job meta; `ZERODROP_VERSION` / `ZERODROP_VERSION_<NAME>` override it'],
    [
      '`services[].driver`',
      'required',
      '`{type: docker, image}` (no tag) or `{type: raw_exec, command, args}` (local; `./paths` are relative to the config file, bare commands are looked up on PATH at synth)',
    ],
    [
      '`services[].count` / `canary` / `maxParallel`',
      `${D('service.count')} / \`count\` / ${D('service.maxParallel')}`,
      'canary ≥ 1 is enforced: zerodrop rolls out by canary. `canary = count` keeps capacity: a full set of new instances is ready before any old one stops. With fewer canaries, after promotion Nomad stops the old instances the canaries replace and the next `maxParallel` at once: the service runs on `count − min(maxParallel, count − canary)` instances until the replacements are healthy (warned at synth)',
    ],
    ['`services[].host`', 'required', 'one DNS name or a list: the router rule\'s `Host(...)` (`(Host(a) || Host(b))` for a list); each host belongs to one service'],
    ['`services[].ports`', O('service.ports'), 'container ports (docker); `internalStatic` reserves a host port for probes'],
    ['`services[].readiness`', O('service.readiness'), 'Consul check on `internal` (gates the catalog) and Traefik\'s health-check path; plain path, interval and timeout ≥ 1s'],
    [
      '`services[].readiness.servedOnRoutedPort`',
      'required while `traefik.healthCheck.enabled` and no `ports.internalStatic`',
      '`true`: the app answers the readiness path on `ports.http` too, and Traefik health-checks it there; `false`: Traefik does not health-check this service (see [Traefik health-check port](#traefik-health-check-port))',
    ],
    ['`services[].liveness`', O('service.liveness'), '`check_restart` after `failures`; `grace` derived'],
    ['`services[].warmup`', 'required', 'worst-case start-to-ready time, image pull included'],
    ['`services[].drainGrace`', 'derived (0 with the derived `shutdownDelay`)', 'how long the app serves after SIGTERM while `/readyz` says 503'],
    ['`services[].longestRequest`', D('service.longestRequest'), 'in-flight time allowed after the drain'],
    ['`services[].shutdownDelay`', `derived: ${DERIVATIONS.shutdownDelay}`, 'Nomad `shutdown_delay`: the time between deregistration and the signal'],
    ['`services[].killTimeout`, `minHealthyTime`, `healthyDeadline`, `progressDeadline`, `applyTimeout`', 'derived', 'pin to override; the rules still apply ([timing model](timing.md))'],
    ['`services[].resources`', O('service.resources'), 'Nomad resources'],
    [
      '`services[].promotion`',
      D('service.promotion'),
      '`auto`: Nomad promotes a canary once its checks pass for `min_healthy_time`; `gated`: `auto_promote = false`, the promotion gate decides ([gate](gate.md))',
    ],
    [
      '`services[].gate.smoke[]`',
      `required with \`gated\`; \`method\` ${D('service.gate.method')}, \`expectStatus\` ${D('service.gate.expectStatus')}`,
      '`{path, method, expectStatus, expectBody?, expectHeader?}`: requests sent to the canary alone with the production Host header; `expectBody` text the body must contain, `expectHeader` name → text the value must contain; not a probe path (the routers exclude them)',
    ],
    [
      '`services[].gate.analysis`',
      `${O('service.gate.analysis')} + \`maxP99Ratio\` or \`maxP99\` (one required)`,
      'canary vs stable over `window` (≥ 5s) from Traefik\'s metrics; fewer than `minRequests` on a side fails the gate; `rate` req/s per side of replayed GET/HEAD smoke requests',
    ],
    ['`services[].gate.deadline`', 'derived', 'the gate fails the deployment when it has not promoted by then (rule `gate-deadline-covers-analysis`)'],
    ['`services[].env`', '`{}`', 'extra task env; shell-identifier names, not `PORT`, `INTERNAL_PORT`, `BIND_ADDR`, `APP_VERSION`, `DRAIN_GRACE_MS` (zerodrop sets those)'],
  ];
  return { markdown: table(['key', 'default', 'what it is for'], rows), used };
}

// ---------------------------------------------------------------------------------------------
// Timing (timing/model.ts)

/** A service with every default, `warmup: 10s`: the example the derived values are shown for. */
const EXAMPLE_WARMUP = '10s';
function exampleConfig(gated: boolean) {
  const props: ZerodropProps = {
    cluster: { nomad: { address: 'http://127.0.0.1:4646' }, consul: { address: 'http://127.0.0.1:8500' } },
    services: [
      {
        name: 'web',
        version: 'v1',
        driver: { type: 'docker', image: 'example/web' },
        host: 'web.example.com',
        warmup: EXAMPLE_WARMUP,
        readiness: { servedOnRoutedPort: true },
        ...(gated ? { promotion: 'gated' as const, gate: { smoke: [{ path: '/' }], analysis: { maxP99Ratio: 2 } } } : {}),
      },
    ],
  } as ZerodropProps;
  return resolveConfig(props, { env: {}, baseDir: REPO_ROOT });
}

/** Nomad field (or what else the value is) for each derived duration. */
const DERIVED_NAMES: Record<keyof typeof DERIVATIONS, string> = {
  shutdownDelay: '`shutdown_delay`',
  drainGrace: 'drain grace (`DRAIN_GRACE_MS` in the task env)',
  killTimeout: '`kill_timeout`',
  minHealthyTime: '`min_healthy_time`',
  healthyDeadline: '`healthy_deadline`',
  progressDeadline: '`progress_deadline`',
  applyTimeout: 'apply timeout (`nomad_job` `timeouts`); waves = 1 + ⌈(count − canary) / maxParallel⌉',
  livenessGrace: 'liveness `check_restart.grace`',
  gateDeadline: 'gate deadline (`promotion: gated` only)',
};

function timingDerivationsTable(): string {
  const auto = exampleConfig(false);
  const gated = exampleConfig(true);
  const plan = timingPlans(auto).get('web')!;
  const gatedPlan = timingPlans(gated).get('web')!;
  const value = (key: keyof typeof DERIVATIONS): string => {
    switch (key) {
      case 'shutdownDelay': return d(plan.shutdownDelayMs);
      case 'drainGrace': return d(plan.drainGraceMs);
      case 'killTimeout': return d(plan.killTimeoutMs);
      case 'minHealthyTime': return d(plan.minHealthyTimeMs);
      case 'healthyDeadline': return d(plan.healthyDeadlineMs);
      case 'progressDeadline': return d(plan.progressDeadlineMs);
      case 'applyTimeout': return `${d(plan.applyTimeoutMs)} (gated: ${d(gatedPlan.applyTimeoutMs)})`;
      case 'livenessGrace': return d(plan.livenessGraceMs);
      case 'gateDeadline': return d(gatedPlan.gateDeadlineMs!);
    }
  };
  const rows = (Object.keys(DERIVATIONS) as (keyof typeof DERIVATIONS)[]).map((k) => [DERIVED_NAMES[k], code(DERIVATIONS[k]), value(k)]);
  rows.push([
    'the whole `cdktf deploy` run (`npm run deploy`, the pipeline)',
    'the slowest service\'s apply timeout (app stack) + the edge job\'s apply timeout (its rolling update: a stagger per node for 20 nodes + a healthy deadline) + 5m allowance for init, providers and plan',
    d(deployRunTimeoutMs([plan], ['edge', 'app'], traefikPlan(auto))),
  ]);
  rows.push(['rollback wait (`npm run rollback`)', 'the apply timeout: a revert is rolled out by canary like any deploy', d(rollbackWaitMs(plan))]);
  return table(['value', 'derived as', `every default, \`warmup: ${EXAMPLE_WARMUP}\``], rows);
}

/** How each of Traefik's durations is derived (`traefikPlan`). */
const TRAEFIK_DERIVED: Record<keyof TraefikPlan, [string, string]> = {
  acceptGraceMs: ['`requestAcceptGraceTimeout`', '`traefik.acceptGrace`'],
  graceTimeOutMs: ['`graceTimeOut`', 'longest `services[].longestRequest` + margin'],
  killTimeoutMs: ['`kill_timeout`', 'acceptGrace + graceTimeOut + margin (rule `traefik-kill-timeout-within-max-kill-timeout`: ≤ `maxKillTimeout`)'],
  shutdownDelayMs: [
    '`shutdown_delay`',
    '0: during a delay `/ping` would still say 200 and hide the drain; Nomad deregisters and signals at once, so the accept grace is the one window for catalog-reading and `/ping`-checking fronts',
  ],
  minHealthyTimeMs: ['`min_healthy_time`', 'max(routing window, acceptGrace) + margin, rounded up to a second'],
  healthyDeadlineMs: [
    '`healthy_deadline`',
    `min_healthy_time + start allowance (${d(TRAEFIK_START_ALLOWANCE_MS.docker)} for docker: an image pull; ${d(TRAEFIK_START_ALLOWANCE_MS.raw_exec)} for a binary on the node)`,
  ],
  progressDeadlineMs: ['`progress_deadline`', 'healthy_deadline + 10s'],
  staggerMs: [
    'job-level `update.stagger` (`max_parallel` 1)',
    'kill_timeout + healthy_deadline: Nomad before 1.11 rolls a system job on this timer, one node at a time, with no health gate; 1.11 and later gate each node on its health and ignore it',
  ],
  applyTimeoutMs: ['edge apply timeout (`nomad_job` `timeouts`)', `stagger × ${EDGE_APPLY_NODES} nodes + healthy_deadline`],
  templateSplayMs: ['template `splay`', 'a restart for a new Consul token waits a random time up to this, so nodes do not restart together'],
};

function traefikPlanTable(): string {
  const config = exampleConfig(false);
  const docker = traefikPlan(config);
  // only the driver's type is read: no binary needs to be on PATH for the table
  const rawExec = traefikPlan({ ...config, traefik: { ...config.traefik, driver: { type: 'raw_exec', command: '/usr/local/bin/traefik' } } });
  return table(
    ['value', 'derived as', 'defaults (docker)', 'raw_exec'],
    (Object.keys(TRAEFIK_DERIVED) as (keyof TraefikPlan)[]).map((k) => [...TRAEFIK_DERIVED[k], d(docker[k]), d(rawExec[k])]),
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** Every generated table by name: what goes between its markers. */
export function generatedTables(root = REPO_ROOT): Record<string, () => string> {
  return {
    'pins': pinsTable,
    'provider-archives': providerArchivesTable,
    'user-bin-env': userBinEnvTable,
    'licences': () => licencesTable(root),
    'npm-licences': () => npmLicencesTable(root),
    'licence-allow': licenceAllowTable,
    'hetzner-releases': hetznerReleasesTable,
    'hetzner-config': hetznerConfigTable,
    'hetzner-network': hetznerNetworkLine,
    'config-reference': () => configReference().markdown,
    'timing-derivations': timingDerivationsTable,
    'traefik-plan': traefikPlanTable,
  };
}

const MARKER = /(<!-- generated:([a-z0-9-]+)\b[^>]*-->\n)([\s\S]*?)(<!-- \/generated:\2 -->)/g;

/** The text with every generated table rendered again, and the names it holds. */
export function renderTables(text: string, tables: Record<string, () => string>): { text: string; names: string[] } {
  const names: string[] = [];
  const rendered = text.replace(MARKER, (_all, open: string, name: string, _old: string, close: string) => {
    const make = tables[name];
    if (!make) throw new Error(`generated:${name} — no such table — use one of ${Object.keys(tables).join(', ')}`);
    names.push(name);
    return `${open}${make()}\n${close}`;
  });
  return { text: rendered, names };
}

/** README.md and every docs/*.md (not docs/results/), relative to `root`. */
export function docFiles(root = REPO_ROOT): string[] {
  return ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
}

export interface DocState {
  readonly file: string;
  readonly current: string;
  readonly expected: string;
  readonly names: readonly string[];
}

export function docStates(root = REPO_ROOT): DocState[] {
  const tables = generatedTables(root);
  return docFiles(root).map((file) => {
    const current = readFileSync(path.join(root, file), 'utf8');
    const { text, names } = renderTables(current, tables);
    return { file, current, expected: text, names };
  });
}

export function main(): number {
  let changed = 0;
  for (const s of docStates()) {
    if (s.current === s.expected) continue;
    writeFileSync(path.join(REPO_ROOT, s.file), s.expected);
    console.log(`[docs:tables] ${s.file}: ${s.names.join(', ')}`);
    changed += 1;
  }
  console.log(`[docs:tables] ${changed ? `${changed} file(s) written` : 'every generated table matches the code'}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
