// CSV reading and time-series windowing (SPEC §4 `series`): quoting, CRLF, BOM, delimiters and
// line numbers; the split by time per series with every window's targets on its own side of the
// cut (indices asserted); normalisation statistics from training rows only; groups; time order;
// missing values; differencing undone into levels.
import t from 'tap';
import { readCsv } from '../../src/main/data/read.js';
import { InputError } from '../../src/main/errors.js';
import {
  buildSeries, forecastWindows, lastLevel, readSeriesTable, toLevels, trueLevel,
  type SeriesData, type SeriesOptions,
} from '../../src/main/data/series.js';

const places = { csv: 'data.csv', experiment: 'exp.yaml' };

function options(over: Partial<SeriesOptions> = {}): SeriesOptions {
  return {
    time: null, group: null, features: null, targets: null, seqLen: 3, horizon: 2, stride: 1,
    valFraction: 0.25, normalize: 'none', missing: 'error', difference: false, outputs: 'last', ...over,
  };
}

function series(text: string, over: Partial<SeriesOptions> = {}, delimiter = ','): SeriesData {
  const opt = options(over);
  return buildSeries(readSeriesTable(text, 'data.csv', delimiter, opt), opt, delimiter, places);
}

/** A CSV of one column `v` holding 0, 1, 2, ... n−1 (so a value is its own row index). */
const counting = (n: number, name = 'v'): string => [name, ...Array.from({ length: n }, (_, i) => String(i))].join('\n') + '\n';

t.test('CSV: quoted fields, embedded delimiters and newlines, CRLF, BOM', async (t) => {
  const text = '\uFEFFname,"a, b",c\r\n"x, ""quoted""",1,2\r\n"two\r\nlines",3,4\r\n\r\nlast,5,NA\r\n';
  const table = readCsv(text, 'f.csv', ',', (header) => header.map((h) => (h === 'name' ? 'text' : 'number')));
  t.same(table.header, ['name', 'a, b', 'c'], 'BOM dropped, quoted header with a comma');
  t.equal(table.rows, 3, 'the blank line is skipped');
  t.same(table.columns.get('name')!.text, ['x, "quoted"', 'two\r\nlines', 'last']);
  t.same(Array.from(table.columns.get('a, b')!.values!), [1, 3, 5]);
  t.ok(Number.isNaN(table.columns.get('c')!.values![2]), 'NA is a missing value');
  t.equal(table.columns.get('c')!.firstMissing, 2);
  t.same(Array.from(table.lines), [2, 3, 6], 'each row names the line it starts on');
});

t.test('CSV: another delimiter', async (t) => {
  const table = readCsv('a;b\n1,5;2\n3;4\n', 'f.csv', ';', (h) => h.map(() => 'text'));
  t.same(table.columns.get('a')!.text, ['1,5', '3']);
  t.same(table.columns.get('b')!.text, ['2', '4']);
});

t.test('CSV: malformed files name the line', async (t) => {
  const err = (text: string): string => {
    try {
      readCsv(text, 'f.csv', ',', (h) => h.map(() => 'number'));
    } catch (e) {
      t.ok(e instanceof InputError);
      return (e as Error).message;
    }
    return 'no error';
  };
  t.equal(err('a,b\n1,2\n3\n'), 'f.csv: line 3: has 1 fields, the header has 2');
  t.equal(err(''), 'f.csv: line 1: the file is empty: a CSV needs a header row and data rows');
  t.equal(err('\uFEFF\n\n'), 'f.csv: line 1: the file is empty: a CSV needs a header row and data rows');
  t.equal(err('a,b\n'), 'f.csv: line 2: the file has a header but no data rows');
  t.match(err('a,b\n1,"2\n3,4\n'), /^f\.csv: line 3: a quoted field is not closed$/);
  t.equal(err('a,a\n1,2\n'), 'f.csv: line 1: column "a" appears twice');
});

t.test('split by time: indices of every window, targets never cross the cut', async (t) => {
  // 20 rows, valFraction 0.25: rows 15..19 are validation rows.
  const d = series(counting(20));
  t.equal(d.series[0].trainRows, 15);
  t.same(Array.from(d.train.starts), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'training windows end their targets by row 14');
  t.same(Array.from(d.val.starts), [12, 13, 14, 15], 'validation windows start their targets at row 15 or later');
  const T = 3, h = 2;
  for (const s of d.train.starts) t.ok(s + T + h - 1 <= 14, `train window ${s}: targets rows ${s + T}..${s + T + h - 1}`);
  for (const s of d.val.starts) t.ok(s + T >= 15 && s + T + h - 1 <= 19, `val window ${s}: targets rows ${s + T}..${s + T + h - 1}`);
  // Values are row indices (normalize none): the window at 12 reads rows 12..14 and targets 15, 16.
  const s = d.series[0];
  t.same(Array.from(s.inputs.subarray(12, 15)), [12, 13, 14]);
  t.same(Array.from(s.targets.subarray(15, 17)), [15, 16]);

  const strided = series(counting(20), { stride: 4 });
  t.same(Array.from(strided.train.starts), [0, 4, 8]);
  t.same(Array.from(strided.val.starts), [12]);

  const all = series(counting(20), { outputs: 'all', horizon: 1 });
  t.same(Array.from(all.train.starts), Array.from({ length: 12 }, (_, i) => i), "outputs 'all': last target of window s is row s+3 ≤ 14");
  t.same(Array.from(all.val.starts), [14, 15, 16], "outputs 'all': every target at or after row 15");

  const none = series(counting(20), { valFraction: 0 });
  t.equal(none.val.starts.length, 0);
  t.equal(none.train.starts.length, 16);
});

t.test('normalisation statistics come from training rows only', async (t) => {
  const values = [2, 4, 4, 4, 5, 5, 7, 9, 1000, -1000]; // last 2 rows (valFraction 0.2) are validation
  const text = 'v\n' + values.join('\n') + '\n';
  const z = series(text, { normalize: 'zscore', valFraction: 0.2, seqLen: 2, horizon: 1 });
  t.same(z.meta.normalization.columns.v, { shift: 5, scale: 2 }, 'mean 5, population std 2 of the first 8 rows');
  t.equal(z.series[0].inputs[8], (1000 - 5) / 2, 'validation rows scaled with the training statistics');
  const m = series(text, { normalize: 'minmax', valFraction: 0.2, seqLen: 2, horizon: 1 });
  t.same(m.meta.normalization.columns.v, { shift: 2, scale: 7 });
  const changed = series('v\n' + [...values.slice(0, 8), 0, 0].join('\n') + '\n', { normalize: 'zscore', valFraction: 0.2, seqLen: 2, horizon: 1 });
  t.same(changed.meta.normalization, z.meta.normalization, 'changing validation rows changes no statistic');
  const constant = series('v\n' + Array(10).fill(3).join('\n') + '\n', { normalize: 'zscore', seqLen: 2, horizon: 1 });
  t.same(constant.meta.normalization.columns.v, { shift: 3, scale: 1 }, 'a constant column is not divided by zero');
});

t.test('groups: windows never cross two series; each series split by its own time', async (t) => {
  // Interleaved long format: two symbols, 8 rows each, dates increasing within each.
  const rows = ['sym,day,p'];
  for (let i = 0; i < 8; i++) rows.push(`A,${i},${i}`, `B,${i},${100 + i}`);
  const d = series(rows.join('\n'), { group: 'sym', time: 'day', seqLen: 2, horizon: 1, valFraction: 0.25 });
  t.same(d.series.map((s) => s.key), ['A', 'B']);
  t.same(d.meta.features, ['p'], 'default features: numeric columns but time and group');
  t.same(Array.from(d.series[1].inputs), [100, 101, 102, 103, 104, 105, 106, 107], 'series B holds only its rows, in time order');
  t.same(Array.from(d.train.series), [0, 0, 0, 0, 1, 1, 1, 1]);
  t.same(Array.from(d.train.starts), [0, 1, 2, 3, 0, 1, 2, 3], 'targets up to row 5 of each series');
  t.same(Array.from(d.val.starts), [4, 5, 4, 5]);
});

t.test('difference: model changes, report levels', async (t) => {
  const levels = [10, 11, 13, 16, 20, 25, 31, 38, 46, 55];
  const d = series('v\n' + levels.join('\n') + '\n', { difference: true, seqLen: 2, horizon: 2, valFraction: 0.2, normalize: 'zscore' });
  const s = d.series[0];
  t.equal(s.length, 9, 'one model row fewer than file rows');
  t.equal(s.trainRows, 7, 'model row r belongs to file row r+1: rows 8, 9 are validation rows');
  const diffs = [1, 2, 3, 4, 5, 6, 7];
  const mean = diffs.reduce((a, b) => a + b) / 7, std = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / 7);
  t.same(d.meta.normalization.columns.v, { shift: mean, scale: std }, 'statistics of the training changes');
  // Feeding the true normalised changes as the model's outputs gives back the true levels.
  for (const start of d.val.starts) {
    const origin = start + 1;
    const out = new Float64Array(2);
    toLevels(d.meta, s, origin, [s.targets[origin + 1], s.targets[origin + 2]], out);
    t.same(Array.from(out, (v) => Math.round(v * 1e9) / 1e9), [trueLevel(d.meta, s, origin, 0, 0), trueLevel(d.meta, s, origin, 1, 0)]);
    t.equal(lastLevel(d.meta, s, origin, 0), levels[origin + 1], 'persistence: the level at the last input row');
  }
  t.same(Array.from(d.val.starts), [5], 'one validation window: its targets are the changes into file rows 8 and 9');
});

t.test('forecast windows: one per full input window, to the end of the file', async (t) => {
  const d = series(counting(10), { valFraction: 0 });
  const w = forecastWindows(d.series, 3);
  t.same(Array.from(w.starts), [0, 1, 2, 3, 4, 5, 6, 7]);
});

t.test('missing values: refused, or forward-filled within a series', async (t) => {
  const text = 'g,v\na,1\na,\nb,5\na,3\nb,NaN\na,4\nb,7\na,5\nb,8\na,6\nb,9\nb,10\n';
  t.throws(() => series(text, { group: 'g', seqLen: 2, horizon: 1 }),
    { message: 'data.csv: line 3, column "v": missing value (""); set data.missing: ffill to carry the previous row\'s value forward' });
  const d = series(text, { group: 'g', seqLen: 2, horizon: 1, missing: 'ffill' });
  t.same(Array.from(d.series[0].inputs), [1, 1, 3, 4, 5, 6], 'a: the gap takes the previous value of a');
  t.same(Array.from(d.series[1].inputs), [5, 5, 7, 8, 9, 10], 'b: its own previous value, not a\'s');
  t.throws(() => series('v\nNA\n1\n2\n3\n4\n5\n', { missing: 'ffill', seqLen: 1, horizon: 1 }), /line 2, column "v": missing value in the first row/);
});

t.test('time must strictly increase within a series', async (t) => {
  t.throws(() => series('d,v\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n2020-01-04,4\n2020-01-05,5\n', { time: 'd', seqLen: 1, horizon: 1 }),
    { message: 'data.csv: line 4, column "d": time "2020-01-02" comes before "2020-01-03" on line 3; time must strictly increase within a series (sort the file by time)' });
  t.throws(() => series('d,v\n1,1\n2,2\n2,3\n3,4\n', { time: 'd', seqLen: 1, horizon: 1 }), /line 4, column "d": time "2" repeats "2" on line 3/);
  t.throws(() => series('d,v\n1,1\nsoon,2\n', { time: 'd', seqLen: 1, horizon: 1 }), /line 3, column "d": "soon" is neither a number nor a date/);
});
