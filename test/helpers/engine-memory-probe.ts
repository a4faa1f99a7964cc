// Run by test/engine/engine-memory.test.ts in a plain `node --expose-gc` process: tap's own
// instrumentation in the test process retains a little per awaited promise, which would hide
// (or fake) the engine's. Prints {"steps": N, "growthBytes": B} on stdout.
import { handshakeEngine } from '../../bench/handshake-engine.js';

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
const engine = handshakeEngine(workers);
try {
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
