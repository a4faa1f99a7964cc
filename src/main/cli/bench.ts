/** `recur bench`: the throughput benchmark; progress on stderr, the table on stdout. */
import os from 'node:os';
import { DEFAULT_MIN_STEPS, DEFAULT_SECONDS, runBench, svgPath, type BenchOptions } from '../bench/bench.js';
import { formatBenchTable } from '../bench/table.js';
import { WORKLOADS } from '../bench/workloads.js';
import { DEFAULT_KERNELS, KERNEL_CHOICES } from '../experiment/options.js';
import type { RecurCommand } from './command.js';
import { nonNegativeNumber, oneOf, positiveInt } from './options.js';

export const benchCommand: RecurCommand = {
  command: 'bench',
  describe: 'measure training throughput (tokens/s) of a char-level LM on four sizes, W0 (H=32) to W3 (H=512), at each worker count: table, JSON, SVG chart',
  builder: (y) => y
    .option('workloads', { type: 'string', default: Object.keys(WORKLOADS).join(','), describe: `comma list of workloads (${Object.entries(WORKLOADS).map(([name, w]) => `${name}: H=${w.hidden} T=${w.seqLen} B=${w.batch}`).join('; ')}; vocabulary 65, one layer, Adam)` })
    .option('workers', { type: 'string', describe: 'comma list of worker counts; 1 is always measured as the speedup baseline (default: 1 and all cores)' })
    .option('cell', { type: 'string', choices: ['lstm', 'gru', 'rnn'], default: 'lstm' })
    .option('kernels', { type: 'string', choices: [...KERNEL_CHOICES], default: DEFAULT_KERNELS, describe: 'matrix products: auto (blas when a BLAS library loads, else wasm), the system BLAS, WebAssembly SIMD, or the TypeScript reference' })
    .option('steps', { type: 'string', describe: `minimum timed steps per point (default ${DEFAULT_MIN_STEPS})` })
    .option('seconds', { type: 'string', describe: `time each point for at least this long (default ${DEFAULT_SECONDS})` })
    .option('json', { type: 'string', describe: 'write the results as JSON to this file' })
    .option('svg', { type: 'string', describe: 'write the chart here (default: next to --json, else bench.svg)' })
    .example('$0 bench', 'all workloads, 1 worker and all cores')
    .example('$0 bench --workloads W0,W1 --workers 1,2 --json bench.json', 'writes bench.json and bench.svg')
    .example('$0 bench --cell rnn --kernels ts', 'the Elman RNN on the TypeScript reference products'),
  run: (argv) => runBenchCommand(argv as unknown as BenchArgs),
};

/** Command-line arguments of `recur bench`, as yargs hands them over (comma lists as strings). */
interface BenchArgs {
  workloads: string;
  workers?: string;
  cell: string;
  kernels: string;
  steps?: string;
  seconds?: string;
  json?: string;
  svg?: string;
}

async function runBenchCommand(argv: BenchArgs): Promise<number> {
  const kernels = oneOf('--kernels', argv.kernels, KERNEL_CHOICES);
  const opts: BenchOptions = {
    workloads: argv.workloads.split(',').map((s) => s.trim().toUpperCase()),
    workers: argv.workers === undefined
      ? [...new Set([1, os.availableParallelism()])]
      : argv.workers.split(',').map((s) => Number(s.trim())),
    cell: oneOf('--cell', argv.cell, ['lstm', 'gru', 'rnn'] as const),
    kernels,
    steps: positiveInt('--steps', argv.steps),
    seconds: argv.seconds === undefined ? undefined : nonNegativeNumber('--seconds', argv.seconds),
    json: argv.json,
    svg: argv.svg,
    onProgress: (line) => console.error(line),
  };
  const report = await runBench(opts);
  console.log(formatBenchTable(report));
  console.log(`wrote ${[opts.json, svgPath(opts)].filter(Boolean).join(' and ')}`);
  return 0;
}
