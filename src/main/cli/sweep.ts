/** `recur sweep`: a hyperparameter sweep from a sweep file. */
import { join } from 'node:path';
import { createReporter } from '../report/progress.js';
import { InputError } from '../errors.js';
import { runSweep } from '../sweep/sweep.js';
import { exitWithin } from './queue-exit.js';
import type { RecurCommand } from './command.js';
import { positiveInt } from './options.js';
import { SIGNAL_EXIT, stopOnSignals } from './signals.js';

interface SweepArgs { sweep: string; parallel?: unknown; out?: string; queue?: string }

export const sweepCommand: RecurCommand = {
  command: 'sweep <sweep>',
  describe: 'run a hyperparameter sweep',
  builder: (y) => y
    .positional('sweep', { type: 'string', demandOption: true, describe: 'sweep file (YAML or JSON)' })
    .option('parallel', { type: 'string', describe: 'trials trained at once; the cores are split between them (default 1)' })
    .option('out', { type: 'string', describe: "sweep folder (default: the sweep file's output.dir)" })
    .option('queue', { type: 'string', describe: 'put the trials on this Redis server for `recur agent`s to train: redis://HOST:PORT[/DB]' })
    .example('$0 sweep experiments/adding-sweep.yaml --parallel 2', 'LSTM vs tanh RNN on the adding problem, two trials at a time')
    .example('$0 sweep experiments/lr-sweep.yaml --out runs/lr', 'a random learning-rate search into runs/lr')
    .example('$0 sweep experiments/adding-sweep.yaml', 'run again: finished trials are skipped, failed ones retried')
    .example('$0 sweep experiments/adding-sweep.yaml --queue redis://10.0.0.5:6379', 'trials trained by agents on any machine'),
  run: (argv) => runSweepCommand(argv as unknown as SweepArgs),
};

async function runSweepCommand(argv: SweepArgs): Promise<number> {
  if (argv.queue === undefined) return sweepHere(argv);
  if (argv.parallel !== undefined) throw new InputError('--parallel: not with --queue (each agent trains one trial at a time; start more agents)');
  try {
    return exitWithin(await sweepHere(argv));
  } catch (err) {
    exitWithin(err instanceof InputError ? 2 : 1, 500);
    throw err;
  }
}

async function sweepHere(argv: SweepArgs): Promise<number> {
  const reporter = createReporter();
  const queued = argv.queue !== undefined;
  const stop = stopOnSignals(reporter, queued
    ? 'no longer waiting; the trials stay on the queue and the agents go on…'
    : 'stopping the running trials after their current step…');
  try {
    const onNotice = (text: string): void => reporter.notice(text);
    const s = queued
      // Loaded only for --queue: BullMQ is a third of every other command's start-up.
      ? await (await import('../sweep/queue/sweep.js')).runQueuedSweep(argv.sweep, { queue: argv.queue!, outDir: argv.out, onNotice, stopSignal: stop.controller.signal })
      : await runSweep(argv.sweep, {
        parallel: positiveInt('--parallel', argv.parallel), outDir: argv.out, onNotice, stopSignal: stop.controller.signal,
      });
    const summary = join(s.outDir, 'summary.md');
    if (s.status === 'interrupted') {
      console.error(`stopped: ${s.trials.length} of ${s.total} trials finished; run the same command again to continue. Summary: ${summary}`);
      return SIGNAL_EXIT[stop.received ?? 'SIGINT'];
    }
    const failed = s.trials.filter((t) => t.status === 'failed').length;
    const stopped = s.trials.filter((t) => t.status === 'stopped').length;
    console.log(`done: ${s.total} trials (${s.ran} run, ${s.skipped} already done, ${failed} failed${stopped > 0 ? `, ${stopped} stopped early` : ''}); ${s.best ? `best ${s.best.id} ${s.metric.name} ${s.best.metric}` : 'no trial ran to the end'}; summary ${summary}`);
    return 0;
  } finally {
    reporter.stop();
    stop.release();
  }
}
