/** Parameter initialisation: PyTorch's U(−1/√H, 1/√H) for every tensor, forget-gate bias raised. */
import type { ModelConfig } from './model-config.js';
import { isEmbeddingTensor, modelViews, type FloatArray, type ParamLayout } from './layout.js';
import { Rng } from './rng.js';

export interface InitOptions {
  /** Half-width of the uniform init; null → 1/√hidden. */
  scale: number | null;
  /** LSTM forget-gate bias (char-rnn's 1 helps gradients flow early in training). */
  forgetBias: number;
  /** Half-width of a uniform init of the embedding tables; absent or null → N(0, 1) as nn.Embedding. */
  embeddingScale?: number | null;
}

export function initParams(cfg: ModelConfig, layout: ParamLayout, block: FloatArray, seed: number, opt: InitOptions): void {
  const rng = new Rng(seed, 0);
  const scale = opt.scale ?? 1 / Math.sqrt(cfg.hidden);
  block.fill(0);
  for (const t of layout.tensors) {
    // Embedding tables as nn.Embedding: N(0, 1); or uniform, as PyTorch's word_language_model
    // example re-initialises them (a tied head's logits then start small).
    const half = isEmbeddingTensor(t.name) ? opt.embeddingScale ?? null : scale;
    if (half === null) for (let k = 0; k < t.size; k++) block[t.offset + k] = rng.normal();
    else for (let k = 0; k < t.size; k++) block[t.offset + k] = (2 * rng.uniform() - 1) * half;
  }
  if (cfg.cell === 'lstm') {
    const H = cfg.hidden;
    const views = modelViews(cfg, layout, block);
    for (const l of [...views.layers, ...views.reverse]) l.bias.fill(opt.forgetBias, H, 2 * H);
  }
}
