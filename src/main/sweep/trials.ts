/**
 * A sweep's trials: each with a stable id (its position and a hash of its parameters) and its
 * own run folder, and the records of finished trials in trials.jsonl.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandTrials, type SweepSpec } from '../experiment/sweep-file.js';

export const TRIALS_FILE = 'trials.jsonl';

/** One line of trials.jsonl. */
export interface TrialRecord {
  id: string;
  parameters: Record<string, unknown>;
  /** The final value of the sweep's metric (a stopped trial: its last); null when the trial failed. */
  metric: number | null;
  /** 'stopped': early termination ended it (final, like 'ok'). */
  status: 'ok' | 'failed' | 'stopped';
  error?: string;
  seconds: number;
  /** With earlyTerminate: the steps trained and planned, and [step, metric] at every evaluation. */
  steps?: number;
  plannedSteps?: number;
  evals?: [step: number, metric: number][];
}

/** A trial that needs no rerun. */
export function isFinal(record: TrialRecord | undefined): boolean {
  return record?.status === 'ok' || record?.status === 'stopped';
}

export interface PlannedTrial {
  index: number;
  id: string;
  parameters: Record<string, unknown>;
  dir: string;
}

/** The trials in expansion order, each with a stable id: its position and a hash of its parameters. */
export function planTrials(spec: SweepSpec, outDir: string): PlannedTrial[] {
  const expanded = expandTrials(spec);
  const digits = Math.max(3, String(expanded.length).length);
  return expanded.map((parameters, index) => {
    const id = `trial-${String(index + 1).padStart(digits, '0')}-${parameterHash(parameters)}`;
    return { index, id, parameters, dir: join(outDir, id) };
  });
}

function parameterHash(parameters: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(parameters).sort().map((key) => [key, parameters[key]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 6);
}

/** The records of trials.jsonl by id: an 'ok' or 'stopped' line wins over 'failed' ones, else the latest line counts. */
export function readTrialRecords(path: string, notice: (text: string) => void): Map<string, TrialRecord> {
  const records = new Map<string, TrialRecord>();
  if (!existsSync(path)) return records;
  readFileSync(path, 'utf8').split('\n').forEach((text, i) => {
    if (text.trim() === '') return;
    let record: TrialRecord;
    try {
      record = JSON.parse(text) as TrialRecord;
    } catch {
      notice(`warning: ${path}: line ${i + 1} is not JSON (a crash mid-write?); ignoring it`);
      return;
    }
    if (typeof record.id !== 'string') return;
    if (!isFinal(records.get(record.id)) || isFinal(record)) records.set(record.id, record);
  });
  return records;
}

