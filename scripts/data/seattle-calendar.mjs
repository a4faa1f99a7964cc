// Writes data/seattle-weather-calendar.csv: data/seattle-weather.csv's daily highs and lows with
// the calendar as columns known in advance (the day of the year as a sine and cosine pair, so
// 31 December sits next to 1 January) — the futureFeatures of experiments/seattle-calendar.yaml.
// Usage, from the project folder: node scripts/data/seattle-calendar.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lines = readFileSync('data/seattle-weather.csv', 'utf8').trim().split(/\r?\n/);
const header = lines[0].split(',');
const at = (name) => header.indexOf(name);
const out = ['date,temp_max,temp_min,day_sin,day_cos'];
for (const line of lines.slice(1)) {
  const cells = line.split(',');
  const date = cells[at('date')];
  const [y, m, d] = date.split('-').map(Number);
  const dayOfYear = (Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / 86_400_000;
  const angle = (2 * Math.PI * dayOfYear) / 365.25;
  out.push([date, cells[at('temp_max')], cells[at('temp_min')], Math.sin(angle).toFixed(4), Math.cos(angle).toFixed(4)].join(','));
}
writeFileSync('data/seattle-weather-calendar.csv', out.join('\n') + '\n');
console.log(`data/seattle-weather-calendar.csv: ${out.length - 1} days`);
