/**
 * Optimizers as flat loops over a range [lo, hi) of the parameter block, so each worker can step
 * its own chunk (reduce-scatter) and the result does not depend on how the range is split.
 * Formulas follow torch.optim (SGD with momentum/nesterov, Adam, AdamW with decoupled decay).
 */
import type { FloatArray } from './layout.js';

export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'adamw';

export interface OptimizerSpec {
  name: OptimizerName;
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Names of the per-parameter state blocks each optimizer keeps (checkpoint `optim.<slot>.*`). */
export function optimizerSlots(name: OptimizerName): string[] {
  if (name === 'momentum') return ['m'];
  if (name === 'adam' || name === 'adamw') return ['m', 'v'];
  return [];
}

/**
 * One update of params[lo, hi). `step` is 1-based (Adam's bias correction); `gradScale`
 * multiplies every gradient (global-norm clipping).
 */
export function optimizerStep(
  spec: OptimizerSpec, step: number, params: FloatArray, grads: FloatArray, slots: FloatArray[],
  lo: number, hi: number, gradScale: number,
): void {
  const { lr, weightDecay: wd } = spec;
  switch (spec.name) {
    case 'sgd':
      for (let k = lo; k < hi; k++) params[k] -= lr * (grads[k] * gradScale + wd * params[k]);
      return;
    case 'momentum': {
      const m = slots[0], mu = spec.momentum;
      for (let k = lo; k < hi; k++) {
        const g = grads[k] * gradScale + wd * params[k];
        const buf = mu * m[k] + g;
        m[k] = buf;
        params[k] -= lr * (spec.nesterov ? g + mu * buf : buf);
      }
      return;
    }
    case 'adam':
    case 'adamw': {
      const m = slots[0], v = slots[1], b1 = spec.beta1, b2 = spec.beta2, eps = spec.eps;
      const { stepSize, sqrtBc2 } = adamBiasCorrection(spec, step);
      const decoupled = spec.name === 'adamw';
      for (let k = lo; k < hi; k++) {
        let g = grads[k] * gradScale;
        if (decoupled) params[k] *= 1 - lr * wd;
        else g += wd * params[k];
        const mk = b1 * m[k] + (1 - b1) * g;
        const vk = b2 * v[k] + (1 - b2) * g * g;
        m[k] = mk;
        v[k] = vk;
        params[k] -= stepSize * mk / (Math.sqrt(vk) / sqrtBc2 + eps);
      }
      return;
    }
  }
}

/**
 * Adam's bias corrections at 1-based `step`: stepSize = lr / (1 − β₁ᵗ), sqrtBc2 = √(1 − β₂ᵗ).
 * One definition for this reference and the WebAssembly step (wasm-modules.ts), so both agree bit for bit.
 */
export function adamBiasCorrection(spec: OptimizerSpec, step: number): { stepSize: number; sqrtBc2: number } {
  return {
    stepSize: spec.lr / (1 - Math.pow(spec.beta1, step)),
    sqrtBc2: Math.sqrt(1 - Math.pow(spec.beta2, step)),
  };
}

/** Sum of squares of grads[lo, hi), in float64, for the global gradient norm. */
export function sumOfSquares(grads: FloatArray, lo: number, hi: number): number {
  let s = 0;
  for (let k = lo; k < hi; k++) s += grads[k] * grads[k];
  return s;
}

/** torch.nn.utils.clip_grad_norm_: scale = min(1, maxNorm / (norm + 1e-6)). */
export function clipScale(norm: number, maxNorm: number | null): number {
  if (maxNorm === null) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}
