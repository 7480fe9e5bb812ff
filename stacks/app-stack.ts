import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { Job } from '@cdktf/provider-nomad/lib/job/index.js';
import type { ZerodropConfig } from '../config/schema.ts';
import { canaryJob } from '../jobs/canary-job.ts';
import type { TimingPlan } from '../timing/model.ts';
import type { TraefikNaming } from '../traefik/service-tags.ts';
import type { ServiceDiscovery } from '../traefik/static-config.ts';
import { jobLifecycle, nomadProvider, stateBackend } from './common.ts';
import { escapeTerraformTemplate, terraformDuration } from './terraform-strings.ts';

export interface AppStackProps {
  readonly config: ZerodropConfig;
  readonly plans: ReadonlyMap<string, TimingPlan>;
  /** @default 'content' — 'fixed' only for the negative control (see `TraefikNaming`) */
  readonly traefikNaming?: TraefikNaming;
  /** @default false — each job refuses to be destroyed (see `jobLifecycle`) */
  readonly allowDestroy?: boolean;
  /** @default 'consul' — 'nomad' only for the experiments (see `ServiceDiscovery`) */
  readonly discovery?: ServiceDiscovery;
}

/** One canary job per service. `detach = false`: the apply waits for the rollout and fails when it fails. */
export class AppStack extends TerraformStack {
  constructor(scope: Construct, id: string, { config, plans, traefikNaming, allowDestroy = false, discovery }: AppStackProps) {
    super(scope, id);
    stateBackend(this, id, config);
    nomadProvider(this, config);
    for (const service of config.services) {
      const plan = plans.get(service.name);
      if (!plan) throw new Error(`no timing plan for service "${service.name}"`);
      const timeout = terraformDuration(plan.applyTimeoutMs);
      new Job(this, `job-${service.name}`, {
        jobspec: escapeTerraformTemplate(JSON.stringify({ Job: canaryJob({ service, plan, config, ...(traefikNaming ? { traefikNaming } : {}), ...(discovery ? { discovery } : {}) }) })),
        json: true,
        detach: false,
        purgeOnDestroy: true,
        timeouts: { create: timeout, update: timeout },
        lifecycle: jobLifecycle(allowDestroy),
      });
    }
  }
}
