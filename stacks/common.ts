import { resolve } from 'node:path';
import { ConsulBackend, LocalBackend, type TerraformStack } from 'cdktf';
import { ConsulProvider } from '@cdktf/provider-consul/lib/provider/index.js';
import { NomadProvider } from '@cdktf/provider-nomad/lib/provider/index.js';
import type { ZerodropConfig } from '../config/schema.ts';

/**
 * Providers take addresses from the config and tokens from the environment only
 * (NOMAD_TOKEN, CONSUL_HTTP_TOKEN), so no secret is ever written to cdk.tf.json. The stacks
 * require the provider versions the bindings were generated from (nomad 2.5.2, consul 2.22.1).
 */
export function nomadProvider(stack: TerraformStack, config: ZerodropConfig): NomadProvider {
  return new NomadProvider(stack, 'nomad', { address: config.cluster.nomad.address, region: config.cluster.nomad.region });
}

export function consulProvider(stack: TerraformStack, config: ZerodropConfig): ConsulProvider {
  const url = new URL(config.cluster.consul.address);
  return new ConsulProvider(stack, 'consul', { address: url.host, scheme: url.protocol.replace(':', '') });
}

/**
 * Local state by default (a file per stack at the project root). Pipelines pick the
 * Consul backend: state in Consul KV with locking, so two applies cannot interleave.
 */
export function stateBackend(stack: TerraformStack, name: string, config: ZerodropConfig): void {
  const state = config.cluster.state;
  if (state.backend === 'local') {
    // Terraform runs in cdktf.out/stacks/<name>; by default keep state at the project root, outside the synth output.
    new LocalBackend(stack, { path: state.dir ? resolve(state.dir, `terraform.${name}.tfstate`) : `../../../terraform.${name}.tfstate` });
    return;
  }
  const url = new URL(config.cluster.consul.address);
  // access_token is left out on purpose: the backend then reads CONSUL_HTTP_TOKEN.
  new ConsulBackend(stack, { path: `${state.path}/${name}`, lock: state.lock, address: url.host, scheme: url.protocol.replace(':', '') } as ConstructorParameters<typeof ConsulBackend>[1]);
}

/**
 * Every nomad_job carries `lifecycle { prevent_destroy = true }`: a plan that would destroy a job
 * (a replace after a failed first apply left it tainted, a change the provider can only make by
 * re-creating) fails instead of purging the job and stopping every allocation. This reaches
 * `cdktf deploy` and any pipeline applying the synthesized stacks, not only `npm run deploy`.
 * Terraform checks it only for resources still in the configuration: a service removed from the
 * config (or renamed) still has its job destroyed. `ZERODROP_ALLOW_DESTROY=1` at synth lifts it,
 * for a destroy or replace on purpose.
 */
export function jobLifecycle(allowDestroy: boolean): { preventDestroy: boolean } {
  return { preventDestroy: !allowDestroy };
}
