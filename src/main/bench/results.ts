/** What `recur bench` measures: one result per workload and worker count (SPEC §8 JSON). */
import type { EngineKernels } from '../../shared/memory/shared-memory.js';
import type { KernelsChoice } from '../experiment/options.js';

export interface BenchResult {
  workload: string;
  cell: 'lstm' | 'gru' | 'rnn';
  workers: number;
  /** The kernels this row ran on (`blas`, `wasm` or `ts`). */
  kernels: EngineKernels;
  tokensPerSec: number;
  stepMs: number;
  gflops: number;
  /** Tokens/s relative to 1 worker on the same workload in the same run. */
  speedup: number;
  /** speedup / workers. */
  efficiency: number;
  /** Resident set of the whole process (all worker threads) with the engine alive. */
  rssMB: number;
}

export interface BenchReport {
  machine: { cpus: number; model: string; node: string };
  /** What --kernels asked for, what it chose on this machine, and why. */
  kernels: { requested: KernelsChoice; chosen: EngineKernels; why: string };
  results: BenchResult[];
}
