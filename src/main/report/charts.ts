/**
 * Dependency-free SVG charts: the loss curves of a run (`loss.svg` next to metrics.jsonl) and
 * the bar chart of a sweep's metric per trial. Plain SVG 1.1, so browsers, GitHub's markdown
 * preview and image viewers all show them.
 */
import type { MetricsLine } from './metrics.js';

const WIDTH = 720;
const HEIGHT = 420;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const COLORS = { train: '#1f77b4', val: '#ff7f0e', bar: '#4c78a8', best: '#2ca02c', failed: '#d62728', axis: '#333', grid: '#e5e5e5' };

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Two decimals at most, so coordinates stay short; never NaN (callers pass finite numbers). */
function coord(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** A value for a tick or bar label: short, without float noise. */
export function formatLabel(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(4)));
}

/** Round tick values (1, 2 or 5 × 10^k apart) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - pad, max + pad];
  }
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  // The epsilon keeps 0.3 / 0.1 = 2.9999… from adding a tick below the data.
  for (let i = Math.floor(min / step + 1e-9); i <= Math.ceil(max / step - 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** [min, max] without spreading into Math.min, which overflows the stack on long runs. */
function extent(values: number[]): [number, number] {
  return values.reduce<[number, number]>(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], [Infinity, -Infinity]);
}

function linear(domainMin: number, domainMax: number, rangeMin: number, rangeMax: number): (v: number) => number {
  const span = domainMax - domainMin || 1;
  return (v) => rangeMin + ((v - domainMin) / span) * (rangeMax - rangeMin);
}

function svgOpen(title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(title)}</text>`,
  ];
}

/** Horizontal grid lines with labels on the left, the axis lines and the axis titles. */
function axes(box: Box, yTicks: number[], y: (v: number) => number, yTitle: string, xTitle: string): string[] {
  const out: string[] = [];
  const right = box.left + box.width;
  const bottom = box.top + box.height;
  for (const tick of yTicks) {
    const py = coord(y(tick));
    out.push(`<line x1="${box.left}" y1="${py}" x2="${right}" y2="${py}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${box.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${formatLabel(tick)}</text>`);
  }
  out.push(`<line x1="${box.left}" y1="${box.top}" x2="${box.left}" y2="${bottom}" stroke="${COLORS.axis}"/>`);
  out.push(`<line x1="${box.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="${COLORS.axis}"/>`);
  const midY = box.top + box.height / 2;
  out.push(`<text x="16" y="${midY}" text-anchor="middle" transform="rotate(-90 16 ${midY})">${escapeXml(yTitle)}</text>`);
  if (xTitle) out.push(`<text x="${box.left + box.width / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  return out;
}

function noData(title: string, message: string): string {
  return [...svgOpen(title), `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#666">${escapeXml(message)}</text>`, '</svg>', ''].join('\n');
}

/**
 * Training loss and validation loss against step: one polyline point per metrics line that
 * has the value (non-finite values are left out), axes with round ticks, a legend and a title.
 */
export function lossChartSvg(lines: MetricsLine[], title = 'loss'): string {
  const train = lines.filter((l) => Number.isFinite(l.step) && Number.isFinite(l.loss)).map((l) => [l.step, l.loss] as const);
  const val = lines.filter((l) => Number.isFinite(l.step) && Number.isFinite(l.valLoss)).map((l) => [l.step, l.valLoss!] as const);
  const points = [...train, ...val];
  if (points.length === 0) return noData(title, 'no metrics yet');

  const box: Box = { left: 70, top: 56, width: WIDTH - 70 - 24, height: HEIGHT - 56 - 56 };
  const [, lastStep] = extent(points.map(([s]) => s));
  const [lowLoss, highLoss] = extent(points.map(([, v]) => v));
  const xTicks = niceTicks(0, lastStep, 6);
  const yTicks = niceTicks(lowLoss, highLoss, 5);
  const x = linear(xTicks[0]!, xTicks.at(-1)!, box.left, box.left + box.width);
  const y = linear(yTicks[0]!, yTicks.at(-1)!, box.top + box.height, box.top);

  const out = svgOpen(title);
  out.push(...axes(box, yTicks, y, 'loss', 'step'));
  const bottom = box.top + box.height;
  for (const tick of xTicks) {
    const px = coord(x(tick));
    out.push(`<line x1="${px}" y1="${bottom}" x2="${px}" y2="${bottom + 5}" stroke="${COLORS.axis}"/>`);
    out.push(`<text x="${px}" y="${bottom + 18}" text-anchor="middle">${formatLabel(tick)}</text>`);
  }
  // Evaluations are sparse (often a single one), so their points get markers as well as a line.
  const series = [
    { name: 'train loss', className: 'train', points: train, color: COLORS.train, markers: train.length === 1 },
    { name: 'validation loss', className: 'val', points: val, color: COLORS.val, markers: true },
  ].filter((s) => s.points.length > 0);
  for (const s of series) {
    const xy = s.points.map(([step, v]) => [coord(x(step)), coord(y(v))] as const);
    out.push(`<polyline class="${s.className}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" points="${xy.map(([px, py]) => `${px},${py}`).join(' ')}"/>`);
    if (s.markers) out.push(...xy.map(([px, py]) => `<circle cx="${px}" cy="${py}" r="3.5" fill="${s.color}"/>`));
  }
  // The legend sits above the plot, where no curve can hide it.
  series.forEach((s, i) => {
    const lx = box.left + box.width - 280 + i * 140;
    const ly = box.top - 14;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${s.name}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

export interface Bar {
  label: string;
  /** null: the trial failed; drawn as a red ✗ on the axis. */
  value: number | null;
  /** Drawn in the highlight colour (the best trial). */
  highlight?: boolean;
}

/** One bar per entry, in the given order, from zero; each bar labelled with its value. */
export function barChartSvg(bars: Bar[], opts: { title: string; yLabel: string }): string {
  if (bars.length === 0) return noData(opts.title, 'no trials yet');
  const [low, high] = extent([0, ...bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v))]);
  // All failed (only the zero is left): an axis from 0 to 1 rather than one centred on zero.
  const yTicks = niceTicks(low, high > low ? high : low + 1, 5);

  // Long trial ids go under the bars at an angle; leave them room.
  const labelRoom = Math.min(140, 12 + 6 * Math.max(...bars.map((b) => b.label.length)));
  const box: Box = { left: 70, top: 44, width: WIDTH - 70 - 24, height: HEIGHT - 44 - labelRoom };
  const y = linear(yTicks[0]!, yTicks.at(-1)!, box.top + box.height, box.top);
  const slot = box.width / bars.length;
  const barWidth = Math.max(2, slot * 0.7);
  // Rotated 11px labels need about 14px each; with more bars than that, label every k-th one.
  const labelEvery = Math.ceil(14 / slot);

  const out = svgOpen(opts.title);
  out.push(...axes(box, yTicks, y, opts.yLabel, ''));
  const zero = y(0);
  const bottom = box.top + box.height;
  bars.forEach((bar, i) => {
    const center = box.left + slot * (i + 0.5);
    const label = escapeXml(bar.label);
    if (i % labelEvery === 0) out.push(`<text x="${coord(center)}" y="${bottom + 12}" text-anchor="end" transform="rotate(-35 ${coord(center)} ${bottom + 12})" font-size="11">${label}</text>`);
    if (bar.value === null || !Number.isFinite(bar.value)) {
      out.push(`<text class="failed" x="${coord(center)}" y="${coord(zero - 6)}" text-anchor="middle" fill="${COLORS.failed}" font-size="16" font-weight="700">✗</text>`);
      if (slot >= 30) out.push(`<text x="${coord(center)}" y="${coord(zero - 24)}" text-anchor="middle" fill="${COLORS.failed}" font-size="10">failed</text>`);
      return;
    }
    const top = Math.min(y(bar.value), zero);
    const height = Math.abs(y(bar.value) - zero);
    const fill = bar.highlight ? COLORS.best : COLORS.bar;
    out.push(`<rect class="bar" x="${coord(center - barWidth / 2)}" y="${coord(top)}" width="${coord(barWidth)}" height="${coord(height)}" fill="${fill}"><title>${label}: ${formatLabel(bar.value)}</title></rect>`);
    if (bars.length <= 24) {
      // The best bar may be too short to show its colour, so its label says it too.
      const style = bar.highlight ? ` fill="${COLORS.best}" font-weight="700"` : '';
      out.push(`<text x="${coord(center)}" y="${coord(top - 4)}" text-anchor="middle" font-size="10"${style}>${formatLabel(bar.value)}${bar.highlight ? ' ★ best' : ''}</text>`);
    }
  });
  out.push('</svg>', '');
  return out.join('\n');
}
