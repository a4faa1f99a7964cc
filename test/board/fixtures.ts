/** Run and sweep folders written by hand, shaped as the trainer and the sweep write them. */
import { appendFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FixtureRun {
  name: string;
  task?: string;
  steps: number;
  /** Logged steps; every evalEvery-th also gets a valLoss. */
  logged: number[];
  evalEvery?: number;
  /** Writes loss.svg after the metrics, as the trainer does when a run ends. */
  ended?: boolean;
  earlyStopping?: boolean;
  /** Makes every file this many seconds old (a run that stopped writing). */
  ageSec?: number;
}

/** A deterministic metrics line: loss falls with the step, with a zigzag for smoothing to remove. */
export function metricsLine(step: number, evalEvery = 0): Record<string, number> {
  const line: Record<string, number> = {
    step, loss: 3 / Math.sqrt(step) + (step % 20 === 0 ? 0.3 : 0), lr: 0.01 * (1 - step / 1000), gradNorm: 1 + (step % 30) / 30,
    tokensPerSec: 20000 + (step % 7) * 100, elapsedSec: step / 10,
  };
  if (evalEvery > 0 && step % evalEvery === 0) line.valLoss = 3.2 / Math.sqrt(step);
  return line;
}

export function writeRun(dir: string, run: FixtureRun): string {
  mkdirSync(dir, { recursive: true });
  const config = {
    name: run.name, seed: 1, data: { task: run.task ?? 'adding' },
    train: { steps: run.steps, earlyStopping: run.earlyStopping ? { patience: 2, minDelta: 0 } : null }, output: { dir },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(join(dir, 'metrics.jsonl'), run.logged.map((s) => JSON.stringify(metricsLine(s, run.evalEvery ?? 0)) + '\n').join(''));
  if (run.ended) writeFileSync(join(dir, 'loss.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  if (run.ageSec) {
    const then = new Date(Date.now() - run.ageSec * 1000);
    for (const f of ['config.json', 'metrics.jsonl', ...(run.ended ? ['loss.svg'] : [])]) utimesSync(join(dir, f), then, then);
  }
  return dir;
}

export function appendLine(dir: string, line: Record<string, number>): void {
  appendFileSync(join(dir, 'metrics.jsonl'), JSON.stringify(line) + '\n');
}

export const steps = (from: number, to: number, every: number): number[] =>
  Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => from + i * every);

export interface FixtureTrial {
  id: string;
  parameters: Record<string, unknown>;
  metric: number | null;
  status: 'ok' | 'stopped' | 'failed';
  steps?: number;
}

/**
 * A sweep folder as `recur sweep` leaves it: trials.jsonl in finishing order (not ranked),
 * summary.md naming the metric, and a run folder per trial that trained.
 */
export function writeSweep(dir: string, name: string, trials: FixtureTrial[], total = trials.length): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'trials.jsonl'), trials.map((t) => JSON.stringify({
    id: t.id, parameters: t.parameters, metric: t.metric, status: t.status, seconds: 1.5,
    ...(t.status === 'failed' ? { error: 'training diverged at step 3' } : {}),
    ...(t.steps !== undefined ? { steps: t.steps, plannedSteps: 40 } : {}),
  }) + '\n').join(''));
  writeFileSync(join(dir, 'summary.md'), `# Sweep \`${name}\`\n\n- sweep file: \`../${name}.yaml\`, base experiment: \`../base.yaml\`\n` +
    `- method: grid, ${total} trials; …\n- metric: \`valLoss\` (minimize)\n`);
  for (const t of trials) {
    if (t.status === 'failed') continue;
    const last = t.steps ?? 40;
    writeRun(join(dir, t.id), { name: `${name}-${t.id}`, steps: 40, logged: steps(10, last, 10), evalEvery: 20, ended: true, ageSec: 120 });
  }
  return dir;
}
