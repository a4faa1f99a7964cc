/** Timing one call of a kernel for the micro-benchmarks (bench/gemm.ts, bench/profile.ts). */

const WARMUP_SECONDS = 0.1;
const SAMPLE_SECONDS = 0.05;
const MAX_SAMPLES = 7;
/** Slow cases (the TS reference on big shapes) stop sampling after this long. */
const BUDGET_SECONDS = 1.5;

const now = (): number => performance.now() / 1000;

/** Median seconds per call of `run`, after warm-up. */
export function secondsPerCall(run: () => void): number {
  const warmupEnd = now() + WARMUP_SECONDS;
  let callsPerSample = 0;
  do {
    run();
    callsPerSample++;
  } while (now() < warmupEnd);
  callsPerSample = Math.max(1, Math.round(callsPerSample * SAMPLE_SECONDS / WARMUP_SECONDS));
  const samples: number[] = [];
  const budgetEnd = now() + BUDGET_SECONDS;
  while (samples.length < MAX_SAMPLES && (samples.length === 0 || now() < budgetEnd)) {
    const start = now();
    for (let i = 0; i < callsPerSample; i++) run();
    samples.push((now() - start) / callsPerSample);
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1]!;
}
