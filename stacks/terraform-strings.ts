/**
 * cdktf passes strings into cdk.tf.json verbatim, where Terraform treats `${…}` and
 * `%{…}` as its own interpolation: a jobspec containing `${NOMAD_PORT_http}` fails with
 * "Invalid reference". Double the lead character so Terraform emits it literally.
 * (A function replacement: a `$$` in a replacement *string* would itself be special.)
 */
export function escapeTerraformTemplate(text: string): string {
  return text.replace(/([$%])\{/g, (_match, lead: string) => `${lead}${lead}{`);
}

/** Durations as Terraform `timeouts` blocks want them ("7m", "90s"). */
export function terraformDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.ceil(ms / 1000)}s`;
}

/** The inverse of `escapeTerraformTemplate`: what Terraform hands to the provider. */
export function unescapeTerraformTemplate(text: string): string {
  return text.replace(/([$%])\1\{/g, (_match, lead: string) => `${lead}{`);
}
