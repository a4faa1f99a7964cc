// The activation layout is the one description of a shard's buffers: the Network lays exactly its
// tensors over the one block it allocates, the shared-memory planner sizes each worker's scratch
// by it (so a worker's Network fits its region exactly), and each layer's cell is the kind
// cfg.cell names, with that kind's own buffers.
import t from 'tap';
import { Network } from '../../src/shared/model/network.js';
import { activationLayout, ALIGN_FLOATS, findTensor, type ActivationLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { createPlanMemory, planSharedMemory, regionAllocator, type EngineSpec } from '../../src/shared/memory/shared-memory.js';

const T = 5, B = 3, H = 4, IN = 6, O = 7;
const CELLS = ['lstm', 'gru', 'rnn'] as const;

function config(cell: ModelConfig['cell'], recurrence: ModelConfig['recurrence']): ModelConfig {
  return { cell, inputSize: IN, hidden: H, layers: recurrence === 'output' ? 1 : 2, outputSize: O, recurrence, outputs: 'all' };
}

/** Every view of the network, by its layout name. */
function namedViews(net: Network<Float64Array>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>([['y', net.y], ['probs', net.probs], ['dY', net.dY], ['dGates', net.dGates], ['dcCarry', net.dcCarry]]);
  if (net.yHat) out.set('yHat', net.yHat);
  if (net.dYHat) out.set('dYHat', net.dYHat);
  net.layers.forEach((l, k) => {
    for (const key of ['gates', 'h', 'dH', 'mask', 'dropped'] as const) {
      const v = l[key];
      if (v) out.set(`layers.${k}.${key}`, v);
    }
  });
  return out;
}

function overlapFree(layout: ActivationLayout): boolean {
  return layout.tensors.every((a, i) => i === 0 || layout.tensors[i - 1].offset + layout.tensors[i - 1].size <= a.offset);
}

t.test('a Network lays exactly the layout over the one block it allocates', async (t) => {
  for (const cell of CELLS) {
    for (const recurrence of ['hidden', 'output'] as const) {
      for (const dropout of [0, 0.25]) {
        const cfg = config(cell, recurrence);
        const layout = activationLayout(cfg, B, T, dropout);
        const name = `${cell}/${recurrence}/dropout ${dropout}`;
        t.ok(layout.tensors.every((x) => x.offset % ALIGN_FLOATS === 0 && x.size === x.shape.reduce((a, b) => a * b, 1)), `${name}: aligned, sized by shape`);
        t.ok(overlapFree(layout) && layout.size >= layout.tensors[layout.tensors.length - 1].offset, `${name}: tensors in order, none overlapping`);
        const blocks: Float64Array[] = [];
        const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch: B, seqLen: T, dropout }, (n) => {
          const block = new Float64Array(n);
          blocks.push(block);
          return block;
        });
        t.equal(blocks.length, 1, `${name}: one allocation`);
        t.equal(blocks[0].length, layout.size, `${name}: of the layout's size`);
        t.same(net.layout, layout, `${name}: the network's layout`);
        for (const [key, view] of namedViews(net)) {
          const spec = findTensor(layout, key);
          t.ok(view.buffer === blocks[0].buffer && view.byteOffset === spec.offset * 8 && view.length === spec.size, `${name}: ${key} at its offset, of its size`);
        }
      }
    }
  }
});

t.test('each layer runs the cell cfg.cell names, over that kind\'s own buffers', async (t) => {
  const own = { lstm: ['c', 'tanhC'], gru: ['hh'], rnn: [] } as Record<string, string[]>;
  for (const cell of CELLS) {
    const cfg = config(cell, 'hidden');
    const layout = activationLayout(cfg, B, T);
    const names = new Set(layout.tensors.map((x) => x.name));
    for (const kind of CELLS) {
      for (const extra of own[kind]) t.equal(names.has(`layers.1.${extra}`), kind === cell, `${cell}: layers.1.${extra} ${kind === cell ? 'present' : 'absent'}`);
    }
    t.equal(names.has('dGatesH'), cell === 'gru', `${cell}: a recurrent-side gate gradient only for a GRU`);
    const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch: B, seqLen: T }, (n) => new Float64Array(n));
    t.equal(net.cells.length, cfg.layers);
    for (const c of net.cells) {
      t.equal(c.states.length, cell === 'lstm' ? 2 : 1, `${cell}: carries h${cell === 'lstm' ? ' and c' : ''}`);
      const sameMemory = c.dRec.buffer === net.dGates.buffer && c.dRec.byteOffset === net.dGates.byteOffset;
      t.equal(sameMemory, cell !== 'gru', `${cell}: recurrent weights see ${cell === 'gru' ? 'their own' : 'the'} gate gradients`);
    }
  }
});

t.test('the planner sizes each worker\'s scratch by the layout, and y sits where the engine reads it', async (t) => {
  for (const cell of CELLS) {
    for (const dropout of [undefined, { p: 0.3, seed: 1 }]) {
      const cfg = config(cell, 'hidden');
      const spec: EngineSpec = {
        cfg, loss: 'ce', input: 'onehot', seqLen: T, batch: 2 * B - 1, workers: 2, dropout,
        optimizer: { name: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
        clip: null, teacherForcing: false, kernels: 'ts',
      };
      const plan = planSharedMemory(spec, 0);
      const name = `${cell}, dropout ${dropout?.p ?? 0}`;
      t.same(plan.activations, activationLayout(cfg, plan.shardCapacity, T, dropout?.p ?? 0), `${name}: the plan's activation layout`);
      const memory = createPlanMemory(plan);
      plan.scratch.forEach((region, rank) => {
        t.equal(region.byteLength, plan.activations.size * 4, `${name}: worker ${rank}'s scratch is the layout's size`);
        const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch: plan.shardCapacity, seqLen: T, dropout: dropout?.p ?? 0 }, regionAllocator(memory, region));
        t.equal(net.y.byteOffset, region.byteOffset + findTensor(plan.activations, 'y').offset * 4, `${name}: worker ${rank}'s y at the layout's offset`);
      });
    }
  }
});
