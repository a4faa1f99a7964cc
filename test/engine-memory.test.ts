// Long runs stay flat: the engine's per-step handshake must not retain memory. A 40-minute run of
// the default model once grew its RSS by 11 MB because every step left ~300 bytes behind (a
// reaction on a promise that lived as long as the engine). Here a 1-unit model makes steps cost
// almost nothing but the handshake, so thousands of them show any per-step retention in the heap
// after a full collection. A count of bytes, not a timing: the machine's speed does not matter.
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Engine } from '../src/main/run/engine.js';
import { initParams } from '../src/shared/init.js';
import type { EngineSpec } from '../src/shared/shared-memory.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const WARMUP_STEPS = 2000;
const STEPS = 10_000;
/** The old leak retained ~3 MB over STEPS; a flat engine stays within noise (up to ~0.4 MB: compiled code, buffers). */
const MAX_GROWTH_BYTES = 1_000_000;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

t.test('the engine retains no memory per step (train steps and evaluations)', async (t) => {
  const workers = 1;
  const cfg = { cell: 'lstm', inputSize: 2, hidden: 1, layers: 1, outputSize: 2, recurrence: 'hidden', outputs: 'all' } as const;
  const spec: EngineSpec = {
    cfg, loss: 'ce', input: 'onehot', seqLen: 1, batch: workers, workers, kernels: 'ts',
    optimizer: { name: 'adam', lr: 0.001, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: 5, teacherForcing: false,
  };
  const engine = Engine.create(spec);
  try {
    initParams(cfg, engine.plan.layout, engine.views.params, 1, { scale: null, forgetBias: 1 });
    engine.views.shardSizes.fill(1);
    let step = 0;
    const run = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await engine.trainStep(++step, 0.001, workers);
        if (i % 10 === 0) await engine.evaluate();
      }
    };
    await run(WARMUP_STEPS);
    const before = heapAfterGc();
    await run(STEPS);
    const growth = heapAfterGc() - before;
    t.ok(growth < MAX_GROWTH_BYTES, `heap grew ${(growth / 1e6).toFixed(3)} MB over ${STEPS} steps (at most ${MAX_GROWTH_BYTES / 1e6} MB)`);
  } finally {
    await engine.close();
  }
});
