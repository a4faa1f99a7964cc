/**
 * The `recur` command line (SPEC §5). Every failure ends in one line `error: …`: bad input
 * exits 2, a failure while running exits 1.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { firstLine, InputError, RunError } from './errors.js';
import { loadExperiment } from './experiment.js';
import { train } from './trainer.js';
import { createReporter, type Reporter } from './progress.js';
import { evaluateCheckpoint } from './evaluate.js';
import { loadCheckpoint } from './checkpoint.js';
import { sampleText } from './sample.js';
import { runSweep } from './sweep.js';
import { join } from 'node:path';
import { benchCommand, DEFAULT_KERNELS, DEFAULT_MIN_STEPS, DEFAULT_SECONDS, WORKLOADS } from './bench.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT/SIGTERM ask the work to stop cleanly (a checkpoint, then exit 130/143); a second
 * signal exits at once. `release` removes the handlers.
 */
function stopOnSignals(reporter: Reporter, doing: string): { controller: AbortController; readonly received: string | null; release(): void } {
  const controller = new AbortController();
  let received: string | null = null;
  const handler = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (received) process.exit(SIGNAL_EXIT[name]);
    received = name;
    reporter.notice(`${name}: ${doing}`);
    controller.abort();
  };
  const onInt = handler('SIGINT'), onTerm = handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    controller,
    get received() { return received; },
    release() { process.off('SIGINT', onInt); process.off('SIGTERM', onTerm); },
  };
}

function positiveInt(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

async function trainCommand(argv: { experiment: string; set?: string[]; workers?: unknown; out?: string; resume?: boolean }): Promise<number> {
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
    const val = result.valLoss === null ? '' : `, val loss ${result.valLoss.toFixed(4)}`;
    console.log(`done: ${result.step} steps, loss ${result.loss?.toFixed(4) ?? '-'}${val}, ${result.elapsedSec.toFixed(1)}s; run folder ${result.outDir}`);
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

/** `word` as one shell word: as is when it is plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

async function sweepCommand(argv: { sweep: string; parallel?: unknown; out?: string }): Promise<number> {
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

export async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  await yargs(args)
    .scriptName('recur')
    .usage('$0 <command> [options]\n\nTrain RNNs and LSTMs on every core.')
    .command('train [experiment]', 'train a model from an experiment file', (y) => y
      .positional('experiment', { type: 'string', default: 'experiments/default.yaml', describe: 'experiment file (YAML or JSON)' })
      .option('set', { type: 'string', array: true, describe: 'override a key: --set train.optimizer.lr=0.01' })
      .option('workers', { type: 'string', describe: 'worker threads (default: train.workers, else all cores)' })
      .option('out', { type: 'string', describe: 'run folder (default: output.dir)' })
      .option('resume', { type: 'boolean', default: false, describe: "continue from the run folder's checkpoint" })
      .example('$0 train', 'train experiments/default.yaml')
      .example('$0 train experiments/adding.yaml --workers 2 --set train.steps=500', 'override keys from the command line')
      .example('$0 train experiments/default.yaml --resume', 'continue an interrupted run'),
    async (argv) => { exitCode = await trainCommand(argv as never); })
    .command('eval', 'evaluate a checkpoint; prints one JSON line', (y) => y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'a .safetensors checkpoint' })
      .option('data', { type: 'string', describe: 'a text file (default: the checkpoint\'s validation split)' })
      .option('seq-len', { type: 'string', describe: 'window length for --data' })
      .option('workers', { type: 'string', describe: 'worker threads' })
      .example('$0 eval --checkpoint runs/default/checkpoint.safetensors', 'validation loss of a run')
      .example('$0 eval --checkpoint model.safetensors --data text.txt --seq-len 64', 'loss over every window of a text'),
    async (argv) => {
      const result = await evaluateCheckpoint(argv.checkpoint, {
        data: argv.data, seqLen: positiveInt('--seq-len', argv['seq-len']), workers: positiveInt('--workers', argv.workers),
      });
      console.log(JSON.stringify(result));
    })
    .command('sample', 'generate text from a checkpoint', (y) => y
      .option('checkpoint', { type: 'string', demandOption: true })
      .option('length', { type: 'string', default: '500', describe: 'characters to generate' })
      .option('temperature', { type: 'number', default: 1, describe: 'below 1: safer, above 1: wilder' })
      .option('prime', { type: 'string', describe: 'text to start from' })
      .option('seed', { type: 'string', default: '1' })
      .example('$0 sample --checkpoint runs/default/checkpoint.safetensors --prime "ROMEO:" --temperature 0.7', 'continue a prompt'),
    (argv) => {
      const ck = loadCheckpoint(argv.checkpoint);
      const seed = Number(argv.seed);
      if (!Number.isInteger(seed)) throw new InputError(`--seed: expected an integer, got ${JSON.stringify(argv.seed)}`);
      const text = sampleText(ck, argv.checkpoint, {
        length: positiveInt('--length', argv.length)!, temperature: argv.temperature, prime: argv.prime, seed,
      });
      process.stdout.write((argv.prime ?? '') + text + '\n');
    })
    .command('sweep <sweep>', 'run a hyperparameter sweep', (y) => y
      .positional('sweep', { type: 'string', demandOption: true, describe: 'sweep file (YAML or JSON)' })
      .option('parallel', { type: 'string', default: '1', describe: 'trials trained at once; the cores are split between them' })
      .option('out', { type: 'string', describe: "sweep folder (default: the sweep file's output.dir)" })
      .example('$0 sweep experiments/adding-sweep.yaml --parallel 2', 'LSTM vs tanh RNN on the adding problem, two trials at a time')
      .example('$0 sweep experiments/lr-sweep.yaml --out runs/lr', 'a random learning-rate search into runs/lr')
      .example('$0 sweep experiments/adding-sweep.yaml', 'run again: finished trials are skipped, failed ones retried'),
    async (argv) => { exitCode = await sweepCommand(argv as never); })
    .command('bench', 'measure training throughput on the SPEC §8 workloads (table, JSON, SVG chart)', (y) => y
      .option('workloads', { type: 'string', default: Object.keys(WORKLOADS).join(','), describe: 'comma list of workloads' })
      .option('workers', { type: 'string', describe: 'comma list of worker counts; 1 is always measured as the speedup baseline (default: 1 and all cores)' })
      .option('cell', { type: 'string', choices: ['lstm', 'rnn'], default: 'lstm' })
      .option('kernels', { type: 'string', choices: ['ts', 'wasm'], default: DEFAULT_KERNELS, describe: 'matrix products: TypeScript reference or WebAssembly SIMD' })
      .option('steps', { type: 'string', describe: `minimum timed steps per point (default ${DEFAULT_MIN_STEPS})` })
      .option('seconds', { type: 'string', describe: `time each point for at least this long (default ${DEFAULT_SECONDS})` })
      .option('json', { type: 'string', describe: 'write the results as JSON to this file' })
      .option('svg', { type: 'string', describe: 'write the chart here (default: next to --json, else bench.svg)' })
      .example('$0 bench', 'all workloads, 1 worker and all cores')
      .example('$0 bench --workloads W0,W1 --workers 1,2 --json bench.json', 'writes bench.json and bench.svg')
      .example('$0 bench --cell rnn --kernels ts', 'the Elman RNN on the TypeScript reference products'),
    async (argv) => { await benchCommand(argv); })
    .demandCommand(1, 'name a command: train, eval, sample, sweep or bench')
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      throw new InputError(`command line: ${msg}`);
    })
    .help()
    .parseAsync();
  return exitCode;
}

/** The one place that turns errors into an exit code and a single line. */
export function reportError(err: unknown): number {
  if (err instanceof InputError) {
    console.error(`error: ${err.message}`);
    return 2;
  }
  console.error(`error: ${firstLine(err)}`);
  if (!(err instanceof RunError) && process.env.RECUR_DEBUG) console.error(err);
  return 1;
}

/** Entry point of bin/recur.js. */
export function runCli(): void {
  main(hideBin(process.argv)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => { process.exitCode = reportError(err); },
  );
}
