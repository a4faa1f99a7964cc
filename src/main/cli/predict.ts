/** `recur predict`: forecasts (CSV) or labels and values (JSONL) for every window or sequence of a file. */
import { predictFile } from '../inference/predict-file.js';
import type { RecurCommand } from './command.js';

export const predictCommand: RecurCommand = {
  command: 'predict',
  describe: 'predict with a series or sequences checkpoint, in the data\'s own units and labels',
  builder: (y) => y
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'a .safetensors checkpoint of a series or sequences model' })
    .option('data', { type: 'string', demandOption: true, describe: 'a CSV (series) or JSON Lines (sequences) file with the columns the model was trained on' })
    .option('out', { type: 'string', describe: 'file to write (default or -: standard output)' })
    .option('steps', { type: 'number', describe: 'series: forecast N rows past each series\' end, each forecast fed back as the next row (models trained with horizon 1)' })
    .example('$0 predict --checkpoint runs/co2/checkpoint.safetensors --data data/co2-concentration.csv --out forecasts.csv', 'a forecast after every month')
    .example('$0 predict --checkpoint runs/co2-recursive/checkpoint.safetensors --data data/co2-concentration.csv --steps 12', 'the next 12 months, one row each')
    .example('$0 predict --checkpoint runs/mnist-rows/checkpoint.safetensors --data digits.jsonl', 'labels and probabilities, one JSON line per sequence'),
  run: async (argv) => {
    const out = argv.out as string | undefined;
    const steps = argv.steps as number | undefined;
    const text = predictFile(argv.checkpoint as string, argv.data as string, { out, steps, onNotice: (line) => console.error(line) });
    if (out === undefined || out === '-') {
      // `recur predict … | head` closes the pipe early: that is the reader's choice, not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
      process.stdout.write(text);
    }
    return 0;
  },
};
