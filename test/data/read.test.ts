// Reading data files (data/read.ts), the one place for it: a file that cannot be read is one
// wording, `<file>: cannot read: <why>`; JSON Lines and CSV with a UTF-8 BOM and CRLF line ends
// read as the plain file, line numbers included; and every dataset kind that reads a file
// (text, series, sequences) gives the same dataset from the BOM + CRLF twin as from the plain file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadDataset } from '../../src/main/data/load.js';
import { readCsv, readDataFile, readJsonLines } from '../../src/main/data/read.js';
import { SequencesDataset } from '../../src/main/data/sequences.js';
import { SeriesDataset } from '../../src/main/data/series.js';
import type { DataSpec } from '../../src/main/data/spec.js';
import { tempDir } from '../helpers/cli.js';
import { expectInputError } from '../helpers/input-error.js';

/** The text as a Windows tool saves it: a BOM, then CRLF line ends. */
const windows = (text: string): string => '\uFEFF' + text.replace(/\n/g, '\r\n');

const JSONL = '{"x": [1, 2], "y": "a"}\n\n{"x": [3], "y": "b"}\n   \n{"x": [[4]], "y": "a"}\n';

t.test('JSON Lines: a BOM and CRLF line ends read as the plain text, with the same line numbers', async (t) => {
  const plain = [...readJsonLines(JSONL, 'p.jsonl')];
  t.same(plain.map((l) => [l.line, l.value]), [[1, { x: [1, 2], y: 'a' }], [3, { x: [3], y: 'b' }], [5, { x: [[4]], y: 'a' }]], 'blank lines skipped, each line knows its number');
  t.same([...readJsonLines(windows(JSONL), 'w.jsonl')], plain, 'BOM + CRLF: the same lines, texts and values');
  t.same([...readJsonLines(Buffer.from(windows(JSONL)), 'w.jsonl')], plain, 'from the bytes too');
});

t.test('JSON Lines: a line that is not JSON is bad input, or passed to onInvalid', async (t) => {
  const text = windows('{"x": [1]}\n{"x": [1\n{"x": [2]}\n');
  expectInputError(t, () => [...readJsonLines(text, 'f.jsonl')], /^f\.jsonl: line 2: not JSON \(/);
  const skipped: number[] = [];
  const kept = [...readJsonLines(text, 'f.jsonl', (line) => skipped.push(line))];
  t.same(kept.map((l) => l.line), [1, 3]);
  t.same(skipped, [2], 'onInvalid hears of line 2');
});

t.test('CSV: a BOM and CRLF line ends read as the plain text', async (t) => {
  const text = 'day,name,temp\n1,"two\nlines",3.5\n2,b,NA\n\n3,c,7\n';
  const uses = (header: string[]) => header.map((h) => (h === 'name' ? 'text' as const : 'number' as const));
  const plain = readCsv(text, 'p.csv', ',', uses);
  const twin = readCsv(Buffer.from(windows(text)), 'w.csv', ',', uses);
  t.same(twin.header, ['day', 'name', 'temp'], 'the BOM is not part of the first column\'s name');
  t.same(Array.from(twin.lines), Array.from(plain.lines), 'the same line numbers');
  t.same(Array.from(plain.lines), [2, 4, 6]);
  t.same(Array.from(twin.columns.get('temp')!.values!), Array.from(plain.columns.get('temp')!.values!));
  t.same(twin.columns.get('name')!.text, ['two\r\nlines', 'b', 'c'], 'a quoted cell keeps its own line end');
  expectInputError(t, () => readCsv(windows(''), 'e.csv', ',', uses), /^e\.csv: line 1: the file is empty/);
});

t.test('a file that cannot be read: one wording', async (t) => {
  const dir = tempDir(t);
  expectInputError(t, () => readDataFile(join(dir, 'nope.csv')), new RegExp(`^${join(dir, 'nope.csv')}: cannot read: no such file$`));
  mkdirSync(join(dir, 'folder.jsonl'));
  expectInputError(t, () => readDataFile(join(dir, 'folder.jsonl')), /folder\.jsonl: cannot read: is a directory$/);
  for (const [task, extra] of [['text', { seqLen: 4 }], ['series', { seqLen: 4 }], ['sequences', {}]] as const) {
    const spec = { task, path: join(dir, 'nope'), ...extra } as DataSpec;
    expectInputError(t, () => loadDataset(spec, 1, 'exp.yaml'), new RegExp(`^${join(dir, 'nope')}: cannot read: no such file$`));
  }
});

t.test('every kind that reads a file: the BOM + CRLF twin gives the same dataset', async (t) => {
  const dir = tempDir(t);
  const write = (name: string, text: string): [string, string] => {
    writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, `windows-${name}`), windows(text));
    return [join(dir, name), join(dir, `windows-${name}`)];
  };

  const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ x: [[i, 1], [2, i % 3]].slice(0, 1 + (i % 2)), y: i % 3 ? 'up' : 'down' }));
  const [trainPlain, trainTwin] = write('train.jsonl', lines.slice(0, 8).join('\n') + '\n');
  const [valPlain, valTwin] = write('val.jsonl', lines.slice(8).join('\n') + '\n');
  const sequences = (path: string, valPath: string) => loadDataset({ task: 'sequences', path, valPath }, 1, 'exp.yaml') as SequencesDataset;
  t.same(sequences(trainTwin, valTwin).data, sequences(trainPlain, valPlain).data, 'sequences: the same sequences, lines, labels and statistics');
  t.same(sequences(trainTwin, valTwin).data.valLines, [1, 2, 3, 4]);

  const csv = ['day,temp', ...Array.from({ length: 20 }, (_, d) => `${d},${(d * 0.7) % 5}`)].join('\n') + '\n';
  const [csvPlain, csvTwin] = write('days.csv', csv);
  const series = (path: string) => loadDataset({ task: 'series', path, time: 'day', seqLen: 3, valFraction: 0.25 }, 1, 'exp.yaml', { outputs: 'last' }) as SeriesDataset;
  const a = series(csvPlain), b = series(csvTwin);
  t.same(b.meta, a.meta, 'series: the same columns and statistics');
  t.same(b.series, a.series, 'series: the same rows and values');
  t.same([b.size('train'), b.size('val')], [a.size('train'), a.size('val')]);

  const [textPlain, textTwin] = write('text.txt', 'ab\nba\n'.repeat(10));
  const text = (path: string) => loadDataset({ task: 'text', path, seqLen: 4, valFraction: 0 }, 1, 'exp.yaml');
  t.equal(text(textTwin).vocab, '\n\rab', 'text: the BOM is not a character of the text (CRLF is: text is read as written)');
  t.equal(text(textPlain).vocab, '\nab');
});
