/**
 * train.kernels → the kernels an engine runs. `auto` is `blas` when koffi and a BLAS library load
 * on this machine, else `wasm`; `blas` without one is bad input that says what to install.
 *
 * Resuming: the checkpoint records the kernels it was trained with. `auto` keeps them when they
 * are available here (a run started on wasm stays on wasm even if a BLAS appeared since), so a
 * resumed run continues bit for bit; when they are not (the checkpoint's BLAS is gone), `auto`
 * falls back to what it finds and the reason says the continuation is not bit-identical.
 *
 * Running a checkpoint (eval, predict, sample) resolves the same way: its experiment's
 * train.kernels as asked, `auto` kept on the kernels it was trained with where they are available.
 * Every command that runs a model resolves here, once, on the main thread; the engine's workers
 * and Forward take the result (and for blas the main thread's library) as it is.
 */
import { BLAS_INSTALL_HINT, loadBlas } from '../../shared/backends/blas.js';
import type { EngineKernels } from '../../shared/memory/shared-memory.js';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { inputError } from '../errors.js';
import { KERNEL_CHOICES, type KernelsChoice } from '../experiment/options.js';


export interface ResolvedKernels {
  requested: KernelsChoice;
  kernels: EngineKernels;
  /** For people: `auto: libopenblas.so.0 loaded, OpenBLAS SkylakeX kernels`, `auto: no BLAS library loaded (…)`, `requested`. */
  why: string;
}

/** `blas (auto: libopenblas.so.0 loaded)`: the kernels and why, for start lines and headers. */
export function describeKernels(r: ResolvedKernels): string {
  return `${r.kernels} (${r.why})`;
}

/**
 * The kernels `requested` means here; `file` and `key` name the setting in an error. `previous`:
 * the kernels a resumed checkpoint was trained with. `askedBy`: who requested, for the reason.
 */
export function resolveKernels(requested: KernelsChoice, file: string, key: string | null = 'train.kernels', previous?: EngineKernels, askedBy = 'requested'): ResolvedKernels {
  if (requested === 'ts' || requested === 'wasm') return { requested, kernels: requested, why: askedBy };
  if (requested === 'auto' && (previous === 'ts' || previous === 'wasm')) {
    return { requested, kernels: previous, why: 'auto: as the checkpoint was trained' };
  }
  const load = loadBlas();
  if (load.ok) {
    const core = load.blas.core ? `, OpenBLAS ${load.blas.core} kernels` : '';
    const origin = requested === 'auto' ? `auto: ${load.blas.library} loaded${core}` : `${askedBy}; ${load.blas.library}${core}`;
    return { requested, kernels: 'blas', why: previous === 'blas' ? `${origin}, as the checkpoint was trained` : origin };
  }
  if (requested === 'blas') throw inputError(file, key, `blas needs a BLAS library, but ${load.reason}; ${BLAS_INSTALL_HINT}`);
  const changed = previous === 'blas' ? '; the checkpoint was trained with blas, so this continuation is not bit-identical to an uninterrupted run' : '';
  return { requested, kernels: 'wasm', why: `auto: ${load.reason}${changed}` };
}

/** The kernels a checkpoint was trained with, as its train metadata records them. */
export function trainedKernels(ck: CheckpointData | null): EngineKernels | undefined {
  const k = ck?.train?.kernels;
  return k === 'ts' || k === 'wasm' || k === 'blas' ? k : undefined;
}

/** Where a checkpoint runs: an engine of workers (eval) or the calling thread (predict, sample). */
export type KernelUse = 'engine' | 'calling-thread';

/** The train.kernels of the experiment a checkpoint records (`auto` when none). */
function recordedKernels(ck: CheckpointData): KernelsChoice {
  const recorded = (ck.experiment as { train?: { kernels?: unknown } } | undefined)?.train?.kernels;
  return KERNEL_CHOICES.find((k) => k === recorded) ?? 'auto';
}

/**
 * The kernels to run checkpoint `file` with: `requested` when the caller asks (an API option),
 * else the train.kernels of the experiment it records (`auto` when none); `auto` keeps the kernels
 * it was trained with where they are available. A checkpoint that asks for `blas` still runs where
 * no BLAS loads: on wasm, saying why.
 */
export function resolveCheckpointKernels(ck: CheckpointData, file: string, requested?: KernelsChoice, use: KernelUse = 'engine'): ResolvedKernels {
  const trained = trainedKernels(ck);
  // On the calling thread a request is one or a few sequences: BLAS pays off only for batched
  // products (one-row products cost it a repack of the weights per call), and wasm gives the same
  // numbers as the browser runtime. `auto` means wasm there; an explicit blas is still honoured.
  if (use === 'calling-thread' && (requested ?? recordedKernels(ck)) === 'auto') {
    return { requested: 'auto', kernels: 'wasm', why: 'auto: wasm on the calling thread' };
  }
  // Which BLAS matters not for a model's outputs, only that one loads: no continuation to warn about.
  const kept = trained === 'blas' ? undefined : trained;
  if (requested !== undefined) return resolveKernels(requested, file, 'kernels', kept);
  const asked = recordedKernels(ck);
  const askedBy = `as the checkpoint's train.kernels asks`;
  if (asked === 'blas') {
    const load = loadBlas();
    if (!load.ok) return { requested: asked, kernels: 'wasm', why: `the checkpoint's train.kernels asks for blas, but ${load.reason}` };
  }
  const resolved = resolveKernels(asked, file, 'train.kernels', kept, askedBy);
  return asked === 'auto' && trained === 'blas' && resolved.kernels === 'blas' ? { ...resolved, why: `${resolved.why}, as the checkpoint was trained` } : resolved;
}
