// The run charts: one uPlot per quantity, every selected run overlaid in it, training series
// smoothed (the raw series drawn faintly behind), validation series as points joined by dashes.
import uPlot from '/vendor/uPlot.esm.js';
import { smooth } from '/smooth.js';

/** The panels, in page order; `optional` ones appear only when a selected run logs their quantity. */
export const PANELS = [
  { key: 'loss', title: 'loss: training (solid), validation (dashed)', series: [{ field: 'loss', smooth: true }, { field: 'valLoss', suffix: 'val', eval: true }] },
  { key: 'lr', title: 'learning rate', series: [{ field: 'lr' }] },
  { key: 'gradNorm', title: 'gradient norm', series: [{ field: 'gradNorm', smooth: true }] },
  { key: 'tokensPerSec', title: 'tokens/s', series: [{ field: 'tokensPerSec', smooth: true }] },
  { key: 'valAccuracy', title: 'validation accuracy', optional: true, series: [{ field: 'valAccuracy', eval: true }] },
  { key: 'valMse', title: 'validation MSE (data units)', optional: true, series: [{ field: 'valMse', eval: true }] },
  { key: 'valMae', title: 'validation MAE (data units)', optional: true, series: [{ field: 'valMae', eval: true }] },
];

export function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a !== 0 && a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/**
 * The aligned data and series of one panel for the runs [{ id, name, colour, lines }].
 * Steps become the shared x; a run without a value at a step gets null there.
 */
export function panelData(panel, runs, weight, logY) {
  const tables = [];
  const series = [];
  for (const run of runs) {
    for (const s of panel.series) {
      const points = run.lines.filter((l) => typeof l[s.field] === 'number');
      if (points.length === 0) continue;
      const xs = points.map((l) => l.step);
      // A log axis cannot show 0 or negatives: leave them out rather than break the scale.
      const ys = points.map((l) => (logY && !(l[s.field] > 0) ? null : l[s.field]));
      const label = s.suffix ? `${run.name} ${s.suffix}` : run.name;
      const base = { runId: run.id, field: s.field, stroke: run.colour, width: 1.6, spanGaps: true };
      if (s.smooth && weight > 0) {
        tables.push([xs, ys]);
        series.push({ ...base, label: `${label} (raw)`, raw: true, stroke: `${run.colour}40`, width: 1 });
        tables.push([xs, smooth(ys, weight)]);
        series.push({ ...base, label, smoothed: true });
      } else {
        tables.push([xs, ys]);
        series.push({ ...base, label, ...(s.eval ? { dash: [6, 4], points: { show: true, size: 6, fill: run.colour } } : {}) });
      }
    }
  }
  if (tables.length === 0) return null;
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  return { data, series };
}

/** One panel's chart: rebuilt when its series change, otherwise given new data in place. */
export class Panel {
  constructor(parent, panel) {
    this.panel = panel;
    this.root = document.createElement('div');
    this.root.className = 'panel';
    this.root.dataset.panel = panel.key;
    parent.append(this.root);
    this.plot = null;
    this.signature = '';
  }

  update(runs, weight, logY) {
    const built = panelData(this.panel, runs, weight, logY);
    if (built === null) { this.destroy(); this.root.hidden = true; return; }
    this.root.hidden = false;
    const signature = JSON.stringify([logY, built.series.map((s) => [s.label, s.stroke, !!s.raw, !!s.points])]);
    if (this.plot && signature === this.signature) {
      this.plot.setData(built.data);
      return;
    }
    this.destroy();
    this.signature = signature;
    const width = Math.max(280, this.root.clientWidth || 480);
    this.plot = new uPlot({
      width, height: 230, title: this.panel.title,
      scales: { x: { time: false }, y: logY ? { distr: 3, log: 10 } : {} },
      axes: [
        { label: 'step', values: (u, ticks) => ticks.map(fmt) },
        { size: 64, values: (u, ticks) => ticks.map(fmt) },
      ],
      cursor: { sync: { key: 'recur-board' }, drag: { x: true, y: false } },
      legend: { live: true },
      series: [
        { label: 'step', value: (u, v) => (v === null || v === undefined ? '–' : String(v)) },
        ...built.series.map((s) => ({ ...s, value: (u, v) => fmt(v) })),
      ],
    }, built.data, this.root);
    // The faint raw series stay out of the legend; the smoothed ones carry the values.
    const rows = this.plot.root.querySelectorAll('.u-legend .u-series');
    built.series.forEach((s, i) => { if (s.raw && rows[i + 1]) rows[i + 1].style.display = 'none'; });
    this.plot.series.forEach((s, i) => { if (i > 0) s.meta = built.series[i - 1]; });
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(280, this.root.clientWidth), height: 230 });
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.signature = '';
  }
}
