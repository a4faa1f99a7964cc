/**
 * train.kernels → the kernels an engine runs. `auto` is `blas` when koffi and a BLAS library load
 * on this machine, else `wasm`; `blas` without one is bad input that says what to install.
 */
import { BLAS_INSTALL_HINT, loadBlas } from '../../shared/blas.js';
import type { EngineKernels } from '../../shared/shared-memory.js';
import { inputError } from '../errors.js';

export const KERNEL_CHOICES = ['auto', 'blas', 'wasm', 'ts'] as const;
export type KernelsChoice = (typeof KERNEL_CHOICES)[number];
export const DEFAULT_KERNELS: KernelsChoice = 'auto';

export interface ResolvedKernels {
  kernels: EngineKernels;
  /** For people: `blas (libopenblas.so.0)`, `wasm (auto: no BLAS library loaded …)`. */
  description: string;
}

/** The kernels `requested` means here; `file` and `key` name the setting in an error. */
export function resolveKernels(requested: KernelsChoice, file: string, key = 'train.kernels'): ResolvedKernels {
  if (requested === 'ts' || requested === 'wasm') return { kernels: requested, description: requested };
  const load = loadBlas();
  if (load.ok) return { kernels: 'blas', description: `blas (${load.blas.library}${requested === 'auto' ? ', auto' : ''})` };
  if (requested === 'auto') return { kernels: 'wasm', description: `wasm (auto: ${load.reason})` };
  throw inputError(file, key, `blas needs a BLAS library, but ${load.reason}; ${BLAS_INSTALL_HINT}`);
}
