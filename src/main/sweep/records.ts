/**
 * What a sweep records of its trials: a trial as planned, and one line of trials.jsonl. Both the
 * trial lifecycle (trials.ts) and the summary (summary.ts) read these.
 */

/** [step, metric] of every evaluation so far. */
export type Evals = [step: number, metric: number][];

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
  evals?: Evals;
}

/** A trial that needs no rerun. */
export function isFinal(record: TrialRecord | undefined): boolean {
  return record?.status === 'ok' || record?.status === 'stopped';
}

/** A trial as planned: its place in the expansion, stable id, parameters and run folder. */
export interface PlannedTrial {
  index: number;
  id: string;
  parameters: Record<string, unknown>;
  dir: string;
}
