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
import { Engine } from './engine.js';
import { escapeXml } from './charts.js';
import { shardRange } from './data.js';
import { InputError } from './errors.js';
import { writeFileAtomic } from './safetensors.js';
import { initParams } from '../shared/init.js';
import { gateCount, type ModelConfig } from '../shared/model-config.js';
import { Rng } from '../shared/rng.js';
import type { EngineSpec } from '../shared/shared-memory.js';

export interface Workload {
  hidden: number;
  seqLen: number;
  batch: number;
}

export const WORKLOADS: Readonly<Record<string, Workload>> = {
  W0: { hidden: 32, seqLen: 32, batch: 16 },
  W1: { hidden: 128, seqLen: 64, batch: 32 },
  W2: { hidden: 256, seqLen: 64, batch: 64 },
  W3: { hidden: 512, seqLen: 64, batch: 64 },
};

/** One-hot vocabulary of the benchmark LM (tiny Shakespeare's size). */
export const VOCAB = 65;
const LEARNING_RATE = 0.002;
const CLIP = 5;
const SEED = 1;
/** Distinct random batches cycled through the timed steps. */
const DISTINCT_BATCHES = 4;

export const DEFAULT_MIN_STEPS = 5;
export const DEFAULT_WARMUP = 3;
export const DEFAULT_SECONDS = 3;
/** The trainer's default (train.kernels). */
export const DEFAULT_KERNELS = 'wasm';

export interface BenchOptions {
  workloads: string[];
  /** Worker counts; 1 is always measured too, as the speedup baseline. */
  workers: number[];
  cell: 'lstm' | 'rnn';
  /** Minimum timed steps per point. */
  steps?: number;
  /** Untimed steps first (the first steps run unoptimised code). */
  warmup?: number;
  /** Keep timing each point until this many seconds have passed (and `steps` steps were done). */
  seconds?: number;
  kernels?: 'ts' | 'wasm';
  /** Write the JSON report here. */
  json?: string;
  /** Write the SVG chart here (default: next to the JSON, else bench.svg in the current folder). */
  svg?: string;
  onProgress?: (line: string) => void;
}

export interface BenchResult {
  workload: string;
  cell: 'lstm' | 'rnn';
  workers: number;
  tokensPerSec: number;
  stepMs: number;
  gflops: number;
  /** Tokens/s relative to 1 worker on the same workload in the same run. */
  speedup: number;
  /** speedup / workers. */
  efficiency: number;
  /** Resident set of the whole process (all worker threads) with the engine alive. */
  rssMB: number;
}

export interface BenchReport {
  machine: { cpus: number; model: string; node: string };
  results: BenchResult[];
}

/** FLOPs of one training step per token: forward ×2, backward ×4 over the gates and the head. */
export function flopsPerToken(cell: 'lstm' | 'rnn', hidden: number, vocab = VOCAB): number {
  const H = hidden;
  return 6 * (gateCount(cell) * H * (vocab + H) + vocab * H);
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
  const kernels = opts.kernels ?? DEFAULT_KERNELS;
  const cpuInfo = os.cpus();
  const report: BenchReport = {
    machine: { cpus: os.availableParallelism(), model: cpuInfo[0]?.model.trim() ?? 'unknown', node: process.version },
    results: [],
  };
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
        tokensPerSec: round(point.tokensPerSec, 1),
        stepMs: round(point.stepMs, 3),
        gflops: round((point.tokensPerSec * flopsPerToken(opts.cell, workload.hidden)) / 1e9, 3),
        speedup: round(speedup, 3),
        efficiency: round(speedup / workers, 3),
        rssMB: round(point.rssBytes / 2 ** 20, 1),
      };
      report.results.push(result);
      opts.onProgress?.(`${name} ${opts.cell} ×${workers}: ${point.steps} steps, ${result.stepMs.toFixed(1)} ms/step, ${Math.round(result.tokensPerSec)} tok/s`);
    }
  }
  if (opts.json) writeFileAtomic(opts.json, new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'));
  writeFileAtomic(svgPath(opts), new TextEncoder().encode(benchSvg(report, kernels)));
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
  workload: Workload, cell: 'lstm' | 'rnn', workers: number, kernels: 'ts' | 'wasm', timing: Timing,
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

/** The report as an aligned text table, under a line naming the kernels and the machine. */
export function formatBenchTable(report: BenchReport, kernels: 'ts' | 'wasm'): string {
  const header = ['workload', 'H/T/B', 'cell', 'workers', 'tokens/s', 'ms/step', 'GFLOP/s', 'speedup', 'efficiency', 'RSS MB'];
  const rows = report.results.map((r) => {
    const w = WORKLOADS[r.workload]!;
    return [
      r.workload, `${w.hidden}/${w.seqLen}/${w.batch}`, r.cell, String(r.workers), Math.round(r.tokensPerSec).toString(),
      r.stepMs.toFixed(1), r.gflops.toFixed(2), r.speedup.toFixed(2), r.efficiency.toFixed(2), r.rssMB.toFixed(0),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const { machine } = report;
  return [
    `${kernels} kernels · ${machine.model}, ${machine.cpus} cpus, node ${machine.node}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

const PANEL_WIDTH = 220;
const PANEL_HEIGHT = 240;
const PLOT_TOP = 60;
const PLOT_BOTTOM = 200;
const MARGIN = 20;
/** Room for the title and the machine line with a single panel. */
const MIN_WIDTH = 480;
const BAR_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7'];

/**
 * One panel per workload (throughputs differ ~20× between W0 and W3, so each panel has its own
 * scale): a bar of tokens/s per worker count, labelled with the value and the speedup.
 */
function benchSvg(report: BenchReport, kernels: 'ts' | 'wasm'): string {
  const workloads = [...new Set(report.results.map((r) => r.workload))];
  const width = Math.max(MIN_WIDTH, MARGIN * 2 + workloads.length * PANEL_WIDTH);
  const height = PANEL_HEIGHT + 50;
  const { machine } = report;
  const cell = report.results[0]?.cell ?? 'lstm';
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${MARGIN}" y="22" font-size="15" font-weight="bold">recur bench: training tokens/s by worker count</text>`,
    `<text x="${MARGIN}" y="40" fill="#555">${escapeXml(`${cell.toUpperCase()}, ${kernels} kernels · ${machine.model}, ${machine.cpus} cpus, node ${machine.node}`)}</text>`,
  ];
  workloads.forEach((name, p) => {
    const results = report.results.filter((r) => r.workload === name);
    const w = WORKLOADS[name]!;
    const x0 = MARGIN + p * PANEL_WIDTH;
    const top = 20 + PLOT_TOP;
    const bottom = 20 + PLOT_BOTTOM;
    const maxTokens = Math.max(...results.map((r) => r.tokensPerSec));
    const slot = (PANEL_WIDTH - 40) / results.length;
    parts.push(`<text x="${x0 + PANEL_WIDTH / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">${name} H=${w.hidden} T=${w.seqLen} B=${w.batch}</text>`);
    parts.push(`<line x1="${x0 + 10}" y1="${bottom}" x2="${x0 + PANEL_WIDTH - 10}" y2="${bottom}" stroke="#333"/>`);
    results.forEach((r, i) => {
      const barHeight = maxTokens > 0 ? ((bottom - top - 30) * r.tokensPerSec) / maxTokens : 0;
      const x = x0 + 20 + i * slot + slot * 0.15;
      const barWidth = slot * 0.7;
      const cx = x + barWidth / 2;
      parts.push(`<rect x="${x}" y="${bottom - barHeight}" width="${barWidth}" height="${barHeight}" fill="${BAR_COLORS[i % BAR_COLORS.length]}"/>`);
      parts.push(`<text x="${cx}" y="${bottom - barHeight - 18}" text-anchor="middle">${formatTokens(r.tokensPerSec)}</text>`);
      parts.push(`<text x="${cx}" y="${bottom - barHeight - 5}" text-anchor="middle" fill="#555">×${r.speedup.toFixed(2)}</text>`);
      parts.push(`<text x="${cx}" y="${bottom + 16}" text-anchor="middle">${r.workers} worker${r.workers === 1 ? '' : 's'}</text>`);
    });
  });
  parts.push(`<text x="${MARGIN}" y="${height - 10}" fill="#555">bar label: tokens/s, ×speedup over 1 worker</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function formatTokens(tokensPerSec: number): string {
  if (tokensPerSec >= 1e6) return `${(tokensPerSec / 1e6).toFixed(2)}M tok/s`;
  if (tokensPerSec >= 1e3) return `${(tokensPerSec / 1e3).toFixed(1)}k tok/s`;
  return `${Math.round(tokensPerSec)} tok/s`;
}

/** Command-line arguments of `recur bench`, as yargs hands them over (comma lists as strings). */
export interface BenchArgs {
  workloads: string;
  workers?: string;
  cell: string;
  kernels: string;
  steps?: string;
  seconds?: string;
  json?: string;
  svg?: string;
}

/** `recur bench`: runs the benchmark, progress on stderr, the table on stdout. */
export async function benchCommand(argv: BenchArgs): Promise<void> {
  const kernels = oneOf('--kernels', argv.kernels, ['ts', 'wasm'] as const);
  const opts: BenchOptions = {
    workloads: argv.workloads.split(',').map((s) => s.trim().toUpperCase()),
    workers: argv.workers === undefined
      ? [...new Set([1, os.availableParallelism()])]
      : argv.workers.split(',').map((s) => Number(s.trim())),
    cell: oneOf('--cell', argv.cell, ['lstm', 'rnn'] as const),
    kernels,
    steps: argv.steps === undefined ? undefined : positiveInteger('--steps', argv.steps),
    seconds: argv.seconds === undefined ? undefined : nonNegativeNumber('--seconds', argv.seconds),
    json: argv.json,
    svg: argv.svg,
    onProgress: (line) => console.error(line),
  };
  const report = await runBench(opts);
  console.log(formatBenchTable(report, kernels));
  console.log(`wrote ${[opts.json, svgPath(opts)].filter(Boolean).join(' and ')}`);
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InputError(`${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegativeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InputError(`${flag}: expected a number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}
