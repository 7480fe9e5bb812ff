import { isIP } from 'node:net';

/**
 * Checks for the strings that leave zerodrop: into Terraform blocks (provider, backend),
 * into the Nomad template that renders Traefik's static config, into Traefik router rules.
 * Each returns undefined when the text is acceptable, else the rule text for the error.
 */

/** Terraform evaluates `${…}` and `%{…}` in any string; Nomad's template engine evaluates `{{…}}`. */
export const TEMPLATE_SEQUENCES = ['${', '%{', '{{'] as const;

export function templateSequenceProblem(text: string): string | undefined {
  const found = TEMPLATE_SEQUENCES.filter((s) => text.includes(s));
  if (found.length === 0) return undefined;
  return `must not contain ${found.map((s) => `"${s}"`).join(' or ')}: Terraform (\${, %{) or the Nomad template engine ({{) would evaluate it`;
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** RFC 1123 host name: labels of 1–63 letters, digits and "-", not starting or ending with "-"; 253 characters at most. */
export function dnsNameProblem(text: string): string | undefined {
  const rule = 'must be a DNS host name such as "api.example.com": dot-separated labels of 1–63 letters, digits and "-" (not at either end of a label), 253 characters at most, no wildcard';
  if (text.length === 0 || text.length > 253) return rule;
  if (!text.split('.').every((label) => DNS_LABEL.test(label))) return rule;
  // An all-numeric last label would be read as an IPv4 address, not a name.
  if (/^\d+$/.test(text.split('.').at(-1)!)) return `${rule} (the last label must not be all digits)`;
  return undefined;
}

/** An http(s) URL with a host and optional port, and nothing else: the form Terraform providers and Traefik's endpoint take. */
export function httpAddressProblem(text: string): string | undefined {
  const template = templateSequenceProblem(text);
  if (template) return template;
  const example = 'such as "http://127.0.0.1:8500" or "https://consul.example.com:8501"';
  if (!URL.canParse(text)) return `must be an http:// or https:// URL ${example}`;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must use http:// or https:// (not ${url.protocol}//), ${example}`;
  if (url.username || url.password) return 'must not carry credentials: tokens come from NOMAD_TOKEN / CONSUL_HTTP_TOKEN in the environment';
  if (url.pathname !== '/' || url.search || url.hash || /[?#]/.test(text)) return `must be scheme, host and port only (no path, query or fragment), ${example}`;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) === 0 && dnsNameProblem(host) !== undefined) return `must name its host by IP address or DNS name, ${example}`;
  return undefined;
}

/**
 * Probe paths: letters, digits and `/ . _ ~ -` only. A `?` or `#` would make the router's
 * `!Path(…)` never match (the probe would be public); a backtick or space would break the rule text.
 */
export const PROBE_PATH = /^\/[A-Za-z0-9._~/-]*$/;
