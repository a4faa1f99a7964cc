/**
 * Hyperparameter sweeps (SPEC §7): every trial is the base experiment with the trial's
 * parameters applied, trained in its own run folder inside the sweep folder. The sweep folder
 * keeps `trials.jsonl` (one line per finished trial, appended) and `summary.md` + `summary.svg`
 * (rewritten after every trial), so an interrupted sweep reruns only what has not succeeded.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatNumber } from '../report/charts.js';
import { readMetrics } from '../report/metrics.js';
import { firstLine, InputError, RunError } from '../errors.js';
import { applyOverride } from '../experiment/overrides.js';
import { parseExperiment, type Experiment } from '../experiment/experiment.js';
import { readMappingFile } from '../experiment/file.js';
import { loadSweep, type SweepSpec } from '../experiment/sweep-file.js';
import { train, type EvalVerdict } from '../training/trainer.js';
import { Asha } from './asha.js';
import type { MetricsLine } from '../report/metrics.js';
import { describeParameters, rankTrials, writeSummaryFiles } from './summary.js';
import { isFinal, planTrials, readTrialRecords, TRIALS_FILE, type PlannedTrial, type TrialRecord } from './trials.js';

export interface SweepOptions {
  /** Trials trained at once (default 1); the cores are split between them. */
  parallel?: number;
  /** The sweep folder (default: the sweep file's output.dir). */
  outDir?: string;
  onNotice?: (text: string) => void;
  /** Stops the running trials after their current step; they are not recorded, so a rerun retries them. */
  stopSignal?: AbortSignal;
}

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

export async function runSweep(file: string, opts: SweepOptions = {}): Promise<SweepSummary> {
  const spec = loadSweep(file);
  const parallel = opts.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new InputError(`--parallel: expected a positive integer, got ${parallel}`);
  const outDir = resolve(opts.outDir ?? spec.output.dir);
  const notice = opts.onNotice ?? (() => undefined);

  const allTrials = planTrials(spec, outDir);
  mkdirSync(outDir, { recursive: true });
  const trialsPath = join(outDir, TRIALS_FILE);
  const finished = readTrialRecords(trialsPath, notice);
  const pending = allTrials.filter((trial) => !isFinal(finished.get(trial.id)));
  const asha = sweepAsha(spec, allTrials, finished);
  const skipped = allTrials.length - pending.length;

  // Fewer trials left than slots: give the cores to the trials there are.
  const slots = Math.min(parallel, Math.max(1, pending.length));
  const workersPerTrial = Math.max(1, Math.floor(availableParallelism() / slots));
  notice(
    `sweep ${spec.name}: ${allTrials.length} trials` +
      (skipped > 0 ? `, ${skipped} already done` : '') +
      (pending.length > 0 ? `; running ${pending.length}, ${slots} at a time` : '') +
      (pending.length > 0 && !('train.workers' in spec.parameters) ? ` with ${workersPerTrial} worker${workersPerTrial === 1 ? '' : 's'} each` : '') +
      `; folder ${outDir}`,
  );

  const errorsThisRun: unknown[] = [];
  let ran = 0;
  let interrupted = false;
  const writeSummary = (): void => writeSummaryFiles(spec, outDir, allTrials, finished);
  const queue = [...pending];
  const runNext = async (): Promise<void> => {
    while (queue.length > 0 && !opts.stopSignal?.aborted) {
      const trial = queue.shift()!;
      const position = `[${trial.index + 1}/${allTrials.length}] ${trial.id}`;
      notice(`${position} ${describeParameters(trial.parameters)}`);
      const outcome = await runTrial(spec, trial, workersPerTrial, asha, opts.stopSignal, (text) => notice(`${position}: ${text}`));
      if (outcome === 'interrupted') {
        interrupted = true;
        continue;
      }
      ran++;
      if (outcome.error !== undefined) errorsThisRun.push(outcome.error);
      const { record } = outcome;
      // One write per line, so a crash cannot interleave or half-write two records.
      appendFileSync(trialsPath, JSON.stringify(record) + '\n');
      finished.set(record.id, record);
      writeSummary();
      const result = record.status === 'failed' ? `failed: ${record.error}`
        : `${record.status === 'stopped' ? `stopped early at step ${record.steps}, ` : ''}${spec.metric.name} ${formatNumber(record.metric!)}`;
      notice(`${position} ${result} (${record.seconds.toFixed(1)}s)`);
    }
  };
  await Promise.all(Array.from({ length: slots }, runNext));
  writeSummary();
  interrupted ||= queue.length > 0;

  const trials = allTrials.map((trial) => finished.get(trial.id)).filter((r): r is TrialRecord => r !== undefined);
  const ranked = rankTrials(trials, spec.metric.goal);
  if (!interrupted && !trials.some(isFinal)) throw everyTrialFailed(trials.length, trialsPath, errorsThisRun);
  return {
    name: spec.name, outDir, metric: spec.metric, total: allTrials.length, trials, best: ranked[0]?.status === 'ok' ? ranked[0] : null,
    ran, skipped, status: interrupted ? 'interrupted' : 'completed',
  };
}

type TrialOutcome = 'interrupted' | { record: TrialRecord; error?: unknown };

async function runTrial(
  spec: SweepSpec, trial: PlannedTrial, workers: number, asha: Asha | null, stopSignal: AbortSignal | undefined, notice: (text: string) => void,
): Promise<TrialOutcome> {
  const started = performance.now();
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  const failed = (error: unknown): TrialOutcome => ({
    record: { id: trial.id, parameters: trial.parameters, metric: null, status: 'failed', error: firstLine(error), seconds: seconds() },
    error,
  });
  const evals: [number, number][] = [];
  try {
    const exp = trialExperiment(spec, trial, workers);
    const onEval = asha === null ? undefined : (line: MetricsLine): EvalVerdict => {
      const metric = (line as unknown as Record<string, unknown>)[spec.metric.name];
      if (typeof metric !== 'number') return undefined;
      evals.push([line.step, metric]);
      return asha.report(trial.id, line.step, metric) === 'stop' ? 'stop' : undefined;
    };
    const result = await train(exp, { file: spec.base, onNotice: notice, stopSignal, onEval });
    if (result.status === 'interrupted') return 'interrupted';
    const early = asha === null ? {} : { steps: result.step, plannedSteps: exp.train.steps, evals };
    if (result.status === 'stopped') {
      return { record: { id: trial.id, parameters: trial.parameters, metric: evals.at(-1)![1], status: 'stopped', seconds: seconds(), ...early } };
    }
    const metric = finalMetric(readMetrics(join(trial.dir, 'metrics.jsonl')), spec.metric.name);
    if (typeof metric === 'string') return failed(new RunError(metric));
    return { record: { id: trial.id, parameters: trial.parameters, metric, status: 'ok', seconds: seconds(), ...early } };
  } catch (err) {
    // Any failure, bad input or not, belongs to this trial; the sweep goes on with the others.
    return failed(err);
  }
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

/** The run's final value of `name` (val…: from the last eval line), or why there is none. */
export function finalMetric(lines: MetricsLine[], name: string): number | string {
  // Evaluation metrics (valLoss, valAccuracy, valMse, …) come from the last line that has them.
  const evaluation = name.startsWith('val');
  const line = evaluation ? lines.findLast((l) => (l as unknown as Record<string, unknown>)[name] !== undefined) : lines.at(-1);
  const value = (line as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return `metrics.jsonl has no ${name}${evaluation ? ' (does the run have a validation split, and the task this metric?)' : ''}`;
  // JSON writes NaN and ±Infinity as null.
  if (typeof value !== 'number' || !Number.isFinite(value)) return `the final ${name} is ${String(value ?? 'NaN')}`;
  return value;
}

export function everyTrialFailed(count: number, trialsPath: string, errorsThisRun: unknown[]): Error {
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
export function sweepAsha(spec: SweepSpec, allTrials: PlannedTrial[], finished: Map<string, TrialRecord>): Asha | null {
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

