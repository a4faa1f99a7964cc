/**
 * Elementwise parts of one time step of a cell, over a [B, ·] block (time-major buffers, so
 * step t of every sequence is contiguous). The matrix products around them live in network.ts.
 *
 * LSTM gate block per sample: [i | f | g | o], each H wide (PyTorch order), holding
 * pre-activations on entry to the forward step and activations after it.
 */
import type { FloatArray } from './layout.js';

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
