/**
 * The local cluster: a loopback Consul + Nomad pair in a state dir. `layout.ts` is its shape
 * (ports, paths, env, agent input; pure), `supervisor.ts` starts, checks and stops the processes.
 */
export {
  clusterEnv,
  clusterLayout,
  clusterPorts,
  DEFAULTS,
  exportLines,
  localAgentInput,
  type ClusterEnv,
  type ClusterLayout,
  type ClusterOptions,
  type ClusterPorts,
} from './layout.ts';
export { allocTaskPids, clusterDown, clusterState, clusterStatus, clusterUp, readToken, restartAgent, type Agent, type AgentRestart, type ClusterState, type ClusterStatus } from './supervisor.ts';
