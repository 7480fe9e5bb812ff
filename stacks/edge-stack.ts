import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AclPolicy } from '@cdktf/provider-consul/lib/acl-policy/index.js';
import { AclToken } from '@cdktf/provider-consul/lib/acl-token/index.js';
import { DataConsulAclTokenSecretId } from '@cdktf/provider-consul/lib/data-consul-acl-token-secret-id/index.js';
import { Job } from '@cdktf/provider-nomad/lib/job/index.js';
import { Variable } from '@cdktf/provider-nomad/lib/variable/index.js';
import type { ZerodropConfig } from '../config/schema.ts';
import { traefikJob, traefikVariablePath } from '../jobs/traefik-job.ts';
import { traefikPlan } from '../timing/model.ts';
import { traefikConsulPolicyRules } from '../traefik/consul-policy.ts';
import type { ServiceDiscovery } from '../traefik/static-config.ts';
import { consulProvider, jobLifecycle, nomadProvider, stateBackend } from './common.ts';
import { escapeTerraformTemplate, terraformDuration } from './terraform-strings.ts';

export interface EdgeStackProps {
  readonly config: ZerodropConfig;
  /** @default false — the Traefik job refuses to be destroyed (see `jobLifecycle`) */
  readonly allowDestroy?: boolean;
  /** @default 'consul' — 'nomad' only for the experiments (see `ServiceDiscovery`) */
  readonly discovery?: ServiceDiscovery;
}

/** Traefik on every Nomad client, with a Consul token that can only read the routed services. */
export class EdgeStack extends TerraformStack {
  constructor(scope: Construct, id: string, { config, allowDestroy = false, discovery }: EdgeStackProps) {
    super(scope, id);
    stateBackend(this, id, config);
    nomadProvider(this, config);
    const dependsOn = [];
    if (config.cluster.consul.acl) {
      consulProvider(this, config);
      const name = config.traefik.jobName;
      const policy = new AclPolicy(this, 'traefik-policy', {
        name: `zerodrop-${name}`,
        description: 'zerodrop: Traefik consulCatalog reads the routed services (least privilege)',
        rules: escapeTerraformTemplate(traefikConsulPolicyRules([...config.services.map((s) => s.name), config.traefik.jobName])),
      });
      const token = new AclToken(this, 'traefik-token', { description: `zerodrop: ${name} consulCatalog`, policies: [policy.name] });
      const secret = new DataConsulAclTokenSecretId(this, 'traefik-token-secret', { accessorId: token.accessorId });
      // The secret goes straight from Consul into a Nomad variable the Traefik job reads
      // at run time: it is never in the jobspec, the synth output or a log.
      dependsOn.push(new Variable(this, 'traefik-consul-token', { path: traefikVariablePath(name), items: { consul_token: secret.secretId } }));
    }
    // The apply follows the rolling update node by node (a stagger each on Nomad before 1.11).
    const timeout = terraformDuration(traefikPlan(config).applyTimeoutMs);
    new Job(this, 'traefik', {
      jobspec: escapeTerraformTemplate(JSON.stringify({ Job: traefikJob(config, discovery ? { discovery } : {}) })),
      json: true,
      detach: false,
      purgeOnDestroy: true,
      timeouts: { create: timeout, update: timeout },
      dependsOn,
      lifecycle: jobLifecycle(allowDestroy),
    });
  }
}
