/** `recur bench`'s text table. */
import type { BenchReport } from './results.js';
import { WORKLOADS } from './workloads.js';

/** The report as an aligned text table, under a line naming the kernels (and why) and the machine. */
export function formatBenchTable(report: BenchReport): string {
  const header = ['workload', 'H/T/B', 'cell', 'kernels', 'workers', 'tokens/s', 'ms/step', 'GFLOP/s', 'speedup', 'efficiency', 'RSS MB'];
  const rows = report.results.map((r) => {
    const w = WORKLOADS[r.workload]!;
    return [
      r.workload, `${w.hidden}/${w.seqLen}/${w.batch}`, r.cell, r.kernels, String(r.workers), Math.round(r.tokensPerSec).toString(),
      r.stepMs.toFixed(1), r.gflops.toFixed(2), r.speedup.toFixed(2), r.efficiency.toFixed(2), r.rssMB.toFixed(0),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const { machine, kernels } = report;
  return [
    `${kernels.chosen} kernels (${kernels.why}) · ${machine.model}, ${machine.cpus} cpus, node ${machine.node}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
