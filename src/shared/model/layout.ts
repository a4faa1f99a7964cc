/**
 * The parameter layout: every tensor of the model in one contiguous block, at fixed offsets,
 * in PyTorch's own layout (so a checkpoint is the block itself, SPEC §3). Gradients and
 * optimizer state use the same layout, so zeroing, all-reducing and stepping are flat loops.
 */
import { gateCount, hasHiddenBias, type ModelConfig } from './model-config.js';

export type FloatArray = Float32Array | Float64Array;
export type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

export interface TensorSpec {
  /** PyTorch state_dict name, e.g. `rnn.weight_ih_l0`. */
  name: string;
  shape: number[];
  /** Offset in elements from the start of the block (aligned, see ALIGN_FLOATS). */
  offset: number;
  size: number;
}

export interface ParamLayout {
  tensors: TensorSpec[];
  /** Elements in the block, including alignment padding (a multiple of ALIGN_FLOATS). */
  size: number;
}

/** Tensors start on 64-byte boundaries so SIMD kernels can use aligned loads. */
export const ALIGN_FLOATS = 16;

export const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export function layerInputSize(cfg: ModelConfig, layer: number): number {
  return layer === 0 ? cfg.inputSize : cfg.hidden;
}

export function paramLayout(cfg: ModelConfig): ParamLayout {
  const G = gateCount(cfg.cell);
  const H = cfg.hidden;
  const shapes: [string, number[]][] = [];
  for (let k = 0; k < cfg.layers; k++) {
    shapes.push([`rnn.weight_ih_l${k}`, [G * H, layerInputSize(cfg, k)]]);
    if (cfg.recurrence === 'output') shapes.push([`rnn.weight_yh_l${k}`, [G * H, cfg.outputSize]]);
    else shapes.push([`rnn.weight_hh_l${k}`, [G * H, H]]);
    shapes.push([`rnn.bias_ih_l${k}`, [G * H]]);
    if (hasHiddenBias(cfg.cell)) shapes.push([`rnn.bias_hh_l${k}`, [G * H]]);
  }
  shapes.push(['head.weight', [cfg.outputSize, H]]);
  shapes.push(['head.bias', [cfg.outputSize]]);
  const tensors: TensorSpec[] = [];
  let offset = 0;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size });
    offset = alignUp(offset + size, ALIGN_FLOATS);
  }
  return { tensors, size: offset };
}

export function findTensor(layout: ParamLayout, name: string): TensorSpec {
  const t = layout.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor named ${name} in the layout`);
  return t;
}

/** Views of one layer's parameters (or gradients) inside a block. */
export interface LayerViews<A extends FloatArray> {
  /** [G·H, In]: input weights, gates stacked i, f, g, o (LSTM) or r, z, n (GRU). */
  wIh: A;
  /** [G·H, H] for hidden recurrence, [G·H, O] for output recurrence. */
  wRec: A;
  /** [G·H]: the layer's single bias (GRU: b_ih). */
  bias: A;
  /** [G·H]: GRU's b_hh, added to the recurrent product (b_hn inside the reset gate); null otherwise. */
  biasHh: A | null;
  inSize: number;
  /** Columns of wRec: H, or O for output recurrence. */
  recSize: number;
}

export interface ModelViews<A extends FloatArray> {
  layers: LayerViews<A>[];
  /** [O, H] */
  headW: A;
  /** [O] */
  headB: A;
}

/** Named views over a block laid out by `paramLayout(cfg)`; built once, never per step. */
export function modelViews<A extends FloatArray>(cfg: ModelConfig, layout: ParamLayout, block: A): ModelViews<A> {
  if (block.length < layout.size) throw new Error(`parameter block has ${block.length} elements, layout needs ${layout.size}`);
  const view = (name: string): A => {
    const t = findTensor(layout, name);
    return block.subarray(t.offset, t.offset + t.size) as A;
  };
  const layers: LayerViews<A>[] = [];
  for (let k = 0; k < cfg.layers; k++) {
    const rec = cfg.recurrence === 'output' ? `rnn.weight_yh_l${k}` : `rnn.weight_hh_l${k}`;
    layers.push({
      wIh: view(`rnn.weight_ih_l${k}`),
      wRec: view(rec),
      bias: view(`rnn.bias_ih_l${k}`),
      biasHh: hasHiddenBias(cfg.cell) ? view(`rnn.bias_hh_l${k}`) : null,
      inSize: layerInputSize(cfg, k),
      recSize: cfg.recurrence === 'output' ? cfg.outputSize : cfg.hidden,
    });
  }
  return { layers, headW: view('head.weight'), headB: view('head.bias') };
}

/** Named views by PyTorch name, for checkpoints. */
export function tensorViews<A extends FloatArray>(layout: ParamLayout, block: A): Map<string, A> {
  const out = new Map<string, A>();
  for (const t of layout.tensors) out.set(t.name, block.subarray(t.offset, t.offset + t.size) as A);
  return out;
}
