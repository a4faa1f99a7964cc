/**
 * Per-step synchronisation overhead of the choices in SPEC §9, on this machine, for 1 and 2
 * workers (medians of a few repeats; the machine is shared, so expect noise):
 *
 *   (a) piscina: one task round trip per worker per step (pool.run of a no-op on every worker);
 *   (b) the engine's Atomics handshake, measured on the real Engine with a 1-unit model
 *       (H = 1, T = 1, B = workers) so that compute is negligible — an evaluate operation is the
 *       bare handshake (bump + notify, workers wake, done counter, Atomics.waitAsync), a train
 *       step adds its two barriers, the reduce-scatter and the optimizer;
 *   (c) the spin-then-wait Atomics barrier the workers use, between plain worker threads.
 *
 *   node dist/bench/sync.js
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { handshakeEngine } from './handshake-engine.js';
import type { BarrierJob } from './sync-worker.js';

const WORKER_FILE = new URL('./sync-worker.js', import.meta.url);
const WORKER_COUNTS = [1, 2];
const REPEATS = 5;
const WARMUP_ROUNDS = 500;
const ROUNDS = 2000;
/** Barrier crossings are ~100× cheaper than a round trip; more of them per repeat. */
const BARRIER_ROUNDS = 100_000;

/** Median over REPEATS of the microseconds per call of `round`, after warm-up. */
async function microsecondsPerRound(round: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP_ROUNDS; i++) await round();
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    for (let i = 0; i < ROUNDS; i++) await round();
    samples.push(((performance.now() - start) * 1000) / ROUNDS);
  }
  return median(samples);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

async function piscinaRoundTrip(workers: number): Promise<number> {
  const pool = new Piscina({ filename: WORKER_FILE.href, minThreads: workers, maxThreads: workers, idleTimeout: Infinity });
  try {
    return await microsecondsPerRound(() => Promise.all(Array.from({ length: workers }, () => pool.run(null))));
  } finally {
    await pool.destroy();
  }
}

async function engineHandshake(workers: number): Promise<{ evaluate: number; trainStep: number }> {
  const engine = handshakeEngine(workers);
  try {
    let step = 0;
    const trainStep = await microsecondsPerRound(() => engine.trainStep(++step, 0.001, workers));
    const evaluate = await microsecondsPerRound(() => engine.evaluate());
    return { evaluate, trainStep };
  } finally {
    await engine.close();
  }
}

async function spinBarrier(workers: number): Promise<number> {
  const control = new Int32Array(new SharedArrayBuffer(2 * 4));
  const threads = Array.from({ length: workers }, (_, rank) => {
    const barrierJob: BarrierJob = { control, rank, workers, warmupRounds: WARMUP_ROUNDS, rounds: BARRIER_ROUNDS, repeats: REPEATS };
    return new Worker(WORKER_FILE, { workerData: { barrierJob } });
  });
  const [microseconds] = (await once(threads[0]!, 'message')) as [number[]];
  await Promise.all(threads.map((w) => once(w, 'exit')));
  return median(microseconds);
}

/** Runs `measure` for each worker count, one after the other (they would compete for cores). */
async function sequential<T>(measure: (workers: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const workers of WORKER_COUNTS) out.push(await measure(workers));
  return out;
}

const rows: [string, ...number[]][] = [
  ['(a) piscina task round trip, one per worker', ...(await sequential(piscinaRoundTrip))],
];
const engine = await sequential(engineHandshake);
rows.push(['(b) engine handshake (evaluate, H=1)', ...engine.map((e) => e.evaluate)]);
rows.push(['(b) engine train step (H=1): + 2 barriers', ...engine.map((e) => e.trainStep)]);
rows.push(['(c) spin-then-wait barrier, one crossing', ...(await sequential(spinBarrier))]);

const header = ['µs per step', ...WORKER_COUNTS.map((n) => `${n} worker${n === 1 ? '' : 's'}`)];
const table = rows.map(([label, ...values]) => [label, ...values.map((v) => v.toFixed(2))]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => cells[i]!.length)));
for (const cells of [header, ...table]) {
  console.log(cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}
