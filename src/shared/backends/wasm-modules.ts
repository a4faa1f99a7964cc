/**
 * Loads every WebAssembly module of recur onto a shared WebAssembly.Memory: the GEMMs
 * (src/wasm/gemm.wat) and the elementwise parts of a step (src/wasm/elementwise.wat: cells,
 * one-hot input, losses, bias sums and adds), together the network's modules; and the parameter
 * update (src/wasm/optim.wat: the gradient reduce, the clipping norm's sum of squares, the
 * optimizers), the optimizer's module. Built to dist/wasm/*.wasm. Every pointer is a BYTE offset
 * into that memory, every matrix plain row-major float32 (C row stride N, A row stride K), nothing
 * is copied.
 *
 * The modules are compiled once per thread; each thread instantiates them with the shared memory.
 * The modules keep no state, so threads may run them concurrently on one memory as long as the
 * regions they write (C, packed B, scratch) don't overlap. Each module is also built as
 * <name>.local.wasm, the same code importing a memory that is not shared: single-thread inference
 * runs on one (browsers give shared memory only to cross-origin isolated pages). The bytes come
 * from wasm-bytes.ts, which the browser bundle swaps for bytes it carries inline.
 *
 * Packed B: 16-column panels, [ceil(N/16)][K][16] floats, zero-padded past N. Pack weights once
 * per optimizer step (packBT for a PyTorch [out,in] weight used as Bᵀ, packB for a [K,N] operand).
 * Alignment: any 4-byte aligned offset is correct; 16- or 64-byte aligned is faster.
 */
import { adamBiasCorrection, type OptimizerSpec } from '../model/optim.js';
import { wasmBytes } from './wasm-bytes.js';

/** A shared memory for the modules (and worker threads) alone, sizes in 64 KiB pages (an engine's comes from its plan). */
export function createWasmMemory(initialPages: number, maximumPages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared: true });
}

/** The network's modules (gemm.wasm and elementwise.wasm) on one memory. */
export interface WasmNetworkModules {
  memory: WebAssembly.Memory;
  /** Floats needed to hold B packed for the kernels (N rounded up to the panel width). */
  packedSize(N: number, K: number): number;
  /** Pack B given as [N,K] row-major (a PyTorch weight, used as Bᵀ) into panels at dst. */
  packBT(dst: number, src: number, N: number, K: number): void;
  /** Pack B given as [K,N] row-major into panels at dst. */
  packB(dst: number, src: number, K: number, N: number): void;
  /** C[M,N] = beta·C + A[M,K] · B, with B already packed at bp. All pointers are BYTE offsets in memory. */
  gemmPacked(c: number, a: number, bp: number, M: number, N: number, K: number, beta: 0 | 1): void;
  /** C[M,N] = beta·C + A[K,M]ᵀ · B[K,N]; packs what it needs into `scratch` (byte offset; scratchFloats(M,N,K) floats). */
  gemmAtB(c: number, a: number, b: number, M: number, N: number, K: number, beta: 0 | 1, scratch: number): void;
  scratchFloats(M: number, N: number, K: number): number;
  /** cells.ts lstmStepForward over B samples; gates [B][4H], the states [B][H]. */
  lstmForward(gates: number, cPrev: number, c: number, tanhC: number, h: number, B: number, H: number): void;
  /** cells.ts lstmStepBackward; dcCarry [B][H] in and out. */
  lstmBackward(gates: number, cPrev: number, tanhC: number, dh: number, dcCarry: number, dGates: number, B: number, H: number): void;
  /** cells.ts gruStepForward over B samples; gates and hh [B][3H], hPrev and h [B][H]. */
  gruForward(gates: number, hh: number, hPrev: number, h: number, B: number, H: number): void;
  /** cells.ts gruStepBackward; dhCarry [B][H] in and out, dGates and dGatesH [B][3H] out. */
  gruBackward(gates: number, hh: number, hPrev: number, dh: number, dhCarry: number, dGates: number, dGatesH: number, B: number, H: number): void;
  /** h = tanh(pre) over n floats. */
  rnnForward(pre: number, h: number, n: number): void;
  /** dPre = dh ⊙ (1 − h²) over n floats. */
  rnnBackward(h: number, dh: number, dPre: number, n: number): void;
  /** table [V][GH] = Wᵀ + bias (W [GH][V]): the one-hot input projection, one row per symbol. */
  oneHotTable(table: number, w: number, bias: number, GH: number, V: number): void;
  /** gates[r] = table[tokens[r]] for R rows (tokens: Int32). */
  oneHotProject(gates: number, table: number, tokens: number, R: number, GH: number, V: number): void;
  /** dW [GH][V] += Σ_r dGates[r] into column tokens[r]; acc: GH·V floats of scratch. */
  oneHotGradient(dW: number, acc: number, dGates: number, tokens: number, R: number, GH: number, V: number): void;
  /**
   * loss.ts softmaxCrossEntropy over R rows of O ≥ 4 (P must not overlap Y; dY written only if
   * grad is 1; targets Int32, trapping outside [0, O)). Returns [m, rest]: the loss sum is
   * Math.log(m) + rest.
   */
  softmaxCrossEntropy(y: number, p: number, targets: number, R: number, O: number, dY: number, grad: 0 | 1, scale: number): [number, number];
  /** loss.ts softmaxRows over R rows of O ≥ 4 (P must not overlap Y). */
  softmaxRows(y: number, p: number, R: number, O: number): void;
  /** Σ (y − t)² over n floats (float64); dY = factor·(y − t) if grad is 1. */
  squaredError(y: number, t: number, n: number, dY: number, grad: 0 | 1, factor: number): number;
  /** out[j] += Σ_r m[r][j] over rows × cols. */
  addColumnSums(out: number, m: number, rows: number, cols: number): void;
  /** m[r][j] += v[j] over rows × cols. */
  addRowVector(m: number, v: number, rows: number, cols: number): void;
  /** out = a ⊙ m over n floats (out may be a). */
  multiply(out: number, a: number, m: number, n: number): void;
}

/** Columns per packed panel of B (the micro-kernel's tile width). */
export const PANEL_WIDTH = 16;

/** Rows of K gemmAtB packs at a time: the module's `kChunk`, checked when instantiated. */
const AT_B_K_CHUNK = 256;

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * Sizes as plain functions, so a memory plan can be made before any module is instantiated.
 * packedSize: floats of B packed into panels (N rounded up to the panel width).
 * atbScratchFloats: floats of scratch gemmAtB needs for C[M,N] over K rows.
 */
export const packedSize = (N: number, K: number): number => roundUp(N, PANEL_WIDTH) * K;
export const atbScratchFloats = (M: number, N: number, K: number): number =>
  (roundUp(M, 2) + roundUp(N, PANEL_WIDTH)) * Math.min(K, AT_B_K_CHUNK);

interface GemmExports {
  kChunk: { value: number };
  packB(dst: number, src: number, K: number, N: number): void;
  packBT(dst: number, src: number, N: number, K: number): void;
  gemmPacked(c: number, a: number, bp: number, M: number, N: number, K: number, beta: number): void;
  gemmAtB(c: number, a: number, b: number, M: number, N: number, K: number, beta: number, scratch: number): void;
}

type ElementwiseExports = Pick<WasmNetworkModules,
  'lstmForward' | 'lstmBackward' | 'gruForward' | 'gruBackward' | 'rnnForward' | 'rnnBackward' | 'oneHotTable' | 'oneHotProject' | 'oneHotGradient'
  | 'softmaxCrossEntropy' | 'softmaxRows' | 'squaredError' | 'addColumnSums' | 'addRowVector' | 'multiply'>;

const compiled = new Map<string, WebAssembly.Module>();

/** Whether `memory` is shared (its buffer a SharedArrayBuffer, which a browser may not even define). */
export const isSharedMemory = (memory: WebAssembly.Memory): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

/**
 * dist/wasm/<name>.wasm (on a shared memory) or <name>.local.wasm (on one that is not), compiled
 * once per thread on first use, instantiated on `memory`.
 */
function instantiate(name: string, memory: WebAssembly.Memory): object {
  const variant = isSharedMemory(memory) ? name : `${name}.local`;
  let module = compiled.get(variant);
  if (!module) {
    module = new WebAssembly.Module(wasmBytes(variant));
    compiled.set(variant, module);
  }
  return new WebAssembly.Instance(module, { env: { memory } }).exports;
}

export function instantiateNetworkModules(memory: WebAssembly.Memory): WasmNetworkModules {
  const exports = instantiate('gemm', memory) as GemmExports;
  const elementwise = instantiate('elementwise', memory) as ElementwiseExports;
  if (exports.kChunk.value !== AT_B_K_CHUNK) {
    throw new Error(`gemm.wasm packs ${exports.kChunk.value} rows per chunk, wasm-modules.ts plans for ${AT_B_K_CHUNK}: rebuild`);
  }
  return {
    memory,
    packedSize,
    packBT: exports.packBT,
    packB: exports.packB,
    gemmPacked: exports.gemmPacked,
    gemmAtB: exports.gemmAtB,
    scratchFloats: atbScratchFloats,
    lstmForward: elementwise.lstmForward,
    lstmBackward: elementwise.lstmBackward,
    gruForward: elementwise.gruForward,
    gruBackward: elementwise.gruBackward,
    rnnForward: elementwise.rnnForward,
    rnnBackward: elementwise.rnnBackward,
    oneHotTable: elementwise.oneHotTable,
    oneHotProject: elementwise.oneHotProject,
    oneHotGradient: elementwise.oneHotGradient,
    softmaxCrossEntropy: elementwise.softmaxCrossEntropy,
    softmaxRows: elementwise.softmaxRows,
    squaredError: elementwise.squaredError,
    addColumnSums: elementwise.addColumnSums,
    addRowVector: elementwise.addRowVector,
    multiply: elementwise.multiply,
  };
}

/**
 * The parameter update of a step (src/wasm/optim.wat), bit-identical to src/shared/model/optim.ts and
 * the TypeScript reduce. Pointers are BYTE offsets of the first float of a worker's chunk; n floats.
 */
export interface WasmOptimModule {
  /**
   * dst[k] += src_1[k] + … + src_{count−1}[k] in that order, src_s at dst + s·stride bytes (the
   * gradient slots of workers 0..count−1); returns Σ dst[k]² after the sum (float64).
   */
  reduceSlots(dst: number, stride: number, count: number, n: number): number;
  /** optim.ts sumOfSquares over n floats. */
  sumOfSquares(p: number, n: number): number;
  /** optim.ts optimizerStep over n floats; `slots` as optimizerSlots(spec.name) (m, then v). */
  optimizerStep(spec: OptimizerSpec, step: number, params: number, grads: number, slots: readonly number[], n: number, gradScale: number): void;
}

interface OptimExports {
  reduceSlots(dst: number, stride: number, count: number, n: number): number;
  sumOfSquares(p: number, n: number): number;
  sgd(p: number, g: number, n: number, lr: number, wd: number, scale: number): void;
  momentum(p: number, g: number, m: number, n: number, lr: number, wd: number, scale: number, mu: number, nesterov: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, lr: number, wd: number, scale: number,
    b1: number, b2: number, eps: number, stepSize: number, sqrtBc2: number, decoupled: number): void;
}

export function instantiateOptimModule(memory: WebAssembly.Memory): WasmOptimModule {
  const optim = instantiate('optim', memory) as OptimExports;
  return {
    reduceSlots: optim.reduceSlots,
    sumOfSquares: optim.sumOfSquares,
    optimizerStep(spec, step, params, grads, slots, n, gradScale) {
      const { lr, weightDecay: wd } = spec;
      switch (spec.name) {
        case 'sgd':
          optim.sgd(params, grads, n, lr, wd, gradScale);
          return;
        case 'momentum':
          optim.momentum(params, grads, slots[0], n, lr, wd, gradScale, spec.momentum, spec.nesterov ? 1 : 0);
          return;
        case 'adam':
        case 'adamw': {
          const { stepSize, sqrtBc2 } = adamBiasCorrection(spec, step);
          optim.adam(params, grads, slots[0], slots[1], n, lr, wd, gradScale, spec.beta1, spec.beta2, spec.eps,
            stepSize, sqrtBc2, spec.name === 'adamw' ? 1 : 0);
          return;
        }
      }
    },
  };
}
