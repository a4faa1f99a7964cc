/** `recur export`: a checkpoint as a model other runtimes load (SPEC §10). */
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { writeFileAtomic } from '../atomic-write.js';
import type { RecurCommand } from './command.js';
import { oneOf } from './options.js';

export const exportCommand: RecurCommand = {
  command: 'export',
  describe: 'export a checkpoint for another runtime (ONNX)',
  builder: (y) => y
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'a .safetensors checkpoint' })
    .option('format', { type: 'string', default: 'onnx', describe: 'onnx (opset 17; ONNX Runtime, onnxruntime-web, Python)' })
    .option('out', { type: 'string', describe: 'the file to write (default: the checkpoint\'s path with .onnx)' })
    .example('$0 export --checkpoint runs/co2/best.safetensors --out co2.onnx', 'an ONNX model of a run\'s best step'),
  run: async (argv) => {
    const checkpoint = argv.checkpoint as string;
    oneOf('--format', argv.format as string, ['onnx'] as const);
    const out = (argv.out as string | undefined) ?? checkpoint.replace(/(\.safetensors)?$/, '.onnx');
    // Loaded here: the protobuf library is needed by no other command.
    const { exportOnnx } = await import('../export/onnx.js');
    const bytes = exportOnnx(loadCheckpoint(checkpoint), checkpoint);
    writeFileAtomic(out, bytes);
    console.error(`wrote ${out} (${(bytes.length / 1024).toFixed(1)} KB, ONNX opset 17)`);
    return 0;
  },
};
