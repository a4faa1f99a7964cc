/**
 * A trial's lifecycle, the same for a local sweep (sweep.ts) and a queued one (queue/): plan it
 * (a stable id, its parameters, its experiment), run it once (training; any failure becomes its
 * outcome), record it once by id in trials.jsonl, and summarise the sweep. Both sides go through
 * these functions, so a queued sweep writes the trials.jsonl a local one writes.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readJsonLines } from '../data/read.js';
import { firstLine, InputError, RunError } from '../errors.js';
import { applyOverride } from '../experiment/overrides.js';
import { parseExperiment, type Experiment } from '../experiment/experiment.js';
import { readMappingFile } from '../experiment/file.js';
import { expandTrials, type SweepSpec } from '../experiment/sweep-file.js';
import { readMetrics, type MetricsLine } from '../report/metrics.js';
import { METRICS_FILE } from '../training/run-folder.js';
import { train, type EvalVerdict, type TrainResult } from '../training/trainer.js';
import { Asha } from './asha.js';
import { rankTrials, writeSummaryFiles } from './summary.js';
import { isFinal, type Evals, type PlannedTrial, type TrialRecord } from './records.js';

export const TRIALS_FILE = 'trials.jsonl';

/** A short hex digest of a value's JSON: the stable part of trial ids and queue job ids. */
export function digest(value: unknown, length: number): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, length);
}

/** `text` in the characters a queue name or job id may hold (BullMQ takes no ':'), and that read well in redis-cli. */
export function namePart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

// ---- plan


/** The trials in expansion order, each with a stable id: its position and a hash of its parameters. */
export function planTrials(spec: SweepSpec, outDir: string): PlannedTrial[] {
  const expanded = expandTrials(spec);
  const digits = Math.max(3, String(expanded.length).length);
  return expanded.map((parameters, index) => {
    // Sorted, so the order the sweep file lists its parameters in does not change the id.
    const hash = digest(Object.keys(parameters).sort().map((key) => [key, parameters[key]]), 6);
    const id = `trial-${String(index + 1).padStart(digits, '0')}-${hash}`;
    return { index, id, parameters, dir: join(outDir, id) };
  });
}

/**
 * The base experiment with the trial's parameters applied before validation, so a bad value is
 * reported against the base file and key. The run goes to the trial's folder; unless the trial
 * sets train.workers, it gets its share of the cores (never more workers than sequences; null:
 * the agent that trains it decides).
 */
export function trialExperiment(spec: SweepSpec, trial: PlannedTrial, workers: number | null): Experiment {
  const raw = readMappingFile(spec.base);
  // JSON is YAML, so each value reaches the experiment with its type.
  for (const [key, value] of Object.entries(trial.parameters)) applyOverride(raw, `${key}=${JSON.stringify(value)}`, spec.base);
  const exp = parseExperiment(raw, spec.base, dirname(spec.base));
  return {
    ...exp,
    name: 'name' in trial.parameters ? exp.name : `${spec.name}-${trial.id}`,
    train: {
      ...exp.train,
      workers: 'train.workers' in trial.parameters ? exp.train.workers : workers === null ? null : Math.min(workers, exp.train.batch),
    },
    output: { dir: trial.dir },
  };
}

// ---- run

/** How one attempt at a trial ended: finished (ok, stopped or failed: recorded), or interrupted (not recorded; run again later). */
export type TrialOutcome = FinishedTrial | { status: 'interrupted'; steps: number };

export interface FinishedTrial {
  status: 'ok' | 'stopped' | 'failed';
  /** The sweep's metric: its final value (ok), its last evaluation (stopped); null when the trial failed. */
  metric: number | null;
  /** Why it failed, in one line. */
  error?: string;
  /** The error itself, in this process only (it does not survive JSON): the sweep tells bad input from failed runs by it. */
  cause?: unknown;
  /** Steps trained and planned (0 planned: the experiment could not be built). */
  steps: number;
  plannedSteps: number;
  evals: Evals;
  seconds: number;
}

export interface TrialAttempt {
  /** The trial's experiment, built inside the attempt so that a bad value fails this trial alone. */
  experiment: () => Experiment;
  /** The base experiment file, named in messages. */
  file: string;
  /** The sweep's metric. */
  metric: string;
  /** The evaluations so far, appended to at each evaluation (a resumed trial's come filled in); default a new list. */
  evals?: Evals;
  /** Called at each evaluation once it is in `evals`; 'stop' ends the trial as stopped (early termination). */
  onEval?: (step: number, metric: number | undefined) => EvalVerdict | Promise<EvalVerdict>;
  /** Resume from the checkpoint in the run folder; one that does not fit the trial (an edited sweep) means starting over. */
  resume?: { onStartOver: () => void };
  stopSignal?: AbortSignal;
  onNotice?: (text: string) => void;
}

/** Trains the trial once. Any failure, bad input or not, is the trial's outcome: the sweep goes on with the others. */
export async function runTrialOnce(attempt: TrialAttempt): Promise<TrialOutcome> {
  const started = performance.now();
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  const evals = attempt.evals ?? [];
  let plannedSteps = 0;
  const failed = (cause: unknown, steps: number): FinishedTrial =>
    ({ status: 'failed', metric: null, error: firstLine(cause), cause, steps, plannedSteps, evals, seconds: seconds() });
  try {
    const exp = attempt.experiment();
    plannedSteps = exp.train.steps;
    const onEval = async (line: MetricsLine): Promise<EvalVerdict> => {
      const metric = metricOf(line, attempt.metric);
      if (metric !== undefined) evals.push([line.step, metric]);
      return attempt.onEval?.(line.step, metric);
    };
    const run = (resume: boolean): Promise<TrainResult> =>
      train(exp, { file: attempt.file, resume, stopSignal: attempt.stopSignal, onEval, onNotice: attempt.onNotice });
    const result = await trainOrStartOver(run, attempt);
    if (result.status === 'interrupted') return { status: 'interrupted', steps: result.step };
    const finished = { steps: result.step, plannedSteps, evals };
    if (result.status === 'stopped') return { status: 'stopped', metric: evals.at(-1)?.[1] ?? null, ...finished, seconds: seconds() };
    const metric = finalMetric(readMetrics(join(exp.output.dir, METRICS_FILE)), attempt.metric);
    if (typeof metric === 'string') return failed(new RunError(metric), result.step);
    return { status: 'ok', metric, ...finished, seconds: seconds() };
  } catch (err) {
    return failed(err, 0);
  }
}

async function trainOrStartOver(run: (resume: boolean) => Promise<TrainResult>, attempt: TrialAttempt): Promise<TrainResult> {
  if (!attempt.resume) return run(false);
  try {
    return await run(true);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    attempt.onNotice?.(`cannot resume (${firstLine(err)}); starting over`);
    attempt.resume.onStartOver();
    return run(false);
  }
}

/** The value of the sweep's metric on a metrics line, when the line has it. */
export function metricOf(line: object, name: string): number | undefined {
  const value = (line as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : undefined;
}

/** The run's final value of `name` (val…: from the last eval line), or why there is none. */
function finalMetric(lines: MetricsLine[], name: string): number | string {
  // Evaluation metrics (valLoss, valAccuracy, valMse, …) come from the last line that has them.
  const evaluation = name.startsWith('val');
  const line = evaluation ? lines.findLast((l) => (l as unknown as Record<string, unknown>)[name] !== undefined) : lines.at(-1);
  const value = (line as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return `metrics.jsonl has no ${name}${evaluation ? ' (does the run have a validation split, and the task this metric?)' : ''}`;
  // JSON writes NaN and ±Infinity as null.
  if (typeof value !== 'number' || !Number.isFinite(value)) return `the final ${name} is ${String(value ?? 'NaN')}`;
  return value;
}

// ---- record

/** A failed trial's line: why, in one line; no metric, and no steps (whatever ran, it did not finish). */
export function failedRecord(trial: Pick<PlannedTrial, 'id' | 'parameters'>, error: unknown, seconds: number): TrialRecord {
  return { id: trial.id, parameters: trial.parameters, metric: null, status: 'failed', error: firstLine(error), seconds };
}

/** A finished trial's line; with early termination it keeps the steps and evaluations ASHA replays on a rerun. */
export function trialRecord(trial: Pick<PlannedTrial, 'id' | 'parameters'>, outcome: FinishedTrial, early: boolean): TrialRecord {
  if (outcome.status === 'failed') return failedRecord(trial, outcome.error, outcome.seconds);
  return {
    id: trial.id, parameters: trial.parameters, metric: outcome.metric, status: outcome.status, seconds: outcome.seconds,
    ...(early ? { steps: outcome.steps, plannedSteps: outcome.plannedSteps, evals: outcome.evals } : {}),
  };
}

/** The records of trials.jsonl by id: an 'ok' or 'stopped' line wins over 'failed' ones, else the latest line counts. */
export function readTrialRecords(path: string, notice: (text: string) => void): Map<string, TrialRecord> {
  const records = new Map<string, TrialRecord>();
  if (!existsSync(path)) return records;
  const lines = readJsonLines(readFileSync(path), path, (line) => notice(`warning: ${path}: line ${line} is not JSON (a crash mid-write?); ignoring it`));
  for (const { value } of lines) {
    const record = value as TrialRecord;
    if (typeof record.id !== 'string') continue;
    if (!isFinal(records.get(record.id)) || isFinal(record)) records.set(record.id, record);
  }
  return records;
}

// ---- summarise

export interface SweepSummary {
  name: string;
  outDir: string;
  metric: SweepSpec['metric'];
  /** How many trials the sweep has. */
  total: number;
  /** Every trial of the sweep that has finished (in this run or an earlier one), in trial order. */
  trials: TrialRecord[];
  /** The best 'ok' trial, or null when none succeeded. */
  best: TrialRecord | null;
  /** Trials trained by this call, and trials skipped because an earlier run finished them. */
  ran: number;
  skipped: number;
  status: 'completed' | 'interrupted';
}

/**
 * A sweep folder: its planned trials, trials.jsonl (one line per finished trial, appended) and
 * summary.md + summary.svg (rewritten after every record), so an interrupted sweep reruns only
 * what has not succeeded.
 */
export class SweepFolder {
  readonly dir: string;
  readonly trials: PlannedTrial[];
  readonly trialsPath: string;
  /** The latest record of each trial (a final one wins). */
  readonly finished: Map<string, TrialRecord>;
  /** The sweep's ASHA (null without earlyTerminate), fed the evaluations of trials finished by earlier runs. */
  readonly asha: Asha | null;
  /** Trials that had a final record when the folder was opened. */
  readonly skipped: number;

  constructor(readonly spec: SweepSpec, outDir: string | undefined, notice: (text: string) => void) {
    this.dir = resolve(outDir ?? spec.output.dir);
    this.trials = planTrials(spec, this.dir);
    mkdirSync(this.dir, { recursive: true });
    this.trialsPath = join(this.dir, TRIALS_FILE);
    this.finished = readTrialRecords(this.trialsPath, notice);
    this.asha = sweepAsha(spec, this.trials, this.finished);
    this.skipped = this.trials.length - this.pending().length;
  }

  /** Trials without a final record. */
  pending(): PlannedTrial[] {
    return this.trials.filter((trial) => !this.isFinal(trial.id));
  }

  isFinal(id: string): boolean {
    return isFinal(this.finished.get(id));
  }

  /**
   * Appends the record unless its trial has a final one already (a queue delivers a result at
   * least once; it is recorded once) and rewrites the summary. False when nothing was written.
   */
  record(record: TrialRecord): boolean {
    if (this.isFinal(record.id)) return false;
    // One write per line, so a crash cannot interleave or half-write two records.
    appendFileSync(this.trialsPath, JSON.stringify(record) + '\n');
    this.finished.set(record.id, record);
    this.writeSummary();
    return true;
  }

  writeSummary(): void {
    writeSummaryFiles(this.spec, this.dir, this.trials, this.finished);
  }

  /**
   * The sweep's result: interrupted when `stopped` or some trial has no record. When it was not
   * interrupted and no trial succeeded, the sweep failed: this throws.
   */
  summarise(stopped: boolean, ran: number, errorsThisRun: unknown[]): SweepSummary {
    this.writeSummary();
    const { spec } = this;
    const trials = this.trials.map((trial) => this.finished.get(trial.id)).filter((r): r is TrialRecord => r !== undefined);
    const interrupted = stopped || trials.length < this.trials.length;
    const ranked = rankTrials(trials, spec.metric.goal);
    if (!interrupted && !trials.some(isFinal)) throw everyTrialFailed(trials.length, this.trialsPath, errorsThisRun);
    return {
      name: spec.name, outDir: this.dir, metric: spec.metric, total: this.trials.length, trials, best: ranked[0]?.status === 'ok' ? ranked[0] : null,
      ran, skipped: this.skipped, status: interrupted ? 'interrupted' : 'completed',
    };
  }
}

function everyTrialFailed(count: number, trialsPath: string, errorsThisRun: unknown[]): Error {
  // The same bad input in every trial is the base experiment's fault, not the trials': exit 2.
  const [first] = errorsThisRun;
  if (
    first instanceof InputError &&
    errorsThisRun.length === count &&
    errorsThisRun.every((e) => e instanceof InputError && e.message === first.message)
  ) {
    return new InputError(`${first.message} (every trial failed this way)`);
  }
  return new RunError(`all ${count} trials failed; see ${trialsPath}`);
}

/**
 * The sweep's ASHA, or null without earlyTerminate: maxSteps defaults to the longest trial's
 * train.steps; the rungs get the evaluations of trials finished by earlier runs, in trial order.
 */
function sweepAsha(spec: SweepSpec, allTrials: PlannedTrial[], finished: Map<string, TrialRecord>): Asha | null {
  const early = spec.earlyTerminate;
  if (early === null) return null;
  const steps = (trial: PlannedTrial): number => {
    try {
      return trialExperiment(spec, trial, null).train.steps;
    } catch {
      return 0; // a trial with a bad experiment fails on its own
    }
  };
  const maxSteps = early.maxSteps ?? Math.max(0, ...allTrials.map(steps));
  const asha = new Asha({ minSteps: early.minSteps, eta: early.eta, maxSteps }, spec.metric.goal);
  for (const trial of allTrials) {
    const evals = finished.get(trial.id)?.evals;
    if (evals) asha.replay(trial.id, evals);
  }
  return asha;
}
