/**
 * Worker side of bench/sync.ts. As a piscina task file its default export is the no-op task;
 * started as a plain worker thread with a `barrierJob`, it crosses a spin-then-wait Atomics
 * barrier many times and rank 0 reports the time per crossing.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

export default function noop(): null {
  return null;
}

export interface BarrierJob {
  /** Slot 0: arrived count, slot 1: generation. */
  control: Int32Array;
  rank: number;
  workers: number;
  warmupRounds: number;
  rounds: number;
  repeats: number;
}

const ARRIVED = 0;
const GENERATION = 1;
/** The train worker's scheme: spin this many polls, then sleep in Atomics.wait. */
const SPIN_POLLS = 20000;

function barrier(control: Int32Array, workers: number): void {
  const generation = Atomics.load(control, GENERATION);
  if (Atomics.add(control, ARRIVED, 1) === workers - 1) {
    Atomics.store(control, ARRIVED, 0);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    return;
  }
  for (let i = 0; i < SPIN_POLLS; i++) if (Atomics.load(control, GENERATION) !== generation) return;
  while (Atomics.load(control, GENERATION) === generation) Atomics.wait(control, GENERATION, generation);
}

/** Rank 0 posts the microseconds per barrier crossing of each repeat. */
function runBarrierJob(job: BarrierJob): void {
  const { control, workers } = job;
  for (let i = 0; i < job.warmupRounds; i++) barrier(control, workers);
  const microseconds: number[] = [];
  for (let r = 0; r < job.repeats; r++) {
    barrier(control, workers); // everyone starts the repeat together
    const start = performance.now();
    for (let i = 0; i < job.rounds; i++) barrier(control, workers);
    microseconds.push(((performance.now() - start) * 1000) / job.rounds);
  }
  if (job.rank === 0) parentPort!.postMessage(microseconds);
}

const job = (workerData as { barrierJob?: BarrierJob } | null)?.barrierJob;
if (!isMainThread && job) runBarrierJob(job);
