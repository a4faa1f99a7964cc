/**
 * Where a training step's time goes at N workers: each kernel, the rest of forward+backward,
 * the all-reduce, the optimizer, synchronisation (barrier waits and waiting for the next step,
 * which includes the main thread's batch fill and handshake). Shares of the step's wall time,
 * averaged over the workers. Usage: node dist/bench/profile.js [--workloads W1,W3] [--workers 2] [--steps 40]
 */
import { runBench } from '../src/main/bench/bench.js';
import { Engine } from '../src/main/run/engine.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

process.env.RECUR_PROFILE = '1';
const workers = Number(arg('workers', '2'));
const steps = Number(arg('steps', '40'));
for (const workload of arg('workloads', 'W1,W3').split(',')) {
  // Capture the engine's per-worker profiles by wrapping close().
  let profiles: Record<string, number>[] = [];
  const close = Engine.prototype.close;
  Engine.prototype.close = async function (this: Engine) {
    await close.call(this);
    profiles = this.profiles;
  };
  const t0 = performance.now();
  const report = await runBench({ workloads: [workload], workers: [workers], cell: 'lstm', steps, warmup: 3, seconds: 0 });
  const wall = performance.now() - t0;
  Engine.prototype.close = close;
  const point = report.results.find((r) => r.workers === workers)!;
  const mean: Record<string, number> = {};
  for (const p of profiles) for (const [k, v] of Object.entries(p)) mean[k] = (mean[k] ?? 0) + v / profiles.length;
  // forward+backward includes the kernels; show the remainder as "other compute".
  const kernels = Object.entries(mean).filter(([k]) => k.startsWith('kernel:'));
  const kernelSum = kernels.reduce((a, [, v]) => a + v, 0);
  const rows: [string, number][] = [...kernels, ['other forward+backward (loss, bias sums, fills)', (mean['forward+backward'] ?? 0) - kernelSum]];
  for (const k of ['all-reduce', 'optimizer', 'sync:barrier', 'sync:between steps']) rows.push([k, mean[k] ?? 0]);
  const total = rows.reduce((a, [, v]) => a + v, 0);
  console.log(`\n${workload}, ${workers} workers, ${point.tokensPerSec.toFixed(0)} tok/s (median step ${point.stepMs.toFixed(1)} ms; profiled wall ${(wall / 1000).toFixed(1)} s incl. start-up)`);
  for (const [k, v] of rows.sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(52)} ${(100 * v / total).toFixed(1).padStart(5)}%`);
}
