/**
 * How long the `series` loader takes on a big CSV (a 1,000,000-row × 10-column file
 * loads in seconds). Writes a file of ROWS rows to a temp folder — columns `station` (4 series,
 * interleaved, as a `group`), `t` (time) and 8 numeric readings — then times reading it
 * (csv-parse into columns) and building the series (time order, split, zscore from training
 * rows, windows), best of REPEATS. The machine is shared: run it under the measurement lock; the
 * CPU time (this process, all threads: the garbage collector's helpers too) is printed beside the
 * wall time because it is less disturbed by other work on the machine.
 *
 *   npm run bench:csv            # or: node dist/bench/csv-load.js [ROWS]
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSeries, readSeriesTable, type SeriesOptions } from '../src/main/data/series.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const STATIONS = 4;
const READINGS = 8;
const REPEATS = 3;

function writeCsv(path: string): void {
  const names = Array.from({ length: READINGS }, (_, k) => `r${k}`);
  const lines = [['station', 't', ...names].join(',')];
  for (let i = 0; i < ROWS; i++) {
    const t = Math.floor(i / STATIONS);
    const cells = names.map((_, k) => (Math.sin(t * 0.01 * (k + 1)) * 10 + k).toFixed(3));
    lines.push(`s${i % STATIONS},${t},${cells.join(',')}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

const options: SeriesOptions = {
  time: 't', group: 'station', features: null, targets: ['r0'], seqLen: 48, horizon: 1, stride: 1,
  valFraction: 0.1, normalize: 'zscore', missing: 'error', difference: false, outputs: 'last',
};

const dir = mkdtempSync(join(tmpdir(), 'recur-csv-bench-'));
try {
  const path = join(dir, 'big.csv');
  writeCsv(path);
  const mb = statSync(path).size / 1e6;
  let best = { read: Infinity, build: Infinity, total: Infinity, cpu: Infinity };
  let windows = 0;
  for (let r = 0; r < REPEATS; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const table = readSeriesTable(readFileSync(path), path, ',', options);
    const t1 = performance.now();
    const data = buildSeries(table, options, ',', { csv: path, experiment: 'bench' });
    const t2 = performance.now();
    windows = data.train.starts.length + data.val.starts.length;
    const cpu = process.cpuUsage(cpu0);
    if (t2 - t0 < best.total) best = { read: t1 - t0, build: t2 - t1, total: t2 - t0, cpu: (cpu.user + cpu.system) / 1000 };
  }
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  console.log(`${ROWS.toLocaleString('en-US')} rows × ${2 + READINGS} columns (${mb.toFixed(0)} MB, ${STATIONS} series): ` +
    `${s(best.total)} s (read ${s(best.read)} s, build ${s(best.build)} s; best of ${REPEATS}; CPU ${s(best.cpu)} s), ${windows.toLocaleString('en-US')} windows, ` +
    `peak RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
