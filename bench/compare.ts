/**
 * `npm run bench:compare`: recur and PyTorch on the SPEC §8 workloads in one sitting, for LSTM
 * and the tanh RNN, as a markdown table of tokens/s: recur at 1 and all workers for each kernel
 * set asked for (default: auto, i.e. blas where a BLAS loads, and wasm), and PyTorch at its best
 * configuration here. PyTorch runs only if /usr/bin/python3 can import torch (never required).
 *
 * PyTorch's figures depend on its OpenBLAS by 2× on this kind of machine: the OpenMP build
 * (LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp; the pthread build oversubscribes
 * at 2 threads) and the kernel family (OPENBLAS_CORETYPE: on AVX-512 CPUs both the inherited
 * setting and SkylakeX are tried). Each row shows PyTorch's best over 1 and 2 threads and those
 * core types, and which configuration that was.
 *
 * Usage: node dist/bench/compare.js [--workloads W0,W1] [--cells lstm,rnn] [--kernels auto,wasm] [--seconds 3]
 *   [--torch-coretypes SkylakeX,Haswell]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench } from '../src/main/bench/bench.js';
import type { BenchReport } from '../src/main/bench/results.js';
import { WORKLOADS } from '../src/main/bench/workloads.js';
import { KERNEL_CHOICES, type KernelsChoice } from '../src/main/experiment/options.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const torchScript = resolve(repo, 'bench/torch_bench.py');
const PYTHON = '/usr/bin/python3';
const OPENMP_OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface TorchRow { workload: string; threads: number; tokens_per_s: number; blas: string[]; openblas_coretype: string | null }

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function hasAvx512(): boolean {
  try {
    return /^flags\s*:.*\bavx512f\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** PyTorch's environment: the OpenMP OpenBLAS where Debian installed it, and a core type ('' = inherited). */
function torchEnv(coretype: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (existsSync(OPENMP_OPENBLAS)) env.LD_LIBRARY_PATH = [OPENMP_OPENBLAS, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  // torch.set_num_threads decides; the OpenMP runtime must not be capped below it.
  delete env.OMP_NUM_THREADS;
  delete env.OPENBLAS_NUM_THREADS;
  return env;
}

function runTorch(cell: string, workloads: string[], seconds: number, coretype: string): TorchRow[] {
  const r = spawnSync(PYTHON, [torchScript, '--cell', cell, '--workloads', workloads.join(','), '--threads', '1,2', '--min-time', String(seconds)],
    { encoding: 'utf8', env: torchEnv(coretype) });
  if (r.status !== 0) throw new Error(`PyTorch benchmark failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TorchRow);
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en');

const workloads = arg('workloads', Object.keys(WORKLOADS).join(',')).split(',');
const cells = arg('cells', 'lstm,rnn').split(',') as ('lstm' | 'rnn')[];
const kernelSets = arg('kernels', 'auto,wasm').split(',') as KernelsChoice[];
for (const k of kernelSets) if (!KERNEL_CHOICES.includes(k)) throw new Error(`--kernels: each one of ${KERNEL_CHOICES.join(', ')}, got ${k}`);
const seconds = Number(arg('seconds', '3'));
const cores = os.availableParallelism();
const withTorch = torchAvailable();
const coretypes = arg('torch-coretypes', hasAvx512() ? `${process.env.OPENBLAS_CORETYPE ?? ''},SkylakeX` : '').split(',')
  .filter((c, i, all) => all.indexOf(c) === i);
if (!withTorch) console.error(`note: ${PYTHON} cannot import torch; showing recur only`);

const rows: string[] = [];
const kernelLines = new Set<string>();
const torchBlas = new Set<string>();
for (const cell of cells) {
  const reports: BenchReport[] = [];
  for (const kernels of kernelSets) {
    const report = await runBench({ workloads, workers: [1, cores], cell, kernels, seconds, onProgress: (s) => console.error(s) });
    kernelLines.add(`recur --kernels ${kernels}: ${report.kernels.chosen} (${report.kernels.why})`);
    reports.push(report);
  }
  const torch = withTorch ? coretypes.flatMap((c) => runTorch(cell, workloads, seconds, c)) : [];
  for (const r of torch) for (const lib of r.blas) torchBlas.add(lib);
  for (const w of workloads) {
    const theirs = torch.filter((r) => r.workload === w);
    const torchBest = theirs.reduce<TorchRow | null>((a, b) => (!a || b.tokens_per_s > a.tokens_per_s ? b : a), null);
    const torchCell = torchBest ? `${fmt(torchBest.tokens_per_s)} (${torchBest.threads} thr, ${torchBest.openblas_coretype ?? 'detected'})` : '–';
    for (const [i, report] of reports.entries()) {
      const ours = report.results.filter((r) => r.workload === w);
      const one = ours.find((r) => r.workers === 1)!;
      const many = ours.find((r) => r.workers === cores) ?? one;
      const best = ours.reduce((a, b) => (b.tokensPerSec > a.tokensPerSec ? b : a));
      const ratio = torchBest ? `${(best.tokensPerSec / torchBest.tokens_per_s).toFixed(2)}×` : '–';
      const label = `${many.kernels}${kernelSets[i] === 'auto' ? ' (auto)' : ''}`;
      rows.push(`| ${w} | ${cell} | ${label} | ${fmt(one.tokensPerSec)} | ${fmt(many.tokensPerSec)} | ${(many.tokensPerSec / one.tokensPerSec).toFixed(2)}× | ${i === 0 ? torchCell : '″'} | ${ratio} |`);
    }
  }
}
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
console.log(`\n${new Date().toISOString().slice(0, 10)} · ${cpu} · ${cores} cores · node ${process.version}`);
for (const line of kernelLines) console.log(`- ${line}`);
if (withTorch) {
  const torchRow = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
  console.log(`- PyTorch ${torchRow} (${PYTHON}), LD_LIBRARY_PATH=${existsSync(OPENMP_OPENBLAS) ? OPENMP_OPENBLAS : '(default)'} (OpenMP OpenBLAS),`
    + ` loaded ${[...torchBlas].join(', ') || 'no BLAS it could name'}; best of 1 and 2 threads × OPENBLAS_CORETYPE ${coretypes.map((c) => c || 'detected').join(' / ')}`);
}
console.log(`\n| workload | cell | kernels | recur 1 worker tok/s | recur ${cores} workers tok/s | scaling | PyTorch best tok/s | recur best / PyTorch |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
