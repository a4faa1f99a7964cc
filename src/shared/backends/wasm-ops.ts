/**
 * The network's kernels (NetworkOps) on WebAssembly SIMD, for one thread.
 *
 * Operands are Float32Array views on the modules' shared memory, passed to the modules as byte
 * pointers (byteOffset + 4·element offset): nothing is copied, and nothing is checked per call.
 * An operand off that memory would be read at the wrong bytes, so every buffer a model gives
 * these ops is checked once, where the model and its ops are built (workerModel), and refused.
 *
 * In the network the B operand of `abt` and `ab` is always a weight tensor of the parameter
 * block. Each weight gets two packed copies in this thread's kernel scratch (packBT for `abt`,
 * packB for `ab`), made on first use after `invalidateWeights()`: once per optimizer step, not
 * once per product. A weightDrop pass's masked copies of weight_hh live in the activation block
 * and get packs too; the network reports each rewrite (weightChanged), which repacks only it.
 * A one-hot input weight (layer 0's, and its reverse direction's in a bidirectional model) gets
 * instead a table [V][G·H] with the bias folded in, so the input projection copies rows, and one
 * accumulator of the same shape serves their gradients. `atb` (weight gradients, both operands activations) packs as it goes into the
 * gemmAtB scratch at the end of the region.
 *
 * The cell kernels work on whole 4-lane vectors: a hidden size that is not a multiple of 4 keeps
 * the TS cells (correct, slower); the softmax kernels need rows of at least 4 outputs and P apart
 * from Y (else the TS); the products, the one-hot, MSE and bias kernels take any shape. These are
 * the only fallbacks, by shape. The losses return the sum in float64 like the TS (the softmax's
 * row sums and the loss accumulate in float64).
 */
import { alignUp, isEmbeddingTensor, type ActivationLayout, type FloatArray, type ParamLayout } from '../model/layout.js';
import { referenceOps, type NetworkOps } from '../model/network.js';
import { atbScratchFloats, packedSize, type WasmNetworkModules } from './wasm-modules.js';

/** Packed copies start on cache lines: the micro-kernel reads 64-byte panel rows. */
const PACK_ALIGN_BYTES = 64;

/** Byte offsets below are from the start of the kernel scratch region. */
export interface PackedWeightSlot {
  /** Element offset of the weight [rows, cols] in the parameter block (or in the activation block: inActivations). */
  tensorOffset: number;
  /** A masked copy of a weight in the thread's activation block (weightDrop), not a parameter. */
  inActivations: boolean;
  rows: number;
  cols: number;
  abtPack: number;
  abPack: number;
}

export interface OneHotSlot {
  /** Element offset of weight_ih_l0 (or weight_ih_l0_reverse) [GH, V] in the parameter block. */
  tensorOffset: number;
  GH: number;
  V: number;
  /** [V][GH]: Wᵀ + bias. */
  table: number;
  /** [V][GH]: the gradient summed per symbol before it is transposed onto dW (the slots share it). */
  gradientSums: number;
}

/** The inside of one thread's kernel scratch region. */
export interface KernelScratchLayout {
  /** The weights that enter products (all 2-D tensors but a one-hot input weight). */
  weights: PackedWeightSlot[];
  /** One per one-hot input weight; empty for dense input. */
  oneHot: OneHotSlot[];
  atbScratch: number;
  atbScratchFloats: number;
  bytes: number;
}

/** Activation tensors that enter products as weights: the masked weight_hh copies of weightDrop. */
const ACTIVATION_WEIGHT = /^layers\.\d+\.droppedWeightHh$/;

/**
 * Plans a kernel scratch region for a model of `layout`. `maxRows` bounds K of every `atb`: each
 * computes a weight gradient [rows, cols] summed over at most T·B rows. `activations`: the
 * thread's activation layout, whose masked weight copies get packs as well.
 */
export function kernelScratchLayout(layout: ParamLayout, maxRows: number, oneHotInput: boolean, activations: ActivationLayout | null = null): KernelScratchLayout {
  let cursor = 0;
  const take = (floats: number): number => {
    const at = cursor;
    cursor = alignUp(cursor + floats * 4, PACK_ALIGN_BYTES);
    return at;
  };
  const oneHotWeights = oneHotInput
    ? layout.tensors.filter((t) => t.name === 'rnn.weight_ih_l0' || t.name === 'rnn.weight_ih_l0_reverse')
    : [];
  // Embedding tables are read row by row, never multiplied, unless tied (then the head multiplies by it).
  const tied = !layout.tensors.some((t) => t.name === 'head.weight');
  const oneHot: OneHotSlot[] = [];
  for (const weight of oneHotWeights) {
    const [GH, V] = weight.shape;
    oneHot.push({ tensorOffset: weight.offset, GH, V, table: take(GH * V), gradientSums: oneHot[0]?.gradientSums ?? take(GH * V) });
  }
  const weights: PackedWeightSlot[] = [];
  let atbFloats = 0;
  const activationWeights = activations?.tensors.filter((t) => ACTIVATION_WEIGHT.test(t.name)) ?? [];
  for (const t of [...layout.tensors, ...activationWeights]) {
    if (t.shape.length !== 2 || oneHotWeights.includes(t)) continue;
    if (isEmbeddingTensor(t.name) && !(tied && t.name === 'embedding.weight')) continue;
    const [rows, cols] = t.shape;
    weights.push({
      tensorOffset: t.offset, inActivations: activationWeights.includes(t), rows, cols,
      abtPack: take(packedSize(rows, cols)), // B = Wᵀ: N = rows, K = cols
      abPack: take(packedSize(cols, rows)), // B = W: K = rows, N = cols
    });
    atbFloats = Math.max(atbFloats, atbScratchFloats(rows, cols, maxRows));
  }
  const atbScratch = take(atbFloats);
  return { weights, oneHot, atbScratch, atbScratchFloats: atbFloats, bytes: cursor };
}

/** Where the wasm ops of one thread find the weights and put their packs. */
export interface WasmOpsPlacement {
  /** Byte offset of the parameter block in the memory. */
  paramsByteOffset: number;
  /** Byte offset of the thread's activation block (needed when the scratch packs masked weights). */
  activationsByteOffset?: number;
  scratchByteOffset: number;
  scratch: KernelScratchLayout;
}

export interface WasmNetworkOps extends NetworkOps {
  /** The weights changed: repack each on its next use. */
  invalidateWeights(): void;
}

/** A weight's packs as byte pointers into the memory, and whether they hold its current values. */
interface WeightPacks {
  rows: number;
  cols: number;
  source: number;
  abtPack: number;
  abPack: number;
  abtFresh: boolean;
  abFresh: boolean;
}

export function wasmNetworkOps(modules: WasmNetworkModules, placement: WasmOpsPlacement): WasmNetworkOps {
  const { paramsByteOffset, scratchByteOffset, scratch } = placement;
  const blockOffset = (w: PackedWeightSlot): number => {
    if (!w.inActivations) return paramsByteOffset;
    if (placement.activationsByteOffset === undefined) throw new Error('the kernel scratch packs masked weights, but the activation block\'s place was not given');
    return placement.activationsByteOffset;
  };
  if (scratchByteOffset + scratch.bytes > modules.memory.buffer.byteLength) {
    throw new Error(`the kernel scratch [${scratchByteOffset}, +${scratch.bytes}) lies outside the memory (${modules.memory.buffer.byteLength} bytes)`);
  }
  const allPacks: WeightPacks[] = scratch.weights.map((w) => ({
    rows: w.rows, cols: w.cols, source: blockOffset(w) + w.tensorOffset * 4,
    abtPack: scratchByteOffset + w.abtPack, abPack: scratchByteOffset + w.abPack,
    abtFresh: false, abFresh: false,
  }));
  const packsBySource = new Map(allPacks.map((w) => [w.source, w]));
  const atbScratch = scratchByteOffset + scratch.atbScratch;
  const oneHot = scratch.oneHot.map((slot) => ({
    ...slot,
    source: paramsByteOffset + slot.tensorOffset * 4,
    table: scratchByteOffset + slot.table,
    gradientSums: scratchByteOffset + slot.gradientSums,
    tableFresh: false,
  }));

  const pointer = (x: FloatArray | Int32Array, off: number): number => x.byteOffset + off * 4;
  /** Whether a[aOff ..] and b[bOff ..], n floats each, share bytes. */
  const overlap = (a: FloatArray, aOff: number, b: FloatArray, bOff: number, n: number): boolean =>
    a.buffer === b.buffer && pointer(a, aOff) < pointer(b, bOff) + 4 * n && pointer(b, bOff) < pointer(a, aOff) + 4 * n;
  const weightAt = (B: FloatArray, bOff: number, product: string): WeightPacks => {
    const packs = packsBySource.get(pointer(B, bOff));
    if (!packs) throw new Error(`${product}: B is not a weight of the parameter block, so it has no packed copy`);
    return packs;
  };
  const oneHotSlot = (GH: number, V: number): (typeof oneHot)[number] => {
    const slot = oneHot[0];
    if (!slot || slot.GH !== GH || slot.V !== V) throw new Error(`no one-hot table [${V}, ${GH}] was planned`);
    return slot;
  };

  return {
    abt(C, cOff, A, aOff, B, bOff, M, N, K, beta) {
      const w = weightAt(B, bOff, 'abt');
      if (N !== w.rows || K !== w.cols) throw new Error(`abt: B is [${w.rows}, ${w.cols}], the product wants [${N}, ${K}]`);
      if (!w.abtFresh) {
        modules.packBT(w.abtPack, w.source, w.rows, w.cols);
        w.abtFresh = true;
      }
      modules.gemmPacked(pointer(C, cOff), pointer(A, aOff), w.abtPack, M, N, K, beta);
    },
    ab(C, cOff, A, aOff, B, bOff, M, N, K, beta) {
      const w = weightAt(B, bOff, 'ab');
      if (K !== w.rows || N !== w.cols) throw new Error(`ab: B is [${w.rows}, ${w.cols}], the product wants [${K}, ${N}]`);
      if (!w.abFresh) {
        modules.packB(w.abPack, w.source, w.rows, w.cols);
        w.abFresh = true;
      }
      modules.gemmPacked(pointer(C, cOff), pointer(A, aOff), w.abPack, M, N, K, beta);
    },
    atb(C, cOff, A, aOff, B, bOff, M, N, K, beta) {
      if (atbScratchFloats(M, N, K) > scratch.atbScratchFloats) {
        throw new Error(`atb: C[${M}, ${N}] over ${K} rows needs more scratch than planned`);
      }
      modules.gemmAtB(pointer(C, cOff), pointer(A, aOff), pointer(B, bOff), M, N, K, beta, atbScratch);
    },
    lstmForward(gates, gOff, c, cPrevOff, cOff, tanhC, tcOff, h, hOff, B, H) {
      if (H % 4 !== 0) {
        return referenceOps.lstmForward(gates, gOff, c, cPrevOff, cOff, tanhC, tcOff, h, hOff, B, H);
      }
      modules.lstmForward(pointer(gates, gOff), pointer(c, cPrevOff), pointer(c, cOff), pointer(tanhC, tcOff), pointer(h, hOff), B, H);
    },
    lstmBackward(gates, gOff, c, cPrevOff, tanhC, tcOff, dh, dhOff, dcCarry, dGates, dgOff, B, H) {
      if (H % 4 !== 0) {
        return referenceOps.lstmBackward(gates, gOff, c, cPrevOff, tanhC, tcOff, dh, dhOff, dcCarry, dGates, dgOff, B, H);
      }
      modules.lstmBackward(
        pointer(gates, gOff), pointer(c, cPrevOff), pointer(tanhC, tcOff), pointer(dh, dhOff),
        pointer(dcCarry, 0), pointer(dGates, dgOff), B, H,
      );
    },
    gruForward(gates, gOff, hh, hhOff, h, hPrevOff, hOff, B, H) {
      if (H % 4 !== 0) {
        return referenceOps.gruForward(gates, gOff, hh, hhOff, h, hPrevOff, hOff, B, H);
      }
      modules.gruForward(pointer(gates, gOff), pointer(hh, hhOff), pointer(h, hPrevOff), pointer(h, hOff), B, H);
    },
    gruBackward(gates, gOff, hh, hhOff, h, hPrevOff, dh, dhOff, dhCarry, dGates, dgOff, dGatesH, dghOff, B, H) {
      if (H % 4 !== 0) {
        return referenceOps.gruBackward(gates, gOff, hh, hhOff, h, hPrevOff, dh, dhOff, dhCarry, dGates, dgOff, dGatesH, dghOff, B, H);
      }
      modules.gruBackward(
        pointer(gates, gOff), pointer(hh, hhOff), pointer(h, hPrevOff), pointer(dh, dhOff), pointer(dhCarry, 0),
        pointer(dGates, dgOff), pointer(dGatesH, dghOff), B, H,
      );
    },
    rnnForward(pre, aOff, h, hOff, n) {
      if (n % 4 !== 0) return referenceOps.rnnForward(pre, aOff, h, hOff, n);
      modules.rnnForward(pointer(pre, aOff), pointer(h, hOff), n);
    },
    rnnBackward(h, hOff, dh, dhOff, dPre, dOff, n) {
      if (n % 4 !== 0) return referenceOps.rnnBackward(h, hOff, dh, dhOff, dPre, dOff, n);
      modules.rnnBackward(pointer(h, hOff), pointer(dh, dhOff), pointer(dPre, dOff), n);
    },
    oneHotProjection(gates, w, bias, tokens, R, GH, V) {
      oneHotSlot(GH, V);
      let slot = oneHot[0]!;
      for (let k = 1; k < oneHot.length && slot.source !== pointer(w, 0); k++) slot = oneHot[k]!;
      if (pointer(w, 0) !== slot.source) throw new Error('oneHotProjection: W is not the one-hot input weight of the parameter block');
      if (!slot.tableFresh) {
        modules.oneHotTable(slot.table, slot.source, pointer(bias, 0), GH, V);
        slot.tableFresh = true;
      }
      modules.oneHotProject(pointer(gates, 0), slot.table, pointer(tokens, 0), R, GH, V);
    },
    oneHotGradient(dW, dGates, tokens, R, GH, V) {
      modules.oneHotGradient(pointer(dW, 0), oneHotSlot(GH, V).gradientSums, pointer(dGates, 0), pointer(tokens, 0), R, GH, V);
    },
    softmaxCrossEntropy(Y, yOff, P, targets, tOff, R, O, dY, scale) {
      if (O < 4 || overlap(Y, yOff, P, yOff, R * O)) {
        return referenceOps.softmaxCrossEntropy(Y, yOff, P, targets, tOff, R, O, dY, scale);
      }
      const [m, rest] = modules.softmaxCrossEntropy(
        pointer(Y, yOff), pointer(P, yOff), pointer(targets, tOff), R, O, dY ? pointer(dY, yOff) : 0, dY ? 1 : 0, scale,
      );
      return Math.log(m) + rest;
    },
    softmaxRows(Y, yOff, P, pOff, R, O) {
      if (O < 4 || overlap(Y, yOff, P, pOff, R * O)) {
        return referenceOps.softmaxRows(Y, yOff, P, pOff, R, O);
      }
      modules.softmaxRows(pointer(Y, yOff), pointer(P, pOff), R, O);
    },
    meanSquaredError(Y, yOff, targets, tOff, R, O, dY, scale) {
      const sum = modules.squaredError(
        pointer(Y, yOff), pointer(targets, tOff), R * O, dY ? pointer(dY, yOff) : 0, dY ? 1 : 0, (2 * scale) / O,
      );
      return sum / O;
    },
    addColumnSums(out, m, off, rows, cols) {
      modules.addColumnSums(pointer(out, 0), pointer(m, off), rows, cols);
    },
    addRowVector(m, off, v, rows, cols) {
      modules.addRowVector(pointer(m, off), pointer(v, 0), rows, cols);
    },
    multiply(out, outOff, a, aOff, m, mOff, n) {
      modules.multiply(pointer(out, outOff), pointer(a, aOff), pointer(m, mOff), n);
    },
    weightChanged(w) {
      const packs = packsBySource.get(pointer(w, 0));
      if (packs) packs.abtFresh = packs.abFresh = false;
    },
    invalidateWeights() {
      for (let k = 0; k < allPacks.length; k++) {
        allPacks[k].abtFresh = false;
        allPacks[k].abFresh = false;
      }
      for (let k = 0; k < oneHot.length; k++) oneHot[k]!.tableFresh = false;
    },
  };
}
