/**
 * Forward pass and exact BPTT for one shard of a batch, over preallocated buffers.
 *
 * Buffers are time-major ([t][b][·]) so step t of all B sequences is one contiguous [B, ·]
 * block: the input projection of all T steps is one product before the time loop, the head and
 * the weight gradients are one product after it, and only h_{t-1}·W_hhᵀ stays inside.
 * State buffers have T+1 slots; slot 0 is the initial state (zero, or carried for sampling).
 *
 * Generic over Float32Array / Float64Array: training runs in float32, gradient checks in float64.
 */
import { gateCount, type LossKind, type ModelConfig } from './model-config.js';
import type { FloatArray, ModelViews } from './layout.js';
import { gemmAB, gemmABt, gemmAtB } from '../backends/gemm.js';
import { gruStepBackward, gruStepForward, lstmStepBackward, lstmStepForward, rnnStepBackward, rnnStepForward } from './cells.js';
import { meanSquaredError, softmaxCrossEntropy, softmaxRows } from './loss.js';
import { fillDropoutMask, type DropoutStream } from './dropout.js';

/** The matrix products a pass needs. */
export interface GemmOps {
  abt: typeof gemmABt;
  ab: typeof gemmAB;
  atb: typeof gemmAtB;
}

/** Every kernel a pass spends its time in: the TypeScript reference or faster kernels. */
export interface NetworkOps extends GemmOps {
  lstmForward: typeof lstmStepForward;
  lstmBackward: typeof lstmStepBackward;
  gruForward: typeof gruStepForward;
  gruBackward: typeof gruStepBackward;
  rnnForward: typeof rnnStepForward;
  rnnBackward: typeof rnnStepBackward;
  oneHotProjection: typeof oneHotProjection;
  oneHotGradient: typeof oneHotGradient;
  softmaxCrossEntropy: typeof softmaxCrossEntropy;
  softmaxRows: typeof softmaxRows;
  meanSquaredError: typeof meanSquaredError;
  addColumnSums: typeof addColumnSums;
  addRowVector: typeof addRowVector;
  multiply: typeof multiply;
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
}

/** One shard, time-major. Only the arrays the task uses need content. */
export interface ShardInput {
  /** onehot: [T·B] symbol ids. */
  tokens: Int32Array | null;
  /** dense: [T·B·In]. */
  inputs: FloatArray | null;
  /** ce: [T·B] for outputs 'all', [B] for 'last'. */
  targetIds: Int32Array | null;
  /** mse: [T·B·O] for outputs 'all', [B·O] for 'last'. */
  targetValues: FloatArray | null;
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

interface LayerBuffers<A extends FloatArray> {
  /** [T, B, G·H] gate pre-activations, then activations. */
  gates: A;
  /** [T+1, B, H] hidden states; slot 0 = initial state. */
  h: A;
  /** [T+1, B, H] LSTM cell states; slot 0 = initial state. */
  c: A | null;
  /** [T, B, H] tanh(c_t), kept for backward. */
  tanhC: A | null;
  /** [T, B, G·H] GRU: the recurrent projections U h_{t-1} + b_hh, kept for backward. */
  hh: A | null;
  /** [T, B, H] gradient reaching h_t (from above and from step t+1). */
  dH: A;
  /** [T, B, H] dropout mask of the layer's output (0 or 1/(1−p)); null without dropout. */
  mask: A | null;
  /** [T+1, B, H] the layer's output after dropout, slots as in h; null without dropout. */
  dropped: A | null;
}

export class Network<A extends FloatArray> {
  readonly shape: NetworkShape;
  readonly layers: LayerBuffers<A>[] = [];
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
  /** [T, B, G·H] GRU: gate gradients of the recurrent side (n scaled by r); null for other cells. */
  readonly dGatesH: A | null;
  /** [B, H] dL/dc (LSTM) or dL/dh through z⊙h_{t-1} (GRU) carried backward through time. */
  readonly dcCarry: A;
  /** G·H: the width of one sample's gate block. */
  private readonly gateWidth: number;
  private lastB = 0;
  /** [T] sequences still running at step t (lengths > t) when the shard is masked. */
  private readonly activeRows: Int32Array;
  /** Whether the last forward had sequences shorter than T (backward then masks the same way). */
  private masked = false;
  /** Whether the current pass applies dropout (set by forward, used by backward). */
  private dropping = false;

  constructor(shape: NetworkShape, alloc: (n: number) => A, readonly ops: NetworkOps = referenceOps) {
    this.shape = shape;
    const { cfg, batch: B, seqLen: T } = shape;
    const H = cfg.hidden, O = cfg.outputSize, GH = gateCount(cfg.cell) * H;
    const lstm = cfg.cell === 'lstm', gru = cfg.cell === 'gru';
    const dropout = (shape.dropout ?? 0) > 0;
    this.gateWidth = GH;
    for (let k = 0; k < cfg.layers; k++) {
      this.layers.push({
        gates: alloc(T * B * GH),
        h: alloc((T + 1) * B * H),
        c: lstm ? alloc((T + 1) * B * H) : null,
        tanhC: lstm ? alloc(T * B * H) : null,
        hh: gru ? alloc(T * B * GH) : null,
        dH: alloc(T * B * H),
        mask: dropout ? alloc(T * B * H) : null,
        dropped: dropout ? alloc((T + 1) * B * H) : null,
      });
    }
    this.y = alloc(T * B * O);
    this.probs = alloc(T * B * O);
    this.dY = alloc(T * B * O);
    const outputRecurrence = cfg.recurrence === 'output';
    this.yHat = outputRecurrence ? alloc((T + 1) * B * O) : null;
    this.dYHat = outputRecurrence ? alloc(B * O) : null;
    this.dGates = alloc(T * B * GH);
    this.dGatesH = gru ? alloc(T * B * GH) : null;
    this.dcCarry = alloc(B * H);
    this.activeRows = new Int32Array(T);
  }

  /**
   * Reads the shard's lengths into activeRows. Past its own end a sequence's state is carried
   * unchanged and it takes no loss (SPEC §2), so only the first activeRows[t] rows of step t run
   * the cell; sorted lengths make those rows a prefix.
   */
  private setLengths(lengths: Int32Array | null | undefined, B: number, opt: ForwardOptions): boolean {
    const T = this.shape.seqLen;
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
      this.activeRows[t] = running;
    }
    return true;
  }

  /** Rows of step t that run the cell: all B, or the sequences not yet ended. */
  private rowsAt(t: number, B: number): number {
    return this.masked ? this.activeRows[t] : B;
  }

  /** Sequences that ended before step t keep their state: slot t+1 = slot t for rows [rows, B). */
  private carryEndedState(l: LayerBuffers<A>, t: number, B: number, rows: number): void {
    const H = this.shape.cfg.hidden;
    const from = t * B * H + rows * H, to = (t + 1) * B * H;
    l.h.copyWithin(from + B * H, from, to);
    if (l.c) l.c.copyWithin(from + B * H, from, to);
  }

  /**
   * Backward through a carried step: ended rows have no gate gradient, and the gradient reaching
   * their h_t reaches h_{t-1} unchanged (their carried dL/dc, or GRU dL/dh share, stays zero:
   * the cell kernels never touch rows past `rows`).
   */
  private carryEndedGradient(l: LayerBuffers<A>, t: number, B: number, rows: number): void {
    const H = this.shape.cfg.hidden, GH = this.gateWidth;
    this.dGates.fill(0, t * B * GH + rows * GH, (t + 1) * B * GH);
    this.dGatesH?.fill(0, t * B * GH + rows * GH, (t + 1) * B * GH);
    if (t === 0) return;
    const dH = l.dH, cur = t * B * H, prev = (t - 1) * B * H;
    for (let k = rows * H; k < B * H; k++) dH[prev + k] += dH[cur + k];
  }

  /** The loss of outputs 'all' over the steps each sequence really has; dY is zero elsewhere. */
  private maskedLoss(input: ShardInput, B: number, dY: A | null, scale: number): number {
    const { seqLen: T, cfg } = this.shape;
    const O = cfg.outputSize;
    dY?.fill(0, 0, T * B * O);
    let total = 0;
    for (let t = 0; t < T; t++) {
      const rows = this.activeRows[t];
      if (rows === 0) break;
      const off = t * B * O;
      total += this.shape.loss === 'ce'
        ? this.ops.softmaxCrossEntropy(this.y, off, this.probs, input.targetIds!, t * B, rows, O, dY, scale)
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
    const { cfg, seqLen: T } = this.shape;
    if (B > this.shape.batch) throw new Error(`shard of ${B} sequences exceeds the buffers (${this.shape.batch})`);
    if (opt.carryState && B !== this.lastB) throw new Error('carryState needs the same shard size as the previous call');
    this.lastB = B;
    this.masked = this.setLengths(input.lengths, B, opt);
    this.startDropout(opt.dropout ?? null, B);
    const H = cfg.hidden, O = cfg.outputSize;
    const state = opt.state ?? null;
    if (state && cfg.recurrence === 'output') throw new Error('a carried state needs hidden recurrence');
    for (let k = 0; k < cfg.layers; k++) this.initialState(this.layers[k], B, H, opt.carryState === true);
    if (state) this.loadState(state, B);
    if (this.yHat) this.initialSlot(this.yHat, B * O, opt.carryState === true);
    if (cfg.recurrence === 'output') this.forwardOutputRecurrence(p, input, B, opt);
    else this.forwardHiddenRecurrence(p, input, B, opt.carryState === true || state !== null);
    if (state) this.storeState(state, B);
    const { row0, rows } = this.predictedRows(B);
    const dY = opt.gradScale === null ? null : this.dY;
    if (this.masked && cfg.outputs === 'all') {
      if (!(this.shape.loss === 'ce' ? input.targetIds : input.targetValues)) throw new Error('the loss needs its targets');
      return this.maskedLoss(input, B, dY, opt.gradScale ?? 0);
    }
    // The loss writes every dY of the predicted rows; the rest is zero.
    if (dY) {
      dY.fill(0, 0, row0 * O);
      dY.fill(0, (row0 + rows) * O, T * B * O);
    }
    if (this.shape.loss === 'ce') {
      if (!input.targetIds) throw new Error('cross-entropy needs targetIds');
      return this.ops.softmaxCrossEntropy(this.y, row0 * O, this.probs, input.targetIds, 0, rows, O, dY, opt.gradScale ?? 0);
    }
    if (!input.targetValues) throw new Error('mse needs targetValues');
    return this.ops.meanSquaredError(this.y, row0 * O, input.targetValues, 0, rows, O, dY, opt.gradScale ?? 0);
  }

  /** Draws this pass's masks when it trains with dropout. */
  private startDropout(stream: DropoutStream | null, B: number): void {
    const { cfg, seqLen: T } = this.shape, p = this.shape.dropout ?? 0, H = cfg.hidden;
    this.dropping = stream !== null && p > 0;
    if (!this.dropping) return;
    for (let k = 0; k < cfg.layers; k++) {
      const mask = this.layers[k].mask!;
      for (let t = 0; t < T; t++) fillDropoutMask(mask, t * B * H, p, stream!, k, t, B, H);
    }
  }

  /** Layer k's output as the layer above and the head see it: h, or h after dropout. */
  private output(k: number): A {
    const l = this.layers[k];
    return this.dropping ? l.dropped! : l.h;
  }

  /** Applies layer k's mask to `count` rows of B·H from slot `t` of h (t ≥ 1): dropped = h ⊙ mask. */
  private dropRows(k: number, t: number, B: number, steps: number): void {
    if (!this.dropping) return;
    const l = this.layers[k], n = B * this.shape.cfg.hidden;
    this.ops.multiply(l.dropped!, t * n, l.h, t * n, l.mask!, (t - 1) * n, steps * n);
  }

  /** Back through layer k's dropout: the gradient reaching its output, times the mask, in place. */
  private dropGradientRows(k: number, t: number, B: number, steps: number): void {
    if (!this.dropping) return;
    const l = this.layers[k], n = B * this.shape.cfg.hidden;
    this.ops.multiply(l.dH, t * n, l.dH, t * n, l.mask!, t * n, steps * n);
  }

  private initialState(l: LayerBuffers<A>, B: number, H: number, carry: boolean): void {
    this.initialSlot(l.h, B * H, carry);
    if (l.c) this.initialSlot(l.c, B * H, carry);
  }

  /** Slot 0 of every layer's h (and c) from the streams' carried states. */
  private loadState(state: CarriedState<FloatArray>, B: number): void {
    const n = B * this.shape.cfg.hidden;
    this.layers.forEach((l, k) => {
      l.h.set(state.h[k].subarray(0, n), 0);
      if (l.c) l.c.set(state.c[k]!.subarray(0, n), 0);
    });
  }

  /** The final slot of every layer's h (and c) into the carried states: the next window starts there. */
  private storeState(state: CarriedState<FloatArray>, B: number): void {
    const n = B * this.shape.cfg.hidden, T = this.shape.seqLen;
    this.layers.forEach((l, k) => {
      state.h[k].set(l.h.subarray(T * n, (T + 1) * n), 0);
      if (l.c) state.c[k]!.set(l.c.subarray(T * n, (T + 1) * n), 0);
    });
  }

  /** Slot 0 of a [T+1, B, ·] state buffer: zero, or the last slot of the previous call. */
  private initialSlot(state: A, slot: number, carry: boolean): void {
    const T = this.shape.seqLen;
    if (carry) state.copyWithin(0, T * slot, (T + 1) * slot);
    else state.fill(0, 0, slot);
  }

  /** gates[r] = W_ih · x_r + b for all T·B rows at once (a column gather for one-hot input). */
  private inputProjection(k: number, p: ModelViews<A>, input: ShardInput, B: number): void {
    const { cfg, seqLen: T } = this.shape;
    const lp = p.layers[k], gates = this.layers[k].gates;
    const GH = lp.bias.length, In = lp.inSize, R = T * B;
    if (k === 0 && this.shape.input === 'onehot') {
      if (!input.tokens) throw new Error('one-hot input needs tokens');
      this.ops.oneHotProjection(gates, lp.wIh, lp.bias, input.tokens, R, GH, In);
      return;
    }
    const [x, xOff] = k === 0 ? [input.inputs, 0] : [this.output(k - 1), B * cfg.hidden];
    if (!x) throw new Error('dense input needs inputs');
    this.ops.abt(gates, 0, x, xOff, lp.wIh, 0, R, GH, In, 0);
    this.ops.addRowVector(gates, 0, lp.bias, R, GH);
  }

  /**
   * Step t's recurrent product with the state fed back (h_{t-1}, or ŷ_{t-1} of `width` at srcOff)
   * for the first `rows` of the B sequences: added to the gates, or for a GRU written with b_hh
   * into hh (b_hn must stay inside r⊙(…)). A zero state (t = 0, nothing carried in) contributes
   * nothing but the GRU's bias.
   */
  private recurrentProduct(l: LayerBuffers<A>, lp: ModelViews<A>['layers'][number], t: number, B: number, src: A, srcOff: number, width: number, zeroState: boolean, rows = B): void {
    const GH = this.gateWidth, off = t * B * GH;
    if (!l.hh) {
      if (!zeroState) this.ops.abt(l.gates, off, src, srcOff, lp.wRec, 0, rows, GH, width, 1);
      return;
    }
    if (zeroState) l.hh.fill(0, off, off + rows * GH);
    else this.ops.abt(l.hh, off, src, srcOff, lp.wRec, 0, rows, GH, width, 0);
    this.ops.addRowVector(l.hh, off, lp.biasHh!, rows, GH);
  }

  /** Step t of the first `rows` of the B sequences. */
  private cellForward(l: LayerBuffers<A>, t: number, B: number, rows = B): void {
    const H = this.shape.cfg.hidden, GH = this.gateWidth;
    if (l.hh) {
      this.ops.gruForward(l.gates, t * B * GH, l.hh, t * B * GH, l.h, t * B * H, (t + 1) * B * H, rows, H);
    } else if (l.c && l.tanhC) {
      this.ops.lstmForward(l.gates, t * B * GH, l.c, t * B * H, (t + 1) * B * H, l.tanhC, t * B * H, l.h, (t + 1) * B * H, rows, H);
    } else {
      this.ops.rnnForward(l.gates, t * B * GH, l.h, (t + 1) * B * H, rows * H);
    }
  }

  private forwardHiddenRecurrence(p: ModelViews<A>, input: ShardInput, B: number, carry: boolean): void {
    const { cfg, seqLen: T } = this.shape;
    const H = cfg.hidden, O = cfg.outputSize;
    for (let k = 0; k < cfg.layers; k++) {
      const l = this.layers[k], lp = p.layers[k];
      this.inputProjection(k, p, input, B);
      for (let t = 0; t < T; t++) {
        const rows = this.rowsAt(t, B);
        // h_{-1} = 0 contributes nothing unless a state is carried in.
        if (rows > 0) {
          this.recurrentProduct(l, lp, t, B, l.h, t * B * H, H, t === 0 && !carry, rows);
          this.cellForward(l, t, B, rows);
        }
        if (rows < B) this.carryEndedState(l, t, B, rows);
      }
      this.dropRows(k, 1, B, T);
    }
    const top = this.output(cfg.layers - 1);
    if (cfg.outputs === 'all') {
      this.ops.abt(this.y, 0, top, B * H, p.headW, 0, T * B, O, H, 0);
      this.ops.addRowVector(this.y, 0, p.headB, T * B, O);
    } else {
      this.ops.abt(this.y, 0, top, T * B * H, p.headW, 0, B, O, H, 0);
      this.ops.addRowVector(this.y, 0, p.headB, B, O);
    }
  }

  private forwardOutputRecurrence(p: ModelViews<A>, input: ShardInput, B: number, opt: ForwardOptions): void {
    const { cfg, seqLen: T, loss } = this.shape;
    const H = cfg.hidden, O = cfg.outputSize;
    const l = this.layers[0], lp = p.layers[0], yHat = this.yHat!;
    if (opt.teacherForcing && cfg.outputs !== 'all') throw new Error('teacher forcing needs a target at every step');
    this.inputProjection(0, p, input, B);
    for (let t = 0; t < T; t++) {
      this.recurrentProduct(l, lp, t, B, yHat, t * B * O, O, t === 0 && !opt.carryState);
      this.cellForward(l, t, B);
      this.dropRows(0, t + 1, B, 1);
      this.ops.abt(this.y, t * B * O, this.output(0), (t + 1) * B * H, p.headW, 0, B, O, H, 0);
      this.ops.addRowVector(this.y, t * B * O, p.headB, B, O);
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
    const H = cfg.hidden, O = cfg.outputSize, L = cfg.layers;
    const top = this.layers[L - 1], topOut = this.output(L - 1);
    if (cfg.outputs === 'all') {
      this.ops.atb(g.headW, 0, this.dY, 0, topOut, B * H, O, H, T * B, 1);
      this.ops.addColumnSums(g.headB, this.dY, 0, T * B, O);
      this.ops.ab(top.dH, 0, this.dY, 0, p.headW, 0, T * B, H, O, 0);
    } else {
      this.ops.atb(g.headW, 0, this.dY, 0, topOut, T * B * H, O, H, B, 1);
      this.ops.addColumnSums(g.headB, this.dY, 0, B, O);
      top.dH.fill(0, 0, (T - 1) * B * H);
      this.ops.ab(top.dH, (T - 1) * B * H, this.dY, 0, p.headW, 0, B, H, O, 0);
    }
    for (let k = L - 1; k >= 0; k--) {
      const l = this.layers[k], lp = p.layers[k], lg = g.layers[k], GH = lp.bias.length;
      const dRec = this.recurrentGateGradients();
      this.dropGradientRows(k, 0, B, T);
      this.dcCarry.fill(0, 0, B * H);
      for (let t = T - 1; t >= 0; t--) {
        const rows = this.rowsAt(t, B);
        if (rows > 0) {
          this.cellBackward(l, t, B, rows);
          // dL/dh_{t-1} += dG_t · W_hh
          if (t > 0) this.ops.ab(l.dH, (t - 1) * B * H, dRec, t * B * GH, lp.wRec, 0, rows, H, GH, 1);
        }
        if (rows < B) this.carryEndedGradient(l, t, B, rows);
      }
      // dW_hh += Σ_t dG_tᵀ · h_{t-1}: h slots 0..T-1 are exactly h_{t-1}.
      this.ops.atb(lg.wRec, 0, dRec, 0, l.h, 0, GH, H, T * B, 1);
      if (lg.biasHh) this.ops.addColumnSums(lg.biasHh, dRec, 0, T * B, GH);
      this.inputGradients(k, p, g, input, B, k > 0 ? this.layers[k - 1].dH : null);
    }
  }

  private backwardOutputRecurrence(p: ModelViews<A>, g: ModelViews<A>, input: ShardInput, B: number, teacherForcing: boolean): void {
    const { cfg, seqLen: T, loss } = this.shape;
    const H = cfg.hidden, O = cfg.outputSize;
    const l = this.layers[0], lp = p.layers[0], lg = g.layers[0], GH = lp.bias.length;
    const yHat = this.yHat!, dYHat = this.dYHat!, dY = this.dY;
    const dRec = this.recurrentGateGradients();
    this.dcCarry.fill(0, 0, B * H);
    for (let t = T - 1; t >= 0; t--) {
      // dY row t is complete here: its loss term plus what ŷ_t fed into step t+1.
      this.ops.ab(l.dH, t * B * H, dY, t * B * O, p.headW, 0, B, H, O, 0);
      this.dropGradientRows(0, t, B, 1);
      this.cellBackward(l, t, B);
      if (t === 0 || teacherForcing) continue; // teacher forcing: ŷ_{t-1} is data, no gradient across time
      this.ops.ab(dYHat, 0, dRec, t * B * GH, lp.wRec, 0, B, O, GH, 0);
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
    this.ops.atb(g.headW, 0, dY, 0, this.output(0), B * H, O, H, T * B, 1);
    this.ops.addColumnSums(g.headB, dY, 0, T * B, O);
    this.ops.atb(lg.wRec, 0, dRec, 0, yHat, 0, GH, O, T * B, 1);
    if (lg.biasHh) this.ops.addColumnSums(lg.biasHh, dRec, 0, T * B, GH);
    this.inputGradients(0, p, g, input, B, null);
  }

  /** The gate gradients the recurrent weights and bias see: GRU's own recurrent side, else dGates. */
  private recurrentGateGradients(): A {
    return this.dGatesH ?? this.dGates;
  }

  private cellBackward(l: LayerBuffers<A>, t: number, B: number, rows = B): void {
    const H = this.shape.cfg.hidden, GH = this.gateWidth;
    if (l.hh) {
      this.ops.gruBackward(l.gates, t * B * GH, l.hh, t * B * GH, l.h, t * B * H, l.dH, t * B * H, this.dcCarry,
        this.dGates, t * B * GH, this.dGatesH!, t * B * GH, rows, H);
    } else if (l.c && l.tanhC) {
      this.ops.lstmBackward(l.gates, t * B * GH, l.c, t * B * H, l.tanhC, t * B * H, l.dH, t * B * H, this.dcCarry, this.dGates, t * B * GH, rows, H);
    } else {
      this.ops.rnnBackward(l.h, (t + 1) * B * H, l.dH, t * B * H, this.dGates, t * B * GH, rows * H);
    }
  }

  /** Bias and input-weight gradients of layer k, and the gradient passed down to layer k-1. */
  private inputGradients(k: number, p: ModelViews<A>, g: ModelViews<A>, input: ShardInput, B: number, dBelow: A | null): void {
    const { cfg, seqLen: T } = this.shape;
    const lp = p.layers[k], lg = g.layers[k], GH = lp.bias.length, In = lp.inSize, R = T * B;
    const dG = this.dGates;
    this.ops.addColumnSums(lg.bias, dG, 0, R, GH);
    if (k === 0 && this.shape.input === 'onehot') {
      this.ops.oneHotGradient(lg.wIh, dG, input.tokens!, R, GH, In);
    } else {
      const [x, xOff] = k === 0 ? [input.inputs!, 0] : [this.output(k - 1), B * cfg.hidden];
      this.ops.atb(lg.wIh, 0, dG, 0, x, xOff, GH, In, R, 1);
    }
    if (dBelow) this.ops.ab(dBelow, 0, dG, 0, lp.wIh, 0, R, In, GH, 0);
  }
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

/** out[outOff + i] = a[aOff + i] · m[mOff + i] for n elements (a dropout mask; out may be a). */
export function multiply(out: FloatArray, outOff: number, a: FloatArray, aOff: number, m: FloatArray, mOff: number, n: number): void {
  for (let i = 0; i < n; i++) out[outOff + i] = a[aOff + i] * m[mOff + i];
}
