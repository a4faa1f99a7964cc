// Run by test/engine-memory.test.ts in a plain `node --expose-gc` process: tap's own
// instrumentation in the test process retains a little per awaited promise, which would hide
// (or fake) the engine's. Prints {"steps": N, "growthBytes": B} on stdout.
import { Engine } from '../../src/main/run/engine.js';
import { initParams } from '../../src/shared/init.js';
import type { EngineSpec } from '../../src/shared/shared-memory.js';

const WARMUP_STEPS = 2000;
const steps = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const workers = 1;
const cfg = { cell: 'lstm', inputSize: 2, hidden: 1, layers: 1, outputSize: 2, recurrence: 'hidden', outputs: 'all' } as const;
const spec: EngineSpec = {
  cfg, loss: 'ce', input: 'onehot', seqLen: 1, batch: workers, workers, kernels: 'ts',
  optimizer: { name: 'adam', lr: 0.001, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
  clip: 5, teacherForcing: false,
};
// A 1-unit model makes a step cost almost nothing but the handshake, so thousands of them show
// any per-step retention.
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
  await run(steps);
  process.stdout.write(JSON.stringify({ steps, growthBytes: heapAfterGc() - before }) + '\n');
} finally {
  await engine.close();
}
