/** `recur train`: one training run from an experiment file. */
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { loadExperiment } from '../experiment/experiment.js';
import { createReporter } from '../report/progress.js';
import { sampleText } from '../inference/sample.js';
import { train, type TrainResult } from '../training/trainer.js';
import type { RecurCommand } from './command.js';
import { positiveInt, shellWord } from './options.js';
import { SIGNAL_EXIT, stopOnSignals } from './signals.js';

interface TrainArgs { experiment: string; set?: string[]; workers?: unknown; out?: string; resume?: boolean }

export const trainCommand: RecurCommand = {
  command: 'train [experiment]',
  describe: 'train a model from an experiment file',
  builder: (y) => y
    .positional('experiment', { type: 'string', default: 'experiments/default.yaml', describe: 'experiment file (YAML or JSON)' })
    .option('set', { type: 'string', array: true, describe: 'override a key: --set train.optimizer.lr=0.01' })
    .option('workers', { type: 'string', describe: 'worker threads (default: train.workers, else all cores)' })
    .option('out', { type: 'string', describe: 'run folder (default: output.dir)' })
    .option('resume', { type: 'boolean', default: false, describe: "continue from the run folder's checkpoint" })
    .example('$0 train', 'train experiments/default.yaml')
    .example('$0 train experiments/adding.yaml --workers 2 --set train.steps=500', 'override keys from the command line')
    .example('$0 train experiments/default.yaml --resume', 'continue an interrupted run'),
  run: (argv) => runTrain(argv as unknown as TrainArgs),
};

/** The run's one-line summary: how it ended, its last losses, and the best evaluated step. */
function summaryLine(result: TrainResult): string {
  const ended = result.status === 'early-stopped'
    ? `early-stopped at step ${result.step} (no improvement for ${result.experiment.train.earlyStopping?.patience} evaluations)`
    : `done: ${result.step} steps`;
  const val = result.valLoss === null ? '' : `, val loss ${result.valLoss.toFixed(4)}`;
  const best = result.best === null ? '' : `; best step ${result.best.step}, val loss ${result.best.valLoss.toFixed(4)} (${result.best.checkpoint})`;
  return `${ended}, loss ${result.loss?.toFixed(4) ?? '-'}${val}, ${result.elapsedSec.toFixed(1)}s${best}; run folder ${result.outDir}`;
}

async function runTrain(argv: TrainArgs): Promise<number> {
  const file = argv.experiment;
  const exp = loadExperiment(file, argv.set ?? []);
  const workers = positiveInt('--workers', argv.workers);
  const reporter = createReporter();
  const stop = stopOnSignals(reporter, 'stopping after this step and writing a checkpoint…');
  try {
    const result = await train(exp, {
      file, workers, outDir: argv.out, resume: argv.resume,
      onMetrics: (m, total) => reporter.metrics(m, total),
      onNotice: (text) => reporter.notice(text),
      stopSignal: stop.controller.signal,
    });
    reporter.stop();
    if (result.status === 'interrupted') {
      console.error(`stopped at step ${result.step}; checkpoint: ${result.checkpoint}`);
      // The same overrides and worker count, or --resume would refuse the run as a different one.
      const again = ['recur', 'train', file, ...(argv.set ?? []).flatMap((s) => ['--set', s]),
        ...(workers !== undefined ? ['--workers', String(workers)] : []), ...(argv.out ? ['--out', argv.out] : []), '--resume'];
      console.error(`continue with: ${again.map(shellWord).join(' ')}`);
      return SIGNAL_EXIT[stop.received ?? 'SIGINT'];
    }
    console.log(summaryLine(result));
    if (result.vocab !== undefined && result.cfg.outputs === 'all') {
      const ck = loadCheckpoint(result.checkpoint);
      console.log('sample:\n' + sampleText(ck, result.checkpoint, { length: 300, temperature: 0.8, seed: exp.seed }));
    }
    return 0;
  } finally {
    reporter.stop();
    stop.release();
  }
}
