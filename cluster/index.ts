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
  FRONT_DEFAULTS,
  localAgentInput,
  localNodeAgentInput,
  MAX_NODES,
  nodeAddress,
  type ClusterEnv,
  type ClusterLayout,
  type ClusterOptions,
  type ClusterPorts,
  type FrontOptions,
  type NodeLayout,
} from './layout.ts';
export { allocTaskPids, clusterDown, clusterState, clusterStatus, clusterUp, readToken, restartAgent, runningLayout, type Agent, type AgentRestart, type ClusterState, type ClusterStatus, type NodeState } from './supervisor.ts';
