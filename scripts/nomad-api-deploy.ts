/**
 * Applies synthesized stacks straight through the Nomad and Consul HTTP APIs, for
 * machines where the Terraform providers cannot be installed (see README "Terraform
 * providers"). It takes the same cdktf.out/stacks/<stack>/cdk.tf.json that `cdktf deploy`
 * would apply — addresses from its provider blocks, tokens from the environment — and does
 * what the providers would do with it; no second source of truth:
 *   consul_acl_policy / consul_acl_token / nomad_variable → Consul ACL + Nomad variable APIs;
 *   nomad_job (json, detach = false) → POST /v1/jobs, then wait for the deployment.
 */
import { parseDurationMs } from '../config/duration.ts';
import { unescapeTerraformTemplate } from '../stacks/terraform-strings.ts';
import { HttpError, requestJson } from './http.ts';
import { jobVersion, watchDeployment } from './verify/nomad-watch.ts';

/** Tokens come from the environment, as the providers read them; never from cdk.tf.json. */
export interface ApiTokens {
  readonly nomadToken?: string;
  readonly consulToken?: string;
}

const TIMEOUT_MS = 15_000;

/** The parts of a synthesized cdk.tf.json that `npm run deploy` reads (engine choice, taint check, this engine). */
export interface CdkTfJson {
  readonly terraform?: {
    readonly required_providers?: Record<string, { readonly version?: string }>;
    readonly backend?: { readonly local?: { readonly path?: string } };
  };
  /** The provider blocks: the addresses the config resolved to, which this engine targets too. */
  readonly provider?: {
    readonly nomad?: readonly { readonly address: string }[];
    readonly consul?: readonly { readonly address: string; readonly scheme: string }[];
  };
  readonly resource?: {
    readonly consul_acl_policy?: Record<string, { name: string; description?: string; rules: string }>;
    readonly consul_acl_token?: Record<string, { description: string; policies: string[] }>;
    readonly nomad_variable?: Record<string, { path: string; items: Record<string, string> }>;
    readonly nomad_job?: Record<string, { jobspec: string; detach?: boolean; timeouts?: { update?: string } }>;
  };
}

export async function applyStackViaApi(stack: string, tf: CdkTfJson, t: ApiTokens, log: (s: string) => void): Promise<void> {
  // The addresses Terraform would use: the stack's provider blocks (the config's, resolved at synth).
  // Every kit stack has a nomad provider; only the edge stack has a consul one.
  const nomadAddr = tf.provider?.nomad?.[0]?.address;
  if (!nomadAddr) throw new Error(`${stack}: cdk.tf.json has no nomad provider block to take the Nomad address from`);
  const consulBlock = tf.provider?.consul?.[0];
  const consulAddr = () => {
    if (!consulBlock) throw new Error(`${stack}: cdk.tf.json has Consul resources but no consul provider block`);
    return `${consulBlock.scheme}://${consulBlock.address}`;
  };
  type Method = 'GET' | 'PUT' | 'POST';
  const consul = async <T>(method: Method, p: string, body?: unknown) =>
    (await requestJson<T>(new URL(p, consulAddr()), { method, body, token: t.consulToken, tokenHeader: 'X-Consul-Token', timeoutMs: TIMEOUT_MS })).body;
  const nomad = async <T>(method: Method, p: string, body?: unknown) =>
    (await requestJson<T>(new URL(p, nomadAddr), { method, body, token: t.nomadToken, tokenHeader: 'X-Nomad-Token', timeoutMs: TIMEOUT_MS })).body;
  const nomadClient = { address: nomadAddr, ...(t.nomadToken ? { token: t.nomadToken } : {}) };

  const secretsByPolicy = new Map<string, string>();
  for (const policy of Object.values(tf.resource?.consul_acl_policy ?? {})) {
    const rules = unescapeTerraformTemplate(policy.rules);
    const existing = await consul<{ ID: string }>('GET', `/v1/acl/policy/name/${encodeURIComponent(policy.name)}`).catch((err) => {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    });
    const saved = existing
      ? await consul<{ ID: string }>('PUT', `/v1/acl/policy/${existing.ID}`, { Name: policy.name, Description: policy.description, Rules: rules })
      : await consul<{ ID: string }>('PUT', '/v1/acl/policy', { Name: policy.name, Description: policy.description, Rules: rules });
    const tokens = await consul<{ AccessorID: string; Description: string }[]>('GET', `/v1/acl/tokens?policy=${saved.ID}`);
    const accessor = tokens[0]?.AccessorID ?? (await consul<{ AccessorID: string }>('PUT', '/v1/acl/token', { Description: `zerodrop: ${policy.name}`, Policies: [{ ID: saved.ID }] })).AccessorID;
    const token = await consul<{ SecretID: string }>('GET', `/v1/acl/token/${accessor}`);
    secretsByPolicy.set(policy.name, token.SecretID);
    log(`[deploy:api] consul policy ${policy.name} + token ${accessor.slice(0, 8)}… (secret not shown)`);
  }
  for (const v of Object.values(tf.resource?.nomad_variable ?? {})) {
    // The only variable the kit writes holds Traefik's token secret (a Terraform reference in cdk.tf.json).
    const secret = [...secretsByPolicy.values()][0];
    if (!secret) throw new Error(`nomad_variable ${v.path}: no Consul token was created in this stack to fill it`);
    const items = Object.fromEntries(Object.keys(v.items).map((k) => [k, secret]));
    await nomad('PUT', `/v1/var/${v.path}`, { Path: v.path, Items: items });
    log(`[deploy:api] nomad variable ${v.path}`);
  }
  for (const [name, job] of Object.entries(tf.resource?.nomad_job ?? {})) {
    const spec = JSON.parse(unescapeTerraformTemplate(job.jobspec)) as { Job: { ID: string; Type: string } };
    const before = await jobVersion(nomadClient, spec.Job.ID);
    await nomad('POST', '/v1/jobs', spec);
    const after = await jobVersion(nomadClient, spec.Job.ID);
    log(`[deploy:api] nomad job ${spec.Job.ID} (${name}) v${before ?? '-'} → v${after}`);
    if (job.detach === false && spec.Job.Type === 'service' && after !== before) {
      // detach = false: like the provider, wait for the deployment and fail when it fails.
      const started = Date.now();
      const result = await watchDeployment({
        ...nomadClient,
        jobId: spec.Job.ID,
        baselineJobVersion: before ?? -1,
        now: () => Date.now() - started,
        // The same timeout Terraform would give the provider; its default is 5m.
        timeoutMs: parseDurationMs(job.timeouts?.update ?? '5m') ?? 5 * 60_000,
      });
      log(`[deploy:api] deployment of ${spec.Job.ID}: ${result.status}${result.statusDescription ? ` (${result.statusDescription})` : ''}`);
      if (result.status !== 'successful') throw new Error(`deployment of ${spec.Job.ID} ${result.status}: ${result.statusDescription ?? ''}`);
    }
  }
}
