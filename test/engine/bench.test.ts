import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessagePort, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { runBench } from '../../src/main/bench/bench.js';
import { Engine } from '../../src/main/engine/engine.js';
import { shardRange } from '../../src/main/engine/shards.js';
import { initParams } from '../../src/shared/model/init.js';
import type { EngineSpec } from '../../src/shared/memory/shared-memory.js';

const RESULT_KEYS = ['workload', 'cell', 'workers', 'kernels', 'tokensPerSec', 'stepMs', 'gflops', 'speedup', 'efficiency', 'rssMB'];

t.test('runBench on W0 with 1 and 2 workers writes the SPEC §8 report and a chart', async (t) => {
  const dir = t.testdir();
  const json = join(dir, 'bench.json');
  const report = await runBench({ workloads: ['W0'], workers: [1, 2], cell: 'lstm', steps: 2, warmup: 1, seconds: 0, kernels: 'ts', json });

  t.same(JSON.parse(readFileSync(json, 'utf8')), report, 'the JSON file is the returned report');
  t.same(Object.keys(report), ['machine', 'kernels', 'results']);
  t.same(report.kernels, { requested: 'ts', chosen: 'ts', why: 'requested' }, 'the kernels asked for and chosen');
  t.same(Object.keys(report.machine), ['cpus', 'model', 'node']);
  t.ok(Number.isInteger(report.machine.cpus) && report.machine.cpus >= 1);
  t.type(report.machine.model, 'string');
  t.equal(report.machine.node, process.version);

  t.same(report.results.map((r) => r.workers), [1, 2]);
  // W0: H = 32, T = 32, B = 16 over V = 65; LSTM FLOPs per token = 6·(4H(V+H) + VH).
  const flopsPerToken = 6 * (4 * 32 * (65 + 32) + 65 * 32);
  for (const r of report.results) {
    t.same(Object.keys(r), RESULT_KEYS, `keys of the ${r.workers}-worker result`);
    t.equal(r.workload, 'W0');
    t.equal(r.cell, 'lstm');
    t.equal(r.kernels, 'ts', 'the row names its kernels');
    for (const key of RESULT_KEYS.slice(4)) {
      const value = r[key as keyof typeof r] as number;
      t.ok(Number.isFinite(value) && value > 0, `${key} is a positive number`);
    }
    t.ok(Math.abs(r.gflops - (r.tokensPerSec * flopsPerToken) / 1e9) < 1e-3 + 1e-4 * r.gflops, 'gflops = tokens/s × FLOPs/token');
    t.ok(Math.abs(r.stepMs - (16 * 32 * 1000) / r.tokensPerSec) < 1e-3 + 1e-4 * r.stepMs, 'tokens/s = B·T / step time');
    t.ok(Math.abs(r.efficiency - r.speedup / r.workers) < 1e-3, 'efficiency = speedup / workers');
  }
  t.equal(report.results[0].speedup, 1);
  t.equal(report.results[0].efficiency, 1);
  const second = report.results[1];
  t.ok(Math.abs(second.speedup - second.tokensPerSec / report.results[0].tokensPerSec) < 1e-3, 'speedup is relative to 1 worker');

  const svg = readFileSync(join(dir, 'bench.svg'), 'utf8');
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /W0 H=32 T=32 B=16/);
  t.match(svg, /2 workers/);
});

t.test('runBench --cell gru: a GRU workload, its FLOPs counted with 3 gates', async (t) => {
  const report = await runBench({ workloads: ['W0'], workers: [1], cell: 'gru', steps: 2, warmup: 1, seconds: 0, kernels: 'wasm', json: join(t.testdir(), 'bench.json') });
  const [r] = report.results;
  t.equal(r.cell, 'gru');
  t.ok(r.tokensPerSec > 0, `${Math.round(r.tokensPerSec)} tokens/s`);
  // FLOPs per token 6·(3H(V+H) + VH) for H = 32, V = 65.
  t.ok(Math.abs(r.gflops - (r.tokensPerSec * 6 * (3 * 32 * (65 + 32) + 65 * 32)) / 1e9) < 1e-3 * r.gflops + 1e-3, 'GFLOP/s from the GRU count');
});

t.test('runBench rejects unknown workloads and bad worker counts', async (t) => {
  await t.rejects(runBench({ workloads: ['W9'], workers: [1], cell: 'lstm' }), { name: 'InputError', message: /--workloads/ });
  await t.rejects(runBench({ workloads: ['W0'], workers: [0], cell: 'lstm' }), { name: 'InputError', message: /--workers/ });
});

/** Rough payload size of a message: the bytes of its buffers, strings and numbers. */
function messageBytes(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number') return 8;
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((sum: number, v) => sum + messageBytes(v), 0);
  return 0;
}

interface Traffic {
  messages: number;
  bytes: number;
  poolRuns: number;
}

/**
 * Counts what the main thread hands to other threads: every postMessage on a Worker or a
 * MessagePort (piscina sends its tasks through both) and every piscina `run`.
 */
function spyOnTraffic(): { traffic: Traffic; reset(): void; restore(): void } {
  const traffic: Traffic = { messages: 0, bytes: 0, poolRuns: 0 };
  const originals = {
    portPost: MessagePort.prototype.postMessage,
    workerPost: Worker.prototype.postMessage,
    run: Piscina.prototype.run,
  };
  const count = (message: unknown): void => {
    traffic.messages++;
    traffic.bytes += messageBytes(message);
  };
  MessagePort.prototype.postMessage = function (this: MessagePort, ...args: Parameters<MessagePort['postMessage']>) {
    count(args[0]);
    return originals.portPost.apply(this, args);
  };
  Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    count(args[0]);
    return originals.workerPost.apply(this, args);
  };
  Piscina.prototype.run = function (this: Piscina, ...args: Parameters<Piscina['run']>) {
    traffic.poolRuns++;
    return originals.run.apply(this, args);
  };
  return {
    traffic,
    reset: () => Object.assign(traffic, { messages: 0, bytes: 0, poolRuns: 0 }),
    restore: () => {
      MessagePort.prototype.postMessage = originals.portPost;
      Worker.prototype.postMessage = originals.workerPost;
      Piscina.prototype.run = originals.run;
    },
  };
}

/** Traffic while the engine starts (through its first step), and during the next `steps` steps. */
async function trafficOfSteps(hidden: number, steps: number): Promise<{ setup: Traffic; perStep: Traffic; paramsChanged: boolean }> {
  const B = 4, T = 8, V = 65, N = 2;
  const cfg = { cell: 'lstm', inputSize: V, hidden, layers: 1, outputSize: V, recurrence: 'hidden', outputs: 'all' } as const;
  const spec: EngineSpec = {
    cfg, loss: 'ce', input: 'onehot', seqLen: T, batch: B, workers: N, kernels: 'ts',
    optimizer: { name: 'adam', lr: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: 5, teacherForcing: false,
  };
  const spy = spyOnTraffic();
  const engine = Engine.create(spec);
  try {
    initParams(cfg, engine.plan.layout, engine.views.params, 1, { scale: null, forgetBias: 1 });
    for (let k = 0; k < N; k++) {
      const { count } = shardRange(B, N, k);
      engine.views.shardSizes[k] = count;
      const shard = engine.views.shards[k];
      for (let i = 0; i < T * count; i++) {
        shard.tokens[i] = (i * 7 + k) % V;
        shard.targetIds[i] = (i * 7 + k + 1) % V;
      }
    }
    await engine.trainStep(1, 0.01, B * T);
    const setup = { ...spy.traffic };
    spy.reset();
    const before = engine.views.params.slice();
    for (let step = 2; step < 2 + steps; step++) await engine.trainStep(step, 0.01, B * T);
    const perStep = { ...spy.traffic };
    const paramsChanged = engine.views.params.some((x, i) => x !== before[i]);
    return { setup, perStep, paramsChanged };
  } finally {
    spy.restore();
    await engine.close();
  }
}

t.test('a training step sends no messages: shared memory is the only channel, whatever the model size', async (t) => {
  const small = await trafficOfSteps(8, 5);
  const big = await trafficOfSteps(80, 5);
  for (const [name, run] of [['H=8', small], ['H=80', big]] as const) {
    t.ok(run.setup.poolRuns === 2 && run.setup.messages > 0, `${name}: the spy sees piscina's start-up traffic (${run.setup.messages} messages, one task per worker)`);
    t.same(run.perStep, { messages: 0, bytes: 0, poolRuns: 0 }, `${name}: 5 steps post nothing to the workers`);
    t.ok(run.paramsChanged, `${name}: the steps still trained the shared weights`);
  }
  t.same(big.perStep, small.perStep, 'per-step traffic does not grow with a 10× wider model');
});
