// The example page: a series forecast and generated text from two shipped checkpoints, through
// recur's browser runtime (the bundle `npm run build` writes to dist/web/recur.js).
import { loadModel } from '../../dist/web/recur.js';

const status = document.getElementById('status');

/** The CSV's rows as objects, the way `model.forecast` takes them (`Date`, `CO2`). */
function parseCsv(text) {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i], cell])));
}

function drawChart(svg, history, forecast) {
  const points = [...history, ...forecast];
  const W = 640, H = 260, left = 48, right = 12, top = 12, bottom = 28;
  const ys = points.map((p) => p.value);
  const lo = Math.floor(Math.min(...ys)), hi = Math.ceil(Math.max(...ys));
  const x = (i) => left + (i / (points.length - 1)) * (W - left - right);
  const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);
  const path = (list, offset) => list.map((p, i) => `${i ? 'L' : 'M'}${x(i + offset).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
  const lastSeen = history.length - 1;
  svg.innerHTML = [
    `<path class="history" d="${path(history, 0)}"/>`,
    `<path class="forecast" d="${path([history[lastSeen], ...forecast], lastSeen)}"/>`,
    `<text class="axis" x="4" y="${y(hi) + 4}">${hi}</text><text class="axis" x="4" y="${y(lo)}">${lo}</text>`,
    `<text class="axis" x="${left}" y="${H - 8}">${history[0].label}</text>`,
    `<text class="axis" x="${W - right}" y="${H - 8}" text-anchor="end">${forecast.at(-1).label}</text>`,
  ].join('');
}

/** The month `k` months after an ISO date (the CSV's rows are monthly). */
function monthAfter(date, k) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + k);
  return d.toISOString().slice(0, 10);
}

async function main() {
  const [co2, char, csv] = await Promise.all([
    loadModel(new URL('models/co2.safetensors', import.meta.url)),
    loadModel(new URL('models/char.safetensors', import.meta.url)),
    fetch(new URL('models/co2-recent.csv', import.meta.url)).then((r) => r.text()),
  ]);
  const rows = parseCsv(csv);
  const [forecast] = co2.forecast(rows);
  const ahead = Object.entries(forecast.values).map(([name, value], k) => ({ name, value, label: monthAfter(forecast.time, k + 1) }));
  const history = rows.map((r) => ({ value: Number(r.CO2), label: r.Date }));
  drawChart(document.getElementById('chart'), history, ahead);
  document.querySelector('#forecast tbody').innerHTML = ahead.map((p) => `<tr><td>${p.label}</td><td>${p.value.toFixed(2)}</td></tr>`).join('');

  const prime = document.getElementById('prime'), temperature = document.getElementById('temperature');
  const out = document.getElementById('sample');
  const generate = () => {
    document.getElementById('temperature-value').textContent = temperature.value;
    const start = performance.now();
    const text = char.sample({ prime: prime.value, length: 400, temperature: Number(temperature.value), seed: 1 });
    out.textContent = prime.value + text;
    status.textContent = `${char.kernels} kernels; 400 characters in ${(performance.now() - start).toFixed(0)} ms`;
    return text;
  };
  prime.addEventListener('input', generate);
  temperature.addEventListener('input', generate);
  generate();
  // For tests and the curious: the page's numbers, to compare with Node's loadModel.
  window.recurExample = { forecast, sample: (opt) => char.sample(opt), ready: true };
}

main().catch((err) => {
  status.textContent = `error: ${err.message}`;
  window.recurExample = { error: String(err.message) };
});
