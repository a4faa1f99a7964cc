/**
 * The cells: elementwise kernels of one time step over a [B, ·] block (time-major buffers, so
 * step t of every sequence is contiguous), and per cell kind a `Cell` that runs one layer over a
 * range of steps — the recurrent product, the step kernel, and sequences that already ended.
 * The layer's input side, dropout and the head live in network.ts.
 *
 * LSTM gate block per sample: [i | f | g | o], each H wide (PyTorch order), holding
 * pre-activations on entry to the forward step and activations after it.
 */
import type { FloatArray, LayerViews } from './layout.js';
import type { ModelConfig } from './model-config.js';
import type { gemmAB, gemmABt, gemmAtB } from './gemm.js';

/**
 * LSTM forward step: gates at gOff (pre-activations → activations, in place);
 * c_t = f⊙c_{t-1} + i⊙g ; tanh(c_t) kept for backward ; h_t = o⊙tanh(c_t).
 */
export function lstmStepForward(
  gates: FloatArray, gOff: number,
  c: FloatArray, cPrevOff: number, cOff: number,
  tanhC: FloatArray, tcOff: number,
  h: FloatArray, hOff: number,
  B: number, H: number,
): void {
  const G = 4 * H;
  for (let b = 0; b < B; b++) {
    const gb = gOff + b * G, cb = b * H;
    for (let j = 0; j < H; j++) {
      const i = 1 / (1 + Math.exp(-gates[gb + j]));
      const f = 1 / (1 + Math.exp(-gates[gb + H + j]));
      const g = Math.tanh(gates[gb + 2 * H + j]);
      const o = 1 / (1 + Math.exp(-gates[gb + 3 * H + j]));
      gates[gb + j] = i; gates[gb + H + j] = f; gates[gb + 2 * H + j] = g; gates[gb + 3 * H + j] = o;
      const ct = f * c[cPrevOff + cb + j] + i * g;
      c[cOff + cb + j] = ct;
      const tc = Math.tanh(ct);
      tanhC[tcOff + cb + j] = tc;
      h[hOff + cb + j] = o * tc;
    }
  }
}

/**
 * LSTM backward step. dh (at dhOff) is the full gradient reaching h_t; dcCarry holds dL/dc_t
 * from step t+1 on entry and dL/dc_{t-1} on exit. Writes pre-activation gradients to dGates.
 */
export function lstmStepBackward(
  gates: FloatArray, gOff: number,
  c: FloatArray, cPrevOff: number,
  tanhC: FloatArray, tcOff: number,
  dh: FloatArray, dhOff: number,
  dcCarry: FloatArray,
  dGates: FloatArray, dgOff: number,
  B: number, H: number,
): void {
  const G = 4 * H;
  for (let b = 0; b < B; b++) {
    const gb = gOff + b * G, db = dgOff + b * G, cb = b * H;
    for (let j = 0; j < H; j++) {
      const i = gates[gb + j], f = gates[gb + H + j], g = gates[gb + 2 * H + j], o = gates[gb + 3 * H + j];
      const tc = tanhC[tcOff + cb + j];
      const dhv = dh[dhOff + cb + j];
      const dc = dcCarry[cb + j] + dhv * o * (1 - tc * tc);
      dcCarry[cb + j] = dc * f;
      dGates[db + j] = dc * g * i * (1 - i);
      dGates[db + H + j] = dc * c[cPrevOff + cb + j] * f * (1 - f);
      dGates[db + 2 * H + j] = dc * i * (1 - g * g);
      dGates[db + 3 * H + j] = dhv * tc * o * (1 - o);
    }
  }
}

/** Elman forward step: h_t = tanh(a_t). */
export function rnnStepForward(pre: FloatArray, aOff: number, h: FloatArray, hOff: number, n: number): void {
  for (let k = 0; k < n; k++) h[hOff + k] = Math.tanh(pre[aOff + k]);
}

/** Elman backward step: dL/da_t = dL/dh_t ⊙ (1 − h_t²). */
export function rnnStepBackward(h: FloatArray, hOff: number, dh: FloatArray, dhOff: number, dPre: FloatArray, dOff: number, n: number): void {
  for (let k = 0; k < n; k++) {
    const hv = h[hOff + k];
    dPre[dOff + k] = dh[dhOff + k] * (1 - hv * hv);
  }
}

/**
 * GRU forward step (PyTorch's equations, gates r, z, n). gates at gOff holds the input
 * projections W x + b_ih of [r | z | n] per sample on entry and the activations r, z, n after;
 * hh at hhOff holds the recurrent projections U h_{t-1} + b_hh, kept for backward.
 *   r = σ(x_r + hh_r), z = σ(x_z + hh_z), n = tanh(x_n + r⊙hh_n), h_t = (1−z)⊙n + z⊙h_{t-1}.
 */
export function gruStepForward(
  gates: FloatArray, gOff: number,
  hh: FloatArray, hhOff: number,
  h: FloatArray, hPrevOff: number, hOff: number,
  B: number, H: number,
): void {
  const G = 3 * H;
  for (let b = 0; b < B; b++) {
    const gb = gOff + b * G, hb = hhOff + b * G, sb = b * H;
    for (let j = 0; j < H; j++) {
      const r = 1 / (1 + Math.exp(-(gates[gb + j] + hh[hb + j])));
      const z = 1 / (1 + Math.exp(-(gates[gb + H + j] + hh[hb + H + j])));
      const n = Math.tanh(gates[gb + 2 * H + j] + r * hh[hb + 2 * H + j]);
      gates[gb + j] = r; gates[gb + H + j] = z; gates[gb + 2 * H + j] = n;
      h[hOff + sb + j] = (1 - z) * n + z * h[hPrevOff + sb + j];
    }
  }
}

/**
 * GRU backward step. The gradient reaching h_t is dh (at dhOff) plus dhCarry, which holds the
 * part through z_{t+1}⊙h_t on entry and dh⊙z (the part through z⊙h_{t-1}) on exit. Writes the
 * pre-activation gradients of the input side (for W_ih, b_ih) to dGates and of the recurrent side
 * (for U, b_hh) to dGatesH: they differ only in n, where the recurrent side is scaled by r.
 */
export function gruStepBackward(
  gates: FloatArray, gOff: number,
  hh: FloatArray, hhOff: number,
  h: FloatArray, hPrevOff: number,
  dh: FloatArray, dhOff: number,
  dhCarry: FloatArray,
  dGates: FloatArray, dgOff: number,
  dGatesH: FloatArray, dghOff: number,
  B: number, H: number,
): void {
  const G = 3 * H;
  for (let b = 0; b < B; b++) {
    const gb = gOff + b * G, db = dgOff + b * G, dhb = dghOff + b * G, sb = b * H;
    for (let j = 0; j < H; j++) {
      const r = gates[gb + j], z = gates[gb + H + j], n = gates[gb + 2 * H + j];
      const dhv = dh[dhOff + sb + j] + dhCarry[sb + j];
      dhCarry[sb + j] = dhv * z;
      const dn = dhv * (1 - z) * (1 - n * n);
      const dr = dn * hh[hhOff + b * G + 2 * H + j] * r * (1 - r);
      const dz = dhv * (h[hPrevOff + sb + j] - n) * z * (1 - z);
      dGates[db + j] = dr; dGates[db + H + j] = dz; dGates[db + 2 * H + j] = dn;
      dGatesH[dhb + j] = dr; dGatesH[dhb + H + j] = dz; dGatesH[dhb + 2 * H + j] = dn * r;
    }
  }
}

/**
 * The kernels a Cell calls: the products and its own step functions, as the network's ops give
 * them (NetworkOps extends this), so a cell runs on whichever kernel set built the ops.
 */
export interface CellOps {
  abt: typeof gemmABt;
  ab: typeof gemmAB;
  atb: typeof gemmAtB;
  lstmForward: typeof lstmStepForward;
  lstmBackward: typeof lstmStepBackward;
  gruForward: typeof gruStepForward;
  gruBackward: typeof gruStepBackward;
  rnnForward: typeof rnnStepForward;
  rnnBackward: typeof rnnStepBackward;
  /** m[r·cols + j] += v[j] for every row r: a bias added to each row. */
  addRowVector(m: FloatArray, off: number, v: FloatArray, rows: number, cols: number): void;
  /** out[j] += Σ_r m[r·cols + j]: a bias's gradient. */
  addColumnSums(out: FloatArray, m: FloatArray, off: number, rows: number, cols: number): void;
}

/** What a layer's cell is built from. */
export interface CellContext<A extends FloatArray> {
  /** The activation view of that name (activationLayout): `layers.<k>.h`, `dGates`, … */
  view: (name: string) => A;
  ops: CellOps;
  hidden: number;
  seqLen: number;
  /**
   * Output recurrence: the [T+1, B, O] buffer of ŷ fed back into the cell and O. Null for hidden
   * recurrence, where the cell's own h_{t-1} is fed back.
   */
  feedback: { states: A; width: number } | null;
}

/**
 * One layer's cell over its activation views. `rows[t]` of the shard's B sequences run step t
 * (all B, or those not yet ended: lengths are sorted, so they are a prefix); an ended sequence
 * carries its state unchanged and passes the gradient reaching it straight back.
 */
export interface Cell<A extends FloatArray> {
  /** [T+1, B, H] hidden states; slot 0 = initial state. */
  readonly h: A;
  /** [T, B, H] gradient reaching h_t. */
  readonly dH: A;
  /** The [T+1, B, H] states a stream carries from one window to the next: h, and c for an LSTM. */
  readonly states: readonly A[];
  /** The [T, B, G·H] gate gradients the recurrent weights (and b_hh) see. */
  readonly dRec: A;
  /**
   * Steps [from, to) forward, gates holding the input projection on entry. `zeroStart`: the state
   * fed into step 0 is zero and contributes nothing to the recurrent product.
   */
  forward(w: LayerViews<A>, B: number, from: number, to: number, rows: Int32Array, zeroStart: boolean): void;
  /**
   * Steps [from, to) backward (last step first), dH complete for them on entry and the carried
   * dL/dc (dcCarry) as the step after `to` left it. Writes dGates (and dRec); with hidden
   * recurrence adds dL/dh_{t-1} = dG_t · W_hh into dH.
   */
  backward(w: LayerViews<A>, B: number, from: number, to: number, rows: Int32Array): void;
  /** After backward over all T steps: ACCUMULATES the recurrent weight (and b_hh) gradients. */
  weightGradients(g: LayerViews<A>, B: number): void;
}

/** `layer`: the layer's index, or `<k>.reverse` for a bidirectional layer's reverse direction (its buffers' names). */
export function createCell<A extends FloatArray>(kind: ModelConfig['cell'], layer: number | string, ctx: CellContext<A>): Cell<A> {
  switch (kind) {
    case 'lstm': return new LstmCell(layer, ctx);
    case 'gru': return new GruCell(layer, ctx);
    case 'rnn': return new RnnCell(layer, ctx);
  }
}

/** The recurrent side every cell shares; a kind adds its step kernels and extra buffers. */
abstract class RecurrentCell<A extends FloatArray> implements Cell<A> {
  readonly h: A;
  readonly dH: A;
  abstract readonly states: readonly A[];
  /** [T, B, G·H] gate pre-activations, then activations. */
  protected readonly gates: A;
  /** [T, B, G·H] gate gradients (of the input side, for a GRU). */
  protected readonly dGates: A;
  /** [B, H] dL/dc (LSTM) or dL/dh through z⊙h_{t-1} (GRU) carried backward through time. */
  protected readonly dcCarry: A;
  protected readonly ops: CellOps;
  protected readonly H: number;
  protected readonly GH: number;
  protected readonly T: number;
  /** The [T+1, B, ·] states fed back (own h, or ŷ) and their width. */
  protected readonly fed: A;
  protected readonly fedWidth: number;
  private readonly hiddenRecurrence: boolean;

  constructor(layer: number | string, ctx: CellContext<A>, gateCount: number) {
    const at = (name: string): A => ctx.view(`layers.${layer}.${name}`);
    this.gates = at('gates');
    this.h = at('h');
    this.dH = at('dH');
    this.dGates = ctx.view('dGates');
    this.dcCarry = ctx.view('dcCarry');
    this.ops = ctx.ops;
    this.H = ctx.hidden;
    this.GH = gateCount * ctx.hidden;
    this.T = ctx.seqLen;
    this.hiddenRecurrence = ctx.feedback === null;
    this.fed = ctx.feedback?.states ?? this.h;
    this.fedWidth = ctx.feedback?.width ?? ctx.hidden;
  }

  get dRec(): A {
    return this.dGates;
  }

  forward(w: LayerViews<A>, B: number, from: number, to: number, rows: Int32Array, zeroStart: boolean): void {
    for (let t = from; t < to; t++) {
      const n = rows[t];
      if (n > 0) {
        this.recurrentProduct(w, t, B, t * B * this.fedWidth, t === 0 && zeroStart, n);
        this.step(t, B, n);
      }
      if (n < B) this.carryEndedState(t, B, n);
    }
  }

  backward(w: LayerViews<A>, B: number, from: number, to: number, rows: Int32Array): void {
    const H = this.H, GH = this.GH;
    for (let t = to - 1; t >= from; t--) {
      const n = rows[t];
      if (n > 0) {
        this.stepBackward(t, B, n);
        // dL/dh_{t-1} += dG_t · W_hh
        if (this.hiddenRecurrence && t > 0) this.ops.ab(this.dH, (t - 1) * B * H, this.dRec, t * B * GH, w.wRec, 0, n, H, GH, 1);
      }
      if (n < B) this.carryEndedGradient(t, B, n);
    }
  }

  weightGradients(g: LayerViews<A>, B: number): void {
    // dW_rec += Σ_t dG_tᵀ · s_{t-1}: slots 0..T-1 of the fed-back states are exactly s_{t-1}.
    this.ops.atb(g.wRec, 0, this.dRec, 0, this.fed, 0, this.GH, this.fedWidth, this.T * B, 1);
  }

  /**
   * Step t's recurrent product with the fed-back state (at fedOff) for the first `rows`
   * sequences, added to the gates. A zero state contributes nothing.
   */
  protected recurrentProduct(w: LayerViews<A>, t: number, B: number, fedOff: number, zeroState: boolean, rows: number): void {
    if (!zeroState) this.ops.abt(this.gates, t * B * this.GH, this.fed, fedOff, w.wRec, 0, rows, this.GH, this.fedWidth, 1);
  }

  /** The elementwise step t of the first `rows` sequences. */
  protected abstract step(t: number, B: number, rows: number): void;
  protected abstract stepBackward(t: number, B: number, rows: number): void;

  /** Sequences that ended before step t keep their state: slot t+1 = slot t for rows [rows, B). */
  private carryEndedState(t: number, B: number, rows: number): void {
    const H = this.H, from = t * B * H + rows * H, to = (t + 1) * B * H;
    for (const s of this.states) s.copyWithin(from + B * H, from, to);
  }

  /**
   * Backward through a carried step: ended rows have no gate gradient, and the gradient reaching
   * their h_t reaches h_{t-1} unchanged (their carried dL/dc, or GRU dL/dh share, stays zero:
   * the step kernels never touch rows past `rows`).
   */
  private carryEndedGradient(t: number, B: number, rows: number): void {
    const H = this.H, GH = this.GH;
    this.clearGateGradients(t * B * GH + rows * GH, (t + 1) * B * GH);
    if (t === 0) return;
    const dH = this.dH, cur = t * B * H, prev = (t - 1) * B * H;
    for (let k = rows * H; k < B * H; k++) dH[prev + k] += dH[cur + k];
  }

  protected clearGateGradients(from: number, to: number): void {
    this.dGates.fill(0, from, to);
  }
}

class LstmCell<A extends FloatArray> extends RecurrentCell<A> {
  readonly states: readonly A[];
  /** [T+1, B, H] cell states; slot 0 = initial state. */
  private readonly c: A;
  /** [T, B, H] tanh(c_t), kept for backward. */
  private readonly tanhC: A;

  constructor(layer: number | string, ctx: CellContext<A>) {
    super(layer, ctx, 4);
    this.c = ctx.view(`layers.${layer}.c`);
    this.tanhC = ctx.view(`layers.${layer}.tanhC`);
    this.states = [this.h, this.c];
  }

  protected step(t: number, B: number, rows: number): void {
    const H = this.H;
    this.ops.lstmForward(this.gates, t * B * this.GH, this.c, t * B * H, (t + 1) * B * H, this.tanhC, t * B * H, this.h, (t + 1) * B * H, rows, H);
  }

  protected stepBackward(t: number, B: number, rows: number): void {
    const H = this.H;
    this.ops.lstmBackward(this.gates, t * B * this.GH, this.c, t * B * H, this.tanhC, t * B * H, this.dH, t * B * H, this.dcCarry, this.dGates, t * B * this.GH, rows, H);
  }
}

class GruCell<A extends FloatArray> extends RecurrentCell<A> {
  readonly states: readonly A[];
  /** [T, B, G·H] the recurrent projections U h_{t-1} + b_hh, kept for backward. */
  private readonly hh: A;
  /** [T, B, G·H] gate gradients of the recurrent side (n scaled by r). */
  private readonly dGatesH: A;

  constructor(layer: number | string, ctx: CellContext<A>) {
    super(layer, ctx, 3);
    this.hh = ctx.view(`layers.${layer}.hh`);
    this.dGatesH = ctx.view('dGatesH');
    this.states = [this.h];
  }

  override get dRec(): A {
    return this.dGatesH;
  }

  /** Written with b_hh into hh, not added to the gates: b_hn must stay inside r⊙(…). */
  protected override recurrentProduct(w: LayerViews<A>, t: number, B: number, fedOff: number, zeroState: boolean, rows: number): void {
    const GH = this.GH, off = t * B * GH;
    if (zeroState) this.hh.fill(0, off, off + rows * GH);
    else this.ops.abt(this.hh, off, this.fed, fedOff, w.wRec, 0, rows, GH, this.fedWidth, 0);
    this.ops.addRowVector(this.hh, off, w.biasHh!, rows, GH);
  }

  protected step(t: number, B: number, rows: number): void {
    const H = this.H, off = t * B * this.GH;
    this.ops.gruForward(this.gates, off, this.hh, off, this.h, t * B * H, (t + 1) * B * H, rows, H);
  }

  protected stepBackward(t: number, B: number, rows: number): void {
    const H = this.H, off = t * B * this.GH;
    this.ops.gruBackward(this.gates, off, this.hh, off, this.h, t * B * H, this.dH, t * B * H, this.dcCarry,
      this.dGates, off, this.dGatesH, off, rows, H);
  }

  override weightGradients(g: LayerViews<A>, B: number): void {
    super.weightGradients(g, B);
    this.ops.addColumnSums(g.biasHh!, this.dGatesH, 0, this.T * B, this.GH);
  }

  protected override clearGateGradients(from: number, to: number): void {
    super.clearGateGradients(from, to);
    this.dGatesH.fill(0, from, to);
  }
}

class RnnCell<A extends FloatArray> extends RecurrentCell<A> {
  readonly states: readonly A[];

  constructor(layer: number | string, ctx: CellContext<A>) {
    super(layer, ctx, 1);
    this.states = [this.h];
  }

  protected step(t: number, B: number, rows: number): void {
    this.ops.rnnForward(this.gates, t * B * this.GH, this.h, (t + 1) * B * this.H, rows * this.H);
  }

  protected stepBackward(t: number, B: number, rows: number): void {
    this.ops.rnnBackward(this.h, (t + 1) * B * this.H, this.dH, t * B * this.H, this.dGates, t * B * this.GH, rows * this.H);
  }
}
