/**
 * Forward pass and exact BPTT for one shard of a batch, over preallocated buffers: one block
 * laid out by activationLayout, its named views built once in the constructor.
 *
 * Buffers are time-major ([t][b][·]) so step t of all B sequences is one contiguous [B, ·]
 * block: the input projection of all T steps is one product before the time loop, the head and
 * the weight gradients are one product after it, and only h_{t-1}·W_hhᵀ stays inside (in each
 * layer's Cell, chosen by cfg.cell). State buffers have T+1 slots; slot 0 is the initial state
 * (zero, or carried for sampling).
 *
 * A bidirectional layer also runs a reverse cell over its input reversed per sequence (each from
 * its own last step back to step 0, as pack_padded_sequence): the reverse direction's rows are
 * permuted into its own time order before its cell and back after, and the layer's output is
 * [h_fwd_t ; h_rev_t], 2H wide.
 *
 * Generic over Float32Array / Float64Array: training runs in float32, gradient checks in float64.
 */
import { assemblesInput, firstLayerInputSize, outputWidth, type LossKind, type ModelConfig } from './model-config.js';
import { activationLayout, blockView, type ActivationLayout, type FloatArray, type LayerViews, type ModelViews } from './layout.js';
import { gemmAB, gemmABt, gemmAtB } from './gemm.js';
import { gruStepBackward, gruStepForward, lstmStepBackward, lstmStepForward, rnnStepBackward, rnnStepForward } from './cells.js';
import { createCell, type Cell, type CellOps } from './cells.js';
import { meanSquaredError, quantileLoss, softmaxCrossEntropy, softmaxRows } from './loss.js';
import { fillDropoutMask, fillWeightDropMask, LOCKED_TIME, type DropoutStream } from './dropout.js';

/** The matrix products a pass needs. */
export interface GemmOps {
  abt: typeof gemmABt;
  ab: typeof gemmAB;
  atb: typeof gemmAtB;
}

/** Every kernel a pass spends its time in: the TypeScript reference or faster kernels. */
export interface NetworkOps extends GemmOps, CellOps {
  oneHotProjection: typeof oneHotProjection;
  oneHotGradient: typeof oneHotGradient;
  softmaxCrossEntropy: typeof softmaxCrossEntropy;
  softmaxRows: typeof softmaxRows;
  meanSquaredError: typeof meanSquaredError;
  multiply: typeof multiply;
  /**
   * The values of a weight a product reads (one not of the parameter block: a masked copy) were
   * just rewritten; kernels that keep a packed copy of it must repack. Absent: nothing kept.
   */
  weightChanged?(w: FloatArray): void;
}

export const referenceOps: NetworkOps = {
  abt: gemmABt, ab: gemmAB, atb: gemmAtB,
  lstmForward: lstmStepForward, lstmBackward: lstmStepBackward,
  gruForward: gruStepForward, gruBackward: gruStepBackward,
  rnnForward: rnnStepForward, rnnBackward: rnnStepBackward,
  oneHotProjection, oneHotGradient,
  softmaxCrossEntropy, softmaxRows, meanSquaredError,
  addColumnSums, addRowVector, multiply,
};

/**
 * The input projection of R one-hot rows: gates[r] = W[:, tokens[r]] + bias, a column gather
 * (W is [GH, V]; the product with a one-hot matrix would be all multiplications by zero).
 */
export function oneHotProjection(gates: FloatArray, w: FloatArray, bias: FloatArray, tokens: Int32Array, R: number, GH: number, V: number): void {
  for (let r = 0; r < R; r++) {
    const tok = tokens[r], row = r * GH;
    for (let j = 0; j < GH; j++) gates[row + j] = w[j * V + tok] + bias[j];
  }
}

/** Its weight gradient: dW[:, tokens[r]] += dGates[r] (a scatter-add into columns). */
export function oneHotGradient(dW: FloatArray, dGates: FloatArray, tokens: Int32Array, R: number, GH: number, V: number): void {
  for (let r = 0; r < R; r++) {
    const tok = tokens[r], row = r * GH;
    for (let j = 0; j < GH; j++) dW[j * V + tok] += dGates[row + j];
  }
}

export interface NetworkShape {
  cfg: ModelConfig;
  loss: LossKind;
  input: 'onehot' | 'dense';
  /** Largest shard (sequences) the buffers must hold. */
  batch: number;
  seqLen: number;
  /** Dropout probability on every layer's output (training passes given a DropoutStream); default 0. */
  dropout?: number;
  /** Variational dropout on every layer's output: one mask per sequence and layer for all steps; default 0. Not with `dropout`. */
  lockedDropout?: number;
  /** DropConnect on every layer's weight_hh: one mask per step for the whole batch; default 0. Hidden recurrence only. */
  weightDrop?: number;
  /** loss 'quantile': the levels, ascending; the outputs are Q per target (SPEC §4). */
  quantiles?: readonly number[] | null;
}

/** One shard, time-major. Only the arrays the task uses need content. */
export interface ShardInput {
  /** onehot: [T·B] symbol ids. */
  tokens: Int32Array | null;
  /** dense: [T·B·In]. */
  inputs: FloatArray | null;
  /** ce: [T·B] for outputs 'all', [B] for 'last'. */
  targetIds: Int32Array | null;
  /** mse: [T·B·O] for outputs 'all', [B·O] for 'last'; quantile: O / Q per row instead of O. */
  targetValues: FloatArray | null;
  /** Categorical columns (cfg.categorical): [B·C] level of each sequence's column c at b·C + c. */
  categories?: Int32Array | null;
  /**
   * Variable-length sequences: [B] steps of each (1..T), non-increasing (longest first, as
   * PyTorch's pack_padded_sequence with enforce_sorted). Absent or null: every sequence is T long.
   */
  lengths?: Int32Array | null;
}

export interface ForwardOptions {
  /** Feed the true previous target instead of ŷ (output recurrence, training only). */
  teacherForcing: boolean;
  /** Gradient scale written into dY (1 / predicted steps of the global batch); null: no gradients. */
  gradScale: number | null;
  /** Start from the state the previous call ended in, instead of zero (sampling). */
  carryState?: boolean;
  /** Training with dropout (shape.dropout > 0): where this pass's masks come from. Absent: no dropout. */
  dropout?: DropoutStream | null;
  /**
   * Stateful text (hidden recurrence): each sequence starts from its stream's state and the pass
   * leaves its final state there for the next window. No gradient flows into it (truncated BPTT).
   */
  state?: CarriedState<FloatArray> | null;
}

/** Per layer, the [B, H] states a stream carries from one window to the next (c: LSTM only). */
export interface CarriedState<A extends FloatArray> {
  h: A[];
  c: (A | null)[];
}

/** Per layer, the activations the network reads and writes around its cell. */
export interface LayerActivations<A extends FloatArray> {
  /** [T, B, G·H] gate pre-activations: the input projection goes here. */
  gates: A;
  /** [T+1, B, H] hidden states; slot 0 = initial state. */
  h: A;
  /** [T, B, H] gradient reaching h_t (from above and from step t+1). */
  dH: A;
  /** [T, B, W] dropout mask of the layer's output (0 or 1/(1−p)); null without dropout. */
  mask: A | null;
  /** [T+1, B, W] the layer's output after dropout, slots as in h; null without dropout. */
  dropped: A | null;
  /** [T+1, B, W] the layer's output before dropout: h, or [h_fwd ; h_rev] (W = 2H) bidirectional. */
  out: A;
  /** [T, B, W] the gradient reaching `out`: dH, or the one split into both directions' dH. */
  dOut: A;
}

export class Network<A extends FloatArray> {
  readonly shape: NetworkShape;
  /** Where each buffer sits in the one block the network allocates. */
  readonly layout: ActivationLayout;
  readonly layers: LayerActivations<A>[] = [];
  /** Per layer, its cell (cfg.cell) over the same block. */
  readonly cells: Cell<A>[] = [];
  /** Bidirectional: per layer, the reverse direction's cell and its [T, B, G·H] gates; empty otherwise. */
  readonly reverseCells: Cell<A>[] = [];
  private readonly reverseGates: A[] = [];
  /** Width of every layer's output: H, or 2H bidirectional. */
  private readonly width: number;
  /**
   * [T·B] bidirectional: the step of sequence b its reverse direction reads at its own step t
   * (index t·B + b): lengths[b]−1−t while t < lengths[b], t on the padding. Its own inverse.
   */
  private readonly reversal: Int32Array;
  /** [T·B, O] head outputs (logits or regression values). */
  readonly y: A;
  /** [T·B, O] softmax probabilities (ce). */
  readonly probs: A;
  /** [T·B, O] gradient of the loss w.r.t. y. */
  readonly dY: A;
  /** [T+1, B, O] the previous step's output fed back (output recurrence); slot 0 = initial. */
  readonly yHat: A | null;
  /** [B, O] gradient reaching ŷ_{t-1} from step t (output recurrence). */
  readonly dYHat: A | null;
  /** [T, B, G·H] gate gradients of the layer being back-propagated. */
  readonly dGates: A;
  /** [T, B, In_0] layer 0's assembled input (embedding rows, features, category rows) and its gradient; null when it reads the shard directly. */
  readonly x0: A | null;
  readonly dX0: A | null;
  /** [B, H] dL/dc (LSTM) or dL/dh through z⊙h_{t-1} (GRU) carried backward through time. */
  readonly dcCarry: A;
  private lastB = 0;
  /** [T] rows of step t that run the cell: all B, or the sequences still running (lengths > t). */
  private readonly stepRows: Int32Array;
  /** Whether the last forward had sequences shorter than T (backward then masks the same way). */
  private masked = false;
  /** Whether the current pass applies dropout (set by forward, used by backward). */
  private dropping = false;
  /** The output dropout's p: model.dropout, or model.lockedDropout (the same masks, the time part of their key fixed). */
  private readonly outputDropout: number;
  /** Per layer with weightDrop: its mask of weight_hh and the masked copy its cell reads; else empty. */
  private readonly weightDrops: { mask: A; weights: A }[] = [];
  /** Per layer, the layer's weight views with wRec the masked copy (refreshed each training pass, never reallocated). */
  private readonly droppedViews: LayerViews<A>[] = [];
  /** Per layer, its gradient views with wRec the masked copy's gradient. */
  private readonly droppedGradViews: LayerViews<A>[] = [];
  /** [G·H, H] gradient of the masked weight_hh of the layer being back-propagated (weightDrop). */
  private readonly dDroppedWeight: A | null;
  /** Whether the current pass drops weight_hh entries (set by forward, used by backward). */
  private weightDropping = false;

  /** `alloc` is called once, for the whole block of activationLayout(…).size elements. */
  constructor(shape: NetworkShape, alloc: (n: number) => A, readonly ops: NetworkOps = referenceOps) {
    this.shape = shape;
    const { cfg, batch: B, seqLen: T } = shape;
    if (shape.loss === 'quantile') {
      const Q = shape.quantiles?.length ?? 0;
      if (Q === 0 || cfg.outputSize % Q !== 0) throw new Error(`the quantile loss needs quantiles dividing the ${cfg.outputSize} outputs, got ${Q}`);
      // ŷ_{t-1} fed back is O wide, a teacher-forced target O / Q: no meaning for quantiles.
      if (cfg.recurrence === 'output') throw new Error('the quantile loss needs hidden recurrence');
    }
    if ((shape.dropout ?? 0) > 0 && (shape.lockedDropout ?? 0) > 0) throw new Error('lockedDropout replaces dropout on the layers\' outputs: give one of them');
    const weightDrop = shape.weightDrop ?? 0;
    if (weightDrop > 0 && cfg.recurrence === 'output') throw new Error('weightDrop needs hidden recurrence');
    this.outputDropout = (shape.lockedDropout ?? 0) > 0 ? shape.lockedDropout! : shape.dropout ?? 0;
    const dropout = this.outputDropout > 0;
    if (cfg.bidirectional && cfg.recurrence === 'output') throw new Error('a bidirectional model needs hidden recurrence');
    // The reverse direction has no DropConnect mask of its own yet.
    if (cfg.bidirectional && weightDrop > 0) throw new Error('weightDrop is not supported on a bidirectional model');
    this.width = outputWidth(cfg);
    this.layout = activationLayout(cfg, B, T, this.outputDropout, weightDrop);
    const block = alloc(this.layout.size);
    const view = (name: string): A => blockView(this.layout, block, name);
    this.y = view('y');
    this.probs = view('probs');
    this.dY = view('dY');
    const outputRecurrence = cfg.recurrence === 'output';
    this.yHat = outputRecurrence ? view('yHat') : null;
    this.dYHat = outputRecurrence ? view('dYHat') : null;
    this.dGates = view('dGates');
    this.dcCarry = view('dcCarry');
    const assembled = assemblesInput(cfg);
    if (assembled && cfg.recurrence === 'output') throw new Error('embeddings need hidden recurrence');
    this.x0 = assembled ? view('layers.0.x') : null;
    this.dX0 = assembled ? view('layers.0.dX') : null;
    this.dDroppedWeight = weightDrop > 0 ? view('dDroppedWeightHh') : null;
    const feedback = this.yHat ? { states: this.yHat, width: cfg.outputSize } : null;
    for (let k = 0; k < cfg.layers; k++) {
      const at = (name: string): A => view(`layers.${k}.${name}`);
      const h = at('h'), dH = at('dH');
      this.layers.push({
        gates: at('gates'), h, dH,
        mask: dropout ? at('mask') : null,
        dropped: dropout ? at('dropped') : null,
        out: cfg.bidirectional ? at('out') : h,
        dOut: cfg.bidirectional ? at('dOut') : dH,
      });
      this.cells.push(createCell(cfg.cell, k, { view, ops, hidden: cfg.hidden, seqLen: T, feedback }));
      if (weightDrop > 0) {
        this.weightDrops.push({ mask: at('weightDropMask'), weights: at('droppedWeightHh') });
        this.droppedViews.push(emptyLayerViews(at('droppedWeightHh')));
        this.droppedGradViews.push(emptyLayerViews(this.dDroppedWeight!));
      }
      if (cfg.bidirectional) {
        this.reverseCells.push(createCell(cfg.cell, `${k}.reverse`, { view, ops, hidden: cfg.hidden, seqLen: T, feedback }));
        this.reverseGates.push(at('reverse.gates'));
      }
    }
    this.stepRows = new Int32Array(T);
    this.reversal = new Int32Array(cfg.bidirectional ? T * B : 0);
  }

  /**
   * Reads the shard's lengths into stepRows. Past its own end a sequence's state is carried
   * unchanged and it takes no loss (SPEC §2), so only the first stepRows[t] rows of step t run
   * the cell; sorted lengths make those rows a prefix. Returns whether any sequence is shorter
   * than T; if none, every step runs all B rows.
   */
  private setLengths(lengths: Int32Array | null | undefined, B: number, opt: ForwardOptions): boolean {
    const T = this.shape.seqLen;
    this.stepRows.fill(B);
    if (!lengths) return false;
    if (lengths.length < B) throw new Error(`lengths holds ${lengths.length} sequences, the shard has ${B}`);
    let prev = T, full = true;
    for (let b = 0; b < B; b++) {
      const n = lengths[b];
      if (!(Number.isInteger(n) && n >= 1 && n <= prev)) {
        throw new Error(`lengths must be in 1..${T} and non-increasing; sequence ${b} has ${n} after ${prev}`);
      }
      if (n !== T) full = false;
      prev = n;
    }
    if (full) return false;
    if (this.shape.cfg.recurrence === 'output') throw new Error('variable-length sequences need hidden recurrence');
    if (opt.carryState) throw new Error('variable-length sequences cannot carry state between calls');
    let running = B;
    for (let t = 0; t < T; t++) {
      while (running > 0 && lengths[running - 1] <= t) running--;
      this.stepRows[t] = running;
    }
    return true;
  }

  /** Fills `reversal` for this shard: each sequence reversed over its own steps, the padding in place. */
  private setReversal(lengths: Int32Array | null | undefined, B: number): void {
    const T = this.shape.seqLen;
    for (let b = 0; b < B; b++) {
      const n = lengths && this.masked ? lengths[b] : T;
      for (let t = 0; t < T; t++) this.reversal[t * B + b] = t < n ? n - 1 - t : t;
    }
  }

  /** Permutes the rows ([T, B, width]) of buf between natural and reversed time, in place (an involution). */
  private reverseRows(buf: A, width: number, B: number): void {
    const T = this.shape.seqLen;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const s = this.reversal[t * B + b];
        if (s <= t) continue;
        const x = (t * B + b) * width, y = (s * B + b) * width;
        for (let j = 0; j < width; j++) {
          const v = buf[x + j];
          buf[x + j] = buf[y + j];
          buf[y + j] = v;
        }
      }
    }
  }

  /**
   * Which step of the reverse direction's h feeds layer k's output at step t: the one that read
   * step t. The head of outputs 'last' reads the top layer at its last slot, which must hold the
   * reverse direction's final state (its h after step 0), so there the slots stay in its own order.
   */
  private reverseStepOf(k: number, t: number, b: number, B: number): number {
    const top = k === this.shape.cfg.layers - 1 && this.shape.cfg.outputs === 'last';
    return top ? t : this.reversal[t * B + b];
  }

  /** Layer k's output slots 1..T: [h_fwd_t ; h_rev at the step that read t]. */
  private joinDirections(k: number, B: number): void {
    const T = this.shape.seqLen, H = this.shape.cfg.hidden, W = this.width;
    const out = this.layers[k].out, hF = this.cells[k].h, hR = this.reverseCells[k].h;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const o = ((t + 1) * B + b) * W, f = ((t + 1) * B + b) * H, r = ((this.reverseStepOf(k, t, b, B) + 1) * B + b) * H;
        for (let j = 0; j < H; j++) {
          out[o + j] = hF[f + j];
          out[o + H + j] = hR[r + j];
        }
      }
    }
  }

  /** Back through joinDirections: dOut's halves into each direction's dH (overwritten). */
  private splitGradient(k: number, B: number): void {
    const T = this.shape.seqLen, H = this.shape.cfg.hidden, W = this.width;
    const dOut = this.layers[k].dOut, dF = this.cells[k].dH, dR = this.reverseCells[k].dH;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const o = (t * B + b) * W, f = (t * B + b) * H, r = (this.reverseStepOf(k, t, b, B) * B + b) * H;
        for (let j = 0; j < H; j++) {
          dF[f + j] = dOut[o + j];
          dR[r + j] = dOut[o + H + j];
        }
      }
    }
  }

  /** The loss of outputs 'all' over the steps each sequence really has; dY is zero elsewhere. */
  private maskedLoss(input: ShardInput, B: number, dY: A | null, scale: number): number {
    const { seqLen: T, cfg } = this.shape;
    const O = cfg.outputSize;
    dY?.fill(0, 0, T * B * O);
    let total = 0;
    for (let t = 0; t < T; t++) {
      const rows = this.stepRows[t];
      if (rows === 0) break;
      const off = t * B * O;
      total += this.shape.loss === 'ce'
        ? this.ops.softmaxCrossEntropy(this.y, off, this.probs, input.targetIds!, t * B, rows, O, dY, scale)
        : this.shape.loss === 'quantile'
          ? quantileLoss(this.y, off, input.targetValues!, off / this.shape.quantiles!.length, rows, O, this.shape.quantiles!, dY, scale)
          : this.ops.meanSquaredError(this.y, off, input.targetValues!, off, rows, O, dY, scale);
    }
    return total;
  }

  /** Rows of y that carry a prediction, and where they start. */
  private predictedRows(B: number): { row0: number; rows: number } {
    const { cfg, seqLen: T } = this.shape;
    if (cfg.outputs === 'all') return { row0: 0, rows: T * B };
    // output recurrence computes y at every step; hidden recurrence only the last one into row 0.
    return { row0: cfg.recurrence === 'output' ? (T - 1) * B : 0, rows: B };
  }

  /** Runs B sequences forward; returns the SUM of the per-step losses (and fills dY if asked). */
  forward(p: ModelViews<A>, input: ShardInput, B: number, opt: ForwardOptions): number {
    const { cfg } = this.shape;
    if (B > this.shape.batch) throw new Error(`shard of ${B} sequences exceeds the buffers (${this.shape.batch})`);
    if (opt.carryState && B !== this.lastB) throw new Error('carryState needs the same shard size as the previous call');
    this.lastB = B;
    this.masked = this.setLengths(input.lengths, B, opt);
    if (cfg.bidirectional) {
      // The reverse direction reads the future: nothing may be carried into or out of a window.
      if (opt.carryState || opt.state) throw new Error('a bidirectional model cannot carry state between calls');
      this.setReversal(input.lengths, B);
    }
    this.startDropout(opt.dropout ?? null, B);
    this.dropWeights(p, opt.dropout ?? null);
    const H = cfg.hidden, O = cfg.outputSize;
    const state = opt.state ?? null, carry = opt.carryState === true;
    if (state && cfg.recurrence === 'output') throw new Error('a carried state needs hidden recurrence');
    for (const cell of this.cells) for (const s of cell.states) this.initialSlot(s, B * H, carry);
    for (const cell of this.reverseCells) for (const s of cell.states) this.initialSlot(s, B * H, false);
    if (state) this.loadState(state, B);
    if (this.yHat) this.initialSlot(this.yHat, B * O, carry);
    if (cfg.recurrence === 'output') this.forwardOutputRecurrence(p, input, B, opt);
    else this.forwardHiddenRecurrence(p, input, B, carry || state !== null);
    if (state) this.storeState(state, B);
    return this.loss(input, B, opt.gradScale);
  }

  /** The SUM of the per-step losses of the predicted rows; with a gradScale, dY for every row. */
  private loss(input: ShardInput, B: number, gradScale: number | null): number {
    const { cfg, seqLen: T } = this.shape;
    const O = cfg.outputSize;
    const { row0, rows } = this.predictedRows(B);
    const dY = gradScale === null ? null : this.dY;
    if (this.masked && cfg.outputs === 'all') {
      if (!(this.shape.loss === 'ce' ? input.targetIds : input.targetValues)) throw new Error('the loss needs its targets');
      return this.maskedLoss(input, B, dY, gradScale ?? 0);
    }
    // The loss writes every dY of the predicted rows; the rest is zero.
    if (dY) {
      dY.fill(0, 0, row0 * O);
      dY.fill(0, (row0 + rows) * O, T * B * O);
    }
    if (this.shape.loss === 'ce') {
      if (!input.targetIds) throw new Error('cross-entropy needs targetIds');
      return this.ops.softmaxCrossEntropy(this.y, row0 * O, this.probs, input.targetIds, 0, rows, O, dY, gradScale ?? 0);
    }
    if (!input.targetValues) throw new Error(`${this.shape.loss} needs targetValues`);
    if (this.shape.loss === 'quantile') {
      return quantileLoss(this.y, row0 * O, input.targetValues, 0, rows, O, this.shape.quantiles!, dY, gradScale ?? 0);
    }
    return this.ops.meanSquaredError(this.y, row0 * O, input.targetValues, 0, rows, O, dY, gradScale ?? 0);
  }

  /** Draws this pass's masks when it trains with dropout. */
  private startDropout(stream: DropoutStream | null, B: number): void {
    const { cfg, seqLen: T } = this.shape, p = this.outputDropout, W = this.width;
    this.dropping = stream !== null && p > 0;
    if (!this.dropping) return;
    const locked = (this.shape.lockedDropout ?? 0) > 0;
    for (let k = 0; k < cfg.layers; k++) {
      const mask = this.layers[k].mask!;
      for (let t = 0; t < T; t++) fillDropoutMask(mask, t * B * W, p, stream!, k, locked ? LOCKED_TIME : t, B, W);
    }
  }

  /**
   * weightDrop, training passes only: each layer's mask of weight_hh for this step, and the masked
   * copy its cell reads in this block (the shared weights are never written).
   */
  private dropWeights(p: ModelViews<A>, stream: DropoutStream | null): void {
    const q = this.shape.weightDrop ?? 0;
    this.weightDropping = stream !== null && q > 0;
    if (!this.weightDropping) return;
    for (let k = 0; k < this.weightDrops.length; k++) {
      const { mask, weights } = this.weightDrops[k], n = mask.length;
      fillWeightDropMask(mask, q, stream!, k, n);
      this.ops.multiply(weights, 0, p.layers[k].wRec, 0, mask, 0, n);
      this.ops.weightChanged?.(weights);
      Object.assign(this.droppedViews[k], p.layers[k]).wRec = weights;
    }
  }

  /** The weights layer k's cell runs with: the model's, or with weight_hh masked in a weightDrop pass. */
  private recurrentWeights(p: ModelViews<A>, k: number): LayerViews<A> {
    return this.weightDropping ? this.droppedViews[k] : p.layers[k];
  }

  /**
   * The recurrent weight (and b_hh) gradients of layer k into g. With weightDrop, the cell's
   * gradient is the masked copy's; dU = dU_masked ⊙ mask, the entries the mask dropped get none.
   */
  private recurrentWeightGradients(g: ModelViews<A>, k: number, B: number): void {
    if (!this.weightDropping) {
      this.cells[k].weightGradients(g.layers[k], B);
      return;
    }
    const dMasked = this.dDroppedWeight!, mask = this.weightDrops[k].mask, views = this.droppedGradViews[k];
    Object.assign(views, g.layers[k]).wRec = dMasked;
    dMasked.fill(0);
    this.cells[k].weightGradients(views, B);
    addProduct(g.layers[k].wRec, dMasked, mask, mask.length);
  }

  /** Layer k's output as the layer above and the head see it: h, or h after dropout. */
  private output(k: number): A {
    const l = this.layers[k];
    return this.dropping ? l.dropped! : l.out;
  }

  /** Applies layer k's mask to `count` rows of B·H from slot `t` of h (t ≥ 1): dropped = h ⊙ mask. */
  private dropRows(k: number, t: number, B: number, steps: number): void {
    if (!this.dropping) return;
    const l = this.layers[k], n = B * this.width;
    this.ops.multiply(l.dropped!, t * n, l.out, t * n, l.mask!, (t - 1) * n, steps * n);
  }

  /** Back through layer k's dropout: the gradient reaching its output, times the mask, in place. */
  private dropGradientRows(k: number, t: number, B: number, steps: number): void {
    if (!this.dropping) return;
    const l = this.layers[k], n = B * this.width;
    this.ops.multiply(l.dOut, t * n, l.dOut, t * n, l.mask!, t * n, steps * n);
  }

  /** Slot 0 of every layer's h (and c) from the streams' carried states. */
  private loadState(state: CarriedState<FloatArray>, B: number): void {
    const n = B * this.shape.cfg.hidden;
    for (let k = 0; k < this.cells.length; k++) {
      const s = this.cells[k].states;
      copy(s[0], 0, state.h[k], 0, n);
      if (s.length > 1) copy(s[1], 0, state.c[k]!, 0, n);
    }
  }

  /** The final slot of every layer's h (and c) into the carried states: the next window starts there. */
  private storeState(state: CarriedState<FloatArray>, B: number): void {
    const n = B * this.shape.cfg.hidden, T = this.shape.seqLen;
    for (let k = 0; k < this.cells.length; k++) {
      const s = this.cells[k].states;
      copy(state.h[k], 0, s[0], T * n, n);
      if (s.length > 1) copy(state.c[k]!, 0, s[1], T * n, n);
    }
  }

  /** Slot 0 of a [T+1, B, ·] state buffer: zero, or the last slot of the previous call. */
  private initialSlot(state: A, slot: number, carry: boolean): void {
    const T = this.shape.seqLen;
    if (carry) state.copyWithin(0, T * slot, (T + 1) * slot);
    else state.fill(0, 0, slot);
  }

  /**
   * gates[r] = W_ih · x_r + b for all T·B rows at once (a column gather for one-hot input), in
   * natural time order; `reverse`: the reverse direction's weights and gates.
   */
  private inputProjection(k: number, p: ModelViews<A>, input: ShardInput, B: number, reverse = false): void {
    const { seqLen: T } = this.shape;
    const lp = reverse ? p.reverse[k] : p.layers[k], gates = reverse ? this.reverseGates[k] : this.layers[k].gates;
    const GH = lp.bias.length, In = lp.inSize, R = T * B;
    if (k === 0 && this.x0) {
      if (!reverse) this.assembleInput(p, input, B); // the reverse direction reads the same rows
    } else if (k === 0 && this.shape.input === 'onehot') {
      if (!input.tokens) throw new Error('one-hot input needs tokens');
      this.ops.oneHotProjection(gates, lp.wIh, lp.bias, input.tokens, R, GH, In);
      return;
    }
    const [x, xOff] = this.layerInput(k, input, B);
    if (!x) throw new Error('dense input needs inputs');
    this.ops.abt(gates, 0, x, xOff, lp.wIh, 0, R, GH, In, 0);
    this.ops.addRowVector(gates, 0, lp.bias, R, GH);
  }

  /** Layer k's input rows and where they start: the shard's (or the assembled) input for layer 0, the output below otherwise. */
  private layerInput(k: number, input: ShardInput, B: number): [A | FloatArray | null, number] {
    if (k > 0) return [this.output(k - 1), B * this.width];
    return [this.x0 ?? input.inputs, 0];
  }

  /**
   * x0 row r = [Emb[token_r] | features_r | static_c[level of r's sequence] …]: embedding rows are
   * copied, not multiplied (a one-hot product would be all multiplications by zero).
   */
  private assembleInput(p: ModelViews<A>, input: ShardInput, B: number): void {
    const { cfg, seqLen: T } = this.shape, x0 = this.x0!, In = firstLayerInputSize(cfg), R = T * B;
    let col = 0;
    if (p.embedding) {
      if (!input.tokens) throw new Error('an embedding needs tokens');
      const E = cfg.embedding!, tokens = input.tokens, emb = p.embedding;
      for (let r = 0; r < R; r++) copy(x0, r * In, emb, tokens[r] * E, E);
      col = E;
    } else {
      if (!input.inputs) throw new Error('dense input needs inputs');
      const F = cfg.inputSize, xs = input.inputs;
      for (let r = 0; r < R; r++) copy(x0, r * In + col, xs, r * F, F);
      col = F;
    }
    const statics = cfg.categorical ?? [], C = statics.length;
    if (C > 0 && !input.categories) throw new Error('categorical columns need each sequence\'s levels');
    for (let c = 0; c < C; c++) {
      const W = statics[c].width, table = p.statics[c];
      for (let r = 0; r < R; r++) copy(x0, r * In + col, table, input.categories![(r % B) * C + c] * W, W);
      col += W;
    }
  }

  /** Back through assembleInput: each embedding row used ACCUMULATES the gradient of the x0 columns it filled. */
  private scatterInputGradient(g: ModelViews<A>, input: ShardInput, B: number): void {
    const { cfg, seqLen: T } = this.shape, dX = this.dX0!, In = firstLayerInputSize(cfg), R = T * B;
    let col = 0;
    if (g.embedding) {
      const E = cfg.embedding!, tokens = input.tokens!, dEmb = g.embedding;
      for (let r = 0; r < R; r++) addTo(dEmb, tokens[r] * E, dX, r * In, E);
      col = E;
    } else col = cfg.inputSize;
    const statics = cfg.categorical ?? [], C = statics.length;
    for (let c = 0; c < C; c++) {
      const W = statics[c].width, dTable = g.statics[c];
      for (let r = 0; r < R; r++) addTo(dTable, input.categories![(r % B) * C + c] * W, dX, r * In + col, W);
      col += W;
    }
  }

  /** y rows [row0, row0 + rows) = x · headWᵀ + headB, for the rows of x (top-layer outputs) at xOff. */
  private headForward(p: ModelViews<A>, x: A, xOff: number, row0: number, rows: number): void {
    const W = this.width, O = this.shape.cfg.outputSize;
    this.ops.abt(this.y, row0 * O, x, xOff, p.headW, 0, rows, O, W, 0);
    this.ops.addRowVector(this.y, row0 * O, p.headB, rows, O);
  }

  /**
   * Back through headForward for the same rows: ACCUMULATES the head's gradients into g and
   * writes dL/dx = dY · headW into dX at dXOff.
   */
  private headBackward(p: ModelViews<A>, g: ModelViews<A>, x: A, xOff: number, row0: number, rows: number, dX: A, dXOff: number): void {
    this.headWeightGradients(g, x, xOff, row0, rows);
    this.headInputGradient(p, row0, rows, dX, dXOff);
  }

  /** headW += dYᵀ · x and headB += Σ dY over the rows. */
  private headWeightGradients(g: ModelViews<A>, x: A, xOff: number, row0: number, rows: number): void {
    const W = this.width, O = this.shape.cfg.outputSize;
    this.ops.atb(g.headW, 0, this.dY, row0 * O, x, xOff, O, W, rows, 1);
    this.ops.addColumnSums(g.headB, this.dY, row0 * O, rows, O);
  }

  /** dX = dY · headW over the rows (overwrites). */
  private headInputGradient(p: ModelViews<A>, row0: number, rows: number, dX: A, dXOff: number): void {
    const W = this.width, O = this.shape.cfg.outputSize;
    this.ops.ab(dX, dXOff, this.dY, row0 * O, p.headW, 0, rows, W, O, 0);
  }

  private forwardHiddenRecurrence(p: ModelViews<A>, input: ShardInput, B: number, carry: boolean): void {
    const { cfg, seqLen: T } = this.shape;
    const W = this.width;
    for (let k = 0; k < cfg.layers; k++) {
      this.inputProjection(k, p, input, B);
      // h_{-1} = 0 contributes nothing unless a state is carried in.
      this.cells[k].forward(this.recurrentWeights(p, k), B, 0, T, this.stepRows, !carry);
      if (cfg.bidirectional) {
        this.inputProjection(k, p, input, B, true);
        this.reverseRows(this.reverseGates[k], p.reverse[k].bias.length, B);
        this.reverseCells[k].forward(p.reverse[k], B, 0, T, this.stepRows, true);
        this.joinDirections(k, B);
      }
      this.dropRows(k, 1, B, T);
    }
    const top = this.output(cfg.layers - 1);
    if (cfg.outputs === 'all') this.headForward(p, top, B * W, 0, T * B);
    else this.headForward(p, top, T * B * W, 0, B);
  }

  private forwardOutputRecurrence(p: ModelViews<A>, input: ShardInput, B: number, opt: ForwardOptions): void {
    const { cfg, seqLen: T, loss } = this.shape;
    const H = cfg.hidden, O = cfg.outputSize;
    const cell = this.cells[0], lp = p.layers[0], yHat = this.yHat!;
    if (opt.teacherForcing && cfg.outputs !== 'all') throw new Error('teacher forcing needs a target at every step');
    this.inputProjection(0, p, input, B);
    for (let t = 0; t < T; t++) {
      cell.forward(lp, B, t, t + 1, this.stepRows, !opt.carryState);
      this.dropRows(0, t + 1, B, 1);
      this.headForward(p, this.output(0), (t + 1) * B * H, t * B, B);
      const next = (t + 1) * B * O;
      if (opt.teacherForcing) {
        if (loss === 'ce') {
          yHat.fill(0, next, next + B * O);
          for (let b = 0; b < B; b++) yHat[next + b * O + input.targetIds![t * B + b]] = 1;
        } else {
          for (let k = 0; k < B * O; k++) yHat[next + k] = input.targetValues![t * B * O + k];
        }
      } else if (loss === 'ce') {
        this.ops.softmaxRows(this.y, t * B * O, yHat, next, B, O);
      } else {
        for (let k = 0; k < B * O; k++) yHat[next + k] = this.y[t * B * O + k];
      }
    }
  }

  /** BPTT after `forward` (with gradScale set): ACCUMULATES parameter gradients into g. */
  backward(p: ModelViews<A>, g: ModelViews<A>, input: ShardInput, B: number, teacherForcing: boolean): void {
    const { cfg } = this.shape;
    if (cfg.recurrence === 'output') this.backwardOutputRecurrence(p, g, input, B, teacherForcing);
    else this.backwardHiddenRecurrence(p, g, input, B);
  }

  private backwardHiddenRecurrence(p: ModelViews<A>, g: ModelViews<A>, input: ShardInput, B: number): void {
    const { cfg, seqLen: T } = this.shape;
    const H = cfg.hidden, W = this.width, L = cfg.layers;
    const topOut = this.output(L - 1), dTop = this.layers[L - 1].dOut;
    if (cfg.outputs === 'all') {
      this.headBackward(p, g, topOut, B * W, 0, T * B, dTop, 0);
    } else {
      dTop.fill(0, 0, (T - 1) * B * W);
      this.headBackward(p, g, topOut, T * B * W, 0, B, dTop, (T - 1) * B * W);
    }
    for (let k = L - 1; k >= 0; k--) {
      const cell = this.cells[k], dBelow = k > 0 ? this.layers[k - 1].dOut : null;
      this.dropGradientRows(k, 0, B, T);
      if (cfg.bidirectional) this.splitGradient(k, B);
      this.dcCarry.fill(0, 0, B * H);
      cell.backward(this.recurrentWeights(p, k), B, 0, T, this.stepRows);
      this.recurrentWeightGradients(g, k, B);
      this.inputGradients(k, p, g, input, B, dBelow);
      if (cfg.bidirectional) {
        const reverse = this.reverseCells[k];
        this.dcCarry.fill(0, 0, B * H);
        reverse.backward(p.reverse[k], B, 0, T, this.stepRows);
        reverse.weightGradients(g.reverse[k], B);
        this.reverseRows(this.dGates, p.reverse[k].bias.length, B);
        this.inputGradients(k, p, g, input, B, dBelow, true);
      }
    }
  }

  private backwardOutputRecurrence(p: ModelViews<A>, g: ModelViews<A>, input: ShardInput, B: number, teacherForcing: boolean): void {
    const { cfg, seqLen: T, loss } = this.shape;
    const H = cfg.hidden, O = cfg.outputSize;
    const cell = this.cells[0], dH = this.layers[0].dH, lp = p.layers[0], GH = lp.bias.length;
    const yHat = this.yHat!, dYHat = this.dYHat!, dY = this.dY;
    this.dcCarry.fill(0, 0, B * H);
    for (let t = T - 1; t >= 0; t--) {
      // dY row t is complete here: its loss term plus what ŷ_t fed into step t+1.
      this.headInputGradient(p, t * B, B, dH, t * B * H);
      this.dropGradientRows(0, t, B, 1);
      cell.backward(lp, B, t, t + 1, this.stepRows);
      if (t === 0 || teacherForcing) continue; // teacher forcing: ŷ_{t-1} is data, no gradient across time
      this.ops.ab(dYHat, 0, cell.dRec, t * B * GH, lp.wRec, 0, B, O, GH, 0);
      const prev = (t - 1) * B * O, fed = t * B * O; // yHat slot t holds ŷ_{t-1}
      if (loss === 'ce') {
        for (let b = 0; b < B; b++) {
          let dot = 0;
          for (let o = 0; o < O; o++) dot += dYHat[b * O + o] * yHat[fed + b * O + o];
          for (let o = 0; o < O; o++) dY[prev + b * O + o] += yHat[fed + b * O + o] * (dYHat[b * O + o] - dot);
        }
      } else {
        for (let k = 0; k < B * O; k++) dY[prev + k] += dYHat[k];
      }
    }
    this.headWeightGradients(g, this.output(0), B * H, 0, T * B);
    cell.weightGradients(g.layers[0], B);
    this.inputGradients(0, p, g, input, B, null);
  }

  /**
   * Bias and input-weight gradients of layer k, and the gradient passed down to layer k-1, from
   * dGates in natural time order. `reverse`: the reverse direction's, its gradient added to dBelow.
   */
  private inputGradients(k: number, p: ModelViews<A>, g: ModelViews<A>, input: ShardInput, B: number, dBelow: A | null, reverse = false): void {
    const { seqLen: T } = this.shape;
    const lp = reverse ? p.reverse[k] : p.layers[k], lg = reverse ? g.reverse[k] : g.layers[k];
    const GH = lp.bias.length, In = lp.inSize, R = T * B;
    const dG = this.dGates;
    this.ops.addColumnSums(lg.bias, dG, 0, R, GH);
    if (k === 0 && !this.x0 && this.shape.input === 'onehot') {
      this.ops.oneHotGradient(lg.wIh, dG, input.tokens!, R, GH, In);
    } else {
      const [x, xOff] = this.layerInput(k, input, B);
      this.ops.atb(lg.wIh, 0, dG, 0, x!, xOff, GH, In, R, 1);
    }
    if (dBelow) this.ops.ab(dBelow, 0, dG, 0, lp.wIh, 0, R, In, GH, reverse ? 1 : 0);
    else if (k === 0 && this.dX0) {
      // Bidirectional: each direction's share is scattered in turn (the scatter accumulates).
      this.ops.ab(this.dX0, 0, dG, 0, lp.wIh, 0, R, In, GH, 0);
      this.scatterInputGradient(g, input, B);
    }
  }
}

/** dst[dstOff + i] = src[srcOff + i] for n elements (a view per call would allocate). */
function copy(dst: FloatArray, dstOff: number, src: FloatArray, srcOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
}

/** dst[dstOff + i] += src[srcOff + i] for n elements. */
function addTo(dst: FloatArray, dstOff: number, src: FloatArray, srcOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] += src[srcOff + i];
}

/** m[r] += v for `rows` rows of `cols` at off (a bias added to every row). */
export function addRowVector(m: FloatArray, off: number, v: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const row = off + r * cols;
    for (let j = 0; j < cols; j++) m[row + j] += v[j];
  }
}

/** out += Σ_r m[r] over `rows` rows of `cols` at off (a bias gradient). */
export function addColumnSums(out: FloatArray, m: FloatArray, off: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const row = off + r * cols;
    for (let j = 0; j < cols; j++) out[j] += m[row + j];
  }
}

/** out[i] += a[i] · m[i] for n elements (a masked gradient added to the weight's). */
function addProduct(out: FloatArray, a: FloatArray, m: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] += a[i] * m[i];
}

/** A layer's views to be filled by Object.assign before use (so no pass allocates one). */
function emptyLayerViews<A extends FloatArray>(wRec: A): LayerViews<A> {
  return { wIh: wRec, wRec, bias: wRec, biasHh: null, inSize: 0, recSize: 0 };
}

/** out[outOff + i] = a[aOff + i] · m[mOff + i] for n elements (a dropout mask; out may be a). */
export function multiply(out: FloatArray, outOff: number, a: FloatArray, aOff: number, m: FloatArray, mOff: number, n: number): void {
  for (let i = 0; i < n; i++) out[outOff + i] = a[aOff + i] * m[mOff + i];
}
