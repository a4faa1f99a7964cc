/** `recur agent`: trains trials from a sweep queue on this machine. */
import { InputError } from '../errors.js';
import { createReporter } from '../report/progress.js';
import type { RecurCommand } from './command.js';
import { positiveInt } from './options.js';
import { SIGNAL_EXIT, stopOnSignals } from './signals.js';
import { exitWithin } from './queue-exit.js';

interface AgentArgs { queue: string; workers?: unknown; once?: boolean; out?: string }

export const agentCommand: RecurCommand = {
  command: 'agent',
  describe: 'take trials from a sweep queue (Redis) and train them on this machine',
  builder: (y) => y
    .option('queue', { type: 'string', demandOption: true, describe: 'the Redis server: redis://HOST:PORT[/DB]' })
    .option('workers', { type: 'string', describe: 'worker threads per trial (default: all cores; a trial that sets train.workers keeps it)' })
    .option('once', { type: 'boolean', default: false, describe: 'exit when no trial is left on the queue (default: wait for more, forever)' })
    .option('out', { type: 'string', describe: 'put run folders under this folder (default: where the sweep side put them, e.g. a shared disk)' })
    .example('$0 agent --queue redis://10.0.0.5:6379', 'train trials as they come, until Ctrl-C')
    .example('$0 agent --queue redis://10.0.0.5:6379 --once --workers 4', 'train until the queue is empty, 4 threads per trial'),
  run: (argv) => runAgentCommand(argv as unknown as AgentArgs),
};

async function runAgentCommand(argv: AgentArgs): Promise<number> {
  const reporter = createReporter();
  const stop = stopOnSignals(reporter, 'checkpointing the running trial and giving it back to the queue…');
  try {
    // Loaded here, not at the top: BullMQ is a third of every other command's start-up.
    const { runAgent } = await import('../sweep/queue/agent.js');
    const summary = await runAgent({
      queue: argv.queue, workers: positiveInt('--workers', argv.workers), once: argv.once, outDir: argv.out,
      onNotice: (text) => reporter.notice(text), stopSignal: stop.controller.signal,
    });
    if (summary.status === 'interrupted') {
      console.error(`stopped after ${summary.finished} trial${summary.finished === 1 ? '' : 's'}`);
      return exitWithin(SIGNAL_EXIT[stop.received ?? 'SIGINT']!);
    }
    console.log(`done: the queue is empty; ${summary.finished} trial${summary.finished === 1 ? '' : 's'} trained here`);
    return exitWithin(0);
  } catch (err) {
    exitWithin(err instanceof InputError ? 2 : 1, 500);
    throw err;
  } finally {
    reporter.stop();
    stop.release();
  }
}
