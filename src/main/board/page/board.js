// recur board: the page. It reads the JSON API once, then follows /api/events (server-sent
// events) for new runs, sweeps and metrics lines. Everything user-made (run names, parameters,
// samples) is put into the page as text, never as HTML.
import { fmt, Panel, PANELS } from '/charts.js';
import { drawParallel } from '/parallel.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

const state = {
  runs: [],
  sweeps: [],
  /** Run ids shown in the charts, in the order they were chosen. */
  selected: [],
  /** True once the user picked runs (until then the newest run is followed). */
  chosen: false,
  metrics: new Map(),
  loading: new Set(),
  colours: new Map(),
  samples: new Map(),
  /** `recur eval` results with baselines, by run id and checkpoint time. */
  evals: new Map(),
  sweep: null,
  highlight: null,
  smoothing: 0.6,
  logY: false,
  filter: '',
};

const $ = (id) => document.getElementById(id);

/** A DOM element with attributes/properties and children (strings become text nodes). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const api = (path) => fetch(path, { cache: 'no-store' }).then((r) => {
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
});
const runPath = (id) => `/api/runs/${encodeURIComponent(id)}`;

function colourOf(id) {
  if (!state.colours.has(id)) {
    const used = new Set(state.colours.values());
    state.colours.set(id, PALETTE.find((c) => !used.has(c)) ?? PALETTE[state.colours.size % PALETTE.length]);
  }
  return state.colours.get(id);
}

function ago(iso) {
  if (!iso) return '–';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return new Date(iso).toLocaleDateString();
}

// ---- runs table ------------------------------------------------------------------------------

function matchesFilter(run) {
  const terms = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const text = `${run.name} ${run.path} ${run.status} ${run.task ?? ''}`.toLowerCase();
  return terms.every((t) => text.includes(t));
}

function renderRuns() {
  const body = $('runs').tBodies[0];
  const rows = state.runs.filter(matchesFilter).map((run) => {
    const selected = state.selected.includes(run.id);
    const box = el('input', { type: 'checkbox', checked: selected, title: 'overlay this run', onclick: (e) => { e.stopPropagation(); toggleRun(run.id); } });
    const swatch = el('span', { class: 'swatch' });
    if (selected) swatch.style.background = colourOf(run.id);
    return el('tr', { class: selected ? 'selected' : '', dataset: { id: run.id }, onclick: () => selectOnly(run.id) },
      el('td', {}, box, swatch),
      el('td', { class: 'name', title: run.path }, run.name),
      el('td', {}, el('span', { class: `status ${run.status}` }, run.status)),
      el('td', { class: 'num' }, run.steps ? `${run.step} / ${run.steps}` : String(run.step)),
      el('td', { class: 'num', title: run.best ? `validation loss ${run.best.valLoss} at step ${run.best.step}` : '' },
        run.best ? fmt(run.best.valLoss) : '–', run.best ? el('span', { class: 'dim' }, ` @${run.best.step}`) : null),
      el('td', { class: 'num' }, fmt(run.tokensPerSec)),
      el('td', { title: run.started ? `started ${new Date(run.started).toLocaleString()}` : '' }, ago(run.started)),
    );
  });
  body.replaceChildren(...rows);
  $('run-count').textContent = state.runs.length === rows.length ? `${rows.length}` : `${rows.length} of ${state.runs.length}`;
  $('no-runs').hidden = state.runs.length > 0;
}

function selectOnly(id) {
  state.chosen = true;
  state.selected = [id];
  selectionChanged();
}

function toggleRun(id) {
  state.chosen = true;
  state.selected = state.selected.includes(id) ? state.selected.filter((s) => s !== id) : [...state.selected, id];
  selectionChanged();
}

function selectionChanged() {
  for (const id of state.colours.keys()) if (!state.selected.includes(id)) state.colours.delete(id);
  renderRuns();
  for (const id of state.selected) if (!state.metrics.has(id)) loadMetrics(id);
  updateCharts();
  renderSamples();
  renderFigures();
  writeHash();
}

/** Until the user chooses, follow the newest running run (else the newest run). */
function autoSelect() {
  if (state.chosen || state.runs.length === 0) return;
  const pick = state.runs.find((r) => r.status === 'running') ?? state.runs[0];
  if (state.selected.length !== 1 || state.selected[0] !== pick.id) {
    state.selected = [pick.id];
    selectionChanged();
  }
}

// ---- metrics ---------------------------------------------------------------------------------

async function loadMetrics(id) {
  if (state.loading.has(id)) return;
  state.loading.add(id);
  try {
    state.metrics.set(id, await api(`${runPath(id)}/metrics`));
  } catch {
    state.metrics.delete(id);
  } finally {
    state.loading.delete(id);
  }
  updateCharts();
  renderFigures();
}

function onMetrics(event) {
  const lines = state.metrics.get(event.id);
  if (!lines) return; // not shown: fetched in full when selected
  if (event.reset) {
    if (event.from === 0) state.metrics.set(event.id, event.lines);
  } else if (event.from === lines.length) {
    lines.push(...event.lines);
  } else if (event.from > lines.length) {
    loadMetrics(event.id); // a gap (the stream reconnected): read it all again
    return;
  }
  if (state.selected.includes(event.id)) {
    updateCharts();
    renderFigures();
  }
}

// ---- charts ----------------------------------------------------------------------------------

const panels = new Map();

function shownRuns() {
  return state.selected
    .map((id) => ({ run: state.runs.find((r) => r.id === id), lines: state.metrics.get(id) }))
    .filter((x) => x.run && x.lines)
    // A sweep's trials are told apart by their trial folder; the sweep's name would repeat in every label.
    .map(({ run, lines }) => ({ id: run.id, name: run.sweep ? run.id.split('/').at(-1) : run.name, colour: colourOf(run.id), lines }));
}

function updateCharts() {
  const runs = shownRuns();
  const container = $('charts');
  for (const p of PANELS) {
    if (!panels.has(p.key)) panels.set(p.key, new Panel(container, p));
    panels.get(p.key).update(runs, state.smoothing, state.logY);
  }
  $('no-selection').hidden = state.selected.length > 0 || state.runs.length === 0;
}

// ---- samples and evaluation figures ----------------------------------------------------------

async function renderSamples() {
  const box = $('samples');
  const textRuns = state.selected.map((id) => state.runs.find((r) => r.id === id)).filter((r) => r && r.task === 'text');
  if (textRuns.length === 0) { box.hidden = true; box.replaceChildren(); return; }
  box.hidden = false;
  const blocks = await Promise.all(textRuns.map(async (run) => {
    const key = `${run.id}@${run.checkpoint}`;
    if (!state.samples.has(key)) {
      state.samples.set(key, run.checkpoint === null ? { sample: null } : await api(`${runPath(run.id)}/sample`).catch((e) => ({ error: e.message })));
    }
    const got = state.samples.get(key);
    const heading = el('h3', {}, el('span', { class: 'swatch' }), run.name);
    heading.firstChild.style.background = colourOf(run.id);
    if (got.error) return el('div', { class: 'sample' }, heading, el('p', { class: 'dim' }, got.error));
    if (!got.sample) return el('div', { class: 'sample' }, heading, el('p', { class: 'dim' }, 'no samples yet (one appears with the first checkpoint)'));
    const where = got.sample.source === 'checkpoint.safetensors'
      ? `generated from checkpoint.safetensors${got.sample.step !== null ? ` at step ${got.sample.step}` : ''} (temperature 0.8)`
      : `from ${got.sample.source}`;
    return el('div', { class: 'sample' }, heading, el('p', { class: 'dim' }, where), el('pre', {}, got.sample.text));
  }));
  box.replaceChildren(el('h2', {}, 'Samples'), ...blocks);
}

/** Data models: the last and best evaluation figures of each shown run, beside the baselines the metrics carry. */
function renderFigures() {
  const box = $('figures');
  const FIGURES = [['valLoss', 'val loss', 'min'], ['valAccuracy', 'val accuracy', 'max'],
    ['valMse', 'val MSE', 'min'], ['valMae', 'val MAE', 'min']];
  const rows = [];
  for (const id of state.selected) {
    const run = state.runs.find((r) => r.id === id);
    const lines = state.metrics.get(id);
    if (!run || !lines || run.task === 'text') continue;
    const evals = lines.filter((l) => typeof l.valLoss === 'number');
    if (evals.length === 0) continue;
    const present = FIGURES.filter(([k]) => evals.some((l) => typeof l[k] === 'number'));
    for (const [key, label, better] of present) {
      const values = evals.map((l) => l[key]).filter((v) => typeof v === 'number');
      const best = better === 'max' ? Math.max(...values) : better === 'min' ? Math.min(...values) : values.at(-1);
      rows.push(el('tr', {}, el('td', {}, run.name), el('td', {}, label), el('td', { class: 'num' }, fmt(values.at(-1))), el('td', { class: 'num' }, better ? fmt(best) : '')));
    }
  }
  const evaluations = [];
  for (const id of state.selected) {
    const run = state.runs.find((r) => r.id === id);
    if (!run || run.task === 'text' || run.checkpoint === null) continue;
    const key = `${run.id}@${run.checkpoint}`;
    const got = state.evals.get(key);
    const heading = el('h3', {}, run.name);
    if (got === undefined) {
      evaluations.push(el('div', { class: 'evaluation' }, heading, el('button', {
        type: 'button', dataset: { evaluate: run.id },
        onclick: async (e) => {
          e.target.disabled = true;
          e.target.textContent = 'evaluating…';
          state.evals.set(key, await api(`${runPath(run.id)}/eval`).catch((err) => ({ error: err.message })));
          renderFigures();
        },
      }, 'evaluate the best checkpoint against the baselines')));
    } else if (got.error || !got.evaluation) {
      evaluations.push(el('div', { class: 'evaluation' }, heading, el('p', { class: 'dim' }, got.error ?? 'no checkpoint')));
    } else {
      const ev = got.evaluation;
      const pairs = [['loss', ev.loss, null, null], ['accuracy', ev.accuracy, ev.baselineAccuracy, 'majority class'],
        ['MSE', ev.mse, ev.baselineMse, 'persistence'], ['MAE', ev.mae, undefined, null]].filter(([, v]) => typeof v === 'number');
      evaluations.push(el('div', { class: 'evaluation' }, heading,
        el('p', { class: 'dim' }, `${ev.checkpoint}${ev.step !== null ? ` (step ${ev.step})` : ''} on the validation split, ${ev.tokens} predictions`),
        el('table', { class: 'figures' },
          el('thead', {}, el('tr', {}, el('th', {}, 'figure'), el('th', {}, 'model'), el('th', {}, 'baseline'), el('th', {}, ''))),
          el('tbody', {}, ...pairs.map(([name, model, base, what]) => el('tr', { dataset: { figure: name } },
            el('td', {}, name), el('td', { class: 'num' }, fmt(model)), el('td', { class: 'num' }, typeof base === 'number' ? fmt(base) : '–'),
            el('td', { class: 'dim' }, what ?? '')))))));
    }
  }
  box.hidden = rows.length === 0 && evaluations.length === 0;
  if (box.hidden) { box.replaceChildren(); return; }
  box.replaceChildren(
    el('h2', {}, 'Evaluation figures'),
    rows.length > 0 ? el('table', { class: 'figures' }, el('thead', {}, el('tr', {}, el('th', {}, 'run'), el('th', {}, 'figure'), el('th', {}, 'last'), el('th', {}, 'best'))), el('tbody', {}, ...rows)) : null,
    ...evaluations,
  );
}

// ---- sweeps ----------------------------------------------------------------------------------

function renderSweepList() {
  const list = $('sweeps');
  list.replaceChildren(...state.sweeps.map((s) => {
    const ok = s.trials.filter((t) => t.status === 'ok');
    const best = ok[0];
    return el('li', { class: state.sweep === s.id ? 'selected' : '', dataset: { id: s.id }, onclick: () => openSweep(s.id) },
      el('span', { class: 'name' }, s.name), ' ', el('span', { class: `status ${s.status}` }, s.status),
      el('span', { class: 'dim' }, ` ${s.trials.length}${s.total ? ` / ${s.total}` : ''} trials${best ? `, best ${s.metric.name} ${fmt(best.metric)}` : ''}`));
  }));
  $('no-sweeps').hidden = state.sweeps.length > 0;
}

function openSweep(id) {
  state.sweep = state.sweep === id ? null : id;
  const sweep = state.sweeps.find((s) => s.id === state.sweep);
  if (sweep) {
    // Overlay the best trials (up to five) in the charts.
    const runs = sweep.trials.filter((t) => t.run !== null && t.metric !== null).slice(0, 5).map((t) => t.run);
    if (runs.length > 0) { state.chosen = true; state.selected = runs; selectionChanged(); }
  }
  renderSweepList();
  renderSweep();
  writeHash();
}

function renderSweep() {
  const box = $('sweep-view');
  const sweep = state.sweeps.find((s) => s.id === state.sweep);
  box.hidden = !sweep;
  if (!sweep) return;
  const stopped = sweep.trials.filter((t) => t.status === 'stopped').length;
  $('sweep-title').textContent = `Sweep ${sweep.name}`;
  $('sweep-info').textContent = `${sweep.path} · ${sweep.metric.name} (${sweep.metric.goal}) · ${sweep.trials.length}${sweep.total ? ` of ${sweep.total}` : ''} trials` +
    (stopped ? ` · ${stopped} stopped early by ASHA (dashed)` : '');
  const keys = sweep.parameters;
  const head = el('tr', {}, el('th', {}, 'rank'), el('th', {}, 'trial'), ...keys.map((k) => el('th', {}, k)),
    el('th', {}, sweep.metric.name), el('th', {}, 'steps'), el('th', {}, 'seconds'), el('th', {}, 'status'));
  const rows = sweep.trials.map((t) => el('tr', {
    class: `trial ${t.status}`, dataset: { id: t.id },
    onmouseenter: () => { state.highlight = t.id; drawSweepPlot(); },
    onmouseleave: () => { state.highlight = null; drawSweepPlot(); },
    onclick: () => { if (t.run) selectOnly(t.run); },
  },
  el('td', { class: 'num' }, t.rank === null ? '–' : String(t.rank)),
  el('td', { class: 'name', title: t.error ?? '' }, t.id),
  ...keys.map((k) => el('td', { class: 'num' }, t.parameters[k] === undefined ? '–' : typeof t.parameters[k] === 'number' ? fmt(t.parameters[k]) : String(t.parameters[k]))),
  el('td', { class: 'num metric' }, fmt(t.metric)),
  el('td', { class: 'num' }, t.steps === null ? '–' : t.plannedSteps ? `${t.steps} / ${t.plannedSteps}` : String(t.steps)),
  el('td', { class: 'num' }, t.seconds === null ? '–' : t.seconds.toFixed(1)),
  el('td', {}, el('span', { class: `status ${t.status}` }, t.status === 'stopped' ? 'stopped (ASHA)' : t.status)),
  ));
  $('trials').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
  drawSweepPlot();
}

function drawSweepPlot() {
  const sweep = state.sweeps.find((s) => s.id === state.sweep);
  if (sweep) drawParallel($('parallel'), { keys: sweep.parameters, metric: sweep.metric, trials: sweep.trials, highlight: state.highlight });
}

// ---- location hash: #runs=a,b&sweep=s survives a reload --------------------------------------

function writeHash() {
  const p = new URLSearchParams();
  if (state.chosen && state.selected.length) p.set('runs', state.selected.join(','));
  if (state.sweep) p.set('sweep', state.sweep);
  const hash = p.toString();
  history.replaceState(null, '', hash ? `#${hash}` : location.pathname);
}

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const runs = p.get('runs');
  if (runs) { state.selected = runs.split(',').filter(Boolean); state.chosen = true; }
  state.sweep = p.get('sweep');
}

// ---- wiring ----------------------------------------------------------------------------------

function setRuns(runs) {
  state.runs = runs;
  if (state.chosen) state.selected = state.selected.filter((id) => runs.some((r) => r.id === id) || !state.metrics.has(id));
  renderRuns();
  autoSelect();
  for (const id of state.selected) if (!state.metrics.has(id)) loadMetrics(id);
  // A new checkpoint means a new sample; run names and colours may have changed too.
  renderSamples();
}

function setSweeps(sweeps) {
  state.sweeps = sweeps;
  renderSweepList();
  renderSweep();
}

function connect() {
  const events = new EventSource('/api/events');
  const status = $('conn');
  events.onopen = () => { status.textContent = 'live'; status.className = 'conn live'; };
  events.onerror = () => { status.textContent = 'reconnecting…'; status.className = 'conn down'; };
  events.addEventListener('runs', (e) => setRuns(JSON.parse(e.data)));
  events.addEventListener('sweeps', (e) => setSweeps(JSON.parse(e.data)));
  events.addEventListener('metrics', (e) => onMetrics(JSON.parse(e.data)));
}

function init() {
  readHash();
  const slider = $('smoothing');
  slider.value = String(state.smoothing);
  $('smoothing-value').textContent = state.smoothing.toFixed(2);
  slider.addEventListener('input', () => {
    state.smoothing = Number(slider.value);
    $('smoothing-value').textContent = state.smoothing.toFixed(state.smoothing >= 0.99 ? 3 : 2);
    updateCharts();
  });
  $('log-y').addEventListener('change', (e) => { state.logY = e.target.checked; updateCharts(); });
  $('filter').addEventListener('input', (e) => { state.filter = e.target.value; renderRuns(); });
  new ResizeObserver(() => { for (const p of panels.values()) p.resize(); drawSweepPlot(); }).observe($('charts'));
  setInterval(renderRuns, 30_000); // "3 min ago" moves on
  Promise.all([api('/api/runs'), api('/api/sweeps')]).then(([runs, sweeps]) => {
    setRuns(runs);
    setSweeps(sweeps);
    if (state.selected.length) selectionChanged();
    connect();
  }, (err) => { $('conn').textContent = `cannot reach the board: ${err.message}`; });
}

// For tests and curious users: the state and the charts (uPlot instances by panel key).
window.board = { state, charts: () => Object.fromEntries([...panels].map(([k, p]) => [k, p.plot])) };
init();
