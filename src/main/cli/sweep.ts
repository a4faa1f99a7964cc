/** `recur sweep`: a hyperparameter sweep from a sweep file. */
import { join } from 'node:path';
import { createReporter } from '../report/progress.js';
import { runSweep } from '../sweep/sweep.js';
import type { RecurCommand } from './command.js';
import { positiveInt } from './options.js';
import { SIGNAL_EXIT, stopOnSignals } from './signals.js';

interface SweepArgs { sweep: string; parallel?: unknown; out?: string }

export const sweepCommand: RecurCommand = {
  command: 'sweep <sweep>',
  describe: 'run a hyperparameter sweep',
  builder: (y) => y
    .positional('sweep', { type: 'string', demandOption: true, describe: 'sweep file (YAML or JSON)' })
    .option('parallel', { type: 'string', default: '1', describe: 'trials trained at once; the cores are split between them' })
    .option('out', { type: 'string', describe: "sweep folder (default: the sweep file's output.dir)" })
    .example('$0 sweep experiments/adding-sweep.yaml --parallel 2', 'LSTM vs tanh RNN on the adding problem, two trials at a time')
    .example('$0 sweep experiments/lr-sweep.yaml --out runs/lr', 'a random learning-rate search into runs/lr')
    .example('$0 sweep experiments/adding-sweep.yaml', 'run again: finished trials are skipped, failed ones retried'),
  run: (argv) => runSweepCommand(argv as unknown as SweepArgs),
};

async function runSweepCommand(argv: SweepArgs): Promise<number> {
  const reporter = createReporter();
  const stop = stopOnSignals(reporter, 'stopping the running trials after their current step…');
  try {
    const s = await runSweep(argv.sweep, {
      parallel: positiveInt('--parallel', argv.parallel), outDir: argv.out,
      onNotice: (text) => reporter.notice(text), stopSignal: stop.controller.signal,
    });
    const summary = join(s.outDir, 'summary.md');
    if (s.status === 'interrupted') {
      console.error(`stopped: ${s.trials.length} of ${s.total} trials finished; run the same command again to continue. Summary: ${summary}`);
      return SIGNAL_EXIT[stop.received ?? 'SIGINT'];
    }
    const failed = s.trials.filter((t) => t.status === 'failed').length;
    console.log(`done: ${s.total} trials (${s.ran} run, ${s.skipped} already done, ${failed} failed); best ${s.best!.id} ${s.metric.name} ${s.best!.metric}; summary ${summary}`);
    return 0;
  } finally {
    reporter.stop();
    stop.release();
  }
}
