/**
 * The deploy: which cluster (target.ts), `cdktf deploy` of the stacks with the promotion gates
 * (deploy.ts), the GitOps pipeline's plan/apply with its deployment watch (pipeline.ts,
 * rollout-outcome.ts), and the rollback to an earlier stable job version (rollback.ts).
 */
export { DEFAULTS, deploy, parseLocalState, providersFromRegistry, synthStacks, taintedResources, type CdkTfJson, type DeployOptions, type TerraformState } from './deploy.ts';
export { pipelineApply, pipelineLog, pipelinePlan } from './pipeline.ts';
export { chooseRollback, configInstruction, describeVersions, rollback, RollbackRefused, versionSeen, type ConfigVersion, type JobVersionSeen, type RollbackOptions, type RollbackResult } from './rollback.ts';
export { judgeRollout, rolloutOutcome, type Deployment, type RolloutOutcome } from './rollout-outcome.ts';
export { deployTarget, nomadAddressInFile, TARGET_DEFAULTS, type DeployTarget, type TargetOptions } from './target.ts';
