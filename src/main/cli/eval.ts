/** `recur eval`: the loss of a checkpoint on its validation split or a given file, as one JSON line. */
import { evaluateCheckpoint } from '../inference/evaluate.js';
import type { RecurCommand } from './command.js';
import { positiveInt } from './options.js';

export const evalCommand: RecurCommand = {
  command: 'eval',
  describe: 'evaluate a checkpoint; prints one JSON line',
  builder: (y) => y
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'a .safetensors checkpoint' })
    .option('data', { type: 'string', describe: 'a data file for the model\'s task: text, CSV (series) or JSON Lines (sequences); default: the checkpoint\'s validation split' })
    .option('seq-len', { type: 'string', describe: 'window length for --data' })
    .option('workers', { type: 'string', describe: 'worker threads' })
    .example('$0 eval --checkpoint runs/default/checkpoint.safetensors', 'validation loss of a run')
    .example('$0 eval --checkpoint model.safetensors --data text.txt --seq-len 64', 'loss over every window of a text'),
  run: async (argv) => {
    const result = await evaluateCheckpoint(argv.checkpoint as string, {
      data: argv.data as string | undefined,
      seqLen: positiveInt('--seq-len', argv['seq-len']),
      workers: positiveInt('--workers', argv.workers),
      onNotice: (line) => console.error(line),
    });
    console.log(JSON.stringify(result));
    return 0;
  },
};
