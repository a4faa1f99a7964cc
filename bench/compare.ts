/**
 * `npm run bench:compare`: recur and PyTorch on the SPEC §8 workloads in one sitting, for LSTM
 * and the tanh RNN, as a markdown table of tokens/s and the ratio recur / PyTorch's best of
 * 1 and 2 threads. PyTorch runs only if /usr/bin/python3 can import torch (never required).
 * Usage: node dist/bench/compare.js [--workloads W0,W1] [--cells lstm,rnn] [--seconds 3]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench } from '../src/main/bench/bench.js';
import { WORKLOADS } from '../src/main/bench/workloads.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const torchScript = resolve(repo, '../shared/anchors/torch_lstm_bench.py');
const PYTHON = '/usr/bin/python3';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface TorchRow { workload: string; threads: number; tokens_per_s: number }

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function runTorch(cell: string, workloads: string[], seconds: number): TorchRow[] {
  const r = spawnSync(PYTHON, [torchScript, '--cell', cell, '--workloads', workloads.join(','), '--threads', '1,2', '--min-time', String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch benchmark failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TorchRow);
}

const workloads = arg('workloads', Object.keys(WORKLOADS).join(',')).split(',');
const cells = arg('cells', 'lstm,rnn').split(',') as ('lstm' | 'rnn')[];
const seconds = Number(arg('seconds', '3'));
const cores = os.availableParallelism();
const withTorch = torchAvailable();
if (!withTorch) console.error(`note: ${PYTHON} cannot import torch; showing recur only (see ../shared/anchors/README.md)`);

const rows: string[] = [];
for (const cell of cells) {
  const report = await runBench({ workloads, workers: [1, cores], cell, seconds, onProgress: (s) => console.error(s) });
  const torch = withTorch ? runTorch(cell, workloads, seconds) : [];
  for (const w of workloads) {
    const ours = report.results.filter((r) => r.workload === w);
    const one = ours.find((r) => r.workers === 1)!;
    const best = ours.reduce((a, b) => (b.tokensPerSec > a.tokensPerSec ? b : a));
    const theirs = torch.filter((r) => r.workload === w);
    const torchBest = theirs.reduce<TorchRow | null>((a, b) => (!a || b.tokens_per_s > a.tokens_per_s ? b : a), null);
    const ratio = torchBest ? `${(best.tokensPerSec / torchBest.tokens_per_s).toFixed(2)}×` : '–';
    const torchCell = torchBest ? `${Math.round(torchBest.tokens_per_s).toLocaleString('en')} (${torchBest.threads} thr)` : '–';
    rows.push(`| ${w} | ${cell} | ${Math.round(one.tokensPerSec).toLocaleString('en')} | ${Math.round(best.tokensPerSec).toLocaleString('en')} (${best.workers} w) | ${best.workers > 1 ? (best.tokensPerSec / one.tokensPerSec).toFixed(2) + '×' : '–'} | ${torchCell} | ${ratio} |`);
  }
}
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
console.log(`\n${new Date().toISOString().slice(0, 10)} · ${cpu} · ${cores} cores · node ${process.version}\n`);
console.log('| workload | cell | recur 1 worker tok/s | recur best tok/s | scaling | PyTorch best tok/s | recur / PyTorch |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
