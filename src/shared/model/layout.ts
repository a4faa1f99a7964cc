/**
 * Block layouts: every tensor in one contiguous block, at fixed offsets, named.
 *
 * The parameter layout is PyTorch's own (so a checkpoint is the block itself, SPEC §3).
 * Gradients and optimizer state use the same layout, so zeroing, all-reducing and stepping are
 * flat loops. The activation layout holds one shard's forward and backward buffers; it is what a
 * Network lays its views over and what the engine sizes each worker's scratch region by.
 */
import { assemblesInput, directionSuffixes, firstLayerInputSize, gateCount, hasHiddenBias, outputWidth, type ModelConfig } from './model-config.js';

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

export interface BlockLayout {
  tensors: TensorSpec[];
  /** Elements in the block, including alignment padding (a multiple of ALIGN_FLOATS). */
  size: number;
}

export type ParamLayout = BlockLayout;
export type ActivationLayout = BlockLayout;

/** Tensors start on 64-byte boundaries so SIMD kernels can use aligned loads. */
export const ALIGN_FLOATS = 16;

export const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export function layerInputSize(cfg: ModelConfig, layer: number): number {
  return layer === 0 ? firstLayerInputSize(cfg) : outputWidth(cfg);
}

/** Tensors that are tables of rows (token and category embeddings), looked up rather than multiplied. */
export function isEmbeddingTensor(name: string): boolean {
  return name === 'embedding.weight' || name.startsWith('static.');
}

export function paramLayout(cfg: ModelConfig): ParamLayout {
  const G = gateCount(cfg.cell);
  const H = cfg.hidden;
  const shapes: [string, number[]][] = [];
  // PyTorch's attribute order: the encoders before the rnn (word_language_model's `encoder`).
  if (cfg.embedding) shapes.push(['embedding.weight', [cfg.inputSize, cfg.embedding]]);
  for (const c of cfg.categorical ?? []) shapes.push([`static.${c.column}.weight`, [c.levels, c.width]]);
  // PyTorch's state_dict order: layer k's forward tensors, then its reverse ones.
  for (let k = 0; k < cfg.layers; k++) {
    for (const dir of directionSuffixes(cfg)) {
      shapes.push([`rnn.weight_ih_l${k}${dir}`, [G * H, layerInputSize(cfg, k)]]);
      if (cfg.recurrence === 'output') shapes.push([`rnn.weight_yh_l${k}${dir}`, [G * H, cfg.outputSize]]);
      else shapes.push([`rnn.weight_hh_l${k}${dir}`, [G * H, H]]);
      shapes.push([`rnn.bias_ih_l${k}${dir}`, [G * H]]);
      if (hasHiddenBias(cfg.cell)) shapes.push([`rnn.bias_hh_l${k}${dir}`, [G * H]]);
    }
  }
  // Tied: the head's weight IS embedding.weight (one tensor, its gradient the sum of both uses).
  if (!cfg.tieWeights) shapes.push(['head.weight', [cfg.outputSize, outputWidth(cfg)]]);
  shapes.push(['head.bias', [cfg.outputSize]]);
  return blockLayout(shapes);
}

/** Offsets for named shapes in order, each tensor starting on an ALIGN_FLOATS boundary. */
function blockLayout(shapes: [string, number[]][]): BlockLayout {
  const tensors: TensorSpec[] = [];
  let offset = 0;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size });
    offset = alignUp(offset + size, ALIGN_FLOATS);
  }
  return { tensors, size: offset };
}

/**
 * One shard's activations, time-major, for shards of up to `batch` sequences of `seqLen` steps
 * (a smaller shard of B uses the first B·… of each buffer, packed with stride B). Buffers of
 * [T+1, B, ·] are states: slot 0 is the initial state, slot t+1 the state after step t.
 * `dropout` > 0 (model.dropout, or model.lockedDropout: the same buffers) adds the masks and
 * dropped outputs a training pass with dropout needs; `weightDrop` > 0 adds each layer's mask and
 * masked copy of its recurrent matrix, and one gradient of a masked copy.
 */
export function activationLayout(cfg: ModelConfig, batch: number, seqLen: number, dropout = 0, weightDrop = 0): ActivationLayout {
  const B = batch, T = seqLen, H = cfg.hidden, O = cfg.outputSize, GH = gateCount(cfg.cell) * H, W = outputWidth(cfg);
  const shapes: [string, number[]][] = [];
  for (let k = 0; k < cfg.layers; k++) {
    // A bidirectional layer's reverse direction has its own cell buffers under `layers.<k>.reverse.`,
    // in its own (reversed) time order.
    for (const cellName of cfg.bidirectional ? [`${k}`, `${k}.reverse`] : [`${k}`]) {
      const at = (name: string, shape: number[]): void => { shapes.push([`layers.${cellName}.${name}`, shape]); };
      at('gates', [T, B, GH]); // gate pre-activations, then activations
      at('h', [T + 1, B, H]); // hidden states
      if (cfg.cell === 'lstm') {
        at('c', [T + 1, B, H]); // cell states
        at('tanhC', [T, B, H]); // tanh(c_t), kept for backward
      }
      if (cfg.cell === 'gru') at('hh', [T, B, GH]); // recurrent projections U h_{t-1} + b_hh, kept for backward
      at('dH', [T, B, H]); // gradient reaching h_t (from above and from step t+1)
    }
    const at = (name: string, shape: number[]): void => { shapes.push([`layers.${k}.${name}`, shape]); };
    if (cfg.bidirectional) {
      at('out', [T + 1, B, W]); // the layer's output [h_fwd ; h_rev] in natural time, slots as in h
      at('dOut', [T, B, W]); // gradient reaching the layer's output
    }
    if (k === 0 && assemblesInput(cfg)) {
      const In = firstLayerInputSize(cfg);
      at('x', [T, B, In]); // layer 0's input: embedding rows (and features) side by side
      at('dX', [T, B, In]); // its gradient, scattered back onto the embedding rows
    }
    if (dropout > 0) {
      at('mask', [T, B, W]); // dropout mask of the layer's output: 0 or 1/(1−p)
      at('dropped', [T + 1, B, W]); // the layer's output after dropout, slots as in h
    }
    if (weightDrop > 0) {
      at('weightDropMask', [GH, H]); // DropConnect mask of weight_hh: 0 or 1/(1−p)
      at('droppedWeightHh', [GH, H]); // weight_hh ⊙ mask, the matrix this pass's recurrence uses
    }
  }
  shapes.push(['y', [T, B, O]]); // head outputs (logits or regression values); 'last' uses row block 0 (hidden) or T−1 (output recurrence)
  shapes.push(['probs', [T, B, O]]); // softmax probabilities (ce)
  shapes.push(['dY', [T, B, O]]); // gradient of the loss w.r.t. y
  if (cfg.recurrence === 'output') {
    shapes.push(['yHat', [T + 1, B, O]]); // the previous step's output fed back
    shapes.push(['dYHat', [B, O]]); // gradient reaching ŷ_{t-1} from step t
  }
  shapes.push(['dGates', [T, B, GH]]); // gate gradients of the layer being back-propagated
  if (cfg.cell === 'gru') shapes.push(['dGatesH', [T, B, GH]]); // gate gradients of the recurrent side (n scaled by r)
  if (weightDrop > 0) shapes.push(['dDroppedWeightHh', [GH, H]]); // gradient of the layer being back-propagated's masked weight_hh
  shapes.push(['dcCarry', [B, H]]); // dL/dc (LSTM) or dL/dh through z⊙h_{t-1} (GRU) carried backward through time
  return blockLayout(shapes);
}

export function findTensor(layout: BlockLayout, name: string): TensorSpec {
  const t = layout.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor named ${name} in the layout`);
  return t;
}

/** The view of one named tensor of a block laid out by `layout`. */
export function blockView<A extends FloatArray>(layout: BlockLayout, block: A, name: string): A {
  const t = findTensor(layout, name);
  return block.subarray(t.offset, t.offset + t.size) as A;
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
  /** [V, E] token embedding (model.embedding); null without. */
  embedding: A | null;
  /** Per categorical column, its [levels, width] embedding, in cfg.categorical's order. */
  statics: A[];
  layers: LayerViews<A>[];
  /** Bidirectional: each layer's reverse direction (`…_reverse` tensors); empty otherwise. */
  reverse: LayerViews<A>[];
  /** [O, H], or [O, 2H] bidirectional */
  headW: A;
  /** [O] */
  headB: A;
}

/** Named views over a block laid out by `paramLayout(cfg)`; built once, never per step. */
export function modelViews<A extends FloatArray>(cfg: ModelConfig, layout: ParamLayout, block: A): ModelViews<A> {
  if (block.length < layout.size) throw new Error(`parameter block has ${block.length} elements, layout needs ${layout.size}`);
  const view = (name: string): A => blockView(layout, block, name);
  const direction = (k: number, dir: string): LayerViews<A> => ({
    wIh: view(`rnn.weight_ih_l${k}${dir}`),
    wRec: view(cfg.recurrence === 'output' ? `rnn.weight_yh_l${k}${dir}` : `rnn.weight_hh_l${k}${dir}`),
    bias: view(`rnn.bias_ih_l${k}${dir}`),
    biasHh: hasHiddenBias(cfg.cell) ? view(`rnn.bias_hh_l${k}${dir}`) : null,
    inSize: layerInputSize(cfg, k),
    recSize: cfg.recurrence === 'output' ? cfg.outputSize : cfg.hidden,
  });
  const layers: LayerViews<A>[] = [], reverse: LayerViews<A>[] = [];
  for (let k = 0; k < cfg.layers; k++) {
    layers.push(direction(k, ''));
    if (cfg.bidirectional) reverse.push(direction(k, '_reverse'));
  }
  return {
    embedding: cfg.embedding ? view('embedding.weight') : null,
    statics: (cfg.categorical ?? []).map((c) => view(`static.${c.column}.weight`)),
    layers,
    reverse,
    headW: view(cfg.tieWeights ? 'embedding.weight' : 'head.weight'),
    headB: view('head.bias'),
  };
}

/** Named views by PyTorch name, for checkpoints. */
export function tensorViews<A extends FloatArray>(layout: ParamLayout, block: A): Map<string, A> {
  const out = new Map<string, A>();
  for (const t of layout.tensors) out.set(t.name, block.subarray(t.offset, t.offset + t.size) as A);
  return out;
}
