/**
 * `npm run bench:infer`: inference speed side by side, recur's `loadModel` (WebAssembly kernels on
 * the calling thread) against ONNX Runtime (node, CPU provider; 1 intra-op thread and its default)
 * on the same models, exported by `recur export`. Models: LSTM and GRU at the SPEC §8 sizes
 * W1–W3 (65 inputs, H = 128/256/512, 65 classes), sequences of 64 steps, one prediction per
 * sequence. Batch 1: latency p50 and p99 over many calls; batch 64: sequences per second.
 * Also recur's token-by-token generation (`sample`, the state carried from token to token): ms
 * per generated character on the W1–W3 character models.
 *
 * Usage: node dist/bench/infer.js [--cells lstm,gru] [--workloads W1,W2,W3] [--seconds 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { saveCheckpoint, type CheckpointData } from '../src/main/checkpoint/checkpoint.js';
import type { SequencesMeta } from '../src/main/data/metadata.js';
import { exportOnnx } from '../src/main/export/onnx.js';
import { loadModel } from '../src/main/inference/predict.js';
import { sampleText } from '../src/main/inference/sample.js';
import { initParams } from '../src/shared/model/init.js';
import { paramLayout } from '../src/shared/model/layout.js';
import type { ModelConfig } from '../src/shared/model/model-config.js';
import { Rng } from '../src/shared/model/rng.js';

const SIZES: Record<string, number> = { W1: 128, W2: 256, W3: 512 };
const V = 65, T = 64, BIG_BATCH = 64;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const now = (): number => performance.now();

/** Call times (ms) of `run` for about `seconds`, after a warm-up. */
async function times(run: () => unknown, seconds: number): Promise<number[]> {
  for (let i = 0; i < 3; i++) await run();
  const out: number[] = [];
  const end = now() + seconds * 1000;
  while (now() < end || out.length < 5) {
    const start = now();
    await run();
    out.push(now() - start);
  }
  return out.sort((a, b) => a - b);
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

function model(cell: 'lstm' | 'gru', H: number): CheckpointData {
  const cfg: ModelConfig = { cell, inputSize: V, hidden: H, layers: 1, outputSize: V, recurrence: 'hidden', outputs: 'last' };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.size);
  initParams(cfg, layout, params, 1, { scale: null, forgetBias: 1 });
  const features = Array.from({ length: V }, (_, f) => `x${f}`);
  const columns = Object.fromEntries(features.map((name) => [name, { shift: 0, scale: 1 }]));
  const data: SequencesMeta = {
    task: 'sequences', features, targets: ['y'], target: 'class', labels: Array.from({ length: V }, (_, k) => k),
    scalarTarget: false, normalization: { kind: 'none', columns },
  };
  return { cfg, params, optim: new Map(), data };
}

function inputs(B: number, rng: Rng): { steps: number[][][]; flat: Float32Array } {
  const flat = new Float32Array(B * T * V);
  const steps = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => {
    const row = new Array<number>(V).fill(0);
    row[rng.int(V)] = 1;
    flat.set(row, (b * T + t) * V);
    return row;
  }));
  return { steps, flat };
}

async function main(): Promise<void> {
  const cells = arg('cells', 'lstm,gru').split(',') as ('lstm' | 'gru')[];
  const workloads = arg('workloads', 'W1,W2,W3').split(',');
  const seconds = Number(arg('seconds', '2'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recur-infer-'));
  const rng = new Rng(7, 0);
  const one = inputs(1, rng), many = inputs(BIG_BATCH, rng);
  console.log(`# inference, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''}`);
  console.log(`# sequences of ${T} steps, ${V} inputs, ${V} classes; batch 1 latency in ms (p50 / p99), batch ${BIG_BATCH} in sequences/s\n`);
  console.log('| model | recur b1 p50 | recur b1 p99 | ORT 1 thread b1 p50 | ORT 1 thread b1 p99 | ORT default b1 p50 | recur b64 seq/s | ORT 1 thread b64 seq/s | ORT default b64 seq/s | b1 p50 ORT-1t / recur | b64 recur / ORT best |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const cell of cells) {
    for (const w of workloads) {
      const ck = model(cell, SIZES[w]!);
      const file = path.join(dir, `${cell}-${w}.safetensors`);
      saveCheckpoint(file, ck);
      const recur = await loadModel(file, { batch: BIG_BATCH });
      const bytes = exportOnnx(ck, file);
      const sessions = [
        await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
        await ort.InferenceSession.create(bytes),
      ];
      const feeds = (x: { flat: Float32Array }, B: number): Record<string, ort.Tensor> => ({
        x: new ort.Tensor('float32', x.flat, [B, T, V]),
        lengths: new ort.Tensor('int32', new Int32Array(B).fill(T), [B]),
      });
      const r1 = await times(() => recur.predict(one.steps), seconds);
      const rB = await times(() => recur.predict(many.steps), seconds);
      const o1 = [], oB = [];
      for (const s of sessions) {
        o1.push(await times(() => s.run(feeds(one, 1)), seconds));
        oB.push(await times(() => s.run(feeds(many, BIG_BATCH)), seconds));
      }
      const tput = (sorted: number[]): number => BIG_BATCH / (quantile(sorted, 0.5) / 1000);
      const bestOrt = Math.max(tput(oB[0]!), tput(oB[1]!));
      console.log(`| ${cell} ${w} (H=${SIZES[w]}) | ${quantile(r1, 0.5).toFixed(3)} | ${quantile(r1, 0.99).toFixed(3)} | ${quantile(o1[0]!, 0.5).toFixed(3)} | ${quantile(o1[0]!, 0.99).toFixed(3)} | ${quantile(o1[1]!, 0.5).toFixed(3)} | ${tput(rB).toFixed(0)} | ${tput(oB[0]!).toFixed(0)} | ${tput(oB[1]!).toFixed(0)} | ${(quantile(o1[0]!, 0.5) / quantile(r1, 0.5)).toFixed(2)} | ${(tput(rB) / bestOrt).toFixed(2)} |`);
      for (const s of sessions) await s.release();
    }
  }
  console.log('\n| character model | recur sample, ms per generated character |');
  console.log('|---|---|');
  const vocab = Array.from({ length: V }, (_, k) => String.fromCharCode(48 + k)).join('');
  for (const cell of cells) {
    for (const w of workloads) {
      const H = SIZES[w]!;
      const cfg: ModelConfig = { cell, inputSize: V, hidden: H, layers: 1, outputSize: V, recurrence: 'hidden', outputs: 'all' };
      const layout = paramLayout(cfg);
      const params = new Float32Array(layout.size);
      initParams(cfg, layout, params, 1, { scale: null, forgetBias: 1 });
      const ck: CheckpointData = { cfg, params, optim: new Map(), vocab };
      const length = 400;
      const ms = await times(() => sampleText(ck, 'bench', { length, temperature: 1, prime: undefined, seed: 1 }), seconds);
      console.log(`| ${cell} ${w} (H=${H}) | ${(quantile(ms, 0.5) / length).toFixed(4)} |`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
