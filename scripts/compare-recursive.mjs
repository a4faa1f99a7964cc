// Scores 12-month CO2 forecasts made from every validation month (data the models never trained
// on): the horizon-1 model fed its own forecasts back (experiments/co2-recursive.yaml, `steps`),
// the horizon-12 model (experiments/co2-direct.yaml) and persistence (the last observed level).
// Prints one JSON line: the MSE in ppm² at 1, 3, 6 and 12 months ahead and over all 12.
// Usage, after `npm run build` and training both experiments:
//   node scripts/compare-recursive.mjs [runs/co2-recursive/checkpoint.safetensors runs/co2-direct/checkpoint.safetensors]
import { readFileSync } from 'node:fs';
import { loadModel } from '../dist/src/main/api.js';

const [recursivePath = 'runs/co2-recursive/checkpoint.safetensors', directPath = 'runs/co2-direct/checkpoint.safetensors'] = process.argv.slice(2);
const H = 12, VAL_FRACTION = 0.2;
const lines = readFileSync('data/co2-concentration.csv', 'utf8').trim().split(/\r?\n/).slice(1);
const rows = lines.map((l) => { const [Date, CO2] = l.split(','); return { Date, CO2: Number(CO2) }; });
const firstVal = rows.length - Math.ceil(VAL_FRACTION * rows.length);
const recursive = await loadModel(recursivePath), direct = await loadModel(directPath);
const sums = { recursive: new Float64Array(H), direct: new Float64Array(H), persistence: new Float64Array(H) };
let origins = 0;
// Origin o: rows 0..o observed, rows o+1..o+12 forecast, all of them validation rows.
for (let o = firstVal - 1; o + H < rows.length; o++) {
  const history = rows.slice(0, o + 1);
  const fed = recursive.forecast(history, { steps: H });
  const once = direct.forecast(history)[0].values;
  for (let k = 0; k < H; k++) {
    const truth = rows[o + 1 + k].CO2;
    sums.recursive[k] += (fed[k].values.CO2 - truth) ** 2;
    sums.direct[k] += (once[`CO2_t+${k + 1}`] - truth) ** 2;
    sums.persistence[k] += (rows[o].CO2 - truth) ** 2;
  }
  origins++;
}
const round = (v) => Number(v.toPrecision(3));
const report = { origins };
for (const [name, s] of Object.entries(sums)) {
  const mse = Array.from(s, (v) => v / origins);
  report[name] = { t1: round(mse[0]), t3: round(mse[2]), t6: round(mse[5]), t12: round(mse[11]), all: round(mse.reduce((a, b) => a + b) / H) };
}
console.log(JSON.stringify(report));
