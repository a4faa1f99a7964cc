/**
 * A table from plain objects (`[{ date: '2020-01', co2: 411.2 }, …]`, what an app holds after
 * JSON.parse of a request body) in the shape read.ts reads a CSV file into, so the series code treats
 * both alike. Cells are read as read.ts reads CSV text: numbers, or missing (null, undefined, '', NA).
 */
import { parseNumber, type ColumnUse, type CsvColumn, type CsvTable } from './parse.js';
import { inputError } from '../errors.js';

export type RecordCell = string | number | null | undefined;

export function tableFromRecords(records: readonly Record<string, RecordCell>[], path: string, uses: (header: string[]) => (ColumnUse | null)[]): CsvTable {
  if (records.length === 0) throw inputError(path, 'rows', 'no rows');
  const header = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const text = (v: RecordCell): string => (v === null || v === undefined ? '' : String(v));
  const columns = new Map<string, CsvColumn>();
  uses(header).forEach((use, index) => {
    if (!use) return;
    const name = header[index];
    const column: CsvColumn = { name, index, values: null, text: null, firstNonNumeric: -1, firstMissing: -1 };
    if (use === 'text') {
      column.text = records.map((r) => text(r[name]));
    } else {
      column.values = new Float64Array(records.length);
      records.forEach((r, row) => {
        const cell = r[name];
        const v = typeof cell === 'number' ? (Number.isFinite(cell) ? cell : undefined) : parseNumber(text(cell));
        if (v === undefined && column.firstNonNumeric < 0) column.firstNonNumeric = row;
        if (v !== undefined && Number.isNaN(v) && column.firstMissing < 0) column.firstMissing = row;
        column.values![row] = v ?? NaN;
      });
    }
    columns.set(name, column);
  });
  return {
    // Errors name `rows[i]` (0-based, as the caller's array) where a file would name a line.
    path, header, rows: records.length, lines: Int32Array.from(records, (_, i) => i), columns,
    cell: (column, row) => text(records[row][column.name]),
  };
}
