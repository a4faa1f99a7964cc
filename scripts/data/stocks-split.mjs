// Writes a held-out test split of data/stocks.csv for experiments/stocks-by-symbol.yaml:
//   data/stocks-train.csv  every symbol's months but its last 12 (training and validation rows)
//   data/stocks-test.csv   every symbol's last 12 months, after the 13 months before them as
//                          context (seqLen 12 + 1 for differencing), so `recur eval --data` scores
//                          exactly one forecast of each held-out month, none seen in training.
// Usage, from the project folder: node scripts/data/stocks-split.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const TEST_MONTHS = 12;
const CONTEXT = 12 + 1;

const lines = readFileSync('data/stocks.csv', 'utf8').trim().split(/\r?\n/);
const header = lines[0];
const bySymbol = new Map();
for (const line of lines.slice(1)) {
  const symbol = line.slice(0, line.indexOf(','));
  if (!bySymbol.has(symbol)) bySymbol.set(symbol, []);
  bySymbol.get(symbol).push(line);
}
const train = [header], test = [header];
for (const rows of bySymbol.values()) {
  const cut = rows.length - TEST_MONTHS;
  train.push(...rows.slice(0, cut));
  test.push(...rows.slice(cut - CONTEXT));
}
writeFileSync('data/stocks-train.csv', train.join('\n') + '\n');
writeFileSync('data/stocks-test.csv', test.join('\n') + '\n');
console.log(`data/stocks-train.csv: ${train.length - 1} rows; data/stocks-test.csv: ${test.length - 1} rows (${bySymbol.size} symbols × ${TEST_MONTHS} held-out months after ${CONTEXT} of context)`);
