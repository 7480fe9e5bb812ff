/**
 * The slice of Nomad's API job JSON that zerodrop writes. Field names are Nomad's own
 * (`/v1/jobs` schema), durations are nanoseconds. Nomad silently drops keys it does not
 * know, so these types, plus the round-trip test against a real Nomad, are the guard.
 */

export interface NomadJob {
  ID: string;
  Name: string;
  Type: 'service' | 'system' | 'batch';
  Region: string;
  Datacenters: string[];
  Meta?: Record<string, string>;
  /** Job-level update: the only one a system job reads on Nomad before 1.11 (max_parallel + stagger). */
  Update?: NomadJobUpdate;
  TaskGroups: NomadTaskGroup[];
}

export interface NomadJobUpdate {
  MaxParallel: number;
  /** nanoseconds between batches of a system job's rolling update (Nomad < 1.11) */
  Stagger: number;
}

/** What every zerodrop job shares: its name as ID and Name, and where it may run. */
export function jobIdentity(id: string, type: NomadJob['Type'], nomad: { region: string; datacenters: readonly string[] }): Pick<NomadJob, 'ID' | 'Name' | 'Type' | 'Region' | 'Datacenters'> {
  return { ID: id, Name: id, Type: type, Region: nomad.region, Datacenters: [...nomad.datacenters] };
}

export interface NomadTaskGroup {
  Name: string;
  Count: number;
  Networks: NomadNetwork[];
  Services?: NomadService[];
  Constraints?: NomadConstraint[];
  Spreads?: NomadSpread[];
  Update?: NomadUpdate;
  Tasks: NomadTask[];
}

export interface NomadConstraint {
  LTarget?: string;
  RTarget: string;
  Operand: 'distinct_hosts';
}

export interface NomadSpread {
  Attribute: string;
  Weight: number;
}

export interface NomadNetwork {
  Mode: 'host';
  DynamicPorts?: NomadPort[];
  ReservedPorts?: NomadPort[];
}

export interface NomadPort {
  Label: string;
  Value?: number;
  To?: number;
  /** a client `host_network` name: the port is allocated on the node's address there */
  HostNetwork?: string;
}

export interface NomadService {
  Name: string;
  PortLabel: string;
  Provider: 'consul' | 'nomad';
  Tags?: string[];
  /** Replace Tags while the allocation is a canary; Nomad swaps Tags in on promotion. */
  CanaryTags?: string[];
  Checks: NomadCheck[];
}

export interface NomadCheck {
  Name: string;
  Type: 'http';
  PortLabel: string;
  Path: string;
  Interval: number;
  Timeout: number;
  OnUpdate?: 'require_healthy' | 'ignore_warnings' | 'ignore';
  CheckRestart?: { Limit: number; Grace: number; IgnoreWarnings: boolean };
}

export interface NomadUpdate {
  MaxParallel: number;
  Canary: number;
  AutoPromote: boolean;
  AutoRevert: boolean;
  HealthCheck: 'checks';
  MinHealthyTime: number;
  HealthyDeadline: number;
  ProgressDeadline: number;
}

export interface NomadTask {
  Name: string;
  Driver: 'docker' | 'raw_exec';
  Config: Record<string, unknown>;
  Env?: Record<string, string>;
  Templates?: NomadTemplate[];
  KillSignal: string;
  KillTimeout: number;
  ShutdownDelay?: number;
  Resources: { CPU: number; MemoryMB: number };
}

export interface NomadTemplate {
  EmbeddedTmpl: string;
  DestPath: string;
  ChangeMode: 'restart' | 'signal' | 'noop';
  /** Random delay before the change mode fires, in nanoseconds. */
  Splay?: number;
  Perms: string;
}
