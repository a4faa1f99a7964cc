// A parallel-coordinates plot (W&B's default sweep view) on a <canvas>: one vertical axis per
// parameter and one for the metric, one polyline per trial. uPlot has none, and it is short.

const AXIS_TOP = 34;
const AXIS_BOTTOM = 26;
const SIDE = 70;

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{ keys: string[], metric: { name: string, goal: string },
 *           trials: { id: string, parameters: Record<string, unknown>, metric: number|null, status: string }[],
 *           highlight?: string|null }} view
 */
export function drawParallel(canvas, view) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const style = getComputedStyle(canvas);
  const ink = style.color || '#222';
  g.font = `12px ${style.fontFamily || 'sans-serif'}`;

  const drawn = view.trials.filter((t) => t.metric !== null && Number.isFinite(t.metric));
  const axes = [...view.keys.map((key) => axisFor(key, view.trials.map((t) => t.parameters[key]))),
    axisFor(view.metric.name, drawn.map((t) => t.metric), view.metric.goal)];
  if (axes.length < 2 || drawn.length === 0) {
    g.fillStyle = ink;
    g.fillText('no finished trials with a metric yet', 12, 24);
    return;
  }
  const x = (i) => SIDE + (i * (width - 2 * SIDE)) / (axes.length - 1);
  const y = (axis, value) => {
    const f = axis.position(value);
    return f === null ? null : AXIS_TOP + (1 - f) * (height - AXIS_TOP - AXIS_BOTTOM);
  };

  // Worst to best, so the best trials are drawn on top; colour runs from worst (red) to best (blue).
  const metricAxis = axes.at(-1);
  const goodness = (t) => (view.metric.goal === 'maximize' ? metricAxis.position(t.metric) : 1 - metricAxis.position(t.metric));
  const order = [...drawn].sort((a, b) => goodness(a) - goodness(b));
  for (const t of order) {
    const values = [...view.keys.map((k) => t.parameters[k]), t.metric];
    const stopped = t.status === 'stopped';
    const running = t.status === 'running' || t.status === 'stalled';
    const highlighted = view.highlight === t.id;
    g.strokeStyle = highlighted ? '#000' : stopped || running ? 'rgba(120,120,120,0.7)' : colour(goodness(t));
    g.lineWidth = highlighted ? 3 : 1.6;
    g.setLineDash(stopped ? [5, 4] : running ? [2, 3] : []);
    g.beginPath();
    let pen = false;
    values.forEach((v, i) => {
      const py = y(axes[i], v);
      if (py === null) { pen = false; return; }
      if (pen) g.lineTo(x(i), py); else g.moveTo(x(i), py);
      pen = true;
    });
    g.stroke();
  }
  g.setLineDash([]);

  axes.forEach((axis, i) => {
    const ax = x(i);
    g.strokeStyle = ink;
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(ax, AXIS_TOP);
    g.lineTo(ax, height - AXIS_BOTTOM);
    g.stroke();
    g.fillStyle = ink;
    g.textAlign = 'center';
    g.fillText(axis.label, ax, 14, 2 * SIDE - 8);
    for (const tick of axis.ticks) {
      const py = y(axis, tick.value);
      if (py === null) continue;
      g.beginPath();
      g.moveTo(ax - 4, py);
      g.lineTo(ax, py);
      g.stroke();
      g.textAlign = 'right';
      g.fillText(tick.label, ax - 6, py + 4, SIDE - 10);
    }
  });
}

/** An axis over the values: numbers on a linear (or, over wide positive ranges, log) scale, else categories. */
function axisFor(label, values, goal) {
  const present = values.filter((v) => v !== undefined && v !== null);
  const numeric = present.length > 0 && present.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!numeric) {
    const categories = [...new Set(present.map((v) => JSON.stringify(v)))];
    return {
      label,
      position: (v) => {
        const i = categories.indexOf(JSON.stringify(v));
        return i < 0 ? null : categories.length === 1 ? 0.5 : i / (categories.length - 1);
      },
      ticks: categories.map((c) => ({ value: JSON.parse(c), label: String(JSON.parse(c)) })),
    };
  }
  const min = Math.min(...present);
  const max = Math.max(...present);
  const log = min > 0 && max / min >= 20;
  const t = (v) => (log ? Math.log(v) : v);
  const position = (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return null;
    return max === min ? 0.5 : (t(v) - t(min)) / (t(max) - t(min));
  };
  const ticks = max === min ? [{ value: min, label: fmt(min) }] : [{ value: min, label: fmt(min) }, { value: max, label: fmt(max) }];
  if (!log && max !== min) ticks.push({ value: (min + max) / 2, label: fmt((min + max) / 2) });
  const suffix = goal ? (goal === 'minimize' ? ' ↓' : ' ↑') : log ? ' (log)' : '';
  return { label: label + suffix, position, ticks };
}

function fmt(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** Worst (0: red) to best (1: blue), through amber. */
function colour(f) {
  const stops = [[214, 39, 40], [240, 170, 40], [31, 119, 180]];
  const s = Math.max(0, Math.min(1, f)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(s));
  const u = s - i;
  const [a, b] = [stops[i], stops[i + 1]];
  return `rgb(${a.map((c, k) => Math.round(c + u * (b[k] - c))).join(',')})`;
}
