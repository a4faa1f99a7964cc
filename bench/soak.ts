/**
 * Soak test: trains the default experiment (experiments/default.yaml, all cores) for a given
 * number of minutes and prints, at intervals, the process's memory and the training speed, so a
 * leak shows as a slope and a slowdown as falling tokens/s. Ends with the RSS and heap slopes
 * (MB per 1000 steps, least squares) over the second half of the run, after warm-up.
 *
 *   npm run bench:soak -- [minutes] [--interval seconds]    (default 10 minutes; the interval
 *                                                          defaults to a twentieth of the run)
 *
 * Run through npm (node --expose-gc): every sample then follows a full garbage collection, so
 * heapUsed counts only what is still reachable and the slopes measure retention, not garbage.
 * RSS, heapUsed, external and arrayBuffers are process.memoryUsage()'s; the worker threads' heaps
 * and the shared WebAssembly memory count in RSS. The run folder is a temporary one, removed at
 * the end; the experiment's steps are raised so the time, not train.steps, ends the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/main/experiment/experiment.js';
import { train } from '../src/main/training/trainer.js';

const EXPERIMENT = fileURLToPath(new URL('../../experiments/default.yaml', import.meta.url));
const MB = 1024 * 1024;

interface Sample {
  elapsedSec: number;
  step: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  tokensPerSec: number;
}

function parseArgs(argv: string[]): { minutes: number; intervalSec: number } {
  let minutes = 10;
  let intervalSec: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--interval') intervalSec = Number(argv[++i]);
    else minutes = Number(argv[i]);
  }
  if (!(minutes > 0)) throw new Error(`usage: npm run bench:soak -- [minutes] [--interval seconds] (minutes: ${argv.join(' ')})`);
  intervalSec ??= Math.max(5, (minutes * 60) / 20);
  if (!(intervalSec > 0)) throw new Error('--interval takes a positive number of seconds');
  return { minutes, intervalSec };
}

/** Least-squares slope of y against x; NaN with fewer than two distinct x. */
function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

const collect = (globalThis as { gc?: () => void }).gc;
const { minutes, intervalSec } = parseArgs(process.argv.slice(2));
const exp = loadExperiment(EXPERIMENT, ['train.steps=1000000000']);
// The default experiment is text, which always has a window length.
const tokensPerStep = exp.train.batch * (exp.data.seqLen ?? 0);
const outDir = mkdtempSync(join(tmpdir(), 'recur-soak-'));
const stop = new AbortController();
const samples: Sample[] = [];
const started = performance.now();
let nextSample = 0;

const mb = (bytes: number): string => (bytes / MB).toFixed(1).padStart(7);
console.log(`soak: ${EXPERIMENT} for ${minutes} min, a sample every ${intervalSec} s${collect ? ', each after a full GC' : ' (no --expose-gc: figures include garbage)'}`);
console.log('elapsed    step   rss MB  heap MB   ext MB  arrbuf MB  tokens/s');

function sample(step: number): void {
  const elapsedSec = (performance.now() - started) / 1000;
  const previous = samples.at(-1);
  collect?.();
  const m = process.memoryUsage();
  const tokensPerSec = previous ? ((step - previous.step) * tokensPerStep) / (elapsedSec - previous.elapsedSec) : NaN;
  const s: Sample = { elapsedSec, step, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, tokensPerSec };
  samples.push(s);
  const rate = Number.isFinite(tokensPerSec) ? Math.round(tokensPerSec).toString() : '-';
  console.log(`${elapsedSec.toFixed(0).padStart(6)}s ${String(step).padStart(7)} ${mb(s.rss)}  ${mb(s.heapUsed)}  ${mb(s.external)}    ${mb(s.arrayBuffers)}  ${rate.padStart(8)}`);
}

const timer = setTimeout(() => stop.abort(), minutes * 60_000);
try {
  // Samples come from the metrics lines only: after train() returns the workers are gone and
  // RSS drops, which says nothing about the run.
  await train(exp, {
    file: EXPERIMENT,
    outDir,
    stopSignal: stop.signal,
    onMetrics: (line) => {
      if ((performance.now() - started) / 1000 < nextSample) return;
      sample(line.step);
      nextSample += intervalSec;
    },
    onNotice: (text) => console.log(text),
  });
} finally {
  clearTimeout(timer);
  rmSync(outDir, { recursive: true, force: true });
}

const secondHalf = samples.filter((s) => s.elapsedSec >= (minutes * 60) / 2);
if (secondHalf.length < 3) {
  console.log('too few samples in the second half for a slope; run longer or with a shorter --interval');
} else {
  const steps = secondHalf.map((s) => s.step / 1000);
  const perK = (pick: (s: Sample) => number): string => {
    const value = slope(steps, secondHalf.map((s) => pick(s) / MB));
    return `${value >= 0 ? '+' : ''}${value.toFixed(3)}`;
  };
  const first = secondHalf[0]!, last = secondHalf.at(-1)!;
  console.log(`second half (steps ${first.step}–${last.step}, ${secondHalf.length} samples): RSS ${perK((s) => s.rss)} MB per 1000 steps, heapUsed ${perK((s) => s.heapUsed)}, external ${perK((s) => s.external)}; RSS ${(first.rss / MB).toFixed(1)} → ${(last.rss / MB).toFixed(1)} MB`);
}
