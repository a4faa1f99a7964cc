/**
 * What a run shows while it works: a live progress line on a terminal (cli-progress), plain
 * periodic log lines otherwise (CI logs, pipes), so output stays readable in both.
 */
import cliProgress from 'cli-progress';
import type { MetricsLine } from './metrics.js';

export interface Reporter {
  metrics(m: MetricsLine, total: number): void;
  notice(text: string): void;
  stop(): void;
}

const fmtRate = (r: number): string => (r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r.toFixed(0));

export function describeMetrics(m: MetricsLine, total: number): string {
  const val = m.valLoss === undefined ? '' : `  val ${m.valLoss.toFixed(4)}`;
  return `step ${m.step}/${total}  loss ${m.loss.toFixed(4)}${val}  ${fmtRate(m.tokensPerSec)} tok/s  ${m.elapsedSec.toFixed(1)}s`;
}

export function createReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  if (!stream.isTTY) {
    return {
      metrics: (m, total) => stream.write(describeMetrics(m, total) + '\n'),
      notice: (text) => stream.write(text + '\n'),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar({
    stream,
    format: 'step {value}/{total} [{bar}] loss {loss}{val}  {rate} tok/s  ETA {eta_formatted}',
    barsize: 24,
    hideCursor: true,
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    metrics(m, total) {
      const payload = { loss: m.loss.toFixed(4), val: m.valLoss === undefined ? '' : `  val ${m.valLoss.toFixed(4)}`, rate: fmtRate(m.tokensPerSec) };
      if (!started) { bar.start(total, m.step, payload); started = true; } else bar.update(m.step, payload);
    },
    notice(text) {
      if (started) bar.stop();
      stream.write(text + '\n');
      started = false;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
