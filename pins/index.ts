/**
 * The one place every external program zerodrop runs is pinned: the servers (Consul, Nomad,
 * Traefik), the Terraform providers the cdktf bindings were generated from, and OpenTofu, the
 * engine cdktf drives. `toolchain/tools.ts` builds each pin with Go (no prebuilt downloads).
 *
 * Servers and OpenTofu (ModulePin): a throw-away wrapper module `local/<name>` gets `directives`
 * appended to its go.mod and `goSum` to its go.sum, then `go get -tool <get…>` and
 * `go build -trimpath [-ldflags] -o <bin> <pkg>`. `go install mod@ver` is not an option: it
 * refuses modules whose go.mod has replace/exclude lines, and all of these have them.
 *
 * Providers (ProviderPin): the module proxy refuses the providers' own modules, so they are built
 * from their tagged source archives (sha256-pinned here), with dependencies from the Go module proxy:
 * `go mod download`, then `go build -trimpath -o <bin> .` in the unpacked tree.
 *
 * Changing anything in a pin changes its stamp, so the next `npm run tools` rebuilds it.
 */

/** A Terraform provider's registry address and version, as in `required_providers`. */
export interface ProviderInfo {
  readonly namespace: string;
  readonly type: string;
  readonly version: string;
}

/**
 * A provider's exact tagged source as a `git archive` tarball. The Go module proxy serves every
 * dependency of the providers but not their own modules, so `npm run tools` builds them from these
 * archives, found by file name in the directory ZERODROP_PROVIDER_SOURCES names.
 */
export interface SourceArchive {
  /** file name: `<prefix>.tar.gz` */
  readonly file: string;
  /** of the .tar.gz file; checked before anything is unpacked */
  readonly sha256: string;
  /** the one top directory inside the archive (`git archive --prefix=<prefix>/`) */
  readonly prefix: string;
  /** upstream repository, to make the archive from */
  readonly repo: string;
  readonly tag: string;
  /** the tag's commit (`git get-tar-commit-id` reads it back from the archive) */
  readonly commit: string;
}

/** How a tool is used, which decides how its build is checked and where it is laid out. */
export type ToolKind = 'server' | 'engine' | 'provider';

interface PinBase {
  /** binary name and cache key: `tools/<name>-<version>/<name>` */
  readonly name: string;
  readonly kind: ToolKind;
  /** the version we claim to run (for providers: the registry version) */
  readonly version: string;
  /** CGO_ENABLED for the build */
  readonly cgo: boolean;
  /** `-ldflags` for the build @default - none */
  readonly ldflags?: readonly string[];
  /** arguments that print the version; the output must contain `versionMatch` */
  readonly versionArgs?: readonly string[];
  readonly versionMatch?: string;
  /** why this pin, in one or two sentences */
  readonly why: string;
}

/** A program built from Go modules through a throw-away wrapper module (servers, OpenTofu). */
export interface ModulePin extends PinBase {
  readonly kind: 'server' | 'engine';
  /** Go package path passed to `go build` */
  readonly pkg: string;
  /** arguments of `go get -tool` (module@version of the program and of pinned sub-modules) */
  readonly get: readonly string[];
  /** lines appended to the wrapper's go.mod: the program's own replace/exclude lines */
  readonly directives: readonly string[];
  /**
   * go.sum lines seeded before `go get`, for modules whose checksum the reachable sumdb mirror
   * cannot serve (404). The hashes were taken from the module proxy once and are pinned here, so
   * every later build verifies the same bytes instead of switching verification off.
   * @default - none
   */
  readonly goSum?: readonly string[];
}

/** A Terraform provider built from its source archive and laid out in the filesystem mirror. */
export interface ProviderPin extends PinBase {
  readonly kind: 'provider';
  readonly provider: ProviderInfo;
  readonly source: SourceArchive;
}

export type ToolPin = ModulePin | ProviderPin;

export const CONSUL: ModulePin = {
  name: 'consul',
  kind: 'server',
  version: 'v1.16.3',
  pkg: 'github.com/hashicorp/consul',
  // Upstream builds its sub-modules from ./dir at the tag; here they are the tagged versions the
  // tag's go.mod requires (api v1.25.1, sdk v0.14.1, envoyextensions v0.4.1, proto-public v0.4.1,
  // troubleshoot v0.3.1), all MPL-2.0 and served by the module proxy.
  get: ['github.com/hashicorp/consul@v1.16.3'],
  directives: ['exclude (', '\tgithub.com/hashicorp/go-msgpack v1.1.5', '\tgithub.com/hashicorp/go-msgpack v1.1.6', ')'],
  cgo: false,
  versionArgs: ['version'],
  versionMatch: 'Consul v1.16.3',
  why: 'the last Consul under MPL-2.0 (v1.16.6 on is BUSL; v1.16.4/5 are not published as modules); health-gated catalog, blocking queries, ACLs, sessions; pure Go (CGO off)',
};

export const NOMAD: ModulePin = {
  name: 'nomad',
  kind: 'server',
  version: 'v1.6.3',
  pkg: 'github.com/hashicorp/nomad',
  // The api sub-module is ./api at the tag. The module proxy refuses a commit hash but serves the
  // full pseudo-version of the tag's commit (e0497bff1437), so the api is exactly the tag's.
  get: ['github.com/hashicorp/nomad@v1.6.3', 'github.com/hashicorp/nomad/api@v0.0.0-20231030125810-e0497bff1437'],
  directives: [
    'replace (',
    '\tgithub.com/Microsoft/go-winio => github.com/endocrimes/go-winio v0.4.13-0.20190628114223-fb47a8b41948',
    '\tgithub.com/hashicorp/hcl => github.com/hashicorp/hcl v1.0.1-0.20201016140508-a07e7d50bbee',
    '\tgithub.com/armon/go-metrics => github.com/armon/go-metrics v0.0.0-20230509193637-d9ca9af9f1f9',
    ')',
  ],
  // runc's nsenter (linked in by the exec driver) has only cgo files: without cgo the build fails.
  cgo: true,
  versionArgs: ['version'],
  versionMatch: 'Nomad v1.6.3',
  why: 'the last Nomad under MPL-2.0 (v1.7.0 on is BUSL; v1.6.4 is not published as a module); raw_exec and exec, canary deployments, Consul service registration with checks',
};

export const TRAEFIK: ModulePin = {
  name: 'traefik',
  kind: 'server',
  version: 'v3.6.12',
  // `go get -tool` takes the command package, not the module root (the root has no main).
  pkg: 'github.com/traefik/traefik/v3/cmd/traefik',
  get: ['github.com/traefik/traefik/v3/cmd/traefik@v3.6.12'],
  directives: [
    'replace (',
    '\tgithub.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e',
    '\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59',
    '\tgithub.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595',
    ')',
    'exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible',
  ],
  cgo: false,
  // Without these `traefik version` says "dev" (upstream's Makefile sets them the same way).
  ldflags: [
    '-X github.com/traefik/traefik/v3/pkg/version.Version=v3.6.12',
    '-X github.com/traefik/traefik/v3/pkg/version.Codename=zerodrop',
  ],
  versionArgs: ['version'],
  versionMatch: 'v3.6.12',
  why: 'latest v3.6: v3.7 needs a local sub-module the Go module proxy cannot serve; consulCatalog watch and retry behave as documented for v3',
};

/** A Terraform provider pinned to one tagged source archive. */
function providerPin(namespace: string, type: string, version: string, source: Pick<SourceArchive, 'sha256' | 'commit'>, why: string): ProviderPin {
  const name = `terraform-provider-${type}`;
  const prefix = `${name}-${version}`;
  return {
    name,
    kind: 'provider',
    version,
    cgo: false,
    provider: { namespace, type, version },
    source: { file: `${prefix}.tar.gz`, prefix, repo: `https://github.com/${namespace}/${name}`, tag: `v${version}`, ...source },
    why,
  };
}

export const PROVIDER_NOMAD = providerPin(
  'hashicorp', 'nomad', '2.5.2',
  { sha256: 'ff0fd484cdcea49f76aeaa285810254a5754cd452638a7cd4e7a00b967eed413', commit: 'b69339f1c7d0ae15e722cce0839f0819bd7cecec' },
  '@cdktf/provider-nomad 10.0.3 is generated from hashicorp/nomad 2.5.2',
);
export const PROVIDER_CONSUL = providerPin(
  'hashicorp', 'consul', '2.22.1',
  { sha256: '0c83d2bd66a3c134183572fa18c0684e4d3ff2ddadfd23ae8fc1b8be819f6410', commit: 'b2798b33bd40c3efe2380276a0e0ef2523990ba0' },
  '@cdktf/provider-consul 10.1.2 is generated from hashicorp/consul 2.22.1',
);
/** The Hetzner stack's provider (no prebuilt cdktf binding: `npm run bindings:hcloud` runs `cdktf get` against it). Needs Go ≥ 1.26.4. */
export const PROVIDER_HCLOUD = providerPin(
  'hetznercloud', 'hcloud', '1.68.0',
  { sha256: 'e117ba143c7183ce48518827bd01e46ae4b4b6e302e482d6b04c2b80f3758cfc', commit: '93291f4960a23079d89574ab37b025b8e69da82d' },
  'hetznercloud/hcloud 1.68.0 for servers, networks and firewalls on Hetzner Cloud',
);

export const TOFU: ModulePin = {
  name: 'tofu',
  kind: 'engine',
  version: 'v1.12.6',
  pkg: 'github.com/opentofu/opentofu/cmd/tofu',
  // Newest version in the Go module proxy's list (resolves: .info and its hcl replacement both served).
  get: ['github.com/opentofu/opentofu/cmd/tofu@v1.12.6'],
  directives: ['replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828'],
  cgo: false,
  ldflags: ['-X github.com/opentofu/opentofu/version.dev=no'],
  versionArgs: ['version'],
  versionMatch: 'OpenTofu v1.12.6',
  why: 'the engine cdktf drives (TERRAFORM_BINARY_NAME): open source (MPL-2.0), reads the same providers and state; Terraform is used only when ZERODROP_TERRAFORM_BIN names the user\'s own binary',
};

/** Everything `npm run tools` builds, servers first (the e2e tests need them), then providers, then OpenTofu. */
export const PINS: readonly ToolPin[] = [CONSUL, NOMAD, TRAEFIK, PROVIDER_NOMAD, PROVIDER_CONSUL, PROVIDER_HCLOUD, TOFU];

/** Go environment shared by every build; the caches live outside the repo, keyed by nothing but content. */
export const GO_ENV = {
  /** never download another Go toolchain: only the module proxy is reachable */
  GOTOOLCHAIN: 'local',
  /** module cache files writable so `rm -rf` of the cache works */
  GOFLAGS: '-modcacherw',
} as const;
