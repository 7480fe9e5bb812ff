/**
 * Shared shapes of the verifier: one record per scheduled request, and the deployment
 * events that are drawn against them. Times are milliseconds since load start (the
 * load generator's monotonic clock), so records and events share one axis.
 */

/**
 * How a request failed below HTTP. `refused`: nothing listening (ECONNREFUSED).
 * `reset`: the connection died under the request (ECONNRESET, EPIPE, UND_ERR_SOCKET).
 * `timeout`: no complete answer within the per-request timeout (or undici's header/body
 * timeouts). `dns`: the name did not resolve. `other`: anything else, including
 * requests the generator itself could not send (`errorCode: 'CLIENT_SATURATED'`).
 */
export type ErrorKind = 'refused' | 'reset' | 'timeout' | 'dns' | 'other';

export const ERROR_KINDS: readonly ErrorKind[] = ['refused', 'reset', 'timeout', 'dns', 'other'];

export interface RequestRecord {
  /** 0..n-1 in schedule order. */
  seq: number;
  /** When it was due: seq * 1000 / rate. */
  scheduledMs: number;
  /** When it was actually handed to the HTTP client; sentMs - scheduledMs is the send lag. */
  sentMs: number;
  /** From send to the end of the response body, or to the error. 0 when never sent. */
  latencyMs: number;
  /** HTTP status; null on a transport error. */
  status: number | null;
  errorKind: ErrorKind | null;
  /** The raw error code behind `errorKind` (ECONNRESET, UND_ERR_HEADERS_TIMEOUT, CLIENT_SATURATED, ...). */
  errorCode?: string;
  /** Value of the response header `x-app-version`; null when absent or on an error. */
  version: string | null;
  /** status === the mix entry's expected status (default 200) and no transport error. */
  ok: boolean;
  /** Index of the request-mix entry this request was (verify/mix.ts). @default 0 */
  mix?: number;
  /** Index of the target URL it went to (round robin). @default 0 */
  target?: number;
  /** The `x-request-id` it carried; set for non-idempotent methods (POST, PATCH) only. */
  requestId?: string;
  /** Value of the response header `x-app-instance` (the answering allocation), when present. */
  instance?: string;
}

/** Event kinds the verifier emits; `kind` stays a string so new watchers need no change here. */
export type DeployEventKind =
  | 'deploy-start'
  | 'canary-placed'
  | 'canary-healthy'
  | 'canary-unhealthy'
  | 'promoted'
  | 'old-stopping'
  | 'old-stopped'
  | 'successful'
  | 'failed'
  | 'cancelled'
  | 'reverted'
  | 'deploy-cmd-exit';

export interface DeployEvent {
  /** Milliseconds since load start. */
  atMs: number;
  kind: DeployEventKind | (string & {});
  detail?: string;
}
