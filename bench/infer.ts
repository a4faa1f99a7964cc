/**
 * `npm run bench:infer`: inference speed side by side, recur's `loadModel` (on the calling thread,
 * with the WebAssembly kernels and, where a BLAS loads, the blas kernels: a row each) against ONNX
 * Runtime (node, CPU provider; 1 intra-op thread and its default) on the same models, exported by
 * `recur export`. Models: LSTM and GRU at the SPEC §8 sizes W1–W3 (65 inputs, H = 128/256/512,
 * 65 classes), sequences of 64 steps, one prediction per sequence. Batch 1: latency p50 and p99
 * over many calls, and the process CPU time per call (steadier than wall time on a loaded
 * machine; for ORT default it sums its threads); batch 64: sequences per second.
 * Also recur's token-by-token generation (`sample`, the state carried from token to token): ms
 * per generated character on the W1–W3 character models, per kernels.
 *
 * The machine may be shared: the contenders take turns, `--rounds` times each, so a change of
 * load hits them alike; the header gives the load average before and after.
 *
 * Usage: node dist/bench/infer.js [--cells lstm,gru] [--workloads W1,W2,W3] [--kernels wasm,blas]
 *        [--seconds 3] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { saveCheckpoint, type CheckpointData } from '../src/main/checkpoint/checkpoint.js';
import type { SequencesMeta } from '../src/main/data/metadata.js';
import { exportOnnx } from '../src/main/export/onnx.js';
import { loadModel } from '../src/main/inference/predict.js';
import { loadBlas } from '../src/shared/backends/blas.js';
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

/** Wall times (ms, sorted) of the calls to one contender, and the process CPU time they took. */
interface Timing {
  wall: number[];
  cpuMs: number;
}

const emptyTiming = (): Timing => ({ wall: [], cpuMs: 0 });

/** Adds about `seconds` of calls of `run` to `into`, after a warm-up. */
async function measure(run: () => unknown, seconds: number, into: Timing): Promise<void> {
  for (let i = 0; i < 3; i++) await run();
  const cpu = process.cpuUsage();
  const end = now() + seconds * 1000;
  for (let n = 0; now() < end || n < 5; n++) {
    const start = now();
    await run();
    into.wall.push(now() - start);
  }
  const used = process.cpuUsage(cpu);
  into.cpuMs += (used.user + used.system) / 1000;
}

/** Each contender in turn, `rounds` times, `seconds` in all per contender. */
async function takeTurns(contenders: (() => unknown)[], seconds: number, rounds: number): Promise<Timing[]> {
  const timings = contenders.map(emptyTiming);
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < contenders.length; c++) await measure(contenders[c]!, seconds / rounds, timings[c]!);
  }
  for (const t of timings) t.wall.sort((a, b) => a - b);
  return timings;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const cpuPerCall = (t: Timing): number => t.cpuMs / t.wall.length;

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

const loadLine = (): string => os.loadavg().map((x) => x.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const cells = arg('cells', 'lstm,gru').split(',') as ('lstm' | 'gru')[];
  const workloads = arg('workloads', 'W1,W2,W3').split(',');
  const seconds = Number(arg('seconds', '3'));
  const rounds = Math.max(1, Number(arg('rounds', '3')));
  const kernelsAsked = arg('kernels', 'wasm,blas').split(',') as ('wasm' | 'blas')[];
  const kernels = kernelsAsked.filter((k) => k !== 'blas' || loadBlas().ok);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recur-infer-'));
  const rng = new Rng(7, 0);
  const one = inputs(1, rng), many = inputs(BIG_BATCH, rng);
  console.log(`# inference, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''}`);
  if (kernels.length < kernelsAsked.length) console.log(`# no blas rows: ${(loadBlas() as { reason?: string }).reason ?? ''}`);
  console.log(`# load average at start (1, 5, 15 min): ${loadLine()}`);
  console.log(`# sequences of ${T} steps, ${V} inputs, ${V} classes; batch 1 latency in ms (p50, p99) and process CPU ms per call; batch ${BIG_BATCH} in sequences/s (from the p50 call)`);
  console.log(`# ${seconds} s per contender and batch, in ${rounds} turns\n`);
  console.log('| model | runtime | b1 p50 ms | b1 p99 ms | b1 CPU ms/call | b64 seq/s | b1 p50: ORT 1 thread / this | b64: this / best ORT |');
  console.log('|---|---|---|---|---|---|---|---|');
  const tput = (t: Timing): number => BIG_BATCH / (quantile(t.wall, 0.5) / 1000);
  for (const cell of cells) {
    for (const w of workloads) {
      const ck = model(cell, SIZES[w]!);
      const file = path.join(dir, `${cell}-${w}.safetensors`);
      saveCheckpoint(file, ck);
      const recur = await Promise.all(kernels.map((k) => loadModel(file, { batch: BIG_BATCH, kernels: k })));
      const bytes = exportOnnx(ck, file);
      const sessions = [
        await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
        await ort.InferenceSession.create(bytes),
      ];
      const feeds = (x: { flat: Float32Array }, B: number): Record<string, ort.Tensor> => ({
        x: new ort.Tensor('float32', x.flat, [B, T, V]),
        lengths: new ort.Tensor('int32', new Int32Array(B).fill(T), [B]),
      });
      const names = [...kernels.map((k) => `recur ${k}`), 'ORT 1 thread', 'ORT default'];
      const b1 = await takeTurns([
        ...recur.map((m) => () => m.predict(one.steps)),
        ...sessions.map((s) => () => s.run(feeds(one, 1))),
      ], seconds, rounds);
      const b64 = await takeTurns([
        ...recur.map((m) => () => m.predict(many.steps)),
        ...sessions.map((s) => () => s.run(feeds(many, BIG_BATCH))),
      ], seconds, rounds);
      const ort1 = b1[kernels.length]!;
      const bestOrt = Math.max(tput(b64[kernels.length]!), tput(b64[kernels.length + 1]!));
      names.forEach((name, c) => {
        const one1 = b1[c]!, big = b64[c]!;
        console.log(`| ${cell} ${w} (H=${SIZES[w]}) | ${name} | ${quantile(one1.wall, 0.5).toFixed(3)} | ${quantile(one1.wall, 0.99).toFixed(3)} | ${cpuPerCall(one1).toFixed(3)} | ${tput(big).toFixed(0)} | ${(quantile(ort1.wall, 0.5) / quantile(one1.wall, 0.5)).toFixed(2)} | ${(tput(big) / bestOrt).toFixed(2)} |`);
      });
      for (const s of sessions) await s.release();
    }
  }
  console.log(`\n| character model | ${kernels.map((k) => `recur ${k} sample, ms per generated character`).join(' | ')} |`);
  console.log(`|---|${kernels.map(() => '---|').join('')}`);
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
      const timings = await takeTurns(kernels.map((k) => () => sampleText(ck, 'bench', { length, temperature: 1, prime: undefined, seed: 1, kernels: k })), seconds, rounds);
      console.log(`| ${cell} ${w} (H=${H}) | ${timings.map((t) => (quantile(t.wall, 0.5) / length).toFixed(4)).join(' | ')} |`);
    }
  }
  console.log(`\n# load average at end (1, 5, 15 min): ${loadLine()}`);
  rmSync(dir, { recursive: true, force: true });
}

await main();
