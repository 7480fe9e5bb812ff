/**
 * timeline.svg: what happened to every request, second by second, against the
 * deployment's events. Self-contained (generic font family, no scripts, no external
 * references) so it renders the same in a browser, a Markdown viewer and rsvg-convert.
 */
import type { CapacitySecond } from './capacity.ts';
import type { OutcomeClass, Report } from './report-shape.ts';

// Drawing order bottom-up: OK first, drops stacked on top where the eye looks.
// The label and colour of each of OUTCOME_CLASSES (report-shape.ts), in its order.
const CLASSES = [
  { key: 'ok',        label: 'OK',           color: '#2e9e44' },
  { key: 'http5xx',   label: '5xx',          color: '#d7301f' },
  { key: 'httpOther', label: 'other status', color: '#f768a1' },
  { key: 'refused',   label: 'refused',      color: '#99000d' },
  { key: 'reset',     label: 'reset',        color: '#f16913' },
  { key: 'timeout',   label: 'timeout',      color: '#e6a100' },
  { key: 'dns',       label: 'dns',          color: '#8c510a' },
  { key: 'other',     label: 'other error',  color: '#c51b8a' },
] as const satisfies readonly { key: OutcomeClass; label: string; color: string }[];

// Cool colours only, so a version never reads as an outcome.
const VERSION_COLORS = ['#2c7fb8', '#8856a7', '#41b6c4', '#253494', '#c994c7', '#7fcdbb', '#6a51a3', '#0570b0'];
const NO_VERSION = '#d9d9d9';

const W = 1100;
const LEFT = 70;
const RIGHT = 24;
const PLOT_W = W - LEFT - RIGHT;
const OUTCOME_H = 160;
const RUG_H = 8;
const VERSION_H = 56;
const ROW_H = 13;
const CAP_H = 50;
const CAP_COLOR = '#1f5fa8';
/** Smallest drawn height of a non-OK segment: 1 drop in 100 would otherwise be 1.6 px. */
const MIN_DROP_PX = 3;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n1 = (v: number) => (Math.round(v * 10) / 10).toString();
/** Rough width of 11 px sans-serif text, for label placement without a font engine. */
const textW = (s: string, px = 11) => s.length * px * 0.56;

function tickStep(seconds: number): number {
  return [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600].find((s) => seconds / s <= 12) ?? 3600;
}

/** Assigns labels (given their left edge) to rows so none overlaps the previous one in its row. */
function stagger(items: Array<{ labelX: number; text: string }>): number[] {
  const rowEnds: number[] = [];
  return items.map(({ labelX, text }) => {
    let row = rowEnds.findIndex((end) => end + 6 <= labelX);
    if (row === -1) row = rowEnds.push(-Infinity) - 1;
    rowEnds[row] = labelX + textW(text);
    return row;
  });
}

export function timelineSvg(report: Report): string {
  const secondsData = report.outcomes.bySecond.length;
  const lastEventS = Math.max(0, ...report.events.map((e) => e.atMs / 1000));
  const span = Math.max(1, secondsData, Math.ceil(report.durationMs / 1000), Math.ceil(lastEventS + 0.001));
  const x = (s: number) => LEFT + (s / span) * PLOT_W;
  const barW = PLOT_W / span;
  const gap = barW >= 6 ? 1 : 0;

  // Labels: phase names on the first row, then deployment events staggered below.
  const phases = report.phases;
  const deployEndMs = phases.deploy.toMs;
  const boundaries = [
    { atMs: phases.baseline.toMs ?? 0, text: 'deploy phase' },
    ...(deployEndMs === null ? [] : [{ atMs: deployEndMs, text: 'tail phase' }]),
  ];
  // A label goes right of its line, or left of it where it would run off the right edge.
  const eventItems = [...report.events]
    .sort((a, b) => a.atMs - b.atMs)
    .map((e) => {
      const ex = x(e.atMs / 1000);
      const text = `${e.kind} ${n1(e.atMs / 1000)}s`;
      return { x: ex, text, labelX: ex + 3 + textW(text) > W - 4 ? ex - 3 - textW(text) : ex + 3 };
    });
  const eventRows = stagger(eventItems);
  const rows = Math.max(0, ...eventRows.map((r) => r + 1));

  const titleY = 22;
  const subY = 40;
  const phaseRowY = 60;
  const eventTop = phaseRowY + 6;
  const outcomeTop = eventTop + rows * ROW_H + 8;
  const outcomeBottom = outcomeTop + OUTCOME_H;
  const rugTop = outcomeBottom + 4;
  const versionTop = rugTop + RUG_H + 6;
  const versionBottom = versionTop + VERSION_H;
  const cap = report.capacity;
  const capTop = versionBottom + 8;
  const capBottom = capTop + CAP_H;
  const axisY = cap ? capBottom : versionBottom;
  const legendY = axisY + 44;
  const versionLegendY = legendY + 20;
  const H = versionLegendY + 24;

  const out: string[] = [];
  const push = (s: string) => out.push(s);
  push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">`);
  push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);

  // Title and subtitle.
  const v = report.verdict.pass;
  push(`<text x="${LEFT}" y="${titleY}" font-size="15" font-weight="bold" fill="#222">zerodrop verify: ${report.requests.total} requests, ${report.requests.ok} OK, ${report.requests.notOk} not OK, ${esc(report.successPercent)} <tspan fill="${v ? '#1a7f37' : '#cf222e'}">${v ? 'PASS' : 'FAIL'}</tspan></text>`);
  const sub = [
    `${report.target.url}${report.target.host ? ` (Host ${report.target.host})` : ''}`,
    `${report.rate.target} req/s (achieved ${report.rate.achieved.toFixed(1)})`,
    `threshold ${(report.threshold * 100).toFixed(3)} %`,
    `deployment ${report.deployment.status} (expected ${report.deployment.expected})`,
  ].join('  ·  ');
  const invalid = report.measurement.valid ? '' : `  ·  <tspan fill="#cf222e" font-weight="bold">MEASUREMENT INVALID</tspan>`;
  push(`<text x="${LEFT}" y="${subY}" fill="#555">${esc(sub)}${invalid}<title>${esc(report.measurement.invalidReason ?? 'measurement valid')}</title></text>`);

  // Deploy phase shading behind both bands.
  const deployFrom = (phases.deploy.fromMs ?? 0) / 1000;
  const deployTo = deployEndMs === null ? span : deployEndMs / 1000;
  push(`<rect x="${n1(x(deployFrom))}" y="${phaseRowY - 11}" width="${n1(Math.max(0, x(deployTo) - x(deployFrom)))}" height="${versionBottom - phaseRowY + 11}" fill="#fff5d6"/>`);
  // Phase names, centred in their spans.
  const phaseSpans: Array<[string, number, number]> = [
    ['baseline', 0, deployFrom],
    ['deploy', deployFrom, deployTo],
    ['tail', deployTo, span],
  ];
  for (const [name, from, to] of phaseSpans) {
    if (x(to) - x(from) < textW(name) + 4) continue;
    push(`<text x="${n1((x(from) + x(to)) / 2)}" y="${phaseRowY}" text-anchor="middle" fill="#7a6a3a" font-style="italic">${name}</text>`);
  }

  // Band frames and y axes.
  push(`<rect x="${LEFT}" y="${outcomeTop}" width="${PLOT_W}" height="${OUTCOME_H}" fill="none" stroke="#bbb"/>`);
  push(`<rect x="${LEFT}" y="${versionTop}" width="${PLOT_W}" height="${VERSION_H}" fill="none" stroke="#bbb"/>`);
  const yMax = Math.max(1, ...report.outcomes.bySecond.map((b) => b.total));
  for (const f of [0, 0.5, 1]) {
    const y = outcomeBottom - f * OUTCOME_H;
    push(`<line x1="${LEFT - 4}" y1="${n1(y)}" x2="${LEFT}" y2="${n1(y)}" stroke="#888"/>`);
    push(`<text x="${LEFT - 6}" y="${n1(y + 4)}" text-anchor="end" fill="#555">${Math.round(f * yMax)}</text>`);
  }
  push(`<text transform="translate(16 ${outcomeTop + OUTCOME_H / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests / s</text>`);
  push(report.requests.notOk > 0
    ? `<text x="${LEFT - 6}" y="${rugTop + RUG_H - 1}" text-anchor="end" fill="#99000d" font-size="9">drops</text>`
    : `<text x="${LEFT - 6}" y="${rugTop + RUG_H - 1}" text-anchor="end" fill="#1a7f37" font-size="9">no drops</text>`);
  push(`<text transform="translate(16 ${versionTop + VERSION_H / 2}) rotate(-90)" text-anchor="middle" fill="#333">version</text>`);
  push(`<text x="${LEFT - 6}" y="${versionTop + 9}" text-anchor="end" fill="#555" font-size="9">100 %</text>`);
  push(`<text x="${LEFT - 6}" y="${versionBottom}" text-anchor="end" fill="#555" font-size="9">0 %</text>`);

  // Outcome bars: heights by count on a shared scale (a short last second stays short);
  // every non-OK class present gets at least MIN_DROP_PX so a single drop is visible.
  push('<g shape-rendering="crispEdges">');
  for (const b of report.outcomes.bySecond) {
    if (b.total === 0) continue;
    const bx = x(b.second) + gap / 2;
    const bw = Math.max(1, barW - gap);
    const fullH = (b.total / yMax) * OUTCOME_H;
    const dropH = CLASSES.slice(1).map((c) => (b[c.key] > 0 ? Math.max(MIN_DROP_PX, (b[c.key] / yMax) * OUTCOME_H) : 0));
    const okH = b.ok > 0 ? Math.max(1, fullH - dropH.reduce((a, h) => a + h, 0)) : 0;
    let y = outcomeBottom;
    const seg = (h: number, color: string, title: string) => {
      if (h <= 0) return;
      y -= h;
      push(`<rect x="${n1(bx)}" y="${n1(y)}" width="${n1(bw)}" height="${n1(h)}" fill="${color}"><title>${esc(title)}</title></rect>`);
    };
    seg(okH, CLASSES[0].color, `${b.second}s: ${b.ok} OK of ${b.total}`);
    CLASSES.slice(1).forEach((c, i) => seg(dropH[i]!, c.color, `${b.second}s: ${b[c.key]} ${c.label} of ${b.total}`));
    const drops = b.total - b.ok;
    if (drops > 0) {
      // The rug row repeats every second with a drop, full height, whatever the scale.
      push(`<rect x="${n1(bx)}" y="${rugTop}" width="${n1(Math.max(2, bw))}" height="${RUG_H}" fill="#cf222e"><title>${esc(`${b.second}s: ${drops} dropped`)}</title></rect>`);
    }
  }
  if (report.requests.total === 0) {
    push(`<text x="${LEFT + PLOT_W / 2}" y="${outcomeTop + OUTCOME_H / 2}" text-anchor="middle" fill="#999">no requests recorded</text>`);
  }

  // Version band: share of each version among responses that carried one.
  const vColor = new Map(report.versions.names.map((name, i) => [name, VERSION_COLORS[i % VERSION_COLORS.length]!]));
  for (const s of report.versions.bySecond) {
    const bx = x(s.second) + gap / 2;
    const bw = Math.max(1, barW - gap);
    const n = Object.values(s.counts).reduce((a, c) => a + c, 0);
    if (n === 0) {
      if ((report.outcomes.bySecond[s.second]?.total ?? 0) > 0) push(`<rect x="${n1(bx)}" y="${versionTop}" width="${n1(bw)}" height="${VERSION_H}" fill="${NO_VERSION}"><title>${s.second}s: no version header</title></rect>`);
      continue;
    }
    let y = versionBottom;
    for (const name of report.versions.names) {
      const c = s.counts[name] ?? 0;
      if (!c) continue;
      const h = (c / n) * VERSION_H;
      y -= h;
      push(`<rect x="${n1(bx)}" y="${n1(y)}" width="${n1(bw)}" height="${n1(h)}" fill="${vColor.get(name)!}"><title>${esc(`${s.second}s: ${name} ${Math.round((c / n) * 100)} %`)}</title></rect>`);
    }
  }
  push('</g>');

  // Capacity band: routable instances (Consul passing) as a solid step line, distinct
  // answering instances dashed; both on one integer scale.
  if (cap) {
    const cMax = Math.max(1, cap.routable.max ?? 0, cap.answering.max ?? 0);
    const cy = (n: number) => capBottom - (n / cMax) * (CAP_H - 4);
    push(`<rect x="${LEFT}" y="${capTop}" width="${PLOT_W}" height="${CAP_H}" fill="none" stroke="#bbb"/>`);
    push(`<text transform="translate(16 ${capTop + CAP_H / 2}) rotate(-90)" text-anchor="middle" fill="#333" font-size="10">instances</text>`);
    for (const n of [0, cMax]) push(`<text x="${LEFT - 6}" y="${n1(cy(n) + 4)}" text-anchor="end" fill="#555" font-size="9">${n}</text>`);
    const steps = (pick: (b: CapacitySecond) => number | null): string[] => {
      // One path segment per run of seconds with a value; a gap (no poll answered) breaks the line.
      const paths: string[] = [];
      let d = '';
      for (const b of cap.bySecond) {
        const v = pick(b);
        if (v === null) {
          if (d) paths.push(d);
          d = '';
          continue;
        }
        d += `${d ? 'L' : 'M'}${n1(x(b.second))} ${n1(cy(v))}H${n1(x(b.second + 1))}`;
      }
      if (d) paths.push(d);
      return paths;
    };
    for (const d of steps((b) => b.answering)) push(`<path d="${d}" fill="none" stroke="#7fb3e0" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    for (const d of steps((b) => b.routable)) push(`<path d="${d}" fill="none" stroke="${CAP_COLOR}" stroke-width="2"><title>${esc(`routable instances (${cap.source}): min ${cap.routable.min ?? '–'}, max ${cap.routable.max ?? '–'}`)}</title></path>`);
  }

  // Phase boundaries: long dashes, through both bands.
  for (const bnd of boundaries) {
    const bx = n1(x(bnd.atMs / 1000));
    push(`<line x1="${bx}" y1="${phaseRowY - 11}" x2="${bx}" y2="${versionBottom}" stroke="#9a7b1c" stroke-width="1.5" stroke-dasharray="8 4"><title>${esc(`${bnd.text} from ${n1(bnd.atMs / 1000)}s`)}</title></line>`);
  }
  // Deployment events: short dashes from their label down through both bands.
  eventItems.forEach((e, i) => {
    const ly = eventTop + (eventRows[i]! + 1) * ROW_H - 3;
    const ex = n1(e.x);
    push(`<line x1="${ex}" y1="${ly - 9}" x2="${ex}" y2="${versionBottom}" stroke="#333" stroke-opacity="0.7" stroke-dasharray="3 3"/>`);
    push(`<text x="${n1(e.labelX)}" y="${ly}" fill="#222">${esc(e.text)}</text>`);
  });

  // X axis.
  const step = tickStep(span);
  for (let s = 0; s <= span + 1e-9; s += step) {
    const tx = n1(x(s));
    push(`<line x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 4}" stroke="#888"/>`);
    push(`<line x1="${tx}" y1="${outcomeBottom}" x2="${tx}" y2="${outcomeBottom + 3}" stroke="#888"/>`);
    push(`<text x="${tx}" y="${axisY + 15}" text-anchor="middle" fill="#555">${s}</text>`);
  }
  push(`<text x="${LEFT + PLOT_W / 2}" y="${axisY + 30}" text-anchor="middle" fill="#333">seconds since load start</text>`);

  // Legends: outcome classes with their totals, then versions.
  let lx = LEFT;
  const legend = (y: number, color: string, text: string) => {
    push(`<rect x="${n1(lx)}" y="${y - 9}" width="10" height="10" fill="${color}"/>`);
    push(`<text x="${n1(lx + 14)}" y="${y}" fill="#333">${esc(text)}</text>`);
    lx += 14 + textW(text) + 16;
  };
  const totals = Object.fromEntries(CLASSES.map((c) => [c.key, report.outcomes.bySecond.reduce((a, b) => a + b[c.key], 0)]));
  for (const c of CLASSES) legend(legendY, c.color, `${c.label} ${totals[c.key]}`);
  lx = LEFT;
  push(`<text x="${n1(lx)}" y="${versionLegendY}" fill="#333">versions:</text>`);
  lx += textW('versions:') + 10;
  if (report.versions.names.length === 0) push(`<text x="${n1(lx)}" y="${versionLegendY}" fill="#999">none seen (no x-app-version header)</text>`);
  for (const name of report.versions.names) legend(versionLegendY, vColor.get(name)!, name);
  if (cap) {
    lx += 10;
    legend(versionLegendY, CAP_COLOR, `routable instances (min ${cap.routable.min ?? '–'})`);
    if (cap.answering.min !== null) legend(versionLegendY, '#7fb3e0', 'answering instances (dashed)');
  }

  push('</svg>');
  return `${out.join('\n')}\n`;
}
