/**
 * Turns the load records and deployment events of one verify run into a report:
 * report.json (machine-readable, schemaVersion 1), report.md and timeline.svg, plus a
 * compact console summary. Everything here is pure except writeReport().
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'hdr-histogram-js';
import { mixSummary, targetSummary } from './breakdown.ts';
import type { CapacitySummary } from './capacity.ts';
import type { LedgerComparison } from './ledger.ts';
import { DEFAULT_MIX } from './mix.ts';
import type { FollowedDeployment } from './nomad-watch.ts';
import { OUTCOME_CLASSES, PHASES, VERIFY_EXPECTS, type Drop, type LatencyStats, type OutcomeClass, type Phase, type PhaseSummary, type Report, type SummarizeInput, type VerdictCheck } from './report-shape.ts';
import { timelineSvg } from './timeline.ts';
import { ERROR_KINDS, type ErrorKind, type RequestRecord } from './types.ts';

export { OUTCOME_CLASSES, PHASES, type Drop, type LatencyStats, type OutcomeClass, type Phase, type PhaseSummary, type Report, type SummarizeInput, type VerdictCheck } from './report-shape.ts';

const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** Percent to 3 decimals, floored: 11 999 / 12 000 must not print as "100.000 %". */
export function formatPercent(ratio: number): string {
  return `${(Math.floor(ratio * 100_000 + 1e-9) / 1000).toFixed(3)} %`;
}

export function outcomeClass(r: RequestRecord): OutcomeClass {
  if (r.ok) return 'ok';
  if (r.status !== null) return r.status >= 500 ? 'http5xx' : 'httpOther';
  return r.errorKind ?? 'other';
}

export function phaseOf(scheduledMs: number, phases: SummarizeInput['phases']): Phase {
  if (scheduledMs < phases.baselineEndMs) return 'baseline';
  if (phases.deployEndMs === null || scheduledMs < phases.deployEndMs) return 'deploy';
  return 'tail';
}

/**
 * Latency percentiles with HdrHistogram: values are recorded in integer microseconds
 * (ms would round sub-millisecond loopback latencies to 0 or 1) with 3 significant
 * digits, i.e. ≤ 0.1 % error. hdr returns a bucket's highest equivalent value (2.5 ms
 * can read 2.501: an upper bound, the HdrHistogram convention), which can exceed the
 * true maximum, so percentiles are clamped to the exact max.
 */
export function latencyStats(latenciesMs: readonly number[]): LatencyStats {
  if (latenciesMs.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const h = build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });
  let max = 0;
  for (const ms of latenciesMs) {
    h.recordValue(Math.max(0, Math.round(ms * 1000)));
    max = Math.max(max, ms);
  }
  const at = (p: number) => r3(Math.min(h.getValueAtPercentile(p) / 1000, max));
  return { count: latenciesMs.length, p50: at(50), p90: at(90), p99: at(99), max: r3(max) };
}

function sortedByNumber(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => Number(a) - Number(b)));
}

function validateInput(input: SummarizeInput): void {
  const issues: string[] = [];
  if (!(Number.isFinite(input.threshold) && input.threshold >= 0 && input.threshold <= 1)) {
    issues.push(`threshold: ${input.threshold} — must be a ratio between 0 and 1 (1 = every request OK)`);
  }
  if (!(VERIFY_EXPECTS as readonly string[]).includes(input.expect)) {
    issues.push(`expect: ${JSON.stringify(input.expect)} — must be one of ${VERIFY_EXPECTS.map((x) => `'${x}'`).join(', ')}`);
  }
  if (input.phases.deployEndMs !== null && input.phases.deployEndMs < input.phases.baselineEndMs) {
    issues.push(`phases.deployEndMs: ${input.phases.deployEndMs} — must not be before phases.baselineEndMs (${input.phases.baselineEndMs})`);
  }
  if (issues.length) throw new RangeError([`summarize: ${issues.length} invalid input${issues.length === 1 ? '' : 's'}`, ...issues.map((i) => `  ${i}`)].join('\n'));
}

export function summarize(input: SummarizeInput): Report {
  validateInput(input);
  const records = [...input.records].sort((a, b) => a.seq - b.seq);
  const intervalMs = input.rate.target > 0 ? 1000 / input.rate.target : 0;
  const durationMs = records.length ? r3(records[records.length - 1]!.scheduledMs + intervalMs) : 0;

  const total = records.length;
  const ok = records.filter((r) => r.ok).length;
  const byStatus = new Map<string, number>();
  const byErrorKind = Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>;
  for (const r of records) {
    if (r.ok) continue;
    if (r.errorKind) byErrorKind[r.errorKind]++;
    else if (r.status !== null) byStatus.set(String(r.status), (byStatus.get(String(r.status)) ?? 0) + 1);
  }
  const successRatio = total ? ok / total : 0;

  // Phases and latency, bucketed by scheduledMs so a late send stays in its phase.
  const okLatency: Record<Phase | 'all', number[]> = { all: [], baseline: [], deploy: [], tail: [] };
  const lastMs = durationMs;
  const deployTo = input.phases.deployEndMs;
  const phases: Record<Phase, PhaseSummary> = {
    baseline: { fromMs: 0, toMs: input.phases.baselineEndMs, total: 0, ok: 0, notOk: 0 },
    deploy: { fromMs: input.phases.baselineEndMs, toMs: deployTo, total: 0, ok: 0, notOk: 0 },
    tail: { fromMs: deployTo ?? lastMs, toMs: deployTo === null ? null : Math.max(lastMs, deployTo), total: 0, ok: 0, notOk: 0 },
  };
  for (const r of records) {
    const p = phaseOf(r.scheduledMs, input.phases);
    phases[p].total++;
    if (r.ok) {
      phases[p].ok++;
      okLatency.all.push(r.latencyMs);
      okLatency[p].push(r.latencyMs);
    } else phases[p].notOk++;
  }

  // Per-second buckets, dense from 0 to the last second of the schedule.
  const seconds = total ? Math.floor(records[records.length - 1]!.scheduledMs / 1000) + 1 : 0;
  const outcomes = Array.from({ length: seconds }, (_, second) => ({ second, total: 0, ...(Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, 0])) as Record<OutcomeClass, number>) }));
  const versionNames: string[] = [];
  const versionCounts = Array.from({ length: seconds }, () => new Map<string, number>());
  for (const r of records) {
    const s = Math.floor(r.scheduledMs / 1000);
    const bucket = outcomes[s]!;
    bucket.total++;
    bucket[outcomeClass(r)]++;
    if (r.version !== null) {
      if (!versionNames.includes(r.version)) versionNames.push(r.version);
      versionCounts[s]!.set(r.version, (versionCounts[s]!.get(r.version) ?? 0) + 1);
    }
  }
  const versions = {
    names: versionNames,
    bySecond: versionCounts.map((m, second) => ({ second, counts: Object.fromEntries(versionNames.filter((v) => m.has(v)).map((v) => [v, m.get(v)!])) })),
  };

  const drops: Drop[] = records
    .filter((r) => !r.ok)
    .map((r) => ({
      seq: r.seq,
      scheduledMs: r3(r.scheduledMs),
      sentMs: r3(r.sentMs),
      status: r.status,
      errorKind: r.errorKind,
      ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
      latencyMs: r3(r.latencyMs),
      version: r.version,
    }));

  const checks: VerdictCheck[] = [
    input.valid
      ? { name: 'measurement', pass: true, detail: `measurement valid: send lag p99 ${input.sendLagMs.p99.toFixed(1)} ms, ${input.rate.achieved.toFixed(1)} of ${input.rate.target} req/s achieved` }
      : { name: 'measurement', pass: false, detail: `measurement invalid: ${input.invalidReason ?? 'the load generator could not keep its schedule'}` },
    total === 0
      ? { name: 'success-ratio', pass: false, detail: 'no requests were recorded' }
      : successRatio >= input.threshold
        ? { name: 'success-ratio', pass: true, detail: `success ratio ${formatPercent(successRatio)} (${ok} of ${total} OK) meets the threshold ${formatPercent(input.threshold)}` }
        : { name: 'success-ratio', pass: false, detail: `success ratio ${formatPercent(successRatio)} is below the threshold ${formatPercent(input.threshold)}: ${total - ok} of ${total} requests not OK` },
    input.deployment.status === input.expect
      ? { name: 'deployment', pass: true, detail: `deployment ${input.deployment.status}, as expected${deploymentList(input.deployments)}` }
      : { name: 'deployment', pass: false, detail: `deployment ${input.deployment.status}, but ${input.expect} was expected${deploymentList(input.deployments)}` },
    ...(input.ledger ? [ledgerCheck(input.ledger)] : []),
  ];
  const pass = checks.every((c) => c.pass);

  const urls = input.urls?.length ? input.urls : [input.target.url];
  return {
    schemaVersion: 2,
    startedAt: new Date(input.startedAt).toISOString(),
    startedAtEpochMs: input.startedAt,
    target: { url: input.target.url, ...(input.target.host ? { host: input.target.host } : {}) },
    durationMs,
    requests: { total, ok, notOk: total - ok, byStatus: sortedByNumber(byStatus), byErrorKind },
    successRatio,
    successPercent: formatPercent(successRatio),
    threshold: input.threshold,
    latencyMs: { ...latencyStats(okLatency.all), baseline: latencyStats(okLatency.baseline), deploy: latencyStats(okLatency.deploy), tail: latencyStats(okLatency.tail) },
    rate: { target: input.rate.target, achieved: input.rate.achieved },
    sendLagMs: { p50: input.sendLagMs.p50, p99: input.sendLagMs.p99, max: input.sendLagMs.max },
    measurement: { valid: input.valid, ...(input.valid || input.invalidReason === undefined ? {} : { invalidReason: input.invalidReason }) },
    phases,
    outcomes: { bySecond: outcomes },
    versions,
    events: [...input.events].sort((a, b) => a.atMs - b.atMs).map((e) => ({ atMs: r3(e.atMs), kind: e.kind, ...(e.detail ? { detail: e.detail } : {}) })),
    drops,
    deployment: {
      status: input.deployment.status,
      expected: input.expect,
      ...(input.deployment.id !== undefined ? { id: input.deployment.id } : {}),
      ...(input.deployment.jobVersion !== undefined ? { jobVersion: input.deployment.jobVersion } : {}),
      ...(input.deployment.kind !== undefined ? { kind: input.deployment.kind } : {}),
    },
    servers: input.servers ?? null,
    deployments: (input.deployments ?? []).map((d) => ({ ...d })),
    mix: mixSummary(records, input.mix ?? DEFAULT_MIX),
    targets: targetSummary(records, urls),
    ledger: input.ledger ?? null,
    capacity: input.capacity ?? null,
    verdict: { pass, reasons: pass ? checks.map((c) => c.detail) : checks.filter((c) => !c.pass).map((c) => c.detail), checks },
  };
}

/** " (2 deployments: job 3 successful, job 4 failed)" when more than one was followed. */
function deploymentList(list: readonly FollowedDeployment[] | undefined): string {
  if (!list || list.length < 2) return '';
  return ` (${list.length} deployments: ${list.map((d) => `job ${d.jobVersion} ${d.status}`).join(', ')})`;
}

function ledgerCheck(l: LedgerComparison & { file: string }): VerdictCheck {
  const counts = `${l.checked} non-idempotent requests: ${l.exactlyOnce} answered OK and executed once, ${l.lost} lost, ${l.doubled} doubled, ${l.unknown.total} failed on the client (${l.unknown.executed} executed, ${l.unknown.notExecuted} not)`;
  if (l.checked === 0) return { name: 'ledger', pass: false, detail: `ledger ${l.file}: no non-idempotent request was sent, nothing proven` };
  if (l.lost > 0 || l.doubled > 0) return { name: 'ledger', pass: false, detail: `ledger: ${counts}${l.lost ? `; lost e.g. ${l.lostIds.slice(0, 3).join(', ')}` : ''}${l.doubled ? `; doubled e.g. ${l.doubledIds.slice(0, 3).join(', ')}` : ''}` };
  return { name: 'ledger', pass: true, detail: `ledger: ${counts}` };
}

// ---------------------------------------------------------------------------------------
// Human-readable renderings

export interface VersionRange {
  fromSecond: number;
  toSecond: number;
  /** [version, percent of the range's versioned responses], largest first; '(none)' when no response carried a version. */
  shares: Array<[string, number]>;
}

/**
 * Condenses the per-second version mix into ranges: consecutive seconds with the same
 * versions present and each share in the same 20 % band merge. When that still gives
 * more than `maxRanges`, only the set of versions present is compared.
 */
export function versionRanges(report: Pick<Report, 'versions'>, maxRanges = 10): VersionRange[] {
  const seconds = report.versions.bySecond;
  const key = (counts: Record<string, number>, coarse: boolean) => {
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    if (n === 0) return '(none)';
    return Object.keys(counts).sort().map((v) => (coarse ? v : `${v}:${Math.round((counts[v]! / n) * 5)}`)).join(',');
  };
  const group = (coarse: boolean) => {
    const ranges: Array<{ from: number; to: number; key: string; counts: Map<string, number> }> = [];
    for (const { second, counts } of seconds) {
      const k = key(counts, coarse);
      let last = ranges[ranges.length - 1];
      if (!last || last.key !== k) {
        last = { from: second, to: second, key: k, counts: new Map() };
        ranges.push(last);
      }
      last.to = second;
      for (const [v, c] of Object.entries(counts)) last.counts.set(v, (last.counts.get(v) ?? 0) + c);
    }
    return ranges;
  };
  let ranges = group(false);
  if (ranges.length > maxRanges) ranges = group(true);
  // Still too many (a flickering mix): fold the shortest range into its shorter neighbour.
  while (ranges.length > maxRanges) {
    let i = 0;
    for (let j = 1; j < ranges.length; j++) if (ranges[j]!.to - ranges[j]!.from < ranges[i]!.to - ranges[i]!.from) i = j;
    const prev = ranges[i - 1];
    const next = ranges[i + 1];
    const into = !next || (prev && prev.to - prev.from <= next.to - next.from) ? i - 1 : i + 1;
    const [a, b] = into < i ? [ranges[into]!, ranges[i]!] : [ranges[i]!, ranges[into]!];
    for (const [v, c] of b.counts) a.counts.set(v, (a.counts.get(v) ?? 0) + c);
    a.to = b.to;
    ranges.splice(ranges.indexOf(b), 1);
  }
  return ranges.map((g) => {
    const n = [...g.counts.values()].reduce((a, b) => a + b, 0);
    const shares: Array<[string, number]> = n === 0 ? [['(none)', 100]] : wholePercents([...g.counts].sort((a, b) => b[1] - a[1]), n);
    return { fromSecond: g.from, toSecond: g.to, shares };
  });
}

/** Whole percents that add up to 100 (largest remainder), so a mix never reads "85 % + 16 %". */
function wholePercents(entries: Array<[string, number]>, n: number): Array<[string, number]> {
  const exact = entries.map(([v, c]) => [v, (c / n) * 100] as const);
  const floors = exact.map(([v, p]) => [v, Math.floor(p)] as [string, number]);
  let left = 100 - floors.reduce((a, [, p]) => a + p, 0);
  const byRemainder = exact.map(([, p], i) => [i, p - Math.floor(p)] as const).sort((a, b) => b[1] - a[1]);
  for (const [i] of byRemainder) if (left-- > 0) floors[i]![1]++;
  return floors;
}

function formatRange(r: VersionRange): string {
  const span = r.fromSecond === r.toSecond ? `${r.fromSecond} s` : `${r.fromSecond}–${r.toSecond} s`;
  return `${span} ${r.shares.map(([v, p]) => `${v} ${p} %`).join(' ')}`;
}

const fmtMs = (v: number | null) => (v === null ? '–' : v < 10 ? v.toFixed(3) : v < 1000 ? v.toFixed(1) : v.toFixed(0));
const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "503 ×4, refused ×2" — the non-OK breakdown, or "none". */
export function notOkBreakdown(report: Report): string {
  const parts = [
    ...Object.entries(report.requests.byStatus).map(([s, n]) => `${s} ×${n}`),
    ...Object.entries(report.requests.byErrorKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`),
  ];
  return parts.length ? parts.join(', ') : 'none';
}

function latencyRows(report: Report): string[][] {
  const row = (name: string, s: LatencyStats) => [name, String(s.count), fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99), fmtMs(s.max)];
  return [row('all', report.latencyMs), ...PHASES.map((p) => row(p, report.latencyMs[p]))];
}

/** Column-aligned text table; `align` per column, 'l' or 'r' (default: first left, rest right). */
function alignTable(rows: string[][], align?: string): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const right = (i: number) => (align ? align[i] === 'r' : i > 0);
  return rows.map((r) => `  ${r.map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

export function consoleSummary(report: Report): string {
  const t = report.target;
  const lines = [
    `zerodrop verify  ${t.url}${t.host ? ` (Host: ${t.host})` : ''}  started ${report.startedAt}, ${fmtS(report.durationMs)} of load`,
    `requests  ${report.requests.total} total, ${report.requests.ok} OK, ${report.requests.notOk} not OK (${notOkBreakdown(report)})`,
    `success   ${report.successPercent} (threshold ${formatPercent(report.threshold)})`,
    `rate      ${report.rate.target} req/s target, ${report.rate.achieved.toFixed(1)} achieved; send lag p50 ${fmtMs(report.sendLagMs.p50)} / p99 ${fmtMs(report.sendLagMs.p99)} / max ${fmtMs(report.sendLagMs.max)} ms`,
    'latency of OK responses (ms)',
    ...alignTable([['phase', 'n', 'p50', 'p90', 'p99', 'max'], ...latencyRows(report)]),
    `versions  ${versionRanges(report).map(formatRange).join(', ') || 'none seen'}`,
    'events',
    ...(report.events.length ? alignTable(report.events.map((e) => [fmtS(e.atMs), e.kind, e.detail ?? '']), 'rll') : ['  none']),
    ...(report.mix.length > 1 ? ['request mix', ...alignTable([['entry', 'n', 'OK', 'not OK', 'p99 ms'], ...report.mix.map((m) => [m.name, String(m.total), String(m.ok), String(m.notOk), fmtMs(m.okLatencyP99Ms)])])] : []),
    ...(report.targets.length > 1 ? [`targets   ${report.targets.map((t) => `${t.url} ${t.ok}/${t.total}`).join(', ')}`] : []),
    ...(report.capacity ? [`capacity  routable ${capacityText(report.capacity)}`] : []),
    `deploy    ${report.deployment.status} (expected ${report.deployment.expected})${report.deployment.jobVersion !== undefined ? `, job version ${report.deployment.jobVersion}` : ''}${report.deployments.length > 1 ? `, ${report.deployments.length} deployments` : ''}`,
    `verdict   ${report.verdict.pass ? 'PASS' : 'FAIL'}`,
    ...report.verdict.reasons.map((r) => `  - ${r}`),
  ];
  return lines.join('\n');
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
/** A Markdown table; `align` per column, 'l' or 'r' (default: first left, rest right). */
const mdTable = (head: string[], rows: string[][], align?: string) => [
  `| ${head.join(' | ')} |`,
  `|${head.map((_, i) => ((align ? align[i] === 'r' : i > 0) ? '---:' : '---')).join('|')}|`,
  ...rows.map((r) => `| ${r.map(mdEscape).join(' | ')} |`),
];

/** Drops listed in report.md; the rest are in report.json. */
export const MARKDOWN_MAX_DROPS = 50;

export function markdownReport(report: Report): string {
  const t = report.target;
  const out = [
    `# zerodrop verify: ${report.verdict.pass ? '✅ PASS' : '❌ FAIL'}`,
    '',
    `Target \`${t.url}\`${t.host ? ` (Host \`${t.host}\`)` : ''}, started ${report.startedAt}, ${fmtS(report.durationMs)} of load at ${report.rate.target} req/s.`,
    '',
    ...report.verdict.reasons.map((r) => `- ${r}`),
    '',
    '![timeline](timeline.svg)',
    '',
    '## Requests',
    '',
    ...mdTable(['', 'value'], [
      ['total', String(report.requests.total)],
      ['OK', String(report.requests.ok)],
      ['not OK', `${report.requests.notOk} (${notOkBreakdown(report)})`],
      ['success ratio', `${report.successPercent} (threshold ${formatPercent(report.threshold)})`],
      ['rate', `${report.rate.target} req/s target, ${report.rate.achieved.toFixed(1)} achieved`],
      ['send lag', `p50 ${fmtMs(report.sendLagMs.p50)} / p99 ${fmtMs(report.sendLagMs.p99)} / max ${fmtMs(report.sendLagMs.max)} ms`],
      ['measurement', report.measurement.valid ? 'valid' : `invalid: ${report.measurement.invalidReason ?? ''}`],
      ['deployment', `${report.deployment.status} (expected ${report.deployment.expected})${report.deployment.kind === 'rolling' ? ', a system job\'s rolling update (no deployment before Nomad 1.11)' : ''}${report.deployment.id ? `, id \`${report.deployment.id}\`` : ''}${report.deployment.jobVersion !== undefined ? `, job version ${report.deployment.jobVersion}` : ''}`],
      ['servers', report.servers ? `Nomad ${report.servers.nomad.join(', ') || '?'}, Consul ${report.servers.consul.join(', ') || '?'}` : 'not read'],
    ], 'll'),
    '',
    '## Phases',
    '',
    ...mdTable(['phase', 'from', 'to', 'requests', 'OK', 'not OK', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], PHASES.map((p) => {
      const ph = report.phases[p];
      const l = report.latencyMs[p];
      return [p, fmtS(ph.fromMs), ph.toMs === null ? 'end' : fmtS(ph.toMs), String(ph.total), String(ph.ok), String(ph.notOk), fmtMs(l.p50), fmtMs(l.p90), fmtMs(l.p99), fmtMs(l.max)];
    })),
    '',
    `Latency is of OK responses; overall p50 ${fmtMs(report.latencyMs.p50)}, p99 ${fmtMs(report.latencyMs.p99)}, max ${fmtMs(report.latencyMs.max)} ms.`,
    '',
    '## Version mix',
    '',
    ...mdTable(['seconds', 'mix'], versionRanges(report).map((r) => [r.fromSecond === r.toSecond ? `${r.fromSecond}` : `${r.fromSecond}–${r.toSecond}`, r.shares.map(([v, p]) => `${v} ${p} %`).join(', ')]), 'rl'),
    '',
    ...extraSections(report),
    '## Deployment events',
    '',
    ...(report.events.length ? mdTable(['t', 'event', 'detail'], report.events.map((e) => [fmtS(e.atMs), e.kind, e.detail ?? '']), 'rll') : ['none']),
    '',
    `## Drops (${report.drops.length})`,
    '',
    ...(report.drops.length
      ? [
          ...mdTable(['seq', 'due', 'status', 'error', 'latency ms', 'version'], report.drops.slice(0, MARKDOWN_MAX_DROPS).map((d) => [String(d.seq), fmtS(d.scheduledMs), d.status === null ? '–' : String(d.status), d.errorKind ? `${d.errorKind}${d.errorCode ? ` (${d.errorCode})` : ''}` : '–', fmtMs(d.latencyMs), d.version ?? '–']), 'rrrlrl'),
          ...(report.drops.length > MARKDOWN_MAX_DROPS ? ['', `… and ${report.drops.length - MARKDOWN_MAX_DROPS} more in report.json.`] : []),
        ]
      : ['none']),
    '',
  ];
  return out.join('\n');
}

export interface CapacityRange {
  fromSecond: number;
  toSecond: number;
  routable: number | null;
  answering: number | null;
}

/** Consecutive seconds with the same routable and answering counts, merged. */
export function capacityRanges(c: CapacitySummary): CapacityRange[] {
  const out: CapacityRange[] = [];
  for (const s of c.bySecond) {
    const last = out[out.length - 1];
    if (last && last.routable === s.routable && last.answering === s.answering) last.toSecond = s.second;
    else out.push({ fromSecond: s.second, toSecond: s.second, routable: s.routable, answering: s.answering });
  }
  return out;
}

function capacityText(c: CapacitySummary): string {
  const r = c.routable;
  return `min ${r.min ?? '–'} max ${r.max ?? '–'} (${c.source}, ${r.polls} polls, ${r.failedPolls} failed)${c.answering.min !== null ? `; answering min ${c.answering.min} max ${c.answering.max}` : ''}`;
}

function extraSections(report: Report): string[] {
  const out: string[] = [];
  if (report.mix.length > 1 || report.mix[0]?.path) {
    out.push('## Request mix', '', ...mdTable(['entry', 'weight', 'expect', 'requests', 'share', 'OK', 'not OK', 'outcomes', 'p99 ms', 'max ms'], report.mix.map((m) => [m.name, String(m.weight), String(m.expectStatus), String(m.total), `${(m.share * 100).toFixed(1)} %`, String(m.ok), String(m.notOk), Object.entries(m.byOutcome).map(([k, n]) => `${k} ×${n}`).join(', '), fmtMs(m.okLatencyP99Ms), fmtMs(m.okLatencyMaxMs)]), 'lrrrrrrlrr'), '');
  }
  if (report.targets.length > 1) {
    out.push('## Targets (round robin)', '', ...mdTable(['URL', 'requests', 'OK', 'not OK'], report.targets.map((t) => [`\`${t.url}\``, String(t.total), String(t.ok), String(t.notOk)])), '');
  }
  if (report.deployments.length > 0) {
    out.push('## Deployments', '', ...mdTable(['id', 'job version', 'status', 'description'], report.deployments.map((d) => [`\`${d.id.slice(0, 8)}\``, String(d.jobVersion), d.status, d.statusDescription]), 'lrll'), '');
  }
  const l = report.ledger;
  if (l) {
    out.push('## Idempotency ledger', '', `Ledger \`${l.file}\`: every non-idempotent request answered OK must have run exactly once, none twice; one that failed on the client may have run at most once.`, '',
      ...mdTable(['', 'count'], [
        ['checked (carried a request id)', String(l.checked)],
        ['answered OK, executed once', String(l.exactlyOnce)],
        ['**lost** (answered OK, never executed)', String(l.lost)],
        ['**doubled** (executed twice or more)', String(l.doubled)],
        ['unknown to the client (failed), executed once', String(l.unknown.executed)],
        ['unknown to the client (failed), not executed', String(l.unknown.notExecuted)],
        ['unreadable ledger lines', String(l.unreadableLines)],
      ], 'lr'),
      ...(l.lostIds.length ? ['', `Lost: ${l.lostIds.map((i) => `\`${i}\``).join(', ')}`] : []),
      ...(l.doubledIds.length ? ['', `Doubled: ${l.doubledIds.map((i) => `\`${i}\``).join(', ')}`] : []),
      '');
  }
  const c = report.capacity;
  if (c) {
    out.push('## Capacity', '', `Routable: instances passing in ${c.source}, polled once per second (the fewest seen in a second); answering: distinct \`x-app-instance\` values among OK responses. Routable ${capacityText(c)}.`, '',
      ...mdTable(['seconds', 'routable', 'answering'], capacityRanges(c).map((r) => [r.fromSecond === r.toSecond ? `${r.fromSecond}` : `${r.fromSecond}–${r.toSecond}`, r.routable === null ? '–' : String(r.routable), r.answering === null ? '–' : String(r.answering)]), 'rrr'), '');
  }
  return out;
}

/** Writes report.json, report.md and timeline.svg into `dir` (created if missing). */
export async function writeReport(dir: string, report: Report): Promise<{ json: string; md: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), md: join(dir, 'report.md'), svg: join(dir, 'timeline.svg') };
  // Key order is the construction order in summarize(), so the JSON diffs cleanly run to run.
  await writeFile(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(paths.md, markdownReport(report));
  await writeFile(paths.svg, timelineSvg(report));
  return paths;
}
