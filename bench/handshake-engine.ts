/**
 * An engine whose steps cost almost nothing but the handshake: a 1-unit LSTM, one sequence of
 * one step per worker. bench/sync.ts times its handshakes; the engine-memory probe counts what
 * thousands of them leave behind.
 */
import { Engine } from '../src/main/engine/engine.js';
import { initParams } from '../src/shared/model/init.js';
import type { EngineSpec } from '../src/shared/memory/shared-memory.js';

export function handshakeEngine(workers: number): Engine {
  const cfg = { cell: 'lstm', inputSize: 2, hidden: 1, layers: 1, outputSize: 2, recurrence: 'hidden', outputs: 'all' } as const;
  const spec: EngineSpec = {
    cfg, loss: 'ce', input: 'onehot', seqLen: 1, batch: workers, workers, kernels: 'ts',
    optimizer: { name: 'adam', lr: 0.001, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: 5, teacherForcing: false,
  };
  const engine = Engine.create(spec);
  initParams(cfg, engine.plan.layout, engine.views.params, 1, { scale: null, forgetBias: 1 });
  engine.views.shardSizes.fill(1); // B = workers: one sequence each
  return engine;
}
