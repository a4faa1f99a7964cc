/**
 * What the engine's main thread and its workers tell each other outside the shared memory: the
 * data every worker starts with (piscina's workerData) and the one long-lived task each runs.
 * After that, operations are driven through the control block (shared-memory.ts: CONTROL, OP).
 */
import type { SharedPlan } from './shared-memory.js';

export interface WorkerData {
  memory: WebAssembly.Memory;
  plan: SharedPlan;
  /**
   * The BLAS library the main thread chose for the blas kernels (Blas.library), which each worker
   * binds as it is, choosing nothing itself; null for the other kernels.
   */
  blasLibrary: string | null;
}

export interface WorkerTask {
  rank: number;
}
