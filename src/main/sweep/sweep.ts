/**
 * Hyperparameter sweeps (SPEC §7), trained here: every trial is the base experiment with the
 * trial's parameters applied, trained in its own run folder inside the sweep folder, a few at a
 * time. The trial lifecycle (plan, run once, record once, summarise) is trials.ts, shared with
 * sweeps on a queue.
 */
import { availableParallelism } from 'node:os';
import { formatLabel } from '../report/charts.js';
import { InputError } from '../errors.js';
import { loadSweep } from '../experiment/sweep-file.js';
import { describeParameters } from './summary.js';
import { runTrialOnce, SweepFolder, trialExperiment, trialRecord, type SweepSummary } from './trials.js';

export type { SweepSummary } from './trials.js';

export interface SweepOptions {
  /** Trials trained at once (default 1); the cores are split between them. */
  parallel?: number;
  /** The sweep folder (default: the sweep file's output.dir). */
  outDir?: string;
  onNotice?: (text: string) => void;
  /** Stops the running trials after their current step; they are not recorded, so a rerun retries them. */
  stopSignal?: AbortSignal;
}

export async function runSweep(file: string, opts: SweepOptions = {}): Promise<SweepSummary> {
  const spec = loadSweep(file);
  const parallel = opts.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new InputError(`--parallel: expected a positive integer, got ${parallel}`);
  const notice = opts.onNotice ?? (() => undefined);

  const folder = new SweepFolder(spec, opts.outDir, notice);
  const { asha, trials: allTrials } = folder;
  const pending = folder.pending();

  // Fewer trials left than slots: give the cores to the trials there are.
  const slots = Math.min(parallel, Math.max(1, pending.length));
  const workersPerTrial = Math.max(1, Math.floor(availableParallelism() / slots));
  notice(
    `sweep ${spec.name}: ${allTrials.length} trials` +
      (folder.skipped > 0 ? `, ${folder.skipped} already done` : '') +
      (pending.length > 0 ? `; running ${pending.length}, ${slots} at a time` : '') +
      (pending.length > 0 && !('train.workers' in spec.parameters) ? ` with ${workersPerTrial} worker${workersPerTrial === 1 ? '' : 's'} each` : '') +
      `; folder ${folder.dir}`,
  );

  const errorsThisRun: unknown[] = [];
  let ran = 0;
  let interrupted = false;
  const queue = [...pending];
  const runNext = async (): Promise<void> => {
    while (queue.length > 0 && !opts.stopSignal?.aborted) {
      const trial = queue.shift()!;
      const position = `[${trial.index + 1}/${allTrials.length}] ${trial.id}`;
      notice(`${position} ${describeParameters(trial.parameters)}`);
      const outcome = await runTrialOnce({
        experiment: () => trialExperiment(spec, trial, workersPerTrial),
        file: spec.base,
        metric: spec.metric.name,
        onEval: asha === null ? undefined : (step, metric) => metric !== undefined && asha.report(trial.id, step, metric) === 'stop' ? 'stop' : undefined,
        stopSignal: opts.stopSignal,
        onNotice: (text) => notice(`${position}: ${text}`),
      });
      if (outcome.status === 'interrupted') {
        interrupted = true;
        continue;
      }
      ran++;
      if (outcome.status === 'failed') errorsThisRun.push(outcome.cause);
      const record = trialRecord(trial, outcome, asha !== null);
      folder.record(record);
      const result = record.status === 'failed' ? `failed: ${record.error}`
        : `${record.status === 'stopped' ? `stopped early at step ${outcome.steps}, ` : ''}${spec.metric.name} ${formatLabel(record.metric!)}`;
      notice(`${position} ${result} (${record.seconds.toFixed(1)}s)`);
    }
  };
  await Promise.all(Array.from({ length: slots }, runNext));
  return folder.summarise(interrupted || queue.length > 0, ran, errorsThisRun);
}
