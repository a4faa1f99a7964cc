/**
 * ONNX export (SPEC §10): a pure function from a checkpoint to an ONNX model (opset 17) that ONNX
 * Runtime runs as it is. It never trains and never reads data: everything it needs — weights,
 * shape, vocabulary, normalisation, labels — is in the checkpoint.
 *
 * The graph, batch-first as users feed it:
 *   x [B, T, In] float (data units) ─(x − shift) / scale─┐        tokens [B, T] int64 ─OneHot─┐
 *   categories [B, C] int64 ─Gather rows─Expand over T─ Concat ┘ (series with data.categorical)
 *                                                        └─ Transpose → [T, B, In₀] ─ LSTM/GRU/RNN × layers
 *   token models with an embedding: tokens ─Gather(embedding.weight)→ [B, T, E] in place of OneHot
 *   outputs last: Y_h of the top layer → Gemm(head) → y [B, O]
 *   outputs all:  Y of the top layer → [B, T, H] → MatMul + Add(head) → y [B, T, O]
 *   (tied: the head multiplies by the embedding.weight initializer itself)
 *   bidirectional (direction = bidirectional, weights stacked forward then reverse): Y
 *   [T, 2, B, H] → [T, B, 2H] between layers and for the head, Y_h [2, B, H] → [B, 2H];
 *   then quantile outputs sorted per value (TopK), y · scale + shift (data units); classifiers add
 *   probs = Softmax(y).
 * ONNX Runtime's recurrent nodes are time-major only (layout = 0), hence the transposes.
 * The classic exporter bug is the gate order: GATE_ORDER is the one table that converts it.
 */
import onnxProto, { type onnx as pb } from 'onnx-proto';
import { directionSuffixes, firstLayerInputSize, gateCount, hasHiddenBias, outputWidth, type ModelConfig } from '../../shared/model/model-config.js';
import { paramLayout, tensorViews } from '../../shared/model/layout.js';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import type { DataMeta } from '../data/metadata.js';
import type { ColumnScale } from '../data/normalize.js';
import { inputError } from '../errors.js';

// onnx-proto is CommonJS: its namespace is a property of the default export under Node's ESM.
const { onnx } = onnxProto;

export const ONNX_OPSET = 17;

/**
 * For each ONNX gate block, the PyTorch block it takes: PyTorch packs LSTM gates i, f, g, o and
 * ONNX i, o, f, c; PyTorch's GRU r, z, n and ONNX z, r, h; an RNN has one block.
 */
export const GATE_ORDER: Record<ModelConfig['cell'], readonly number[]> = {
  lstm: [0, 3, 1, 2],
  gru: [1, 0, 2],
  rnn: [0],
};

const OP_TYPE: Record<ModelConfig['cell'], string> = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' };

/** What the graph's outputs mean: classifiers give logits `y` and `probs`; regressors values. */
export type OutputKind = 'classes' | 'values';

/** The model's input: dense features in the data's units, or token ids (one-hot in the graph). */
export type InputKind = 'features' | 'tokens';

export interface OnnxSignature {
  input: InputKind;
  outputs: OutputKind;
  /** A `lengths` int32 [B] input (ONNX sequence_lens): models trained on sequences of varying length. */
  lengths: boolean;
}

/** Which inputs and outputs the graph of this checkpoint has. */
export function onnxSignature(ck: CheckpointData): OnnxSignature {
  const task = experimentTask(ck);
  const classes = ck.vocab !== undefined || task === 'copy' || (ck.data?.task === 'sequences' && ck.data.target === 'class');
  return {
    input: ck.vocab !== undefined || ck.cfg.embedding !== undefined ? 'tokens' : 'features',
    outputs: classes ? 'classes' : 'values',
    lengths: ck.data?.task === 'sequences',
  };
}

/** The ONNX model of checkpoint `file`, serialised; bad input (output recurrence) names the file. */
export function exportOnnx(ck: CheckpointData, file: string, producerVersion = '0'): Uint8Array {
  const { cfg } = ck;
  if (cfg.recurrence === 'output') {
    throw inputError(file, 'config.recurrence', 'a model with output recurrence (topology 2: the previous output feeds the cell) has no ONNX form; ONNX recurrent nodes feed back the hidden state only');
  }
  const sig = onnxSignature(ck);
  const g = new GraphBuilder();
  const H = cfg.hidden, O = cfg.outputSize, In = cfg.inputSize;
  const views = tensorViews(paramLayout(cfg), ck.params);
  const graphInputs: pb.IValueInfoProto[] = [];
  const graphOutputs: pb.IValueInfoProto[] = [];

  // Input → [B, T, In] float in the model's units.
  let x: string;
  if (sig.input === 'tokens') {
    graphInputs.push(valueInfo('tokens', onnx.TensorProto.DataType.INT64, ['batch', 'steps']));
    x = tokenInput(g, cfg, views);
  } else {
    graphInputs.push(valueInfo('x', onnx.TensorProto.DataType.FLOAT, ['batch', 'steps', In]));
    x = 'x';
    const scales = inputScales(ck.data, In);
    if (scales) x = g.scale(x, scales, 'input', 'in');
    if (cfg.categorical?.length) {
      graphInputs.push(valueInfo('categories', onnx.TensorProto.DataType.INT64, ['batch', cfg.categorical.length]));
      x = appendCategories(g, cfg, views, x);
    }
  }
  let lengths = '';
  if (sig.lengths) {
    graphInputs.push(valueInfo('lengths', onnx.TensorProto.DataType.INT32, ['batch']));
    lengths = 'lengths';
  }

  // Recurrent layers, time-major.
  const order = GATE_ORDER[cfg.cell];
  const G = gateCount(cfg.cell);
  // Directions: forward, and reverse when bidirectional (ONNX stacks them in that order); each
  // layer's output is D·H wide.
  const directions = directionSuffixes(cfg), D = directions.length, Wd = outputWidth(cfg);
  let layerIn = g.node('Transpose', [x], { perm: [1, 0, 2] });
  let Y = '', Yh = '';
  for (let k = 0; k < cfg.layers; k++) {
    const inK = k === 0 ? firstLayerInputSize(cfg) : Wd;
    const stacked = (rows: number, cols: number, tensor: (dir: string) => Float32Array | null): Float32Array => {
      const out = new Float32Array(D * rows * cols);
      directions.forEach((dir, d) => {
        const t = tensor(dir);
        if (t) out.set(t, d * rows * cols);
      });
      return out;
    };
    const W = g.float(`W_l${k}`, stacked(G * H, inK, (dir) => reorderRows(views.get(`rnn.weight_ih_l${k}${dir}`)!, order, H, inK)), [D, G * H, inK]);
    const R = g.float(`R_l${k}`, stacked(G * H, H, (dir) => reorderRows(views.get(`rnn.weight_hh_l${k}${dir}`)!, order, H, H)), [D, G * H, H]);
    // ONNX adds Wb and Rb; recur's LSTM and RNN keep one bias (Rb = 0), a GRU both (Rb holds b_hn, inside r ⊙ (…)).
    const bias = stacked(2 * G * H, 1, (dir) => {
      const b = new Float32Array(2 * G * H);
      b.set(reorderRows(views.get(`rnn.bias_ih_l${k}${dir}`)!, order, H, 1), 0);
      if (hasHiddenBias(cfg.cell)) b.set(reorderRows(views.get(`rnn.bias_hh_l${k}${dir}`)!, order, H, 1), G * H);
      return b;
    });
    const B = g.float(`B_l${k}`, bias, [D, 2 * G * H]);
    const attrs: Attrs = { hidden_size: H };
    if (cfg.cell === 'gru') attrs.linear_before_reset = 1;
    if (D === 2) attrs.direction = 'bidirectional';
    [Y, Yh] = g.nodeOutputs(OP_TYPE[cfg.cell], [layerIn, W, R, B, lengths], 2, attrs, `layer${k}`);
    if (k < cfg.layers - 1 || cfg.outputs === 'all') {
      layerIn = D === 1
        ? g.node('Squeeze', [Y, g.int64(`axis1_l${k}`, [1], [1])]) // [T, 1, B, H] → [T, B, H]
        : g.node('Reshape', [g.node('Transpose', [Y], { perm: [0, 2, 1, 3] }), g.int64(`widths_l${k}`, [0, 0, -1], [3])]); // [T, 2, B, H] → [T, B, 2H]
    }
  }

  // Head.
  const headW = views.get('head.weight'), headB = views.get('head.bias')!;
  let y: string;
  if (cfg.outputs === 'last') {
    const h = D === 1
      ? g.node('Squeeze', [Yh, g.int64('axis0', [0], [1])]) // [1, B, H] → [B, H]
      : g.node('Reshape', [g.node('Transpose', [Yh], { perm: [1, 0, 2] }), g.int64('widths', [0, -1], [2])]); // [2, B, H] → [B, 2H]
    const w = cfg.tieWeights ? TIED_HEAD_WEIGHT : g.float('head.weight', headW!, [O, Wd]);
    y = g.node('Gemm', [h, w, g.float('head.bias', headB, [O])], { transB: 1 });
  } else {
    const hs = g.node('Transpose', [layerIn], { perm: [1, 0, 2] }); // [B, T, W]
    let wT: string;
    if (cfg.tieWeights) wT = g.node('Transpose', [TIED_HEAD_WEIGHT], { perm: [1, 0] });
    else {
      const transposed = new Float32Array(Wd * O);
      for (let o = 0; o < O; o++) for (let j = 0; j < Wd; j++) transposed[j * O + o] = headW![o * Wd + j]!;
      wT = g.float('head.weight_t', transposed, [Wd, O]);
    }
    y = g.node('Add', [g.node('MatMul', [hs, wT]), g.float('head.bias', headB, [O])]);
  }
  // Quantile models: each value's Q outputs sorted ascending, as recur's predictions are, so the
  // quantiles never cross (TopK over [.., O/Q, Q], then back to the output's own shape).
  const Q = ck.data?.quantiles?.length ?? 1;
  if (Q > 1) {
    const grouped = g.node('Reshape', [y, g.int64('quantile_groups', cfg.outputs === 'last' ? [0, -1, Q] : [0, 0, -1, Q], [cfg.outputs === 'last' ? 3 : 4])]);
    const [sorted] = g.nodeOutputs('TopK', [grouped, g.int64('quantile_count', [Q], [1])], 2, { axis: -1, largest: 0, sorted: 1 }, 'quantiles');
    y = g.node('Reshape', [sorted!, g.node('Shape', [y])]);
  }
  const outScales = outputScales(ck.data, O);
  if (outScales) y = g.unscale(y, outScales);
  g.rename(y, 'y');
  const yShape = cfg.outputs === 'last' ? ['batch', O] : ['batch', 'steps', O];
  graphOutputs.push(valueInfo('y', onnx.TensorProto.DataType.FLOAT, yShape));
  if (sig.outputs === 'classes') {
    g.node('Softmax', ['y'], { axis: -1 }, 'probs');
    graphOutputs.push(valueInfo('probs', onnx.TensorProto.DataType.FLOAT, yShape));
  }

  const model = onnx.ModelProto.create({
    irVersion: onnx.Version.IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'recur',
    producerVersion,
    graph: onnx.GraphProto.create({
      name: 'recur',
      node: g.nodes,
      initializer: g.initializers,
      input: graphInputs,
      output: graphOutputs,
    }),
    metadataProps: Object.entries(onnxMetadata(ck, sig)).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Each step's input followed by its sequence's categorical embedding rows, as recur's layer 0
 * reads it: per column c, Gather(static.<column>.weight, categories[:, c]) → [B, E_c]; the rows
 * side by side → [B, ΣE], expanded over the steps → [B, T, ΣE], concatenated after x [B, T, In].
 */
function appendCategories(g: GraphBuilder, cfg: ModelConfig, views: Map<string, Float32Array>, x: string): string {
  const rows = cfg.categorical!.map((c, i) => {
    const ids = g.node('Gather', ['categories', g.int64(`categories.column${i}`, [i], [])], { axis: 1 }); // [B]
    return g.node('Gather', [g.float(`static.${c.column}.weight`, views.get(`static.${c.column}.weight`)!, [c.levels, c.width]), ids], { axis: 0 }); // [B, E_c]
  });
  const side = rows.length === 1 ? rows[0]! : g.node('Concat', rows, { axis: 1 });
  const perSequence = g.node('Unsqueeze', [side, g.int64('categories.step_axis', [1], [1])]); // [B, 1, ΣE]
  const steps = g.node('Shape', [x], { start: 1, end: 2 }); // [T]
  const one = g.int64('categories.one', [1], [1]);
  const everyStep = g.node('Expand', [perSequence, g.node('Concat', [one, steps, one], { axis: 0 })]); // [B, T, ΣE]
  return g.node('Concat', [x, everyStep], { axis: 2 });
}

/** `recur.config` (the checkpoint's config metadata) and `recur.data` (what the inputs and outputs mean). */
export function onnxMetadata(ck: CheckpointData, sig: OnnxSignature): Record<string, string> {
  const { cfg } = ck;
  const config: Record<string, unknown> = {
    cell: cfg.cell, inputSize: cfg.inputSize, hidden: cfg.hidden, layers: cfg.layers, outputSize: cfg.outputSize,
    recurrence: cfg.recurrence, outputs: cfg.outputs,
  };
  if (cfg.embedding !== undefined) config.embedding = cfg.embedding;
  if (cfg.tieWeights) config.tieWeights = true;
  if (cfg.bidirectional) config.bidirectional = true;
  if (ck.vocab !== undefined) config.vocab = ck.vocab;
  if (cfg.categorical?.length) config.categorical = cfg.categorical;
  const data: Record<string, unknown> = { input: sig.input, outputs: sig.outputs, lengths: sig.lengths };
  if (ck.vocab !== undefined) data.vocab = ck.vocab;
  if (ck.data) {
    Object.assign(data, ck.data);
    if (ck.data.task === 'series' && ck.data.difference) data.units = 'x and y are changes from the previous row, in the data\'s units';
  }
  return { 'recur.config': JSON.stringify(config), 'recur.data': JSON.stringify(data) };
}

/** A tied model's head reads the embedding's initializer (one matrix, as in the checkpoint). */
const TIED_HEAD_WEIGHT = 'embedding.weight';

/**
 * Token ids [B, T] → layer 0's input [B, T, In_0]: rows of embedding.weight (Gather) for an
 * embedding model, else one-hot vectors over the vocabulary.
 */
function tokenInput(g: GraphBuilder, cfg: ModelConfig, views: Map<string, Float32Array>): string {
  if (cfg.embedding === undefined) {
    return g.node('OneHot', ['tokens', g.int64('depth', [cfg.inputSize], [1]), g.float('one_hot_values', [0, 1], [2])], { axis: -1 });
  }
  const table = g.float('embedding.weight', views.get('embedding.weight')!, [cfg.inputSize, cfg.embedding]);
  return g.node('Gather', [table, 'tokens'], { axis: 0 });
}

/** The task the checkpoint was trained on, from its recorded experiment (undefined for foreign files). */
function experimentTask(ck: CheckpointData): string | undefined {
  const exp = ck.experiment as { data?: { task?: unknown } } | undefined;
  return typeof exp?.data?.task === 'string' ? exp.data.task : undefined;
}

/** Rows of a [G·H, cols] block (or a [G·H] vector, cols = 1) with gate blocks taken in `order`. */
function reorderRows(block: Float32Array, order: readonly number[], H: number, cols: number): Float32Array {
  const out = new Float32Array(order.length * H * cols);
  order.forEach((from, to) => out.set(block.subarray(from * H * cols, (from + 1) * H * cols), to * H * cols));
  return out;
}

/** Per input feature, the training transform; null when every one is the identity. */
function inputScales(meta: DataMeta | undefined, In: number): ColumnScale[] | null {
  if (!meta) return null;
  const columns = meta.task === 'series' ? [...meta.features, ...meta.futureFeatures] : meta.features;
  const scales = columns.map((name) => meta.normalization.columns[name] ?? { shift: 0, scale: 1 });
  if (scales.length !== In) return null;
  return scales.every(isIdentity) ? null : scales;
}

/** Per output, the transform to undo: series output (k·G + g)·Q + q (sequences g·Q + q) is target g; class logits have none. */
function outputScales(meta: DataMeta | undefined, O: number): ColumnScale[] | null {
  if (!meta || (meta.task === 'sequences' && meta.target === 'class')) return null;
  const G = meta.targets.length, Q = meta.quantiles?.length ?? 1;
  const scales = Array.from({ length: O }, (_, o) => meta.normalization.columns[meta.targets[Math.floor(o / Q) % G]!] ?? { shift: 0, scale: 1 });
  return scales.every(isIdentity) ? null : scales;
}

const isIdentity = (s: ColumnScale): boolean => s.shift === 0 && s.scale === 1;

type Attrs = Record<string, number | number[] | string>;

function valueInfo(name: string, elemType: pb.TensorProto.DataType, dims: (string | number)[]): pb.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Nodes and initializers, with fresh value names. */
class GraphBuilder {
  readonly nodes: pb.INodeProto[] = [];
  readonly initializers: pb.ITensorProto[] = [];
  private count = 0;

  /** A node with one output; returns its name (`name`, or a fresh one). */
  node(opType: string, inputs: string[], attrs: Attrs = {}, name?: string): string {
    return this.nodeOutputs(opType, inputs, 1, attrs, undefined, name)[0]!;
  }

  nodeOutputs(opType: string, inputs: string[], outputs: number, attrs: Attrs = {}, label?: string, name?: string): string[] {
    const id = this.count++;
    const outs = Array.from({ length: outputs }, (_, k) => (name !== undefined && k === 0 ? name : `${label ?? opType.toLowerCase()}_${id}_${k}`));
    // Trailing empty optional inputs are dropped, as ONNX writers do.
    const ins = [...inputs];
    while (ins.length > 0 && ins.at(-1) === '') ins.pop();
    this.nodes.push({ opType, name: `${opType}_${id}`, input: ins, output: outs, attribute: Object.entries(attrs).map(([n, v]) => attribute(n, v)) });
    return outs;
  }

  /** Renames the value `from` (a node output) to `to`. */
  rename(from: string, to: string): void {
    for (const n of this.nodes) n.output = n.output!.map((o: string) => (o === from ? to : o));
  }

  float(name: string, values: ArrayLike<number>, dims: number[]): string {
    const data = Float32Array.from(values);
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  int64(name: string, values: number[], dims: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** (v − shift) / scale per last-axis column. */
  scale(v: string, scales: ColumnScale[], label: string, what: string): string {
    const shifted = this.node('Sub', [v, this.float(`${label}.shift`, scales.map((s) => s.shift), [scales.length])]);
    return this.node('Div', [shifted, this.float(`${label}.scale`, scales.map((s) => s.scale), [scales.length])], {}, `${what}_scaled`);
  }

  /** v · scale + shift per last-axis column. */
  unscale(v: string, scales: ColumnScale[]): string {
    const scaled = this.node('Mul', [v, this.float('output.scale', scales.map((s) => s.scale), [scales.length])]);
    return this.node('Add', [scaled, this.float('output.shift', scales.map((s) => s.shift), [scales.length])]);
  }
}

function attribute(name: string, value: number | number[] | string): pb.IAttributeProto {
  if (typeof value === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
