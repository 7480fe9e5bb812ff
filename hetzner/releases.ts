/**
 * The release binaries a Hetzner node installs, pinned with their download URL and sha256: the
 * same versions `npm run tools` builds from source for the local cluster (pins/index.ts).
 *
 * Consul and Nomad: the sha256 values are HashiCorp's published ones for these zips, as recorded
 * in HashiCorp's own Homebrew tap (github.com/hashicorp/homebrew-tap, Formula/consul.rb at
 * "Bump consul to 1.22.6" and Formula/nomad.rb at "Bump nomad to 1.11.3"), which are taken from
 * the releases' SHA256SUMS files. Traefik: no published sum for v3.6.12 is recorded here, so it is
 * a required input (`hetzner.traefikSha256`); `releaseFor` says where to read it.
 */
import { CONSUL, NOMAD, TRAEFIK } from '../pins/index.ts';

export type Arch = 'amd64' | 'arm64';
export type ReleaseName = 'consul' | 'nomad' | 'traefik';

export interface ReleasePin {
  readonly name: ReleaseName;
  /** without the leading v */
  readonly version: string;
  readonly url: (arch: Arch) => string;
  /** archive format: how the binary comes out of it */
  readonly format: 'zip' | 'tar.gz';
  /** by arch; missing: the sum must be given as an input */
  readonly sha256: Partial<Record<Arch, string>>;
  /** where the official sums are published */
  readonly sumsUrl: string;
}

const bare = (v: string) => v.replace(/^v/, '');

export const CONSUL_RELEASE: ReleasePin = {
  name: 'consul',
  version: bare(CONSUL.version),
  format: 'zip',
  url: (arch) => `https://releases.hashicorp.com/consul/${bare(CONSUL.version)}/consul_${bare(CONSUL.version)}_linux_${arch}.zip`,
  sha256: {
    amd64: '5c2d67c6a364512b3dd0646eaf8bb58fa2fd6b9c890e2f374475deab2a6ec648',
    arm64: 'a760371111ff3e1f0813672b240f833077f73c13ea37e75abc223ede534100b6',
  },
  sumsUrl: `https://releases.hashicorp.com/consul/${bare(CONSUL.version)}/consul_${bare(CONSUL.version)}_SHA256SUMS`,
};

export const NOMAD_RELEASE: ReleasePin = {
  name: 'nomad',
  version: bare(NOMAD.version),
  format: 'zip',
  url: (arch) => `https://releases.hashicorp.com/nomad/${bare(NOMAD.version)}/nomad_${bare(NOMAD.version)}_linux_${arch}.zip`,
  sha256: {
    amd64: '19dac5642a2ba5305e6ff8efee06a708d760ebe4d1cd7936bc3dc526f477dc12',
    arm64: '902e44260fcd9297af7042fb33ccd5a29cc2202b57199724f17c96fcd67414d2',
  },
  sumsUrl: `https://releases.hashicorp.com/nomad/${bare(NOMAD.version)}/nomad_${bare(NOMAD.version)}_SHA256SUMS`,
};

export const TRAEFIK_RELEASE: ReleasePin = {
  name: 'traefik',
  version: bare(TRAEFIK.version),
  format: 'tar.gz',
  url: (arch) => `https://github.com/traefik/traefik/releases/download/${TRAEFIK.version}/traefik_${TRAEFIK.version}_linux_${arch}.tar.gz`,
  sha256: {},
  sumsUrl: `https://github.com/traefik/traefik/releases/download/${TRAEFIK.version}/traefik_${TRAEFIK.version}_checksums.txt`,
};


export interface ResolvedRelease {
  readonly name: ReleaseName;
  readonly version: string;
  readonly url: string;
  readonly sha256: string;
  readonly format: 'zip' | 'tar.gz';
}

export class ReleasePinError extends Error {
  override readonly name = 'ReleasePinError';
}

/** URL and sha256 of a release for one arch; `given` fills a sum that is not pinned (and must match one that is). */
export function releaseFor(pin: ReleasePin, arch: Arch, given?: string): ResolvedRelease {
  const pinned = pin.sha256[arch];
  if (given !== undefined && !/^[0-9a-f]{64}$/.test(given)) throw new ReleasePinError(`${pin.name} ${pin.version} sha256: '${given}' — must be 64 lowercase hex digits`);
  if (pinned && given && pinned !== given) throw new ReleasePinError(`${pin.name} ${pin.version} (linux_${arch}) sha256: given ${given}, pinned ${pinned} — they must agree`);
  const sha256 = pinned ?? given;
  if (!sha256) {
    throw new ReleasePinError(
      `${pin.name} ${pin.version} (linux_${arch}) has no pinned sha256 — set hetzner.${pin.name}Sha256 to the linux_${arch} line of ${pin.sumsUrl}; the node refuses a download without it`,
    );
  }
  return { name: pin.name, version: pin.version, url: pin.url(arch), sha256, format: pin.format };
}
