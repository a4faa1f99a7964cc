/**
 * Parsing data that is already in memory, no file access (the browser runtime reaches the table
 * types and parseNumber through records.ts; read.ts adds reading files): text without a BOM,
 * JSON Lines and CSV. Every parser strips a UTF-8 BOM and accepts CRLF line ends, so a file saved
 * by a Windows editor or a spreadsheet reads as the same data.
 *
 * CSV (header row; RFC 4180 quoting, any one-character delimiter) is read with csv-parse straight
 * into columns: numbers into Float64Arrays (a missing cell — empty, NA, NaN — as NaN), the time
 * and group columns as strings. Rows are never kept as arrays of strings, so a file of millions
 * of rows costs its numbers, not its text.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { inputError } from '../errors.js';

/** UTF-8 text without a leading BOM. */
export function decodeText(input: string | Buffer): string {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** One non-blank line of a JSON Lines file. */
export interface JsonLine {
  /** 1-based line of the file. */
  line: number;
  /** The line as written, without its line end. */
  text: string;
  value: unknown;
}

/**
 * The non-blank lines of a JSON Lines text, parsed, one at a time (a caller checks each line as
 * it comes, so the first bad line is the one reported). A line that is not JSON is bad input,
 * `<file>: line N: not JSON (...)`, unless `onInvalid` takes it (files recur appends to itself,
 * where a crash mid-write leaves a partial last line).
 */
export function* readJsonLines(input: string | Buffer, path: string, onInvalid?: (line: number, problem: string) => void): Generator<JsonLine> {
  const lines = decodeText(input).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const problem = `not JSON (${(err as Error).message})`;
      if (!onInvalid) throw inputError(path, `line ${i + 1}`, problem);
      onInvalid(i + 1, problem);
      continue;
    }
    yield { line: i + 1, text, value };
  }
}

/** How a column is read: as numbers (features, targets, candidates for them) or as text (time, group). */
export type ColumnUse = 'number' | 'text';

export interface CsvColumn {
  name: string;
  /** 0-based position in the header. */
  index: number;
  /** 'number' columns: the values, NaN where a cell is missing. */
  values: Float64Array | null;
  /** 'text' columns: the cells as written. */
  text: string[] | null;
  /** The first cell that is neither a number nor missing (its row index), or -1. */
  firstNonNumeric: number;
  /** The first missing cell (its row index), or -1. */
  firstMissing: number;
}

export interface CsvTable {
  /** The file, as named in error messages. */
  path: string;
  header: string[];
  rows: number;
  /** 1-based line of the file where each data row starts (quoted fields may span lines). */
  lines: Int32Array;
  /** The columns asked for, by name. */
  columns: Map<string, CsvColumn>;
  /** The raw text of a cell, for error messages (read again from the column, or null). */
  cell(column: CsvColumn, row: number): string;
}

/** Cells that mean "no value". */
const MISSING = new Set(['', 'NA', 'NaN', 'nan', 'N/A', 'null']);

/** A cell as a number: NaN if missing, undefined if not a number. */
export function parseNumber(cell: string): number | undefined {
  // Number() trims whitespace itself and reads '' and '  ' as 0: only then is trimming needed.
  const v = Number(cell);
  if (Number.isFinite(v)) return v === 0 && cell.trim() === '' ? NaN : v;
  return MISSING.has(cell.trim()) ? NaN : undefined;
}

/**
 * Parses a CSV text or the bytes of `path`. `uses` decides per header which columns to read and
 * how; columns it returns null for are skipped.
 */
export function readCsv(input: string | Buffer, path: string, delimiter: string, uses: (header: string[]) => (ColumnUse | null)[]): CsvTable {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  // The first 4 KiB decide for any file with content, without decoding all of a big one.
  if (isBlank(bytes.toString('utf8', 0, Math.min(bytes.length, 4096))) && isBlank(bytes.toString('utf8'))) throw inputError(path, 'line 1', 'the file is empty: a CSV needs a header row and data rows');
  let header: string[] | null = null;
  let wanted: { column: CsvColumn; use: ColumnUse }[] = [];
  let values: number[][] = [];
  let texts: string[][] = [];
  const lines: number[] = [];
  const sampleCells = new Map<string, string>();
  let row = 0;
  // Line numbers from the bytes themselves: csv-parse counts a CRLF inside quotes as two lines.
  let counted = 0, line = 1, recordEnd = 0;
  const lineOfRecordAt = (end: number): number => {
    let start = recordEnd;
    while (start < end && (bytes[start] === 0x0a || bytes[start] === 0x0d)) start++; // skipped blank lines
    // indexOf is a native scan: a JS loop over every byte costs more than parsing a big file's numbers.
    for (let nl = bytes.indexOf(0x0a, counted); nl >= 0 && nl < start; nl = bytes.indexOf(0x0a, nl + 1)) line++;
    counted = Math.max(counted, start);
    recordEnd = end;
    return line;
  };
  try {
    parse(bytes, {
      bom: true,
      delimiter,
      skip_empty_lines: true,
      relax_quotes: false,
      on_record: (record: string[], context) => {
        const recordLine = lineOfRecordAt(context.bytes);
        if (header === null) {
          header = record.map((h) => h.trim());
          const seen = new Set<string>();
          for (const name of header) {
            if (name === '') throw inputError(path, 'line 1', `column ${header.indexOf(name) + 1} has no name`);
            if (seen.has(name)) throw inputError(path, 'line 1', `column ${JSON.stringify(name)} appears twice`);
            seen.add(name);
          }
          const kinds = uses(header);
          wanted = [];
          kinds.forEach((use, index) => {
            if (use) wanted.push({ use, column: { name: header![index], index, values: null, text: null, firstNonNumeric: -1, firstMissing: -1 } });
          });
          values = wanted.map(() => []);
          texts = wanted.map(() => []);
          return null;
        }
        lines.push(recordLine);
        for (let k = 0; k < wanted.length; k++) {
          const { column, use } = wanted[k];
          const cell = record[column.index];
          if (use === 'text') {
            texts[k].push(cell);
            continue;
          }
          const v = parseNumber(cell);
          if (v === undefined) {
            if (column.firstNonNumeric < 0) {
              column.firstNonNumeric = row;
              sampleCells.set(`${k}:${row}`, cell);
            }
            values[k].push(NaN);
          } else {
            if (Number.isNaN(v) && column.firstMissing < 0) {
              column.firstMissing = row;
              sampleCells.set(`${k}:${row}`, cell);
            }
            values[k].push(v);
          }
        }
        row++;
        return null;
      },
    });
  } catch (err) {
    if (err instanceof CsvError) throw inputError(path, `line ${String(err.lines ?? '?')}`, csvProblem(err.code, err.message));
    throw err;
  }
  if (header === null) throw inputError(path, 'line 1', 'the file is empty: a CSV needs a header row and data rows');
  if (row === 0) throw inputError(path, 'line 2', 'the file has a header but no data rows');
  const columns = new Map<string, CsvColumn>();
  wanted.forEach(({ column, use }, k) => {
    if (use === 'text') column.text = texts[k];
    else column.values = Float64Array.from(values[k]);
    columns.set(column.name, column);
  });
  return {
    path, header, rows: row, lines: Int32Array.from(lines), columns,
    cell(column, r) {
      if (column.text) return column.text[r];
      const k = wanted.findIndex((w) => w.column === column);
      return sampleCells.get(`${k}:${r}`) ?? String(column.values![r]);
    },
  };
}

/** Only whitespace (and a BOM). */
function isBlank(text: string): boolean {
  return decodeText(text).trim() === '';
}

/** csv-parse's message without its own prefix, in this project's words where it helps. */
function csvProblem(code: string, message: string): string {
  if (code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || code === 'CSV_RECORD_DONT_MATCH_COLUMNS_LENGTH') {
    const m = /expect(?:ed)? (\d+), got (\d+)/.exec(message);
    return m ? `has ${m[2]} fields, the header has ${m[1]}` : 'has a different number of fields than the header';
  }
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted field is not closed';
  return message.replace(/^[\w ]+:\s*/, '').replace(/ (at|on) line \d+/, '').replace(/\s+/g, ' ').trim();
}
