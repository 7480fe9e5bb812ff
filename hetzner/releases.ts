/**
 * The release binaries a Hetzner node installs, pinned with their download URL and sha256: the
 * same versions `npm run tools` builds from source for the local cluster (pins/index.ts).
 *
 * Consul and Nomad: the sha256 values are HashiCorp's published ones for these zips, as recorded
 * in HashiCorp's own Homebrew tap (github.com/hashicorp/homebrew-tap; its release bot copies them
 * from the releases' SHA256SUMS files): Formula/consul.rb at "Bump consul to 1.16.3" (commit
 * 8b13c83905afd336b6c2ba0163f6ca7e8f60fa12) and Formula/nomad.rb at "Bump nomad to 1.6.3"
 * (commit e24be90f3ce4f80cfbbfc534585d0704a8678fa6), the linux_amd64 and linux_arm64 lines.
 * Nomad's linux_amd64 sum is also in github.com/jdelic/saltshaker, srv/pillar/shared/urls.sls at
 * commit ebb28de26f5c29df19538756861c69a5aad1e82a, next to the releases.hashicorp.com URL; the
 * other three sums have only the tap as their recorded copy. Traefik: no published sum for v3.6.12
 * is recorded here, so it is a required input (`hetzner.traefikSha256`); `releaseFor` says where
 * to read it.
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
    amd64: '9d0d7ad123844d43543d285cc0b3e15393d75ffa384bf84e5d64226a7f3d3132',
    arm64: '349d1a996349ee496d389464884a10bf0899bd46b2820bf6fc1dc29c49caa50b',
  },
  sumsUrl: `https://releases.hashicorp.com/consul/${bare(CONSUL.version)}/consul_${bare(CONSUL.version)}_SHA256SUMS`,
};

export const NOMAD_RELEASE: ReleasePin = {
  name: 'nomad',
  version: bare(NOMAD.version),
  format: 'zip',
  url: (arch) => `https://releases.hashicorp.com/nomad/${bare(NOMAD.version)}/nomad_${bare(NOMAD.version)}_linux_${arch}.zip`,
  sha256: {
    amd64: '1771f83030d9c0e25b4b97b73e824f4b566721e3b9898ae9940eceb95bb7f4d0',
    arm64: '1b85902b62fcaf992c98f6c3970742608c919d2d2e8db59933702859600b866e',
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
