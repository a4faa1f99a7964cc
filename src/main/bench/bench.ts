/**
 * `recur bench` (SPEC §8): training throughput of the engine on the fixed workloads W0–W3 — a
 * char-level LM over V = 65 one-hot symbols, one LSTM (or RNN) layer, a head at every step,
 * Adam, clip 5, seeded random tokens — at each requested worker count.
 *
 * Each point gets a fresh engine, a warm-up, then timed steps until both a minimum step count
 * and a time budget are reached; the step time is the median. Only the per-step shard fill (which
 * the real trainer does too) is inside the timed region; the tokens are generated beforehand.
 */
import os from 'node:os';
import { Engine } from '../engine/engine.js';
import { shardRange } from '../engine/shards.js';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { initParams } from '../../shared/model/init.js';
import type { ModelConfig } from '../../shared/model/model-config.js';
import { Rng } from '../../shared/model/rng.js';
import type { EngineKernels, EngineSpec } from '../../shared/memory/shared-memory.js';
import { describeKernels, resolveKernels } from '../engine/kernel-choice.js';
import { DEFAULT_KERNELS, type KernelsChoice } from '../experiment/options.js';
import { benchSvg } from './chart.js';
import type { BenchReport, BenchResult } from './results.js';
import { flopsPerToken, VOCAB, WORKLOADS, type Workload } from './workloads.js';

const LEARNING_RATE = 0.002;
const CLIP = 5;
const SEED = 1;
/** Distinct random batches cycled through the timed steps. */
const DISTINCT_BATCHES = 4;

export const DEFAULT_MIN_STEPS = 5;
export const DEFAULT_WARMUP = 3;
export const DEFAULT_SECONDS = 3;

export interface BenchOptions {
  workloads: string[];
  /** Worker counts; 1 is always measured too, as the speedup baseline. */
  workers: number[];
  cell: 'lstm' | 'gru' | 'rnn';
  /** Minimum timed steps per point. */
  steps?: number;
  /** Untimed steps first (the first steps run unoptimised code). */
  warmup?: number;
  /** Keep timing each point until this many seconds have passed (and `steps` steps were done). */
  seconds?: number;
  /** As train.kernels (default auto); resolved once, before any point is measured. */
  kernels?: KernelsChoice;
  /** Write the JSON report here. */
  json?: string;
  /** Write the SVG chart here (default: next to the JSON, else bench.svg in the current folder). */
  svg?: string;
  onProgress?: (line: string) => void;
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const unknown = opts.workloads.filter((w) => !(w in WORKLOADS));
  if (unknown.length > 0 || opts.workloads.length === 0) {
    throw new InputError(`--workloads: expected names from ${Object.keys(WORKLOADS).join(', ')}, got ${JSON.stringify(opts.workloads.join(','))}`);
  }
  if (opts.workers.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InputError(`--workers: expected positive integers, got ${JSON.stringify(opts.workers.join(','))}`);
  }
  const workerCounts = [...new Set([1, ...opts.workers])].sort((a, b) => a - b);
  const timing = {
    minSteps: opts.steps ?? DEFAULT_MIN_STEPS,
    warmup: opts.warmup ?? DEFAULT_WARMUP,
    seconds: opts.seconds ?? DEFAULT_SECONDS,
  };
  const resolved = resolveKernels(opts.kernels ?? DEFAULT_KERNELS, '--kernels', null);
  const { kernels } = resolved;
  const cpuInfo = os.cpus();
  const report: BenchReport = {
    machine: { cpus: os.availableParallelism(), model: cpuInfo[0]?.model.trim() ?? 'unknown', node: process.version },
    kernels: { requested: resolved.requested, chosen: kernels, why: resolved.why },
    results: [],
  };
  opts.onProgress?.(`kernels ${describeKernels(resolved)}`);
  for (const name of opts.workloads) {
    const workload = WORKLOADS[name]!;
    let baselineTokensPerSec = 0;
    for (const workers of workerCounts) {
      const point = await measurePoint(workload, opts.cell, workers, kernels, timing);
      if (workers === 1) baselineTokensPerSec = point.tokensPerSec;
      const speedup = point.tokensPerSec / baselineTokensPerSec;
      const result: BenchResult = {
        workload: name,
        cell: opts.cell,
        workers,
        kernels,
        tokensPerSec: round(point.tokensPerSec, 1),
        stepMs: round(point.stepMs, 3),
        gflops: round((point.tokensPerSec * flopsPerToken(opts.cell, workload.hidden)) / 1e9, 3),
        speedup: round(speedup, 3),
        efficiency: round(speedup / workers, 3),
        rssMB: round(point.rssBytes / 2 ** 20, 1),
      };
      report.results.push(result);
      opts.onProgress?.(`${name} ${opts.cell} ×${workers} ${kernels}: ${point.steps} steps, ${result.stepMs.toFixed(1)} ms/step, ${Math.round(result.tokensPerSec)} tok/s`);
    }
  }
  if (opts.json) writeFileAtomic(opts.json, new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'));
  writeFileAtomic(svgPath(opts), new TextEncoder().encode(benchSvg(report)));
  return report;
}

/** Where the chart goes: `svg`, else next to the JSON, else bench.svg in the current folder. */
export function svgPath(opts: Pick<BenchOptions, 'json' | 'svg'>): string {
  return opts.svg ?? (opts.json ? opts.json.replace(/(\.json)?$/i, '.svg') : 'bench.svg');
}

interface Timing {
  minSteps: number;
  warmup: number;
  seconds: number;
}

async function measurePoint(
  workload: Workload, cell: 'lstm' | 'gru' | 'rnn', workers: number, kernels: EngineKernels, timing: Timing,
): Promise<{ tokensPerSec: number; stepMs: number; steps: number; rssBytes: number }> {
  const { hidden, seqLen: T, batch: B } = workload;
  const cfg: ModelConfig = { cell, inputSize: VOCAB, hidden, layers: 1, outputSize: VOCAB, recurrence: 'hidden', outputs: 'all' };
  const spec: EngineSpec = {
    cfg, loss: 'ce', input: 'onehot', seqLen: T, batch: B, workers, kernels,
    optimizer: { name: 'adam', lr: LEARNING_RATE, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: CLIP, teacherForcing: false,
  };
  const sequences = randomSequences(DISTINCT_BATCHES * B, T + 1);
  const engine = Engine.create(spec);
  try {
    initParams(cfg, engine.plan.layout, engine.views.params, SEED, { scale: null, forgetBias: 1 });
    let step = 0;
    const trainStep = async (): Promise<void> => {
      fillShards(engine, sequences, (step % DISTINCT_BATCHES) * B, B, T);
      step++;
      await engine.trainStep(step, LEARNING_RATE, B * T);
    };
    for (let i = 0; i < timing.warmup; i++) await trainStep();
    const stepMs: number[] = [];
    const deadline = performance.now() + timing.seconds * 1000;
    while (stepMs.length < timing.minSteps || performance.now() < deadline) {
      const start = performance.now();
      await trainStep();
      stepMs.push(performance.now() - start);
    }
    const median = medianOf(stepMs);
    return { tokensPerSec: (B * T) / (median / 1000), stepMs: median, steps: stepMs.length, rssBytes: process.memoryUsage().rss };
  } finally {
    await engine.close();
  }
}

/** `count` sequences of `length` random symbols, sequence-major. */
function randomSequences(count: number, length: number): Int32Array {
  const rng = new Rng(SEED, 1);
  const out = new Int32Array(count * length);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(VOCAB);
  return out;
}

/** Writes sequences [first, first + B) into the worker shards, time-major, as the trainer does. */
function fillShards(engine: Engine, sequences: Int32Array, first: number, B: number, T: number): void {
  const { views } = engine;
  for (let k = 0; k < engine.workers; k++) {
    const { start, count } = shardRange(B, engine.workers, k);
    views.shardSizes[k] = count;
    const { tokens, targetIds } = views.shards[k];
    for (let j = 0; j < count; j++) {
      const base = (first + start + j) * (T + 1);
      for (let t = 0; t < T; t++) {
        tokens[t * count + j] = sequences[base + t];
        targetIds[t * count + j] = sequences[base + t + 1];
      }
    }
  }
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
