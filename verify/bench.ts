/**
 * The verifier's own limit: the load generator at a fixed rate against a static node:http
 * server on 127.0.0.1 (in this process, answering 200 "ok" at once), so whatever lag it
 * shows is the generator's (and the host's), not a backend's.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { runLoad } from './load.ts';
import { latencyStats } from './report.ts';

export interface BenchResult {
  startedAt: string;
  /** loadAvg1m: the host's 1-minute load average at the start (other processes share the CPUs). */
  host: { cpus: number; model: string; node: string; loadAvg1m: number };
  targetRate: number;
  durationMs: number;
  requests: number;
  ok: number;
  achievedRate: number;
  sendLagMs: { p50: number; p99: number; max: number };
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  valid: boolean;
  invalidReason?: string;
}

export async function runBench(rate = 1000, durationMs = 10_000): Promise<BenchResult> {
  const server = createServer((_req, res) => {
    res.setHeader('content-length', 2);
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const startedAt = new Date().toISOString();
  const load1 = loadavg()[0] ?? 0;
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, rate, durationMs });
    const lat = latencyStats(r.records.filter((x) => x.ok).map((x) => x.latencyMs));
    return {
      startedAt,
      host: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAvg1m: Math.round(load1 * 100) / 100 },
      targetRate: rate,
      durationMs,
      requests: r.records.length,
      ok: r.records.filter((x) => x.ok).length,
      achievedRate: r.rate.achieved,
      sendLagMs: r.sendLagMs,
      latencyMs: { p50: lat.p50, p99: lat.p99, max: lat.max },
      valid: r.valid,
      ...(r.invalidReason ? { invalidReason: r.invalidReason } : {}),
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function benchTable(b: BenchResult): string {
  const rows = [
    ['target rate', `${b.targetRate} req/s for ${b.durationMs / 1000} s`],
    ['achieved rate', `${b.achievedRate.toFixed(1)} req/s (${b.ok} of ${b.requests} OK)`],
    ['send lag p50 / p99 / max', `${b.sendLagMs.p50.toFixed(2)} / ${b.sendLagMs.p99.toFixed(2)} / ${b.sendLagMs.max.toFixed(2)} ms`],
    ['latency p50 / p99 / max', `${b.latencyMs.p50 ?? '–'} / ${b.latencyMs.p99 ?? '–'} / ${b.latencyMs.max ?? '–'} ms`],
    ['measurement', b.valid ? 'valid' : `invalid: ${b.invalidReason}`],
    ['host', `${b.host.cpus} CPU (${b.host.model}), Node ${b.host.node}, load average ${b.host.loadAvg1m} at start`],
  ];
  const w = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([k, v]) => `${k!.padEnd(w)}  ${v}`).join('\n');
}
