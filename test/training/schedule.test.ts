// Learning-rate schedules (SPEC §6 train.schedule): each schedule's rate at chosen steps against
// numbers worked out by hand, plateau against a scripted validation sequence, and the trainer
// logging the rate each step used.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { train } from '../../src/main/training/trainer.js';
import { initialPlateau, learningRate, observeMetric, type PlateauState } from '../../src/main/training/schedule.js';
import type { ScheduleSpec } from '../../src/main/experiment/options.js';
import { readMetrics, tempDir, tinyExperiment } from '../helpers/cli.js';

const fresh = initialPlateau(0);
const rates = (spec: ScheduleSpec, lr: number, steps: number, at: number[]): number[] =>
  at.map((s) => learningRate(spec, lr, steps, s, fresh));

/** Each value within 1e-12 of the hand-computed one. */
function close(t: Test, found: number[], wanted: number[], what: string): void {
  t.equal(found.length, wanted.length, `${what}: as many values`);
  const off = found.map((f, i) => Math.abs(f - wanted[i]!));
  t.ok(off.every((d) => d < 1e-12), `${what}: ${found.join(', ')} vs ${wanted.join(', ')}`);
}

t.test('constant, with and without a linear warmup', async (t) => {
  close(t, rates({ name: 'constant', warmup: 0 }, 0.1, 100, [1, 2, 100]), [0.1, 0.1, 0.1], 'no warmup');
  // warmup 4: s/4 of the rate for s ≤ 4, the rate itself from step 4 on.
  close(t, rates({ name: 'constant', warmup: 4 }, 0.1, 100, [1, 2, 3, 4, 5, 100]), [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], 'warmup 4');
});

t.test('cosine from lr to minLr over train.steps', async (t) => {
  const spec: ScheduleSpec = { name: 'cosine', warmup: 0, minLr: 0.01 };
  // 12 steps, u = s − 1: cos(0) = 1, cos(π/3) = 1/2, cos(π/2) = 0, cos(11π/12) = −0.9659258262890683.
  close(t, rates(spec, 0.1, 12, [1, 5, 7, 12]), [0.1, 0.0775, 0.055, 0.01 + 0.09 * (1 - 0.9659258262890683) / 2], '12 steps');
  // warmup 2 over 14 steps: the ramp, then the same 12-step curve.
  close(t, rates({ ...spec, warmup: 2 }, 0.1, 14, [1, 2, 3, 7, 9]), [0.05, 0.1, 0.1, 0.0775, 0.055], 'warmup 2');
  close(t, rates({ name: 'cosine', warmup: 0, minLr: 0 }, 1, 4, [1, 2, 3, 4]), [1, 0.8535533905932737, 0.5, 0.14644660940672627], 'minLr 0, 4 steps');
});

t.test('step: gamma every `every` steps', async (t) => {
  const spec: ScheduleSpec = { name: 'step', warmup: 0, every: 3, gamma: 0.5 };
  close(t, rates(spec, 1, 100, [1, 3, 4, 6, 7, 9, 10]), [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125], 'every 3');
  close(t, rates({ ...spec, warmup: 2 }, 1, 100, [1, 2, 3, 5, 6, 9]), [0.5, 1, 1, 1, 0.5, 0.25], 'after a warmup of 2');
});

t.test('exponential: gamma per step', async (t) => {
  close(t, rates({ name: 'exponential', warmup: 0, gamma: 0.9 }, 0.2, 100, [1, 2, 4, 11]), [0.2, 0.18, 0.2 * 0.729, 0.2 * 0.3486784401], 'gamma 0.9');
});

t.test('plateau divides by factor after `patience` evaluations without an improvement of more than minDelta', async (t) => {
  const spec: ScheduleSpec = { name: 'plateau', warmup: 0, factor: 10, patience: 2, minDelta: 0.01, minLr: 0.001 };
  const metrics = [1.0, 0.995, 0.98, 0.99, 0.975, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6];
  // 1.0 first (best); 0.995 not better by 0.01 (bad 1); 0.98 better (best); 0.99 bad 1; 0.975 bad 2 → 0.1;
  // 0.5 best; then bad, bad → 0.01; bad, bad → 0.001; bad, bad → stays at minLr 0.001.
  const wanted = [1, 1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.001];
  let state: PlateauState = initialPlateau(1);
  const after: number[] = [];
  for (const m of metrics) {
    state = observeMetric(spec, state, m);
    after.push(learningRate(spec, 1, 1000, 500, state));
  }
  close(t, after, wanted, 'the rate after each evaluation');
  t.equal(state.best, 0.5, 'the best metric is remembered across reductions');
  t.equal(observeMetric({ name: 'cosine', warmup: 0, minLr: 0 }, state, 0.1), state, 'other schedules ignore evaluations');
  close(t, [learningRate({ ...spec, warmup: 4 }, 1, 1000, 2, initialPlateau(1))], [0.5], 'plateau with a warmup ramps too');
});

t.test('the trainer uses and logs each step\'s rate; plateau follows the logged validation losses', async (t) => {
  const dir = tempDir(t);
  const run = async (schedule: Record<string, unknown>, out: string) => {
    const exp = parseExperiment(tinyExperiment({
      train: { steps: 12, evalEvery: 2, logEvery: 1, optimizer: { name: 'adam', lr: 0.05 }, schedule },
      output: { dir: join(dir, out) },
    }), join(dir, 'exp.json'), dir);
    await train(exp, { file: 'exp.json' });
    return { exp, lines: readMetrics(join(dir, out)) };
  };

  const cosine = await run({ name: 'cosine', warmup: 3, minLr: 0.001 }, 'cosine');
  t.same(cosine.lines.map((l) => l.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'a line per step');
  close(t, cosine.lines.map((l) => l.lr!), rates(cosine.exp.train.schedule, 0.05, 12, cosine.lines.map((l) => l.step!)), 'cosine: logged lr = the schedule');

  // minDelta 0.05 on a loss near 0.2: most evaluations count as no improvement, so the rate falls.
  const plateau = await run({ name: 'plateau', factor: 2, patience: 1, minDelta: 0.05 }, 'plateau');
  let state = initialPlateau(0.05);
  const replayed: number[] = [];
  for (const line of plateau.lines) {
    replayed.push(learningRate(plateau.exp.train.schedule, 0.05, 12, line.step!, state));
    if (line.valLoss !== undefined) state = observeMetric(plateau.exp.train.schedule, state, line.valLoss);
  }
  close(t, plateau.lines.map((l) => l.lr!), replayed, 'plateau: logged lr = the replay of the logged validation losses');
  t.ok(plateau.lines.at(-1)!.lr! < 0.05, `the rate was reduced (to ${plateau.lines.at(-1)!.lr})`);
});
