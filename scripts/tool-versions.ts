/**
 * The one place every external program zerodrop runs is pinned: the servers (Consul, Nomad,
 * Traefik), the Terraform providers the cdktf bindings expect, and OpenTofu as the fallback
 * engine. `scripts/tools.ts` builds each pin from Go modules (no prebuilt downloads here).
 *
 * Build recipe per pin: a throw-away wrapper module `local/<name>` gets `directives` appended to
 * its go.mod and `goSum` to its go.sum, then `go get -tool <get…>` and
 * `go build -trimpath [-ldflags] -o <bin> <pkg>`. `go install mod@ver` is not an option: it
 * refuses modules whose go.mod has replace/exclude lines, and all of these have them.
 *
 * Changing anything in a pin changes its stamp, so the next `npm run tools` rebuilds it.
 */

/** A Terraform provider pin: its registry address and version, and how it differs from the binding's. */
export interface ProviderInfo {
  readonly namespace: string;
  readonly type: string;
  /** registry version, as in `required_providers` */
  readonly version: string;
  /**
   * Set on a stand-in: a provider version other than the one the cdktf binding was generated from,
   * used because the binding's version cannot be built here. The stacks then require this version
   * instead (ZERODROP_PROVIDER_<TYPE>_VERSION), and a stack using a resource in `lacks` is not
   * deployed with it.
   * @default - not a stand-in
   */
  readonly standInFor?: string;
  /** resource types of the binding's version this provider version does not have @default [] */
  readonly lacks?: readonly string[];
}

/** How a tool is used, which decides how its build is checked and where it is laid out. */
export type ToolKind = 'server' | 'engine' | 'provider';

export interface ToolPin {
  /** binary name and cache key: `tools/<name>-<version>/<name>` */
  readonly name: string;
  readonly kind: ToolKind;
  /** the version we claim to run (for providers: the registry version, see `provider`) */
  readonly version: string;
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
  /** CGO_ENABLED for the build */
  readonly cgo: boolean;
  /** `-ldflags` for the build @default - none */
  readonly ldflags?: readonly string[];
  /** arguments that print the version; the output must contain `versionMatch` */
  readonly versionArgs?: readonly string[];
  readonly versionMatch?: string;
  /**
   * For a module the proxy serves only as a zip (its `.mod` and its sumdb entry are refused, so
   * `go get` cannot fetch it): `npm run tools` downloads the zip from GOPROXY, checks this sha256,
   * unpacks it beside the wrapper module and points a `replace` at it.
   * @default - fetched by `go get` like any module
   */
  readonly moduleZip?: { readonly module: string; readonly version: string; readonly sha256: string };
  /** for providers: where the binary goes in the filesystem mirror */
  readonly provider?: ProviderInfo;
  /**
   * Set when the pin cannot be built from what the module proxy serves; `npm run tools` reports
   * it and carries on with the rest.
   * @default - buildable
   */
  readonly blocked?: string;
  /** why this pin, in one or two sentences */
  readonly why: string;
}

export const CONSUL: ToolPin = {
  name: 'consul',
  kind: 'server',
  version: 'v1.22.6',
  pkg: 'github.com/hashicorp/consul',
  // Sub-modules stay at the versions consul's go.mod requires (api v1.33.4, sdk v0.17.2,
  // envoyextensions v0.9.4, proto-public v0.7.2, troubleshoot v0.8.5): upstream builds them from
  // ./dir at the tag, and the proxy refuses the tag's commit as a pseudo-version.
  get: ['github.com/hashicorp/consul@v1.22.6'],
  directives: ['exclude (', '\tgithub.com/hashicorp/go-msgpack v1.1.5', '\tgithub.com/hashicorp/go-msgpack v1.1.6', ')'],
  // The sumdb mirror answers 404 for these three sub-module versions, so `go get` fails with
  // "verifying module". Seeding go.sum makes go skip the lookup and check these pinned hashes.
  goSum: [
    'github.com/hashicorp/consul/envoyextensions v0.9.4 h1:YwlgpelCyZQF0HZiGELa9D8uRgQzQflf4kvphIlOCpA=',
    'github.com/hashicorp/consul/envoyextensions v0.9.4/go.mod h1:rx7eXCLQpBuyKDe8lpY3E9qJCXNaHIHQO6MNaSNYXx0=',
    'github.com/hashicorp/consul/proto-public v0.7.2 h1:nJlgQwXgUd7Uwbj5ZkSo7oK4sIp53ONbx2GLVOK4WjE=',
    'github.com/hashicorp/consul/proto-public v0.7.2/go.mod h1:VNuZ1sdNYguOU1DhfU7e99Nf8qeIK+WntaeBHnC561Y=',
    'github.com/hashicorp/consul/troubleshoot v0.8.5 h1:l527En05h/tIsHV6Lodt6gx0vEdfeCYdHzA06UKBbxM=',
    'github.com/hashicorp/consul/troubleshoot v0.8.5/go.mod h1:QHc6k0DQUiS8rovti18eMGTyiy1QQYaUxJfzVVrS4Eo=',
  ],
  cgo: false,
  versionArgs: ['version'],
  versionMatch: 'Consul v1.22.6',
  why: 'latest 1.22 patch; health-gated catalog and ACLs for the Traefik token; pure Go (CGO off)',
};

export const NOMAD: ToolPin = {
  name: 'nomad',
  kind: 'server',
  version: 'v1.11.3',
  pkg: 'github.com/hashicorp/nomad',
  // The api sub-module is ./api at the tag; the proxy refuses the tag's commit (173ab08a0210) as a
  // pseudo-version, so this is the nearest main-branch pseudo-version it has cached (2026-03-24).
  get: ['github.com/hashicorp/nomad@v1.11.3', 'github.com/hashicorp/nomad/api@v0.0.0-20260324203407-b27b0c2e019a'],
  directives: [
    'replace (',
    '\tgithub.com/Microsoft/go-winio => github.com/endocrimes/go-winio v0.4.13-0.20190628114223-fb47a8b41948',
    '\tgithub.com/hashicorp/hcl => github.com/hashicorp/hcl v1.0.1-nomad-1',
    ')',
  ],
  // raw_exec needs no cgo; without it only the nvidia/usb-ish extras that we never use are lost.
  cgo: false,
  versionArgs: ['version'],
  versionMatch: 'Nomad v1.11.3',
  why: 'community 1.11 line; raw_exec, canary deployments, Consul service registration with checks',
};

export const TRAEFIK: ToolPin = {
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
  why: 'latest v3.6: v3.7 needs a local sub-module the proxy cannot serve; consulCatalog watch + retry semantics as in BRIEF §3',
};

/**
 * The provider repos' module paths lack /v2, so their v2.x tags are not module versions; the only
 * way in is a pseudo-version of the tag's commit, and the proxy serves pseudo-versions only when
 * it has them cached (it refuses commit lookups). None was found for 2.5.2 / 2.22.1: `@v/list`
 * is empty, `@latest` and the `v2.x[+incompatible]` names are refused, and so are the pseudo-
 * versions public go.mod files use. Set `get` to `…@v1.4.21-0.<yyyymmddhhmmss>-<commit12>` of the
 * tag's commit once it is known to resolve, and drop `blocked`.
 */
const PROVIDER_BLOCKED =
  'no module version of the v2 tag is served by the Go module proxy (path lacks /v2; pseudo-version of the tag commit not cached)';

/** A Terraform provider pinned to the version its cdktf binding was generated from. */
function providerPin(type: string, version: string, binding: string): ToolPin {
  const pkg = `github.com/hashicorp/terraform-provider-${type}`;
  return {
    name: `terraform-provider-${type}`,
    kind: 'provider',
    version,
    pkg,
    get: [`${pkg}@v${version}`],
    directives: [],
    cgo: false,
    provider: { namespace: 'hashicorp', type, version },
    blocked: PROVIDER_BLOCKED,
    why: `${binding} is generated from hashicorp/${type} ${version}`,
  };
}

export const PROVIDER_NOMAD = providerPin('nomad', '2.5.2', '@cdktf/provider-nomad 10.0.3');
export const PROVIDER_CONSUL = providerPin('consul', '2.22.1', '@cdktf/provider-consul 10.1.2');

/**
 * The newest terraform-provider-nomad the module proxy serves, as a stand-in for 2.5.2 so the app
 * stack goes through real Terraform here. Checked on 2026-11-23: its `nomad_job` has every
 * argument the app stack sets (jobspec, json, detach, purge_on_destroy, timeouts) and a job it
 * registered read back from Nomad with every field the builder set (test/e2e/cdktf-deploy.test.ts).
 * It predates `nomad_variable` (provider 2.0), so the edge stack cannot use it.
 * The proxy serves its .zip and .info but refuses its .mod and the sumdb has no entry, hence
 * `moduleZip` with a pinned sha256 (of the zip as served on 2026-11-23).
 */
export const PROVIDER_NOMAD_STANDIN: ToolPin = {
  name: 'terraform-provider-nomad',
  kind: 'provider',
  version: 'v1.4.20',
  pkg: 'github.com/hashicorp/terraform-provider-nomad',
  get: ['github.com/hashicorp/terraform-provider-nomad@v1.4.20'],
  moduleZip: { module: 'github.com/hashicorp/terraform-provider-nomad', version: 'v1.4.20', sha256: 'fc25d87eed4623469ac8464d477040796ea2ceae79a8a9333b4ab2656d3e1662' },
  // the provider's own exclude/replace lines (go.mod at v1.4.20)
  directives: [
    'exclude (',
    '\tgithub.com/Sirupsen/logrus v1.1.0',
    '\tgithub.com/Sirupsen/logrus v1.1.1',
    '\tgithub.com/Sirupsen/logrus v1.2.0',
    '\tgithub.com/Sirupsen/logrus v1.3.0',
    '\tgithub.com/Sirupsen/logrus v1.4.0',
    '\tgithub.com/Sirupsen/logrus v1.4.1',
    ')',
    'replace github.com/spf13/afero => github.com/spf13/afero v1.2.2',
  ],
  cgo: false,
  provider: { namespace: 'hashicorp', type: 'nomad', version: '1.4.20', standInFor: '2.5.2', lacks: ['nomad_variable'] },
  why: 'stand-in for 2.5.2 (not served by the module proxy): applies the app stack (nomad_job) through real Terraform',
};

export const TOFU: ToolPin = {
  name: 'tofu',
  kind: 'engine',
  version: 'v1.12.6',
  pkg: 'github.com/opentofu/opentofu/cmd/tofu',
  // Newest version in the proxy's list (resolves: .info and its hcl replacement both served).
  get: ['github.com/opentofu/opentofu/cmd/tofu@v1.12.6'],
  directives: ['replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828'],
  cgo: false,
  ldflags: ['-X github.com/opentofu/opentofu/version.dev=no'],
  versionArgs: ['version'],
  versionMatch: 'OpenTofu v1.12.6',
  why: 'only built when no `terraform` is on PATH; cdktf drives it with TERRAFORM_BINARY_NAME=tofu',
};

/** Everything `npm run tools` builds, servers first (the e2e tests need them), providers last. */
export const PINS: readonly ToolPin[] = [CONSUL, NOMAD, TRAEFIK, PROVIDER_NOMAD, PROVIDER_NOMAD_STANDIN, PROVIDER_CONSUL, TOFU];

/** Go environment shared by every build; the caches live outside the repo, keyed by nothing but content. */
export const GO_ENV = {
  /** never download another Go toolchain: only the module proxy is reachable */
  GOTOOLCHAIN: 'local',
  /** module cache files writable so `rm -rf` of the cache works */
  GOFLAGS: '-modcacherw',
} as const;
