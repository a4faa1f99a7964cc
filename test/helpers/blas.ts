/**
 * Whether this machine can run the `blas` kernels: tests of the BLAS path take `{ skip: blasSkip }`,
 * so without a BLAS they are reported as skipped with what to install (CI installs libopenblas0).
 */
import { BLAS_INSTALL_HINT, loadBlas } from '../../src/shared/backends/blas.js';

const load = loadBlas();

export const blasSkip: string | false = load.ok ? false : `no BLAS: ${load.reason}; ${BLAS_INSTALL_HINT}`;

/** The kernels a test parametrised over kernels runs, with 'blas' skipped (not dropped) when unavailable. */
export const KERNELS_UNDER_TEST = ['ts', 'wasm', 'blas'] as const;

/** `{ skip }` for a test on `kernels`. */
export const skipFor = (kernels: string): { skip: string | false } => ({ skip: kernels === 'blas' ? blasSkip : false });
