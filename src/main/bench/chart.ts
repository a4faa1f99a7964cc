/** `recur bench`'s SVG chart: one panel per workload, a bar per worker count. */
import { escapeXml } from '../report/charts.js';
import type { BenchReport } from './results.js';
import { WORKLOADS } from './workloads.js';

const PANEL_WIDTH = 220;
const PANEL_HEIGHT = 240;
const PLOT_TOP = 60;
const PLOT_BOTTOM = 200;
const MARGIN = 20;
/** Room for the title and the machine line with a single panel. */
const MIN_WIDTH = 480;
const BAR_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7'];

/**
 * One panel per workload (throughputs differ ~20× between W0 and W3, so each panel has its own
 * scale): a bar of tokens/s per worker count, labelled with the value and the speedup.
 */
export function benchSvg(report: BenchReport): string {
  const workloads = [...new Set(report.results.map((r) => r.workload))];
  const width = Math.max(MIN_WIDTH, MARGIN * 2 + workloads.length * PANEL_WIDTH);
  const height = PANEL_HEIGHT + 50;
  const { machine, kernels } = report;
  const cell = report.results[0]?.cell ?? 'lstm';
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${MARGIN}" y="22" font-size="15" font-weight="bold">recur bench: training tokens/s by worker count</text>`,
    `<text x="${MARGIN}" y="40" fill="#555">${escapeXml(`${cell.toUpperCase()}, ${kernels.chosen} kernels · ${machine.model}, ${machine.cpus} cpus, node ${machine.node}`)}</text>`,
  ];
  workloads.forEach((name, p) => {
    const results = report.results.filter((r) => r.workload === name);
    const w = WORKLOADS[name]!;
    const x0 = MARGIN + p * PANEL_WIDTH;
    const top = 20 + PLOT_TOP;
    const bottom = 20 + PLOT_BOTTOM;
    const maxTokens = Math.max(...results.map((r) => r.tokensPerSec));
    const slot = (PANEL_WIDTH - 40) / results.length;
    parts.push(`<text x="${x0 + PANEL_WIDTH / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">${name} H=${w.hidden} T=${w.seqLen} B=${w.batch}</text>`);
    parts.push(`<line x1="${x0 + 10}" y1="${bottom}" x2="${x0 + PANEL_WIDTH - 10}" y2="${bottom}" stroke="#333"/>`);
    results.forEach((r, i) => {
      const barHeight = maxTokens > 0 ? ((bottom - top - 30) * r.tokensPerSec) / maxTokens : 0;
      const x = x0 + 20 + i * slot + slot * 0.15;
      const barWidth = slot * 0.7;
      const cx = x + barWidth / 2;
      parts.push(`<rect x="${x}" y="${bottom - barHeight}" width="${barWidth}" height="${barHeight}" fill="${BAR_COLORS[i % BAR_COLORS.length]}"/>`);
      parts.push(`<text x="${cx}" y="${bottom - barHeight - 18}" text-anchor="middle">${formatTokens(r.tokensPerSec)}</text>`);
      parts.push(`<text x="${cx}" y="${bottom - barHeight - 5}" text-anchor="middle" fill="#555">×${r.speedup.toFixed(2)}</text>`);
      parts.push(`<text x="${cx}" y="${bottom + 16}" text-anchor="middle">${r.workers} worker${r.workers === 1 ? '' : 's'}</text>`);
    });
  });
  parts.push(`<text x="${MARGIN}" y="${height - 10}" fill="#555">bar label: tokens/s, ×speedup over 1 worker</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function formatTokens(tokensPerSec: number): string {
  if (tokensPerSec >= 1e6) return `${(tokensPerSec / 1e6).toFixed(2)}M tok/s`;
  if (tokensPerSec >= 1e3) return `${(tokensPerSec / 1e3).toFixed(1)}k tok/s`;
  return `${Math.round(tokensPerSec)} tok/s`;
}
